"""Intra-op threads per training process, chosen from the usable cores and the number of processes per machine.

torch starts as many intra-op (OpenMP) threads as the machine has physical cores, in every process. Two kinds of
run suffer from that on CPUs: several processes on one machine (``tools/dist_train.sh CONFIG 2`` on 2 cores gives
each process 2 threads), and a machine shared with another job, where an OpenMP team whose threads wait for a
descheduled one at every barrier was measured up to 10x slower than one thread (``docs/benchmarks.md``).
:func:`setup_num_threads` picks the cores not busy with other work (usable cores minus the whole part of the
1-minute load average) divided by the processes of the job on this machine, at least 1, unless the user chose:
``--threads N`` first, then ``OMP_NUM_THREADS``. torchrun sets ``OMP_NUM_THREADS=1`` itself when it starts several
processes; ``tools/dist_train.sh`` passes the user's own value (or none) in ``AVSSEG_USER_OMP_NUM_THREADS`` so that
torchrun's default is not mistaken for a choice.
"""
import math
import os
from typing import Mapping, Optional, Tuple

import torch

#: Set by tools/dist_train.sh to OMP_NUM_THREADS as the user had it before torchrun (empty: the user set none).
USER_OMP_ENV = 'AVSSEG_USER_OMP_NUM_THREADS'


def _cgroup_cpu_limit(root: str = '/sys/fs/cgroup') -> Optional[float]:
    """The CPU quota of this process's cgroup in cores (``cpu.max`` of cgroup v2, ``cfs_quota_us`` of v1), or None."""
    try:
        with open(os.path.join(root, 'cpu.max')) as f:
            quota, period = f.read().split()[:2]
        return None if quota == 'max' else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(root, 'cpu', 'cpu.cfs_quota_us')) as f:
            quota = int(f.read())
        with open(os.path.join(root, 'cpu', 'cpu.cfs_period_us')) as f:
            period = int(f.read())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def usable_cpu_count(cgroup_root: str = '/sys/fs/cgroup') -> int:
    """Cores this process may run on: its CPU affinity (taskset, slurm, docker --cpuset-cpus), capped by a cgroup
    CPU quota (docker --cpus), at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    limit = _cgroup_cpu_limit(cgroup_root)
    if limit is not None:
        count = min(count, max(1, math.floor(limit)))
    return max(1, count)


def local_process_count(env: Mapping[str, str] = os.environ) -> int:
    """Processes of this job on this machine, from the launcher's environment (1 without a launcher).

    torchrun sets ``LOCAL_WORLD_SIZE``, OpenMPI ``OMPI_COMM_WORLD_LOCAL_SIZE``, slurm ``SLURM_NTASKS_PER_NODE``
    (``'4'`` or ``'4(x2)'``).
    """
    for key in ('LOCAL_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_SIZE', 'SLURM_NTASKS_PER_NODE'):
        value = env.get(key, '').split('(')[0]
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def _positive_int(value: str, source: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f'{source}={value!r} is not a positive number of threads')
    return number


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        return 0.0


def choose_num_threads(requested: Optional[int] = None,
                       env: Mapping[str, str] = os.environ,
                       cpus: Optional[int] = None,
                       load: Optional[float] = None) -> Tuple[int, str]:
    """Threads per process and why.

    Args:
        requested: ``--threads`` of the tool; wins when given.
        env: the environment (``OMP_NUM_THREADS``, ``AVSSEG_USER_OMP_NUM_THREADS``, launcher variables).
        cpus: usable cores; :func:`usable_cpu_count` when None.
        load: the 1-minute load average (runnable processes, ours barely counted yet at start-up);
            ``os.getloadavg()`` when None. In a container it may be the host's, which only makes the choice
            smaller.

    Returns:
        ``(threads, reason)``, the reason a phrase for the log.
    """
    if requested is not None:
        return _positive_int(str(requested), '--threads'), '--threads'
    user_omp = env[USER_OMP_ENV] if USER_OMP_ENV in env else env.get('OMP_NUM_THREADS', '')
    if user_omp.strip():
        return _positive_int(user_omp.strip(), 'OMP_NUM_THREADS'), 'OMP_NUM_THREADS'
    if env.get('SLURM_CPUS_PER_TASK', '').isdigit() and int(env['SLURM_CPUS_PER_TASK']) > 0:
        return int(env['SLURM_CPUS_PER_TASK']), 'SLURM_CPUS_PER_TASK'
    cpus = usable_cpu_count() if cpus is None else cpus
    load = _load_average() if load is None else load
    busy = min(cpus, int(load))  # cores fully taken on average over the last minute
    procs = local_process_count(env)
    threads = max(1, (cpus - busy) // procs)
    return threads, (f'{cpus} usable core(s), {busy} of them busy with other work (1-minute load {load:.1f}), '
                     f'shared by {procs} process(es) on this machine')


def setup_num_threads(requested: Optional[int] = None, env: Optional[Mapping[str, str]] = None) -> Tuple[int, str]:
    """Set torch's intra-op threads with :func:`choose_num_threads`; returns ``(threads, reason)`` for the log.

    ``OMP_NUM_THREADS`` is also exported (when the user did not set it), so that processes started later (data
    loader workers of a ``spawn`` context, subprocesses) inherit the same budget.
    """
    env = os.environ if env is None else env
    threads, reason = choose_num_threads(requested, env)
    torch.set_num_threads(threads)
    if reason != 'OMP_NUM_THREADS':
        os.environ['OMP_NUM_THREADS'] = str(threads)
    return threads, reason


def forked_worker_init() -> None:
    """Initializer of a ``fork``-started worker process: run torch and cv2 single-threaded in it.

    A forked child inherits the parent's OpenMP (torch) and cv2 thread-pool state but not the threads; its first
    multi-threaded op waits for them forever. Measured here with torch 2.11 / opencv 5.0 on 2 cores: a
    ``multiprocessing`` fork pool whose parent had run a matmul or a resize hung in the child's first
    STFT / resize. torch's own ``DataLoader`` workers call ``torch.set_num_threads(1)`` for this reason, and
    ``cv2.setNumThreads(0)`` (no pool; ``1`` still hangs) is what the Runner's ``opencv_num_threads=0`` sets.
    """
    import cv2
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
