"""tools/dist_train.sh and tools/dist_test.sh with 2 processes; on a machine without CUDA they use gloo."""
import glob
import os.path as osp
import re

import torch
from tool_runner import REPO, TINY_S4, data_root_options, free_port, run, tool_env

from avsseg.datasets.synthetic import generate_synthetic_avsbench


def test_dist_train_and_test_two_processes(tmp_path):
    data_root = tmp_path / 'data'
    generate_synthetic_avsbench(str(data_root), 's4', seed=1, num_videos=8, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25))
    env = tool_env(tmp_path)
    env['PORT'] = str(free_port())
    # no thread count of the user's: torchrun sets OMP_NUM_THREADS=1, train.py divides the cores by the processes
    env.pop('OMP_NUM_THREADS')
    work_dir = tmp_path / 'work'
    proc = run(['bash', osp.join(REPO, 'tools', 'dist_train.sh'), TINY_S4, '2', '--work-dir', str(work_dir),
                *data_root_options(str(data_root)), 'train_cfg.max_iters=2'], env, timeout=400)
    log = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    if not torch.cuda.is_available():
        assert "backend='gloo'" in log or '"gloo"' in log or "'gloo'" in log
    assert 'Iter(train) [2/2]' in log
    assert re.search(r'threads: \d+ per process \(\d+ usable core\(s\), .* shared by 2 process\(es\)', log), log
    assert (work_dir / 'iter_2.pth').is_file()

    show_dir = tmp_path / 'show'
    env['PORT'] = str(free_port())
    proc = run(['bash', osp.join(REPO, 'tools', 'dist_test.sh'), TINY_S4, str(work_dir / 'iter_2.pth'), '2',
                '--work-dir', str(tmp_path / 'test'), '--show-dir', str(show_dir),
                *data_root_options(str(data_root))], env, timeout=400)
    log = proc.stdout + proc.stderr
    assert 'mJ' in log
    # both ranks write the overlays of the clips they predicted: every test frame is there
    test_clips = glob.glob(osp.join(str(data_root), 's4_data', 'visual_frames', 'test', '*', '*'))
    assert len(glob.glob(str(show_dir / '*.png'))) == 5 * len(test_clips) == 10
