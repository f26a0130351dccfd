"""Distributed runs on CPU-only machines (gloo), next to the unchanged GPU (nccl) path.

Stock mmengine 0.10.7 cannot run DDP without CUDA, for two reasons:

1. ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device(local_rank)`` before creating the process group,
   whatever the backend; without a usable CUDA device that call raises.
2. ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to every ``DistributedDataParallel`` subclass, and
   DDP rejects ``device_ids`` for modules whose parameters live on the CPU.

``Runner.setup_env`` only calls ``init_dist`` when ``torch.distributed`` is not initialised yet. So
:func:`setup_cpu_distributed`, called by ``tools/train.py`` / ``tools/test.py`` before the Runner is built, creates
the gloo process group itself from the launcher's environment, and selects :class:`CPUDistributedDataParallel`,
which drops ``device_ids`` for CPU modules. Nothing in ``torch.cuda`` is patched, and on machines with CUDA both
are no-ops, so the nccl path stays exactly mmengine's.
"""
import datetime
import gc
import logging
import os
import subprocess
from typing import Optional, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from torch import nn

from avsseg.registry import MODEL_WRAPPERS

#: Default timeout (seconds) of the gloo process group of CPU runs, when ``env_cfg.dist_cfg.timeout`` is not set.
#: torch's default is 30 minutes, during which a hung or killed rank blocks the others in their next collective;
#: 10 minutes still covers rank 0's longest solo step on a CPU (writing a checkpoint of the full models, or
#: computing a metric while the others wait).
CPU_DIST_TIMEOUT_S = 600

# Backends that need a GPU per process; anything else (gloo, mpi) runs on CPU tensors.
_GPU_ONLY_BACKENDS = ('nccl', 'hccl', 'cncl', 'mccl')
# Wrapper types that are plain mmengine DDP and can be swapped for the CPU-capable subclass.
_SWAPPABLE_WRAPPERS = ('MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel')
# A full import path: Runner.wrap_model first looks the type up with mmengine's root registry, which does not
# search scoped grandchildren such as avsseg's; a dotted path resolves from any registry.
_WRAPPER_TYPE = 'avsseg.utils.dist_utils.CPUDistributedDataParallel'


def _on_cpu(module: nn.Module) -> bool:
    tensors = list(module.parameters()) + list(module.buffers())
    return all(t.device.type == 'cpu' for t in tensors)


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules (gloo / mpi process groups).

    For a module whose parameters and buffers are all on the CPU, ``device_ids`` and ``output_device`` (which
    the Runner injects as ``[LOCAL_RANK]``) are dropped, as DDP requires for CPU modules, and SyncBatchNorm
    layers are reverted to BatchNorm because torch's SyncBatchNorm only runs on accelerators; each rank then
    normalises with its own batch statistics. A module on a GPU is wrapped exactly as
    ``MMDistributedDataParallel`` would wrap it.

    Args:
        module (nn.Module): the model (an mmengine ``BaseModel``).
        device_ids (list[int], optional): devices for a single-device GPU module; ignored for CPU modules.
        output_device (int, optional): as in DDP; ignored for CPU modules.
        **kwargs: other ``DistributedDataParallel`` arguments (``broadcast_buffers``,
            ``find_unused_parameters``, ...).
    """

    def __init__(self,
                 module: nn.Module,
                 device_ids: Optional[list] = None,
                 output_device: Optional[int] = None,
                 **kwargs):
        if _on_cpu(module):
            device_ids = None
            output_device = None
            has_sync_bn = any(isinstance(m, nn.SyncBatchNorm) or 'SyncBatchNorm' in type(m).__name__
                              for m in module.modules())
            if has_sync_bn:
                print_log('CPUDistributedDataParallel: SyncBatchNorm needs a GPU; reverting it to BatchNorm '
                          '(per-rank batch statistics)', logger='current', level=logging.WARNING)
                module = revert_sync_batchnorm(module)
        super().__init__(module=module, device_ids=device_ids, output_device=output_device, **kwargs)


def _launcher_env(launcher: str, dist_cfg: dict) -> Tuple[int, int, int]:
    """Reads ``(rank, world_size, local_rank)`` for ``launcher`` and exports the variables ``env://`` needs.

    The variables are those mmengine's own launchers read: torchrun's ``RANK/WORLD_SIZE/LOCAL_RANK/
    MASTER_ADDR/MASTER_PORT``, slurm's ``SLURM_PROCID/SLURM_NTASKS/SLURM_NODELIST/SLURM_LOCALID`` and
    OpenMPI's ``OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK}``.
    """
    env = os.environ

    def need(name: str) -> str:
        if name not in env:
            raise KeyError(f'--launcher {launcher}: environment variable {name} is not set; start the job '
                           f'with the matching launcher (tools/dist_*.sh, tools/slurm_*.sh or mpirun)')
        return env[name]

    if launcher == 'pytorch':
        rank, world_size = int(need('RANK')), int(need('WORLD_SIZE'))
        local_rank = int(env.get('LOCAL_RANK', rank))
        need('MASTER_ADDR')
        need('MASTER_PORT')
    elif launcher == 'slurm':
        rank, world_size = int(need('SLURM_PROCID')), int(need('SLURM_NTASKS'))
        local_rank = int(env.get('SLURM_LOCALID', rank))
        if 'MASTER_ADDR' not in env:
            node_list = need('SLURM_NODELIST')
            first = subprocess.run(['scontrol', 'show', 'hostname', node_list], capture_output=True,
                                   text=True, check=True).stdout.split()
            if not first:
                raise RuntimeError(f'scontrol show hostname {node_list} printed no host name')
            env['MASTER_ADDR'] = first[0]
        if dist_cfg.get('port') is not None:
            env['MASTER_PORT'] = str(dist_cfg['port'])
        env.setdefault('MASTER_PORT', '29500')
    elif launcher == 'mpi':
        rank = int(need('OMPI_COMM_WORLD_RANK'))
        world_size = int(need('OMPI_COMM_WORLD_SIZE'))
        local_rank = int(need('OMPI_COMM_WORLD_LOCAL_RANK'))
        need('MASTER_ADDR')
        env.setdefault('MASTER_PORT', '29500')
    else:
        raise ValueError(f'unknown launcher {launcher!r}; expected one of none, pytorch, slurm, mpi')
    env['RANK'], env['WORLD_SIZE'], env['LOCAL_RANK'] = str(rank), str(world_size), str(local_rank)
    return rank, world_size, local_rank


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepares a distributed run on a machine without CUDA; does nothing where CUDA is available.

    Call it before ``Runner.from_cfg(cfg)`` with the ``--launcher`` of the tool. When ``launcher`` is not
    ``'none'`` and ``torch.cuda.is_available()`` is False, it

    - switches ``cfg.env_cfg.dist_cfg.backend`` from a GPU-only backend (nccl) to ``'gloo'`` (gloo and mpi are
      kept),
    - initialises the default process group from the launcher's environment (the Runner then skips
      ``init_dist``, whose ``torch.cuda.set_device`` call cannot run here) with ``env_cfg.dist_cfg.timeout``
      seconds, :data:`CPU_DIST_TIMEOUT_S` (10 minutes) when the config sets none, so that a rank that hangs or
      dies stops the others after that time instead of gloo's 30 minutes,
    - sets ``cfg.model_wrapper_cfg`` to :class:`CPUDistributedDataParallel` (a config's plain
      ``MMDistributedDataParallel`` wrapper keeps its other arguments).

    Args:
        cfg (Config): the full config; changed in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True when the CPU path was set up, False when nothing was done.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if not torch_dist.is_available():
        raise RuntimeError('this torch build has no torch.distributed; a distributed run is impossible')

    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    init_backend = dist_cfg.pop('init_backend', 'torch')
    if init_backend != 'torch':
        raise ValueError(f'env_cfg.dist_cfg.init_backend={init_backend!r} is not supported without CUDA; '
                         f'only the plain torch process group (gloo) is')
    backend = dist_cfg.get('backend', 'nccl')
    if backend in _GPU_ONLY_BACKENDS:
        backend = 'gloo'
    dist_cfg['backend'] = backend
    if dist_cfg.get('timeout') is None:
        dist_cfg['timeout'] = CPU_DIST_TIMEOUT_S
    env_cfg = dict(env_cfg)
    env_cfg['dist_cfg'] = dict(dist_cfg)
    cfg.env_cfg = env_cfg

    rank, world_size, _ = _launcher_env(launcher, dist_cfg)
    if not torch_dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k not in ('backend', 'port')}
        # mmengine's dist_cfg gives the timeout in seconds
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(backend=backend, rank=rank, world_size=world_size, **kwargs)
        print_log(f'{backend} process group: {world_size} processes, timeout {dist_cfg["timeout"]} s '
                  f'(env_cfg.dist_cfg.timeout)', logger='current')

    wrapper_cfg = cfg.get('model_wrapper_cfg')
    if wrapper_cfg is None:
        # the arguments Runner.wrap_model uses for its default wrapper
        cfg.model_wrapper_cfg = dict(
            type=_WRAPPER_TYPE,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper_cfg.get('type', 'MMDistributedDataParallel') in _SWAPPABLE_WRAPPERS:
        wrapper_cfg['type'] = _WRAPPER_TYPE
    elif 'CPUDistributedDataParallel' not in str(wrapper_cfg.get('type')):
        print_log(f'model_wrapper_cfg type {wrapper_cfg.get("type")!r} is kept on a CPU-only distributed run; '
                  f'it must not pass device_ids to DistributedDataParallel',
                  logger='current',
                  level=logging.WARNING)
    return True


def teardown_distributed() -> None:
    """Destroy the default process group, if any, before the interpreter exits.

    A gloo group left alive at exit has its worker threads destroyed during interpreter teardown, which aborts
    the process ("terminate called without an active exception") after the work is done; torchrun then
    reports the rank as failed. Callers drop their runner first (``del runner``): its DDP wrapper's reducer holds the
    group, which ``destroy_process_group`` alone then does not free; the collection here frees such objects caught
    in reference cycles before the group is destroyed.
    """
    gc.collect()
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def apply_total_batch_size(cfg: Config, launcher: str, cfg_options: Optional[dict] = None) -> None:
    """Per-process ``train_dataloader.batch_size`` from the config's ``total_batch_size`` and the process count.

    A recipe states the batch of the paper (COMBO: 8 clips) as ``total_batch_size``; with N processes each takes
    ``total_batch_size / N`` clips, so ``tools/dist_train.sh CONFIG N`` trains with the paper's batch, learning rate
    and iteration count. Without ``total_batch_size`` (None or absent) ``train_dataloader.batch_size`` is the
    per-process batch, as in mmengine. Setting ``train_dataloader.batch_size`` on the command line while the config
    has a total is refused (it would be silently replaced): change ``total_batch_size`` instead.
    """
    total = cfg.get('total_batch_size', None)
    if total is None:
        return
    if cfg_options and 'train_dataloader.batch_size' in cfg_options:
        raise ValueError(f'the config sets total_batch_size={total} (clips over all processes), which decides the '
                         'per-process batch; pass --cfg-options total_batch_size=N instead of '
                         'train_dataloader.batch_size (or total_batch_size=None to set the per-process batch)')
    world_size = 1 if launcher == 'none' else _launcher_env(launcher, cfg.get('env_cfg', {}).get('dist_cfg', {}))[1]
    if total % world_size:
        raise ValueError(f'total_batch_size={total} cannot be split over {world_size} processes')
    cfg.train_dataloader.batch_size = total // world_size
    print_log(f'total batch {total} clips: {total // world_size} per process x {world_size} process(es)',
              logger='current')
