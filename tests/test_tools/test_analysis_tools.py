"""tools/analysis_tools: browse_dataset.py, analyze_results.py and audio_robustness.py on a tiny synthetic S4 set.

analyze_results reads hand-written masks in the layout of ``tools/test.py --out`` (one clip perfect, the others
empty), so its scores are known; audio_robustness runs tools/test.py twice (real audio, silence) with a tiny
randomly initialised TPAVI."""
import csv
import importlib.util
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import soundfile as sf
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tool_runner import TINY_S4

from avsseg.apis import probe_video
from avsseg.datasets.synthetic import generate_synthetic_avsbench
from avsseg.registry import DATASETS, MODELS
from avsseg.visualization import gt_at_ori_shape

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def s4_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('s4') / 'data'
    summary = generate_synthetic_avsbench(str(root), 's4', seed=0, num_videos=8, image_size=32,
                                          split_ratios=(0.25, 0.25, 0.5))
    assert summary['splits']['test'] == 4
    return str(root)


def opts(root):
    return ['--cfg-options'] + [f'{split}_dataloader.dataset.data_root={root}' for split in ('train', 'val', 'test')]


def test_browse_dataset_draws_frames_masks_and_log_mel(s4_root, tmp_path):
    out = tmp_path / 'browse'
    tool = load_tool('browse_dataset')
    assert tool.main([TINY_S4, '--split', 'test', '--num-clips', '2', '--video', '--output-dir', str(out),
                      *opts(s4_root)]) == 0
    pngs = sorted(p.name for p in out.glob('*.png'))
    assert len(pngs) == 2
    image = mmcv.imread(str(out / pngs[0]))
    # 5 columns of at least 128 px (32 px frames enlarged), each: caption, frame, spectrogram
    assert image.shape[1] >= 5 * 128 and image.shape[0] > 128 + 128 * 64 // 96
    info = probe_video(str(out / pngs[0].replace('.png', '.mp4')))
    assert info.num_frames == 5 and info.duration == pytest.approx(5.0) and info.has_audio
    # the spectrogram of silence is the bottom of the colour scale
    silence = tool.spectrogram_image(np.full((1, 96, 64), np.log(0.01), np.float32), 96)
    assert silence.shape == (64, 96, 3) and len(np.unique(silence.reshape(-1, 3), axis=0)) == 1


@pytest.fixture(scope='module')
def handmade_predictions(s4_root, tmp_path_factory):
    """Masks in the layout of tools/test.py --out: the first test clip perfect, every other clip empty."""
    pred_dir = tmp_path_factory.mktemp('pred')
    cfg = Config.fromfile(TINY_S4)
    cfg.test_dataloader.dataset.data_root = s4_root
    init_default_scope('avsseg')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    expected = {}
    for idx in range(len(dataset)):
        item = dataset[idx]
        clip_id = dataset.get_data_info(idx)['clip_id']
        gts = [gt_at_ori_shape(s) for s in item['data_samples']]
        for t, gt in enumerate(gts):
            pred = gt if idx == 0 else np.zeros_like(gt)
            mmcv.imwrite((pred > 0).astype(np.uint8) * 255, str(pred_dir / f'{clip_id}_{t}.png'))
        empty_gt = not any((gt == 1).any() for gt in gts)
        expected[clip_id] = (1.0, 1.0) if idx == 0 else ((1.0, None) if empty_gt else (0.0, 0.0))
    return str(pred_dir), expected


def test_analyze_results_scores_clips_and_categories(s4_root, handmade_predictions, tmp_path):
    pred_dir, expected = handmade_predictions
    assert load_tool('analyze_results').main([TINY_S4, pred_dir, '--out-dir', str(tmp_path), '--topk', '1',
                                              *opts(s4_root)]) == 0
    with open(tmp_path / 'per_clip.csv') as f:
        clips = {row['clip_id']: row for row in csv.DictReader(f)}
    assert set(clips) == set(expected)
    for clip_id, (j, fscore) in expected.items():
        assert float(clips[clip_id]['J']) == pytest.approx(j)
        assert (clips[clip_id]['F'] == 'nan') if fscore is None else float(clips[clip_id]['F']) == pytest.approx(fscore)
    with open(tmp_path / 'per_category.csv') as f:
        categories = list(csv.DictReader(f))
    assert sum(int(row['clips']) for row in categories) == len(expected)
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['clips'] == len(expected)
    assert expected[summary['best'][0]][0] == 1.0
    assert expected[summary['worst'][0]][0] == min(j for j, _ in expected.values())
    assert len(list((tmp_path / 'worst').glob('*.png'))) == 1 and len(list((tmp_path / 'best').glob('*.png'))) == 1
    drawing = mmcv.imread(str(next((tmp_path / 'best').glob('*.png'))))
    assert drawing.shape[1] >= 5 * 2 * 32  # 5 frames, ground truth | prediction


def test_analyze_results_names_a_missing_mask(s4_root, handmade_predictions, tmp_path):
    pred_dir, expected = handmade_predictions
    sparse = tmp_path / 'sparse'
    sparse.mkdir()
    clip_id = sorted(expected)[0]
    for t in range(4):  # frame 4 missing
        (sparse / f'{clip_id}_{t}.png').write_bytes(open(osp.join(pred_dir, f'{clip_id}_{t}.png'), 'rb').read())
    with pytest.raises(FileNotFoundError, match=f'{clip_id}_4.png'):
        load_tool('analyze_results').main([TINY_S4, str(sparse), '--out-dir', str(tmp_path / 'a'), *opts(s4_root)])


def test_robustness_table_rows():
    tool = load_tool('audio_robustness')
    rows = tool.build_rows({'m': {'real': dict(mJ=0.7, mF=0.8, empty_frac=0.15),
                                  'silenced': dict(mJ=0.15, mF=0.06, empty_frac=0.9)},
                            's': {'real': dict(mIoU=0.3, F=0.4, empty_frac=0.2)}})
    assert rows[1]['silent_fp_rate'] == pytest.approx(0.1) and rows[0]['silent_fp_rate'] is None
    assert (rows[2]['J_name'], rows[2]['F_name']) == ('mIoU', 'F')
    table = tool.format_table(rows)
    assert '| m | silenced | 0.150 | 0.060 | 90.0% | 10.0% |' in table and 'mIoU/mJ' in table
    assert tool.parse_condition('noise:-5') == ('noise', -5.0)
    for bad in ('noise', 'loud', 'silence:3', 'offscreen:0'):
        with pytest.raises(ValueError, match='condition'):
            tool.parse_condition(bad)
    with pytest.raises(KeyError, match='neither'):
        tool.build_rows({'m': {'real': dict(acc=1.0)}})


def test_offscreen_sound_is_fixed(tmp_path):
    tool = load_tool('audio_robustness')
    a = tool.write_offscreen_sound(str(tmp_path / 'a.wav'))
    b = tool.write_offscreen_sound(str(tmp_path / 'b.wav'))
    wave_a, sr = sf.read(a)
    assert sr == 16000 and wave_a.shape == (160000, ) and np.array_equal(wave_a, sf.read(b)[0])


def test_audio_robustness_runs_tools_test(s4_root, tmp_path):
    init_default_scope('avsseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_S4).model)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    tool = load_tool('audio_robustness')
    args = ['--model', 'tiny', TINY_S4, ckpt, '--conditions', 'none', 'silence', '--work-dir', str(tmp_path / 'w'),
            *opts(s4_root)]
    assert tool.main(args) == 0
    report = json.loads((tmp_path / 'w' / 'audio_robustness.json').read_text())
    assert [r['condition'] for r in report['rows']] == ['real', 'silenced']
    silenced = report['rows'][1]
    assert silenced['silent_fp_rate'] == pytest.approx(1 - silenced['empty_frac'])
    metrics = tool.read_metrics(str(tmp_path / 'w' / 'tiny' / 'silence'))
    assert metrics['audio_perturbation'] == 'silence' and metrics['mJ'] == pytest.approx(silenced['J'])
    # --reuse reads the runs back instead of running tools/test.py again
    (tmp_path / 'w' / 'audio_robustness.json').unlink()
    assert tool.main(args + ['--reuse']) == 0
    assert json.loads((tmp_path / 'w' / 'audio_robustness.json').read_text())['rows'] == report['rows']
