"""Threads per training process: --threads, then OMP_NUM_THREADS, then usable cores / processes on the machine."""
import os

import pytest
import torch

from avsseg.utils import choose_num_threads, forked_worker_init, setup_num_threads, usable_cpu_count
from avsseg.utils.threads import USER_OMP_ENV, _cgroup_cpu_limit, local_process_count


def test_cores_divided_by_processes():
    assert choose_num_threads(env={}, cpus=2, load=0.3) == (
        2, '2 usable core(s), 0 of them busy with other work (1-minute load 0.3), shared by 1 process(es) on this '
        'machine')
    # tools/dist_train.sh CONFIG 2 on 2 cores: one thread each instead of two
    assert choose_num_threads(env={'LOCAL_WORLD_SIZE': '2'}, cpus=2, load=0)[0] == 1
    assert choose_num_threads(env={'LOCAL_WORLD_SIZE': '4'}, cpus=16, load=0)[0] == 4
    assert choose_num_threads(env={'LOCAL_WORLD_SIZE': '3'}, cpus=2, load=0)[0] == 1  # never 0
    assert choose_num_threads(env={'SLURM_NTASKS_PER_NODE': '4(x2)'}, cpus=8, load=0)[0] == 2
    assert choose_num_threads(env={'OMPI_COMM_WORLD_LOCAL_SIZE': '2'}, cpus=8, load=0)[0] == 4
    assert choose_num_threads(env={'SLURM_CPUS_PER_TASK': '5', 'SLURM_NTASKS_PER_NODE': '4'}, cpus=64) == (
        5, 'SLURM_CPUS_PER_TASK')


def test_cores_busy_with_other_work_are_left_to_it():
    # another job on a 2-core machine: 2 threads ran 2-10x slower than 1 (docs/benchmarks.md)
    threads, reason = choose_num_threads(env={}, cpus=2, load=1.4)
    assert threads == 1 and '1 of them busy with other work (1-minute load 1.4)' in reason
    assert choose_num_threads(env={}, cpus=16, load=6.9)[0] == 10
    assert choose_num_threads(env={'LOCAL_WORLD_SIZE': '2'}, cpus=16, load=6.9)[0] == 5
    assert choose_num_threads(env={}, cpus=4, load=40.0)[0] == 1  # e.g. a container seeing the host's load


def test_user_choice_wins():
    assert choose_num_threads(env={'OMP_NUM_THREADS': '3'}, cpus=16, load=9) == (3, 'OMP_NUM_THREADS')
    assert choose_num_threads(requested=2, env={'OMP_NUM_THREADS': '3'}, cpus=16) == (2, '--threads')
    # torchrun sets OMP_NUM_THREADS=1 itself; dist_train.sh says the user had set nothing
    env = {'OMP_NUM_THREADS': '1', USER_OMP_ENV: '', 'LOCAL_WORLD_SIZE': '2'}
    assert choose_num_threads(env=env, cpus=16, load=0)[0] == 8
    env[USER_OMP_ENV] = '2'
    assert choose_num_threads(env=env, cpus=16, load=0) == (2, 'OMP_NUM_THREADS')
    with pytest.raises(ValueError, match=r"--threads='0' is not a positive"):
        choose_num_threads(requested=0, env={})
    with pytest.raises(ValueError, match=r"OMP_NUM_THREADS='two'"):
        choose_num_threads(env={'OMP_NUM_THREADS': 'two'})


def test_local_process_count_without_launcher():
    assert local_process_count({}) == 1
    assert local_process_count({'LOCAL_WORLD_SIZE': 'x'}) == 1


def test_cgroup_quota(tmp_path):
    assert _cgroup_cpu_limit(str(tmp_path)) is None
    (tmp_path / 'cpu.max').write_text('150000 100000\n')
    assert _cgroup_cpu_limit(str(tmp_path)) == 1.5
    (tmp_path / 'cpu.max').write_text('max 100000\n')
    assert _cgroup_cpu_limit(str(tmp_path)) is None
    os.remove(tmp_path / 'cpu.max')
    (tmp_path / 'cpu').mkdir()
    (tmp_path / 'cpu' / 'cpu.cfs_quota_us').write_text('200000\n')
    (tmp_path / 'cpu' / 'cpu.cfs_period_us').write_text('100000\n')
    assert _cgroup_cpu_limit(str(tmp_path)) == 2.0
    (tmp_path / 'cpu' / 'cpu.cfs_quota_us').write_text('-1\n')
    assert _cgroup_cpu_limit(str(tmp_path)) is None
    assert 1 <= usable_cpu_count(str(tmp_path)) <= (os.cpu_count() or 1)
    (tmp_path / 'cpu.max').write_text('50000 100000\n')  # half a core: still one thread
    assert usable_cpu_count(str(tmp_path)) == 1


def test_setup_sets_torch_threads(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    try:
        assert setup_num_threads(1, env={}) == (1, '--threads')
        assert torch.get_num_threads() == 1
        assert os.environ['OMP_NUM_THREADS'] == '1'  # inherited by spawned workers and subprocesses
    finally:
        torch.set_num_threads(before)


def _threaded_ops(_):
    import cv2
    import numpy as np
    cv2.resize(np.ones((600, 600, 3), np.float32), (300, 300))
    x = torch.randn(300, 300)
    return float((x @ x).sum()) != 0.0


def test_forked_workers_run_after_the_parent_used_thread_pools():
    """Without the initializer, each child hung in its first multi-threaded op (CI timed out twice so)."""
    import multiprocessing

    import cv2
    import numpy as np
    threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(2)  # the pools must have run with threads, whatever OMP_NUM_THREADS says
    cv2.setNumThreads(2)
    try:
        _threaded_ops(None)
        cv2.GaussianBlur(np.ones((600, 600, 3), np.float32), (9, 9), 2)
        with multiprocessing.get_context('fork').Pool(2, initializer=forked_worker_init) as pool:
            assert pool.map_async(_threaded_ops, range(4)).get(timeout=60) == [True] * 4
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv2_threads)
