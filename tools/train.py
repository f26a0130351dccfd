"""Train an audio-visual segmentor (MMSeg 1.x conventions).

    python tools/train.py CONFIG [--work-dir DIR] [--resume | --auto-resume | --overwrite] [--data-root DIR]
                          [--iters N] [--threads N] [--amp] [--cfg-options k=v ...]
    bash tools/dist_train.sh CONFIG NUM_PROCESSES [...]        # torchrun, --launcher pytorch
    bash tools/slurm_train.sh PARTITION JOB CONFIG [...]       # srun, --launcher slurm

Without CUDA, distributed runs use gloo (see ``avsseg.utils.setup_cpu_distributed``); with CUDA, nccl as in
``env_cfg``. A work_dir that holds checkpoints is only trained into again with ``--resume`` (continue it; fails
when there is no checkpoint), ``--auto-resume`` (continue it if there is a checkpoint, else start) or
``--overwrite`` (start from scratch).
"""
import os
import os.path as osp
import sys

# This checkout's avsseg first: with another clone installed (pip install -e), `python tools/train.py` would
# otherwise import the installed clone's code (Python puts tools/, not the repository root, on sys.path).
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path[:1]:
    sys.path.insert(0, REPO_ROOT)

import argparse  # noqa: E402
import logging  # noqa: E402

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import get_rank  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import avsseg  # noqa: F401,E402  (registries, checkpoint allowlist, avsseg:: config scope)
from avsseg.utils import (WorkDirError, apply_total_batch_size, check_weight_files,  # noqa: E402
                          fix_persistent_workers, install_run_log_filter, prepare_work_dir, scale_schedule,
                          set_data_root, setup_cpu_distributed, setup_num_threads, teardown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train an audio-visual segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='continue the run in the work_dir from its last checkpoint (fails when there is none)')
    resume.add_argument(
        '--auto-resume',
        action='store_true',
        default=False,
        help='continue the run in the work_dir when it has a checkpoint, start a new one otherwise')
    resume.add_argument(
        '--overwrite',
        action='store_true',
        default=False,
        help='train from scratch into a work_dir that holds checkpoints of an earlier run (they are replaced)')
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='data root of the train, val and test datasets (also inside dataset wrappers)')
    parser.add_argument(
        '--iters',
        type=int,
        metavar='N',
        help='train N iterations: the schedule end, warm-up, validation and checkpoint intervals are scaled by '
        'N / max_iters (iteration-based schedules)')
    parser.add_argument(
        '--threads',
        type=int,
        metavar='N',
        help='intra-op threads per process (default: OMP_NUM_THREADS if set, else usable cores / processes on '
        'this machine)')
    parser.add_argument(
        '--amp', action='store_true', default=False, help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format will be merged '
        'into the config file. If the value to be overwritten is a list, it should be like key="[a,b]" or '
        'key=a,b. It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]". Note that the quotation '
        'marks are necessary and that no white space is allowed.')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    # torch >= 2.0 passes --local-rank to the script; older launchers pass --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args):
    """The config with the command line applied; returns ``(cfg, notes)``, notes being lines for the run's log.

    Raises:
        WorkDirError: the work_dir cannot be used as asked (see ``avsseg.utils.prepare_work_dir``).
    """
    notes = []
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
        notes.append(f'--data-root: train/val/test datasets read {args.data_root}')
    if args.iters is not None:
        changes = scale_schedule(cfg, args.iters)
        notes.append('--iters {}: {}'.format(args.iters, ', '.join(f'{k} {old} -> {new}' for k, old, new in changes)
                                             or 'the schedule already has that length'))

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            notes.append('AMP training is already enabled in the config.')
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError(f'--amp is only supported with optim_wrapper.type="OptimWrapper", the config '
                                 f'{args.config} uses {optim_wrapper!r}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    mode = prepare_work_dir(cfg, resume=args.resume, auto_resume=args.auto_resume, overwrite=args.overwrite)
    if mode == 'resume':
        notes.append(f'resuming from {cfg.load_from}')
    elif mode == 'overwrite':
        notes.append(f'--overwrite: training from scratch into {cfg.work_dir}, whose checkpoints are replaced')

    changed = fix_persistent_workers(cfg)
    if changed:
        notes.append(f'num_workers=0: persistent_workers turned off for {", ".join(changed)}')
    return cfg, notes


def main():
    args = parse_args()
    threads, reason = setup_num_threads(args.threads)
    try:
        cfg, notes = build_config(args)
    except WorkDirError as err:
        sys.exit(f'train.py: {err}')
    notes.insert(0, f'threads: {threads} per process ({reason}; change with --threads N or OMP_NUM_THREADS=N)')

    # Recipes that state the paper's total batch (total_batch_size) split it over the processes.
    apply_total_batch_size(cfg, args.launcher, args.cfg_options)

    # Every missing pretrained file at once, before data loaders and model are built.
    check_weight_files(cfg, args.config)

    # CPU-only machines: gloo process group and a DDP wrapper without device_ids (no-op with CUDA).
    setup_cpu_distributed(cfg, args.launcher)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    # per-parameter optimizer lines into a file, mmengine boilerplate out of the log
    install_run_log_filter(runner.logger, runner.log_dir if get_rank() == 0 else None)
    for note in notes:
        print_log(note, logger=runner.logger, level=logging.INFO)
    runner.train()
    del runner  # its DDP wrapper holds the process group (teardown_distributed)
    teardown_distributed()


if __name__ == '__main__':
    main()
