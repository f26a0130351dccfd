"""tools/analysis_tools/sweep_avis.py on a cache_stage1.py --tags cache: on the val split of 8 generated AVSS clips,
with a random tiny BAVS stage 2 (no training), the sweep's scores for a setting equal what tools/test.py gives on
val with that setting; --split test, a cache of another checkpoint and tags of another perturbation are refused."""
import csv
import json
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from test_bavs_chain import load_tool, run_main, scores
from tool_runner import REPO

from avsseg.datasets.synthetic import generate_synthetic_avsbench
from avsseg.registry import MODELS
from avsseg.testing import get_config

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import cache_stage1  # noqa: E402
import sweep_avis  # noqa: E402

init_default_scope('avsseg')
STAGE2 = osp.join(REPO, 'configs', 'bavs', 'bavs_avis_tiny_synthetic_avss.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('sweep')
    data = str(tmp / 'data')
    generate_synthetic_avsbench(data, 'avss', seed=0, num_videos=8, image_size=48, split_ratios=(0.5, 0.25, 0.25))
    torch.manual_seed(0)
    model = MODELS.build(get_config('bavs/bavs_avis_tiny_synthetic_avss.py').model)
    with torch.no_grad():
        model.decode_head.cls_embed.bias[:-1] += 3.0  # confident queries: several potential instances per frame
    ckpt = str(tmp / 'bavs_random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    cache = str(tmp / 'cache')
    # 'none': every non-no-object query, so the sweep applies the two-phase filter itself (any t)
    assert cache_stage1.main([STAGE2, ckpt, '--split', 'val', '--out', cache, '--data-root', data, '--tags',
                              '--instance-filter', 'none']) == 0
    return tmp, data, ckpt, cache


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_cache_layout(setup):
    _, _, ckpt, cache = setup
    meta = cache_stage1.read_tags_meta(cache, 'none')
    assert meta['split'] == 'val' and meta['perturbation'] == dict(type='none') and len(meta['clips']) == 2
    assert meta['checkpoint_sha256'] == json.load(open(osp.join(cache, 'cache_meta.json')))['stage1_sha256']
    with np.load(cache_stage1.tags_path(cache, 'none', meta['clips'][0])) as data:
        assert data['probs'].dtype == np.float32 and data['probs'].shape == (10, len(meta['label_mids']))
        # padded AVSS frames are zeroed by the segmentor's tagging path
        assert not data['probs'][data['is_padded']].any() and data['probs'][~data['is_padded']].any()
    assert cache_stage1.perturbation_key(dict(type='noise', seed=0, snr_db=10.0)) == 'noise_snr10'


def test_sweep_equals_test_tool_on_val(setup, monkeypatch):
    tmp, data, ckpt, cache = setup
    monkeypatch.chdir(REPO)
    probs = np.concatenate([np.load(cache_stage1.tags_path(cache, 'none', c))['probs']
                            for c in cache_stage1.read_tags_meta(cache, 'none')['clips']])
    median = float(np.median(probs[probs > 0]))
    out = str(tmp / 'sweep')
    # 2 x 2 grid: the config's tag_thr and top-k, the random tagger's median confidence and top-1
    integ = get_config('bavs/bavs_avis_tiny_synthetic_avss.py').model.integrator
    assert integ.topk != 1
    assert sweep_avis.main([STAGE2, '--cache', cache, '--checkpoint', ckpt, '--out', out, '--data-root', data,
                            '--tag-thr', str(integ.tag_thr), f'{median:.6f}', '--topk', str(integ.topk).lower(),
                            '1']) == 0
    rows = read_rows(osp.join(out, 'sweep_avis.csv'))
    assert len(rows) == 4 and sum(r['config_default'] == '1' for r in rows) == 1
    assert len({r['mIoU'] for r in rows}) > 1, 'the grid must change the prediction, or the test proves nothing'
    best = json.load(open(osp.join(out, 'best.json')))
    assert best['split'] == 'val' and best['score'] == max(float(r['mIoU']) for r in rows)
    assert 'model.integrator.tag_thr=' in best['cfg_options']
    test = load_tool('test.py')
    checked = [next(r for r in rows if r['config_default'] == '1'),
               next(r for r in rows if r['topk'] == '1' and float(r['tag_thr']) != integ.tag_thr)]
    for n, row in enumerate(checked):
        opts = ['test_dataloader.dataset.split=val', 'test_dataloader.num_workers=0']
        if row['config_default'] != '1':
            opts += [f'model.integrator.tag_thr={median:.6f}', 'model.integrator.topk=1']
        work = str(tmp / f'test_{n}')
        run_main(test, [STAGE2, ckpt, '--work-dir', work, '--data-root', data, '--cfg-options', *opts], monkeypatch)
        online = scores(work)
        # (mmengine's json log writes integers as null: I is compared through I_per_frame)
        for key in ('mIoU', 'F', 'empty_frac', 'instances/I_per_frame'):
            assert float(row[key]) == online[key], (key, row, online)


def test_refusals(setup, capsys):
    tmp, data, ckpt, cache = setup
    common = [STAGE2, '--cache', cache, '--out', str(tmp / 'refused'), '--data-root', data]
    with pytest.raises(SystemExit):
        sweep_avis.parse_args([*common, '--checkpoint', ckpt, '--split', 'test'])
    assert 'test set' in capsys.readouterr().err
    other = str(tmp / 'other.pth')
    state = torch.load(ckpt, weights_only=False)
    state['state_dict']['decode_head.cls_embed.bias'] += 1
    torch.save(state, other)
    with pytest.raises(ValueError, match='sha256'):
        sweep_avis.main([*common, '--checkpoint', other])
    with pytest.raises(FileNotFoundError, match="perturbation 'noise_snr10'.*holds \\['none'\\]"):
        sweep_avis.main([*common, '--checkpoint', ckpt, '--audio-perturb', 'noise', '--snr', '10'])
    # tags of another checkpoint next to this checkpoint's instance sets
    mixed = str(tmp / 'mixed')
    shutil.copytree(cache, mixed)
    meta_path = osp.join(cache_stage1.tags_folder(mixed, 'none'), cache_stage1.TAGS_META)
    meta = json.load(open(meta_path))
    meta['checkpoint_sha256'] = '0' * 64
    json.dump(meta, open(meta_path, 'w'))
    with pytest.raises(ValueError, match='tags .* sha256'):
        sweep_avis.main([STAGE2, '--cache', mixed, '--out', str(tmp / 'refused'), '--data-root', data,
                         '--checkpoint', ckpt])


def test_two_phase_cache_t_and_perturbed_tags(setup, monkeypatch):
    tmp, data, ckpt, cache = setup
    monkeypatch.chdir(REPO)
    # the head's own two-phase sets give the same sweep as the two-phase filter applied to the 'none' sets
    two_phase = str(tmp / 'cache_two_phase')
    assert cache_stage1.main([STAGE2, ckpt, '--split', 'val', '--out', two_phase, '--data-root', data, '--tags']) == 0
    integ = get_config('bavs/bavs_avis_tiny_synthetic_avss.py').model.integrator  # tools/test.py's setting below
    common = ['--checkpoint', ckpt, '--data-root', data, '--tag-thr', str(integ.tag_thr), '--topk',
              str(integ.topk).lower()]
    assert sweep_avis.main([STAGE2, '--cache', two_phase, '--out', str(tmp / 's_two'), *common]) == 0
    assert sweep_avis.main([STAGE2, '--cache', cache, '--out', str(tmp / 's_none'), *common, '--t', '0.5', '0.05']) == 0
    row_two = read_rows(osp.join(tmp, 's_two', 'sweep_avis.csv'))[0]
    rows_none = read_rows(osp.join(tmp, 's_none', 'sweep_avis.csv'))
    assert rows_none[0] == row_two
    # a stricter t keeps fewer potential instances
    assert float(rows_none[1]['instances/I']) < float(rows_none[0]['instances/I'])
    with pytest.raises(ValueError, match='instance-filter none'):
        sweep_avis.main([STAGE2, '--cache', two_phase, '--out', str(tmp / 's_bad'), *common, '--t', '0.3'])
    # tags of silenced audio next to the same instance sets, scored as tools/test.py --audio-perturb silence does
    assert cache_stage1.main([STAGE2, ckpt, '--split', 'val', '--out', cache, '--data-root', data, '--tags-only',
                              '--audio-perturb', 'silence']) == 0
    assert cache_stage1.cached_tag_keys(cache) == ['none', 'silence']
    clip = cache_stage1.read_tags_meta(cache, 'silence')['clips'][0]
    assert not np.array_equal(np.load(cache_stage1.tags_path(cache, 'none', clip))['probs'],
                              np.load(cache_stage1.tags_path(cache, 'silence', clip))['probs'])
    out = str(tmp / 's_silence')
    assert sweep_avis.main([STAGE2, '--cache', cache, '--out', out, *common, '--audio-perturb', 'silence']) == 0
    row = read_rows(osp.join(out, 'sweep_avis.csv'))[0]
    work = str(tmp / 'test_silence')
    run_main(load_tool('test.py'), [STAGE2, ckpt, '--work-dir', work, '--data-root', data, '--audio-perturb', 'silence',
                                    '--cfg-options', 'test_dataloader.dataset.split=val',
                                    'test_dataloader.num_workers=0'], monkeypatch)
    online = scores(work)
    assert online['audio_perturbation'] == 'silence'
    for key in ('mIoU', 'F', 'empty_frac'):
        assert float(row[key]) == online[key], (key, row, online)


def test_cache_tags_refusals(setup, tmp_path):
    _, data, ckpt, cache = setup
    with pytest.raises(ValueError, match='BAVS stage-2 config'):
        cache_stage1.main([osp.join(REPO, 'configs', 'cmms', 'cmms_avsc_tiny_synthetic_s4_stage2.py'), ckpt, '--split',
                           'val', '--out', cache, '--data-root', data, '--tags-only'])
    with pytest.raises(ValueError, match='--tags-only: the instance cache'):
        cache_stage1.main([STAGE2, ckpt, '--split', 'test', '--out', cache, '--data-root', data, '--tags-only'])
    with pytest.raises(SystemExit):  # the instance sets do not depend on the audio
        cache_stage1.parse_args([STAGE2, ckpt, '--out', str(tmp_path), '--audio-perturb', 'silence'])
