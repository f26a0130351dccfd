"""End to end through the tools on a synthetic S4 set: train -> interrupt -> --resume -> test (overlays, masks,
audio perturbations). The tools run with pkg_resources made unimportable (see tool_runner.tool_env).

Each tool call is a fresh process (imports dominate its time), so the file runs 5 of them: the interrupted
training, the resumed one, and three tests (silence with --show-dir/--out, swap, a fixed off-screen sound). An
unperturbed test run through tools/test.py is in test_dist_train_sh.py (tools/dist_test.sh)."""
import glob
import os.path as osp
import re

import mmcv
import pytest
import numpy as np
import soundfile as sf
import torch

import avsseg  # noqa: F401  (checkpoint allowlist for reading the checkpoints here)
from avsseg.datasets.synthetic import generate_synthetic_avsbench
from tool_runner import TINY_S4, data_root_options, python_tool, run, tool_env


@pytest.fixture(scope='module')
def s4_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_s4')
    summary = generate_synthetic_avsbench(
        str(root), 's4', seed=0, num_videos=8, image_size=32, split_ratios=(0.5, 0.25, 0.25))
    assert summary['splits']['test'] == 2
    return str(root)


@pytest.fixture(scope='module')
def trained(s4_root, tmp_path_factory):
    """A run interrupted after 2 of 4 iterations, then resumed with --resume."""
    tmp = tmp_path_factory.mktemp('train')
    work_dir = tmp / 'work'
    env = tool_env(tmp)
    opts = data_root_options(s4_root)
    # the "interrupted" run: it stops after iteration 2 (checkpoint + validation at 2)
    run(python_tool('train.py', TINY_S4, '--work-dir', work_dir, *opts, 'train_cfg.max_iters=2'), env)
    assert (work_dir / 'iter_2.pth').is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    # the rerun of the full schedule picks it up
    resumed = run(python_tool('train.py', TINY_S4, '--work-dir', work_dir, '--resume', *opts), env)
    return work_dir, resumed.stdout + resumed.stderr


def test_resume_continues_from_last_checkpoint(trained):
    work_dir, log = trained
    assert re.search(r'resumed epoch: \d+, iter: 2', log), log[-3000:]
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [4/4]' in log
    assert 'Iter(train) [1/4]' not in log and 'Iter(train) [2/4]' not in log
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_4.pth')
    ckpt = torch.load(work_dir / 'iter_4.pth', map_location='cpu')  # weights_only=True (torch default)
    assert ckpt['meta']['iter'] == 4
    assert ckpt['meta']['dataset_meta']['classes'] == ('background', 'object')
    # the validation after iteration 4 ran and kept the best checkpoint on mJ
    assert 'mJ' in log
    assert glob.glob(str(work_dir / 'best_mJ_iter_*.pth'))


def test_test_tool_silence_with_overlays_and_masks(trained, s4_root, tmp_path):
    """--audio-perturb silence, plus --show-dir overlays and --out masks of every real test frame."""
    work_dir, _ = trained
    show_dir, out_dir = tmp_path / 'show', tmp_path / 'pred'
    proc = run(python_tool('test.py', TINY_S4, work_dir / 'iter_4.pth', '--work-dir', tmp_path / 'test',
                           '--audio-perturb', 'silence', '--show-dir', show_dir, '--out', out_dir,
                           *data_root_options(s4_root)), tool_env(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'Load checkpoint from' in log and 'mJ' in log
    assert 'audio perturbation: silence' in log, log[-3000:]
    test_clips = sorted(osp.basename(p) for p in glob.glob(osp.join(s4_root, 's4_data', 'visual_frames', 'test',
                                                                    '*', '*')))
    assert len(test_clips) == 2
    expected = sorted(f'{clip}_{t}.png' for clip in test_clips for t in range(5))
    assert sorted(osp.basename(p) for p in glob.glob(str(show_dir / '*.png'))) == expected
    assert sorted(osp.basename(p) for p in glob.glob(str(out_dir / '*.png'))) == expected
    overlay = mmcv.imread(str(show_dir / expected[0]))
    # labelled test frame: ground truth | prediction, 32x32 each, under their caption strips
    assert overlay.shape[0] > 32 and overlay.shape[1:] == (64, 3)
    mask = mmcv.imread(str(out_dir / expected[0]), flag='unchanged')
    assert mask.shape == (32, 32) and set(mask.ravel().tolist()) <= {0, 255}


def test_test_tool_swap(trained, s4_root, tmp_path):
    work_dir, _ = trained
    proc = run(python_tool('test.py', TINY_S4, work_dir / 'iter_4.pth', '--work-dir', tmp_path / 'test',
                           '--audio-perturb', 'swap', *data_root_options(s4_root)), tool_env(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'audio perturbation: swap' in log, log[-3000:]
    assert 'mJ' in log


def test_test_tool_fixed_offscreen_audio(trained, s4_root, tmp_path):
    """--audio-perturb offscreen --offscreen-audio FILE: one recording mixed into every test clip at --snr."""
    work_dir, _ = trained
    clipper = tmp_path / 'clipper.wav'
    t = np.arange(22050 * 2) / 22050
    sf.write(str(clipper), (0.2 * np.sign(np.sin(2 * np.pi * 90 * t))).astype(np.float32), 22050)
    proc = run(python_tool('test.py', TINY_S4, work_dir / 'iter_4.pth', '--work-dir', tmp_path / 'test',
                           '--audio-perturb', 'offscreen', '--offscreen-audio', clipper, '--snr', '5',
                           *data_root_options(s4_root)), tool_env(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'audio perturbation: offscreen(snr_db=5.0)' in log, log[-3000:]
    assert 'mJ' in log
