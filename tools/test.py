"""Test (evaluate) an audio-visual segmentor (MMSeg 1.x conventions).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show] [--show-dir DIR]
                         [--audio-perturb {none,silence,swap,noise,offscreen}] [--snr DB]
                         [--offscreen-audio PATH] [--data-root DIR] [--cfg-options ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [...]

The checkpoint is loaded strictly (``StrictLoadCheckpointHook``): model weights it does not hold, keys the model
does not have and shape mismatches are an error naming them, except the weights of frozen modules loaded from a
file when the model is built (VGGish's ``pretrained``), which are listed in the log. Before evaluating, every head's
``num_classes`` is compared with the test dataset's classes.

``--show-dir`` writes one overlay per real frame, ``{clip_id}_{frame_idx}.png`` (``AVSVisualizationHook``).
``--audio-perturb`` evaluates with the test audio replaced (silence), swapped with another clip's (swap), mixed
with white noise (noise) or with an off-screen sound (offscreen: another clip's, or the one file
``--offscreen-audio``) at ``--snr`` dB: the test dataset is wrapped in ``AudioPerturbedDataset`` (seed 0).
"""
import os
import os.path as osp
import sys

# This checkout's avsseg first, also when another clone is installed (see tools/train.py).
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path[:1]:
    sys.path.insert(0, REPO_ROOT)

import argparse  # noqa: E402

from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import avsseg  # noqa: F401,E402  (registries, checkpoint allowlist, avsseg:: config scope)
from avsseg.datasets.audio import AUDIO_PERTURBATIONS, DEFAULT_PERTURBATION_SNR_DB, WAVEFORM_PERTURBATIONS  # noqa: E402
from avsseg.evaluation import check_model_classes  # noqa: E402
from avsseg.utils import (drop_missing_weight_files, fix_persistent_workers, set_data_root,  # noqa: E402
                          setup_cpu_distributed, teardown_distributed)

PERTURB_WRAPPER = 'AudioPerturbedDataset'
VIS_HOOK = 'AVSVisualizationHook'


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) an audio-visual segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--data-root', metavar='DIR', help='data root of the test (and val) datasets, also inside dataset wrappers')
    parser.add_argument(
        '--out',
        type=str,
        help='the directory to save the predicted mask of every test frame ({clip_id}_{frame_idx}.png; '
        'binary subsets 0/255, semantic ones class indices)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='directory where painted frames ({clip_id}_{frame_idx}.png) will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--audio-perturb',
        choices=('none', ) + AUDIO_PERTURBATIONS,
        default='none',
        help=f'test-time audio perturbation: the test dataset is wrapped in {PERTURB_WRAPPER}')
    parser.add_argument(
        '--snr',
        type=float,
        default=None,
        help=f'signal-to-noise ratio in dB of --audio-perturb noise / offscreen (default '
        f'{DEFAULT_PERTURBATION_SNR_DB})')
    parser.add_argument(
        '--offscreen-audio',
        metavar='PATH',
        default=None,
        help='with --audio-perturb offscreen: mix this one sound file (a waveform) into every test clip, instead of '
        'another clip\'s sound')
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
    check_perturbation_args(parser, args)
    return args


def check_perturbation_args(parser: argparse.ArgumentParser, args) -> None:
    """``--snr`` / ``--offscreen-audio`` only with the perturbations they belong to; the file must exist."""
    if args.snr is not None and args.audio_perturb not in WAVEFORM_PERTURBATIONS:
        parser.error(f'--snr only applies to --audio-perturb noise or offscreen, not {args.audio_perturb!r}')
    if args.offscreen_audio is not None:
        if args.audio_perturb != 'offscreen':
            parser.error(f'--offscreen-audio only applies to --audio-perturb offscreen, not {args.audio_perturb!r}')
        if not osp.isfile(args.offscreen_audio):
            parser.error(f'--offscreen-audio: file not found: {args.offscreen_audio}')


def trigger_visualization_hook(cfg: Config, args) -> Config:
    """Turns on the config's ``AVSVisualizationHook`` for ``--show`` / ``--show-dir`` (every test batch)."""
    hook = cfg.default_hooks.get('visualization') if cfg.get('default_hooks') else None
    if hook is None:
        raise RuntimeError(f'--show/--show-dir need default_hooks.visualization=dict(type="{VIS_HOOK}") in '
                           f'{args.config}')
    if str(hook.get('type', '')).split('.')[-1] != VIS_HOOK:
        raise RuntimeError(f'--show/--show-dir need default_hooks.visualization of type "{VIS_HOOK}" (it names '
                           f'overlays per clip and frame); {args.config} has {hook.get("type")!r}')
    hook['draw'] = True
    hook['interval'] = 1
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        hook['out_dir'] = args.show_dir
    return cfg


def _wrap_perturbation(dataset_cfg: dict, perturbation: dict, config: str) -> dict:
    # Wrappers that hold other datasets (ConcatDataset, RepeatDataset, ...) have no pipeline of their own:
    # each dataset inside is wrapped, and swap/off-screen partners are chosen within it.
    if 'datasets' in dataset_cfg:
        dataset_cfg['datasets'] = [_wrap_perturbation(sub, perturbation, config) for sub in dataset_cfg['datasets']]
        return dataset_cfg
    if str(dataset_cfg.get('type', '')).split('.')[-1] == PERTURB_WRAPPER:
        raise ValueError(f'test_dataloader.dataset of {config} is already an {PERTURB_WRAPPER}; drop it or '
                         '--audio-perturb')
    if 'dataset' in dataset_cfg:
        dataset_cfg['dataset'] = _wrap_perturbation(dataset_cfg['dataset'], perturbation, config)
        return dataset_cfg
    if 'type' not in dataset_cfg:
        raise KeyError(f'test_dataloader.dataset of {config} has no "type" to wrap in {PERTURB_WRAPPER}')
    return ConfigDict(type=PERTURB_WRAPPER, dataset=dataset_cfg, perturbation=ConfigDict(perturbation))


def set_audio_perturbation(cfg: Config, args) -> Config:
    """``--audio-perturb X [--snr S] [--offscreen-audio F]`` -> ``test_dataloader.dataset`` wrapped in
    ``AudioPerturbedDataset(perturbation=dict(type=X, seed=0[, snr_db=S][, offscreen_audio=F]))``."""
    if args.audio_perturb == 'none':
        return cfg
    perturbation = dict(type=args.audio_perturb, seed=0)
    if args.snr is not None:
        perturbation['snr_db'] = args.snr
    if args.offscreen_audio is not None:
        perturbation['offscreen_audio'] = args.offscreen_audio
    cfg.test_dataloader.dataset = _wrap_perturbation(cfg.test_dataloader.dataset, perturbation, args.config)
    return cfg


def main():
    args = parse_args()

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    # --cfg-options test_dataloader.num_workers=0 alone must work, as it does for tools/train.py
    for name in fix_persistent_workers(cfg):
        print_log(f'num_workers=0: persistent_workers turned off for {name}', logger='current')

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint
    cfg.resume = False
    # The checkpoint holds every weight: pretraining files that are not here are not needed.
    for key, path in drop_missing_weight_files(cfg):
        print_log(f'{path} not found: {key} set to None (its weights come from {args.checkpoint})', logger='current')

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    cfg = set_audio_perturbation(cfg, args)

    if args.out is not None:
        # The AVS metrics keep no files (mmseg's IoUMetric(output_dir) does): a hook writes the masks.
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='AVSPredictionWriterHook', out_dir=args.out)
        ]
    # mmengine's load_from is not strict: the checkpoint of another model would leave random weights.
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='StrictLoadCheckpointHook', checkpoint=args.checkpoint)
    ]

    # CPU-only machines: gloo process group and a DDP wrapper without device_ids (no-op with CUDA).
    setup_cpu_distributed(cfg, args.launcher)

    runner = Runner.from_cfg(cfg)
    # Building the test loop builds the dataset (and gives the evaluator its metainfo) before any weight is read.
    checked = check_model_classes(runner.model, runner.test_dataloader.dataset.metainfo,
                                  f'test_dataloader.dataset of {args.config}')
    print_log(f'class count: {checked}', logger='current')
    runner.test()
    del runner  # its DDP wrapper holds the process group (teardown_distributed)
    teardown_distributed()


if __name__ == '__main__':
    main()
