"""AUSS through the tools on tiny generated sets: the tiny curriculum (auss_tiny_synthetic_s4.py with train.py, then
auss_tiny_synthetic_ms3.py from that checkpoint, test.py with swapped audio) and count_queries.py on the MS3 model,
plus count_queries' counting on hand-made scores."""
import csv
import json
import os.path as osp
import sys

import pytest
import torch
from tool_runner import REPO, data_root_options, python_tool, run, tool_env

from avsseg.datasets.synthetic import generate_synthetic_avsbench

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
from count_queries import count_queries  # noqa: E402

TINY_S4 = osp.join(REPO, 'configs', 'auss', 'auss_tiny_synthetic_s4.py')
TINY_MS3 = osp.join(REPO, 'configs', 'auss', 'auss_tiny_synthetic_ms3.py')
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
         'param_scheduler.0.end=2'] + [f'{s}_dataloader.{k}' for s in ('train', 'val', 'test')
                                       for k in ('num_workers=0', 'batch_size=2')]


def test_count_queries_hand_case():
    # 2 frames of 2x2 pixels, 3 queries. Frame 0: q0 and q1 sound, q2 silent; q0 owns the left column (foreground),
    # q1 the top right pixel (foreground), q2 the bottom right one (not foreground). Frame 1: nothing sounds.
    is_sound = torch.tensor([[True, True, False], [False, False, False]])
    owner = torch.tensor([[[0, 1], [0, 2]], [[0, 0], [1, 1]]])
    s_fg = torch.tensor([[[0.9, 0.8], [0.7, 0.2]], [[0.0, 0.0], [0.0, 0.0]]])
    firing, shown, fg = count_queries(is_sound, owner, 1 - s_fg, s_fg)
    assert firing.tolist() == [2, 0] and shown.tolist() == [2, 0]
    assert fg[0].tolist() == [[True, True], [True, False]] and not fg[1].any()
    # --min-pixels 2: q1 owns one pixel only
    assert count_queries(is_sound, owner, 1 - s_fg, s_fg, min_pixels=2)[1].tolist() == [1, 0]
    # a firing query owning only background pixels is not shown
    s_fg[0, 0, 1] = 0.3
    assert count_queries(is_sound, owner, 1 - s_fg, s_fg)[1].tolist() == [1, 0]


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    out = {}
    for subset in ('s4', 'ms3'):
        root = tmp_path_factory.mktemp(f'synthetic_{subset}')
        generate_synthetic_avsbench(str(root), subset, seed=3, num_videos=6, image_size=32,
                                    split_ratios=(0.5, 0.17, 0.33))
        out[subset] = str(root)
    return out


def test_tiny_curriculum_through_the_tools(roots, tmp_path):
    env = tool_env(tmp_path)
    s4_work, ms3_work = tmp_path / 's4', tmp_path / 'ms3'
    proc = run(python_tool('train.py', TINY_S4, '--work-dir', s4_work, '--threads', '1',
                           *data_root_options(roots['s4']), *SHORT), env)
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log and 'loss_aqdl' in log and 'loss_aqml' in log and 'decode.delta' in log
    assert 'mJ' in log and (s4_work / 'iter_2.pth').is_file()
    # stage 2 starts from the stage-1 weights (load_from, every weight loaded)
    proc = run(python_tool('train.py', TINY_MS3, '--work-dir', ms3_work, '--threads', '1',
                           *data_root_options(roots['ms3']), *SHORT, f'load_from={s4_work / "iter_2.pth"}'), env)
    log = proc.stdout + proc.stderr
    assert f'Load checkpoint from {s4_work / "iter_2.pth"}' in log
    assert 'Iter(train) [2/2]' in log and (ms3_work / 'iter_2.pth').is_file()

    proc = run(python_tool('test.py', TINY_MS3, ms3_work / 'iter_2.pth', '--work-dir', tmp_path / 'test_ms3',
                           '--audio-perturb', 'swap', *data_root_options(roots['ms3']),
                           'test_dataloader.num_workers=0'), env)
    log = proc.stdout + proc.stderr
    assert 'audio perturbation: swap' in log and 'mJ' in log

    out_dir = tmp_path / 'count'
    proc = run(python_tool(osp.join('analysis_tools', 'count_queries.py'), TINY_MS3, ms3_work / 'iter_2.pth',
                           '--data-root', roots['ms3'], '--out-dir', out_dir), env)
    assert 'firing' in proc.stdout and 'sounding' in proc.stdout
    summary = json.loads((out_dir / 'summary.json').read_text())
    assert summary['num_queries'] == 16 and summary['objects_json'].endswith('synthetic_ms3.json')
    with open(out_dir / 'per_frame.csv') as f:
        frames = list(csv.DictReader(f))
    # MS3: every frame of the 2 clips (the tiny configs test on the test split) is real and scored
    assert len(frames) == summary['frames'] == 10
    assert all(0 <= int(r['shown']) <= int(r['firing']) <= 16 and r['sounding'] != '' for r in frames)
    with open(out_dir / 'per_clip.csv') as f:
        clips = list(csv.DictReader(f))
    assert len(clips) == 2 and all(len(c['firing'].split()) == 5 for c in clips)
