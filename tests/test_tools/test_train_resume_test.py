"""End to end through the tools on synthetic S4 sets: train -> kill -9 -> --resume -> test (overlays, masks, audio
perturbations). The tools run with pkg_resources made unimportable (see tool_runner.tool_env).

A training is killed with SIGKILL once its work_dir points at a checkpoint, resumed with --resume, and the final
weights are compared with those of an uninterrupted run of the same config: they must be equal, bit for bit, for
the tiny TPAVI model and for the tiny COMBO model (which samples the points of its mask loss at random every
iteration, so it only resumes exactly with the RNG states the checkpoints hold). An unperturbed test run through
tools/test.py is in test_dist_train_sh.py (tools/dist_test.sh)."""
import glob
import os.path as osp
import re
import signal
import subprocess
import time

import mmcv
import numpy as np
import pytest
import soundfile as sf
import torch
from tool_runner import REPO, TINY_S4, data_root_options, python_tool, run, tool_env

import avsseg  # noqa: F401  (checkpoint allowlist for reading the checkpoints here)
from avsseg.datasets.synthetic import generate_synthetic_avsbench

TINY_COMBO_S4 = osp.join(REPO, 'tests', 'data', 'configs', 'combo_tiny_synthetic_s4.py')


@pytest.fixture(scope='module')
def s4_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_s4')
    summary = generate_synthetic_avsbench(
        str(root), 's4', seed=0, num_videos=8, image_size=32, split_ratios=(0.5, 0.25, 0.25), maskige=True)
    assert summary['splits']['test'] == 2
    return str(root)


def train_kill_resume(config, data_root, tmp, kill_at, *options):
    """An uninterrupted run, and a run killed with SIGKILL as soon as last_checkpoint names ``kill_at``, then
    resumed with --resume. Returns (reference work_dir, resumed work_dir, log of the resumed run)."""
    env = tool_env(tmp)
    reference, work_dir = tmp / 'reference', tmp / 'killed'
    run(python_tool('train.py', config, '--work-dir', reference, '--data-root', data_root, *options), env)
    with open(tmp / 'killed.log', 'w') as log:
        proc = subprocess.Popen(python_tool('train.py', config, '--work-dir', work_dir, '--data-root', data_root,
                                            *options), env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        pointer = work_dir / 'last_checkpoint'
        try:
            deadline = time.monotonic() + 300
            while proc.poll() is None and time.monotonic() < deadline:
                if pointer.is_file() and pointer.read_text().strip().endswith(kill_at):
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.01)
        finally:
            if proc.poll() is None and time.monotonic() >= deadline:
                proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, (tmp / 'killed.log').read_text()[-3000:])
    resumed = run(python_tool('train.py', config, '--work-dir', work_dir, '--data-root', data_root, '--resume',
                              *options), env)
    return reference, work_dir, resumed.stdout + resumed.stderr


def assert_same_weights(reference, resumed):
    ref, res = torch.load(reference, map_location='cpu'), torch.load(resumed, map_location='cpu')
    assert ref['meta']['iter'] == res['meta']['iter']
    assert ref['state_dict'].keys() == res['state_dict'].keys()
    different = [k for k, v in ref['state_dict'].items() if not torch.equal(v, res['state_dict'][k])]
    assert not different, f'{len(different)} tensors differ after resuming, e.g. {different[:5]}'


@pytest.fixture(scope='module')
def trained(s4_root, tmp_path_factory):
    """The tiny TPAVI, 8 iterations (--iters scales the checkpoint interval to 4), killed after iteration 4."""
    reference, work_dir, log = train_kill_resume(TINY_S4, s4_root, tmp_path_factory.mktemp('train'), 'iter_4.pth',
                                                 '--iters', '8')
    return reference, work_dir, log


def test_resume_continues_from_last_checkpoint(trained):
    reference, work_dir, log = trained
    assert re.search(r'resumed epoch: \d+, iter: 4', log), log[-3000:]
    assert 'Iter(train) [5/8]' in log and 'Iter(train) [8/8]' in log
    assert 'Iter(train) [4/8]' not in log
    assert 'random generator states restored at iteration 4' in log
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_8.pth')
    ckpt = torch.load(work_dir / 'iter_8.pth', map_location='cpu')  # weights_only=True (torch default)
    assert ckpt['meta']['iter'] == 8
    assert ckpt['meta']['dataset_meta']['classes'] == ('background', 'object')
    assert len(ckpt['rng_state']['ranks']) == 1
    # the validation after iteration 8 ran and kept the best checkpoint on mJ
    assert 'mJ' in log
    assert glob.glob(str(work_dir / 'best_mJ_iter_*.pth'))
    assert_same_weights(reference / 'iter_8.pth', work_dir / 'iter_8.pth')


def test_combo_resumes_bit_exactly(s4_root, tmp_path):
    """COMBO draws random points every iteration; killed after iteration 2 of 8, resumed, equal weights."""
    reference, work_dir, log = train_kill_resume(TINY_COMBO_S4, s4_root, tmp_path, 'iter_2.pth')
    assert 'random generator states restored at iteration 2' in log, log[-3000:]
    assert 'Iter(train) [3/8]' in log and 'Iter(train) [2/8]' not in log
    assert_same_weights(reference / 'iter_8.pth', work_dir / 'iter_8.pth')
    # the log: one summary instead of a line per optimizer setting, no mmengine boilerplate
    assert 'paramwise_options -- ' not in log and 'paramwise_cfg: own optimizer settings for ' in log
    assert 'FileClient' not in log and 'The prefix is not set' not in log
    assert glob.glob(str(work_dir / '*' / 'paramwise_options.log'))


def test_test_tool_silence_with_overlays_and_masks(trained, s4_root, tmp_path):
    """--audio-perturb silence, plus --show-dir overlays and --out masks of every real test frame."""
    _, work_dir, _ = trained
    show_dir, out_dir = tmp_path / 'show', tmp_path / 'pred'
    proc = run(python_tool('test.py', TINY_S4, work_dir / 'iter_8.pth', '--work-dir', tmp_path / 'test',
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
    _, work_dir, _ = trained
    proc = run(python_tool('test.py', TINY_S4, work_dir / 'iter_8.pth', '--work-dir', tmp_path / 'test',
                           '--audio-perturb', 'swap', *data_root_options(s4_root)), tool_env(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'audio perturbation: swap' in log, log[-3000:]
    assert 'mJ' in log


def test_test_tool_fixed_offscreen_audio(trained, s4_root, tmp_path):
    """--audio-perturb offscreen --offscreen-audio FILE: one recording mixed into every test clip at --snr."""
    _, work_dir, _ = trained
    clipper = tmp_path / 'clipper.wav'
    t = np.arange(22050 * 2) / 22050
    sf.write(str(clipper), (0.2 * np.sign(np.sin(2 * np.pi * 90 * t))).astype(np.float32), 22050)
    proc = run(python_tool('test.py', TINY_S4, work_dir / 'iter_8.pth', '--work-dir', tmp_path / 'test',
                           '--audio-perturb', 'offscreen', '--offscreen-audio', clipper, '--snr', '5',
                           *data_root_options(s4_root)), tool_env(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'audio perturbation: offscreen(snr_db=5.0)' in log, log[-3000:]
    assert 'mJ' in log
