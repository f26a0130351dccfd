"""Speed, memory, parameters and FLOPs of any avsseg config, on random clips (no dataset needed); or, with
``--all``, of every method config in one table, trained on synthetic data through each config's own loader.

    python tools/analysis_tools/benchmark.py configs/combo/combo_pvt_s4.py --batch-size 8 --iters 5
    python tools/analysis_tools/benchmark.py configs/tpavi/tpavi_r50_s4.py --device cuda --checkpoint x.pth
    python tools/analysis_tools/benchmark.py --all --update-doc docs/benchmarks.md           # small configs, CPU
    python tools/analysis_tools/benchmark.py --all --device cuda --update-doc docs/benchmarks.md

``--all`` (see docs/benchmarks.md for the columns): the ``configs/*/*_tiny_*.py`` configs on CPU, the full
``configs/<method>/*.py`` ones and COMBO-PVT AVSS at batch 8 with AMP under each gradient-checkpointing option on a
GPU; the config's batch (``total_batch_size`` over one process; on a GPU halved until it fits, stated), its
training pipeline and worker count on a generated synthetic set (``--data-dir``), ``data_time / time`` as
mmengine's ``IterTimerHook`` measures it, inference and FLOPs on the config's first test batch.

What a single config's run measures (on a batch of ``--batch-size`` clips of the config's clip length and input
size: the test pipeline's fixed resize, else ``crop_size``):

- train step: ``model.train_step`` = data preprocessing + forward + loss + backward + the config's optimizer
  wrapper step (gradient clipping included), seconds per step (mean over ``--iters`` after ``--warmup``);
- inference: ``model.test_step`` (preprocessing, forward, post-processing to the original size), seconds per
  frame = per-batch time / (batch x frames);
- peak memory: on GPU ``torch.cuda.max_memory_allocated`` per phase (reset before each); on CPU the peak
  resident set size of the process during each phase (sampled every 2 ms from ``/proc/self/statm``; includes the
  model, the interpreter and libraries), and the process's lifetime ``ru_maxrss``;
- parameters per module: the segmentor's top-level children (visual backbone / audio backbone / neck /
  decode head) and their children (e.g. the Siam-Encoder's image and Maskige encoders and gates, the head's
  pixel decoder, transformer decoder, BFM and audio MLP), total and trainable;
- FLOPs per module of one inference batch with ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOPs per
  multiply-accumulate; only matmul/conv/attention ops are counted: ``grid_sample`` in MSDeformAttn,
  normalisation, activations and interpolation are not), reported per frame.

Weights are random unless ``--checkpoint`` is given (pretrained paths in the config are not read), which does
not change time, memory or FLOPs. Frames and Maskiges are random uint8, audio random log-mel
``[T, 1, 96, 64]``, labels random classes; S4 configs supervise the first frame of each clip (as in S4
training), other subsets every frame.
"""
import argparse
import copy
import gc
import glob
import json
import logging
import os
import os.path as osp
import resource
import sys
import textwrap
import threading
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

# ----------------------------------------------------------------------------------------------- inputs


def _strip_pretrained(node):
    # random weights: the benchmark must not need (or read) local pretrained files, nor download any
    from avsseg.utils.weight_files import WEIGHT_KEYS
    if isinstance(node, dict):
        node = type(node)({k: _strip_pretrained(v) for k, v in node.items()})
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        for key in WEIGHT_KEYS:  # 'pretrained', VGGish's 'pca_params'
            if isinstance(node.get(key), str):
                node[key] = None
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_strip_pretrained(v) for v in node)
    return node


def infer_clip_setting(cfg: Config) -> Tuple[int, Tuple[int, int], str]:
    """``(num_frames, (H, W), labelled)`` from the config: the train dataset's clip length, the crop size and
    which frames carry labels (``'first'`` for S4, ``'all'`` otherwise)."""
    from avsseg.registry import DATASETS
    num_frames, labeled = 5, 'all'
    dataset = cfg.get('train_dataloader', {}).get('dataset', {}) if cfg.get('train_dataloader') else {}
    while isinstance(dataset, dict) and 'dataset' in dataset:  # wrappers (RepeatDataset, ...)
        dataset = dataset['dataset']
    if isinstance(dataset, dict) and dataset.get('type'):
        cls = DATASETS.get(dataset['type'])
        if dataset.get('max_frames') is not None:
            num_frames = int(dataset['max_frames'])
        elif cls is not None and getattr(cls, 'NUM_FRAMES', None):
            num_frames = int(cls.NUM_FRAMES)
        elif cls is not None and 'Semantic' in cls.__name__:
            num_frames = 10
        if cls is not None and 'S4' in cls.__name__ and dataset.get('split', 'train') == 'train':
            labeled = 'first'
    crop = _fixed_test_size(cfg) or cfg.get('crop_size')
    if crop is None:
        crop = cfg.model.get('data_preprocessor', {}).get('size') or (224, 224)
    if isinstance(crop, int):
        crop = (crop, crop)
    return num_frames, (int(crop[0]), int(crop[1])), labeled


def _fixed_test_size(cfg: Config) -> Optional[Tuple[int, int]]:
    """``(H, W)`` of the test pipeline's fixed-size ``ClipResize`` (``keep_ratio=False``), the size the model sees
    at test time (the small configs resize to 96x96 while their dataset base keeps ``crop_size=(224, 224)``)."""
    loader = cfg.get('test_dataloader') or {}
    dataset = loader.get('dataset', {}) if isinstance(loader, dict) else {}
    while isinstance(dataset, dict) and 'dataset' in dataset:
        dataset = dataset['dataset']
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    for transform in pipeline or []:
        if isinstance(transform, dict) and transform.get('type') == 'ClipResize' and \
                not transform.get('keep_ratio', False):
            scale = transform['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale  # mmcv order: (w, h)
            return int(h), int(w)
    return None


def random_batch(batch_size: int, num_frames: int, size: Tuple[int, int], num_classes: int, labeled: str,
                 with_maskige: bool, seed: int = 0) -> Dict:
    """A collated batch (the output of ``avs_collate``) of random clips."""
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    frames, audio, maskige, samples = [], [], [], []
    for b in range(batch_size):
        frames.append(torch.randint(0, 256, (num_frames, 3, h, w), generator=gen, dtype=torch.uint8))
        maskige.append(torch.randint(0, 256, (num_frames, 3, h, w), generator=gen, dtype=torch.uint8))
        audio.append(torch.randn(num_frames, 1, 96, 64, generator=gen))
        for t in range(num_frames):
            sample = SegDataSample()
            gt = torch.randint(0, max(num_classes, 2), (1, h, w), generator=gen)
            is_labeled = t == 0 or labeled == 'all'
            if not is_labeled:
                gt.fill_(255)
            sample.gt_sem_seg = PixelData(data=gt)
            sample.set_metainfo(dict(clip_id=f'clip{b}', num_frames=num_frames, frame_idx=t, is_labeled=is_labeled,
                                     is_padded=False, img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                     img_path=f'clip{b}/{t}.png'))
            samples.append(sample)
    inputs = dict(frames=frames, audio=audio)
    if with_maskige:
        inputs['maskige'] = maskige
    return dict(inputs=inputs, data_samples=samples)


# ----------------------------------------------------------------------------------------------- memory
class PeakRSS:
    """Peak resident set size of this process while the ``with`` block runs (sampled in a thread)."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096

    def _rss(self) -> int:
        try:
            with open('/proc/self/statm') as f:
                return int(f.read().split()[1]) * self._page
        except OSError:  # not Linux: fall back to the lifetime peak
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def _sync(device: torch.device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _timed(fn, iters: int, warmup: int, device: torch.device) -> Tuple[float, float]:
    """``(mean seconds, peak bytes)`` of ``fn()`` over ``iters`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    _sync(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        tracker = None
    else:
        tracker = PeakRSS()
        tracker.__enter__()
    times = []
    try:
        for _ in range(iters):
            start = time.perf_counter()
            fn()
            _sync(device)
            times.append(time.perf_counter() - start)
    finally:
        if tracker is not None:
            tracker.__exit__(None, None, None)
    peak = torch.cuda.max_memory_allocated(device) if device.type == 'cuda' else tracker.peak
    return float(np.mean(times)), peak


# ----------------------------------------------------------------------------------------------- counting
def module_groups(model: torch.nn.Module, min_share: float = 0.005) -> List[Dict]:
    """Rows of the parameter/FLOP table: each top-level child of the segmentor (depth 0; not the data
    preprocessor) and its children (depth 1). Children holding less than ``min_share`` of their parent's
    parameters (query embeddings, class layers, ...) are merged into one ``<parent>.(others)`` row."""
    rows = []
    for name, child in model.named_children():
        if name == 'data_preprocessor':
            continue
        rows.append(dict(name=name, depth=0, members=[name]))
        parent_params = count_params(child)[0]
        small = []
        for sub_name, sub in child.named_children():
            n = count_params(sub)[0]
            if n == 0:
                continue
            if n < min_share * parent_params:
                small.append(f'{name}.{sub_name}')
            else:
                rows.append(dict(name=f'{name}.{sub_name}', depth=1, members=[f'{name}.{sub_name}']))
        if small:
            rows.append(dict(name=f'{name}.(others)', depth=1, members=small))
    return rows


def count_params(module: torch.nn.Module) -> Tuple[int, int]:
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


class _CalledThroughModule:
    """Routes ``module.<method>(...)`` through ``module.__call__`` while active.

    ``FlopCounterMode`` attributes FLOPs (and names sub-modules) through module calls; a head's ``predict`` is
    a plain method call, so without this its FLOPs and its sub-modules' names would be lost.
    """

    def __init__(self, module: torch.nn.Module, method: str):
        self.module, self.method = module, method

    def __enter__(self):
        module, original = self.module, getattr(self.module, self.method)

        def call(*args, **kwargs):
            def forward(*_args, **_kwargs):
                del module.forward  # the method's own self.forward(...) calls reach the class forward again
                return original(*args, **kwargs)

            module.forward = forward
            try:
                return module()
            finally:
                module.__dict__.pop('forward', None)

        setattr(module, self.method, call)
        return self

    def __exit__(self, *exc):
        self.module.__dict__.pop(self.method, None)


class _Null:

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def flops_per_module(model: torch.nn.Module, data: Dict) -> Dict[str, int]:
    """FLOPs of one ``test_step`` per module name (``''`` = whole model), via ``FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False, depth=None)
    # FlopCounterMode's module tracker hooks tensors that require grad; with every parameter frozen nothing
    # does, which avoids its failure on parameters passed between modules under no_grad
    requires_grad = [p.requires_grad for p in model.parameters()]
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        head = getattr(model, 'decode_head', None)
        with torch.no_grad(), _CalledThroughModule(head, 'predict') if head is not None else _Null(), counter:
            model.test_step(data)
    finally:
        for p, flag in zip(model.parameters(), requires_grad):
            p.requires_grad_(flag)
    root = type(model).__name__
    counted = {}
    for name, counts in counter.get_flop_counts().items():
        total = int(sum(counts.values()))
        if name == 'Global':
            counted[''] = total
        elif name.startswith(root + '.'):
            counted[name[len(root) + 1:]] = total
    # A module that is never called itself (e.g. a decoder whose layers the head calls one by one) gets the sum
    # of its descendants that were called.
    out = {'': counted.get('', 0)}

    def total_of(name: str, module: torch.nn.Module) -> int:
        if name in counted:
            value = counted[name]
            for child_name, child in module.named_children():
                total_of(f'{name}.{child_name}', child)
        else:
            value = sum(total_of(f'{name}.{child_name}', child) for child_name, child in module.named_children())
        out[name] = value
        return value

    for name, child in model.named_children():
        total_of(name, child)
    return out


# ----------------------------------------------------------------------------------------------- main
def build(cfg: Config, device: torch.device, checkpoint: Optional[str]):
    import avsseg.datasets  # noqa: F401  (registers datasets, transforms, avs_collate)
    import avsseg.models  # noqa: F401
    from avsseg.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    model = MODELS.build(_strip_pretrained(cfg.model))
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter at INFO
    try:
        model.init_weights()  # the modules' own initialisation; pretrained files are never read
    finally:
        logger.setLevel(level)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device)


def build_optim_wrapper(model, cfg: Config, device: torch.device):
    from mmengine.optim import build_optim_wrapper as _build
    optim_cfg = cfg.get('optim_wrapper') or dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4))
    optim_cfg = dict(optim_cfg)
    note = ''
    if optim_cfg.get('type') == 'AmpOptimWrapper' and device.type != 'cuda':
        optim_cfg['type'] = 'OptimWrapper'  # mixed precision needs a GPU
        optim_cfg.pop('loss_scale', None)
        optim_cfg.pop('dtype', None)
        note = ' (AmpOptimWrapper replaced by OptimWrapper on CPU)'
    return _build(model, optim_cfg), note


def benchmark(args) -> Dict:
    threads = torch.get_num_threads()
    try:
        return _benchmark(args)
    finally:
        torch.set_num_threads(threads)


def _benchmark(args) -> Dict:
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda requested but no GPU is available')
    torch.manual_seed(0)
    model = build(cfg, device, args.checkpoint)
    num_frames, size, labeled = infer_clip_setting(cfg)
    if args.num_frames:
        num_frames = args.num_frames
    if args.shape:
        size = tuple(args.shape) if len(args.shape) == 2 else (args.shape[0], args.shape[0])
    with_maskige = bool(getattr(getattr(model, 'backbone', None), 'use_maskige', False))
    num_classes = int(getattr(model, 'num_classes', 2))
    data = random_batch(args.batch_size, num_frames, size, num_classes, labeled, with_maskige)
    frames_per_batch = args.batch_size * num_frames

    result = OrderedDict(config=args.config, device=str(device), device_name=_device_name(device),
                         batch_size=args.batch_size, num_frames=num_frames, input_size=list(size),
                         torch_threads=torch.get_num_threads(), torch=torch.__version__)

    modules = dict(model.named_modules())
    rows = module_groups(model)
    for row in rows:
        counts = [count_params(modules[m]) for m in row['members']]
        row['params'], row['trainable'] = sum(c[0] for c in counts), sum(c[1] for c in counts)
    total, trainable = count_params(model)
    result['params'] = dict(total=total, trainable=trainable, modules=rows)

    if not args.skip_flops:
        model.eval()
        flops = flops_per_module(model, random_batch(1, num_frames, size, num_classes, labeled, with_maskige))
        per_frame = {k: v / num_frames for k, v in flops.items()}
        result['flops_per_frame'] = dict(
            total=per_frame.get('', 0.0),
            modules={r['name']: sum(per_frame.get(m, 0.0) for m in r['members']) for r in rows})

    if not args.skip_infer:
        model.eval()

        def infer():
            with torch.no_grad():
                model.test_step(data)

        sec, peak = _timed(infer, args.iters, args.warmup, device)
        result['inference'] = dict(sec_per_batch=sec, sec_per_frame=sec / frames_per_batch,
                                   fps=frames_per_batch / sec, peak_memory_bytes=peak)

    if not args.skip_train:
        model.train()
        optim_wrapper, note = build_optim_wrapper(model, cfg, device)

        def train():
            model.train_step(data, optim_wrapper)

        sec, peak = _timed(train, args.iters, args.warmup, device)
        result['train'] = dict(sec_per_step=sec, sec_per_frame=sec / frames_per_batch, peak_memory_bytes=peak,
                               optim_wrapper=type(optim_wrapper).__name__ + note)
    result['process_max_rss_bytes'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return result


# ----------------------------------------------------------------------------------------------- --all: one table
#: Dataset class -> synthetic subset that feeds it (tools/dataset_converters/synthetic_avsbench.py).
SUBSET_OF_DATASET = {'AVSBenchS4Dataset': 's4', 'AVSBenchMS3Dataset': 'ms3', 'AVSBenchSemanticDataset': 'avss'}
#: Gradient-checkpointing options of COMBO (docs/combo.md): Siam-Encoder passes, pixel decoder and decoder layers.
CHECKPOINTING = OrderedDict([
    ('none', {}),
    ('encoders', {'model.backbone.with_cp': True}),
    ('head', {'model.decode_head.with_cp': True}),
    ('encoders+head', {'model.backbone.with_cp': True, 'model.decode_head.with_cp': True}),
])
COMBO_AVSS = 'configs/combo/combo_pvt_avss.py'
PRECISIONS = ('config', 'fp32', 'amp')


class Row(dict):
    """One row of the ``--all`` table: a config, ``--cfg-options`` on top of it (``cfg_options``), the precision
    (``'config'``: the config's optimizer wrapper, ``'fp32'``: plain ``OptimWrapper``, ``'amp'``:
    ``AmpOptimWrapper`` as ``tools/train.py --amp``), a display ``label`` and whether it needs a GPU."""

    def __init__(self, config: str, label: Optional[str] = None, cfg_options: Optional[Dict] = None,
                 precision: str = 'config', gpu_only: bool = False):
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
        name = osp.splitext(osp.basename(config))[0]
        super().__init__(config=config, label=label or (name if precision == 'config' else f'{name} ({precision})'),
                         cfg_options=dict(cfg_options or {}), precision=precision, gpu_only=gpu_only)


def method_configs(root: str, tiny: bool) -> List[str]:
    """The method configs under ``root/configs/<method>/`` (not ``_base_`` nor ablations): the small
    ``*_tiny_*`` ones or the full ones."""
    paths = sorted(glob.glob(osp.join(root, 'configs', '*', '*.py')))
    paths = [p for p in paths if osp.basename(osp.dirname(p)) != '_base_']
    return [osp.relpath(p, root) for p in paths if ('_tiny_' in osp.basename(p)) == tiny]


def default_rows(root: str, device: str, precisions: Sequence[str] = ('config', )) -> List[Row]:
    """Rows of ``--all``: on CPU the small configs; on a GPU the full ones, each in ``precisions``, and COMBO-PVT AVSS
    at batch 8 with AMP under each gradient-checkpointing option. Rows that need a GPU are kept (``gpu_only``)
    so that a CPU table can list them as not run."""
    rows = [Row(c, precision=p) for c in method_configs(root, tiny=True) for p in precisions]
    full = [Row(c, precision=p, gpu_only=True) for c in method_configs(root, tiny=False) for p in precisions]
    if osp.isfile(osp.join(root, COMBO_AVSS)):
        for name, options in CHECKPOINTING.items():
            if name != 'none':
                full.append(Row(COMBO_AVSS, f'combo_pvt_avss, AMP, checkpointing: {name}',
                                dict(options, total_batch_size=8), 'amp', gpu_only=True))
    return full + rows if device.startswith('cuda') else rows + full


def config_path(root: str, config: str) -> str:
    """A config named relative to the working directory, or else to the repository root."""
    if osp.isabs(config) or osp.isfile(config):
        return config
    path = osp.join(root, config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {config} not found (neither in {os.getcwd()} nor in {root})')
    return path


def apply_precision(cfg: Config, precision: str) -> None:
    """``'fp32'``: ``OptimWrapper``; ``'amp'``: ``AmpOptimWrapper`` with a dynamic loss scale (``tools/train.py
    --amp``); ``'config'``: unchanged."""
    if precision == 'config':
        return
    optim = cfg.optim_wrapper
    if precision == 'fp32':
        optim.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype'):
            optim.pop(key, None)
    else:
        optim.type = 'AmpOptimWrapper'
        optim.setdefault('loss_scale', 'dynamic')


def _dataset_cfg(loader_cfg):
    dataset = loader_cfg['dataset']
    while 'dataset' in dataset:  # wrappers
        dataset = dataset['dataset']
    return dataset


def subset_of(cfg: Config, config: str) -> str:
    """The synthetic subset that feeds the config's training dataset."""
    kind = _dataset_cfg(cfg.train_dataloader).get('type')
    if kind not in SUBSET_OF_DATASET:
        raise ValueError(f'{config}: train_dataloader.dataset.type={kind!r} has no synthetic counterpart '
                         f'(known: {", ".join(SUBSET_OF_DATASET)})')
    return SUBSET_OF_DATASET[kind]


def synthetic_data(data_dir: str, subsets: Sequence[str], min_train_clips: int) -> Dict[str, str]:
    """A synthetic set (with Maskiges) per subset under ``data_dir/<subset>``, generated when missing or holding
    fewer than ``min_train_clips`` training clips (so the timed iterations do not wrap around an epoch)."""
    from avsseg.datasets.synthetic import DEFAULT_SPLIT_RATIOS, generate_synthetic_avsbench
    from avsseg.datasets.synthetic.generator import INFO_FILE
    roots = {}
    num_videos = max(20, int(np.ceil(min_train_clips / DEFAULT_SPLIT_RATIOS[0])) + 4)
    for subset in sorted(set(subsets)):
        root = osp.join(data_dir, subset)
        info_path = osp.join(root, INFO_FILE.format(subset=subset))  # written last: a complete set
        info = None
        if osp.isfile(info_path):
            with open(info_path) as f:
                info = json.load(f)
        if not info or not info.get('maskige') or info['splits']['train'] < min_train_clips:
            print(f'generating a synthetic {subset} set with Maskiges in {root} ({num_videos} clips)', flush=True)
            generate_synthetic_avsbench(root, subset, seed=0, num_videos=num_videos, maskige=True,
                                        overwrite=True)
        roots[subset] = root
    return roots


def _set_data_root(cfg: Config, root: str) -> None:
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader:
            _dataset_cfg(loader)['data_root'] = root


def _first_batch(loader_cfg) -> Dict:
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(loader_cfg)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    return next(iter(Runner.build_dataloader(loader_cfg, seed=0)))


def _first_clip(batch: Dict) -> Dict:
    clips = len(batch['inputs']['frames'])
    per_clip = len(batch['data_samples']) // clips
    return dict(inputs={k: v[:1] for k, v in batch['inputs'].items()}, data_samples=batch['data_samples'][:per_clip])


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def measure_train(model, cfg: Config, device: torch.device, iters: int, warmup: int) -> Dict:
    """Train steps on batches from the config's own training dataloader (its pipeline, batch size and worker
    count), timed as mmengine's ``IterTimerHook`` does: ``time`` from the end of one step to the end of the next,
    ``data_time`` the part spent waiting for the batch. GPU steps are synchronised, so ``data_time`` is the
    wait for the loader alone. Peak memory of the timed steps: ``max_memory_allocated`` on GPU, the main
    process's RSS on CPU (loader workers are separate processes)."""
    from mmengine.runner import Runner
    optim_wrapper, note = build_optim_wrapper(model, cfg, device)
    optim_name = type(optim_wrapper).__name__ + note
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    state = dict(it=iter(loader), restarts=0, size=None)

    def next_batch():
        try:
            return next(state['it'])
        except StopIteration:  # an epoch ended: as in training, a new iterator (and new workers)
            state['restarts'] += 1
            state['it'] = iter(loader)
            return next(state['it'])

    model.train()
    try:
        for _ in range(warmup):
            model.train_step(next_batch(), optim_wrapper)
        _sync(device)
        tracker = None
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(device)
        else:
            tracker = PeakRSS()
            tracker.__enter__()
        times, data_times = [], []
        try:
            last = time.perf_counter()
            for _ in range(iters):
                data = next_batch()
                loaded = time.perf_counter()
                state['size'] = [int(x) for x in data['inputs']['frames'][0].shape[-2:]]
                model.train_step(data, optim_wrapper)
                _sync(device)
                now = time.perf_counter()
                data_times.append(loaded - last)
                times.append(now - last)
                last = now
        finally:
            if tracker is not None:
                tracker.__exit__(None, None, None)
        peak = torch.cuda.max_memory_allocated(device) if device.type == 'cuda' else tracker.peak
    finally:
        del state['it']  # stops the loader's workers
        optim_wrapper.optimizer.zero_grad(set_to_none=True)
        del optim_wrapper
    return dict(sec_per_step=float(np.mean(times)), data_sec_per_step=float(np.mean(data_times)),
                data_share=float(np.sum(data_times) / np.sum(times)), peak_memory_bytes=int(peak),
                step_times=times, data_times=data_times, optim_wrapper=optim_name, loader_restarts=state['restarts'],
                input_size=state['size'],
                num_workers=int(cfg.train_dataloader.get('num_workers', 0)))


def _timed_inference(model, batch: Dict, iters: int, device: torch.device) -> Tuple[float, float]:

    def infer():
        with torch.no_grad():
            model.test_step(batch)

    return _timed(infer, iters, 1, device)


def measure_row(row: Row, root: str, device: torch.device, data_roots: Dict[str, str], iters: int, warmup: int,
                infer_iters: int, timed: bool = True) -> Dict:
    """Every figure of one ``--all`` row (see :func:`format_table`) at the config's own batch and input size;
    with ``timed=False`` only the parameters and FLOPs (which do not depend on the device)."""
    from avsseg.utils import apply_total_batch_size
    cfg = Config.fromfile(config_path(root, row['config']))
    if row['cfg_options']:
        cfg.merge_from_dict(row['cfg_options'])
    apply_precision(cfg, row['precision'])
    config_batch = cfg.get('total_batch_size') or cfg.train_dataloader.batch_size
    apply_total_batch_size(cfg, 'none', row['cfg_options'])  # one process: the whole batch
    _set_data_root(cfg, data_roots[subset_of(cfg, row['config'])])
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = bool(cfg.get('env_cfg', {}).get('cudnn_benchmark', False))
    torch.manual_seed(0)
    model = build(cfg, device, None)
    result = OrderedDict(label=row['label'], config=row['config'], cfg_options=row['cfg_options'],
                         precision=row['precision'])
    modules = OrderedDict((name, count_params(child)) for name, child in model.named_children()
                          if name != 'data_preprocessor')
    total, trainable = count_params(model)
    result['params'] = dict(total=total, trainable=trainable, modules=modules)

    # inference and FLOPs on real test clips (the test pipeline decides the input size)
    test_batch = _first_batch(cfg.test_dataloader)
    frames = test_batch['inputs']['frames']
    num_frames, (h, w) = frames[0].shape[0], frames[0].shape[-2:]
    result.update(num_frames=int(num_frames), test_input_size=[int(h), int(w)], test_batch_size=len(frames))
    model.eval()
    flops = flops_per_module(model, _first_clip(test_batch))
    result['gflops_per_frame'] = flops.get('', 0) / num_frames / 1e9
    result.update(config_batch_size=int(config_batch), batch_size=int(cfg.train_dataloader.batch_size),
                  batch_note='')
    if not timed:
        del model, test_batch
        _free(device)
        return result
    sec, peak = _timed_inference(model, test_batch, infer_iters, device)
    result['inference'] = dict(sec_per_frame=sec / (len(frames) * num_frames), peak_memory_bytes=int(peak))
    del test_batch
    _free(device)

    # training at the config's batch; on a GPU the largest batch that fits when it does not
    batch = cfg.train_dataloader.batch_size
    while True:
        try:
            result['train'] = measure_train(model, cfg, device, iters, warmup)
            break
        except torch.cuda.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            _free(device)
            if batch == 1:
                result['train'] = None
                result['batch_note'] = 'out of memory at batch 1'
                break
            batch //= 2
            cfg.train_dataloader.batch_size = batch
            result.update(batch_size=batch, batch_note=f'largest that fits (config: {config_batch}, out of memory)')
    del model
    _free(device)
    return result


def machine_description(device: torch.device) -> str:
    """The machine in words: processor or GPU, memory, torch, mmcv ops, deformable-attention path."""
    import mmcv
    import mmcv.ops.multi_scale_deform_attn as msda
    from mmcv.ops import get_compiling_cuda_version
    gib = 1024**3
    ram = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / gib if hasattr(os, 'sysconf') else 0
    cpu = f'{_device_name(torch.device("cpu"))}, {ram:.0f} GiB RAM'
    cuda_ops = get_compiling_cuda_version()
    mmcv_ops = f'mmcv {mmcv.__version__} with ' + ('CUDA ops' if cuda_ops not in ('', 'not available') else 'CPU ops')
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        kernel = 'compiled CUDA kernel' if msda.IS_CUDA_AVAILABLE else 'pure-PyTorch'
        return (f'{props.name} ({props.total_memory / gib:.0f} GiB), host {cpu}; torch {torch.__version__} '
                f'(CUDA {torch.version.cuda}), {mmcv_ops}, MSDeformAttn: {kernel}')
    threads = torch.get_num_threads()
    return f'{cpu}; torch {torch.__version__}, {threads} thread{"s" if threads != 1 else ""}, {mmcv_ops}'


def _short(name: str) -> str:
    return {'backbone': 'visual', 'audio_backbone': 'audio', 'decode_head': 'head'}.get(name, name)


def _gib(n: Optional[int]) -> str:
    return '' if n is None else f'{n / 1024**3:.2f}'


def format_table(results: Sequence[Dict], device: str) -> str:
    """The ``--all`` table in Markdown, one row per result; ``result['skipped']`` rows say why they were not run."""
    mem = 'CUDA max allocated' if device.startswith('cuda') else 'RSS'
    lines = [
        '| config | train batch (clips x frames, input) | params M (trainable) | params M per module | '
        f'GFLOPs / frame | train step s | data loading share | inference ms / frame | peak {mem} GiB train / infer |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for r in results:
        if r.get('skipped') and 'params' not in r:
            lines.append(f"| {r['label']} | {r['skipped']} | | | | | | | |")
            continue
        p = r['params']
        per_module = ', '.join(f'{_short(n)} {t / 1e6:.2f}' + (f' ({tr / 1e6:.2f})' if tr != t else '')
                               for n, (t, tr) in p['modules'].items())
        t = r.get('train')
        size = 'x'.join(map(str, (t or {}).get('input_size') or r['test_input_size']))
        batch = f"{r['batch_size']} x {r['num_frames']}, {size}" + (f" ({r['batch_note']})" if r['batch_note'] else '')
        if r.get('skipped'):  # parameters and FLOPs only
            lines.append(f"| {r['label']} | {batch} | {p['total'] / 1e6:.2f} ({p['trainable'] / 1e6:.2f}) | "
                         f"{per_module} | {r['gflops_per_frame']:.2f} | {r['skipped']} | | | |")
            continue
        if t is None:
            train = data = train_mem = 'out of memory'
        else:
            train = f"{t['sec_per_step']:.3f}"
            data = f"{100 * t['data_share']:.1f}% ({t['num_workers']} workers)"
            train_mem = _gib(t['peak_memory_bytes'])
        lines.append(f"| {r['label']} | {batch} | {p['total'] / 1e6:.2f} ({p['trainable'] / 1e6:.2f}) | {per_module} | "
                     f"{r['gflops_per_frame']:.2f} | {train} | {data} | {r['inference']['sec_per_frame'] * 1e3:.1f} | "
                     f"{train_mem} / {_gib(r['inference']['peak_memory_bytes'])} |")
    return '\n'.join(lines)


def doc_section(results: Sequence[Dict], device: str, machine: str, command: str, loads: Tuple, iters: int,
                warmup: int) -> str:
    """The generated part of docs/benchmarks.md for one device kind."""
    date = time.strftime('%Y-%m-%d')
    cpus = os.cpu_count()
    prose = (f'Measured {date} on {machine}. Load average (1 min) before / after: {loads[0]:.2f} / {loads[1]:.2f} '
             f'on {cpus} logical CPUs' + (' (a shared machine: other jobs were running).' if max(loads) > 0.5 else '.')
             + f' {warmup} warm-up + {iters} timed train steps per row; inference on the first test batch.')
    lines = [textwrap.fill(prose, 120, break_on_hyphens=False), '', '```bash', command, '```', '',
             format_table(results, device)]
    return '\n'.join(lines)


def update_doc(path: str, device_kind: str, section: str) -> None:
    """Replace the text between ``<!-- benchmark --all: KIND begin -->`` and ``... end -->`` in ``path``."""
    begin, end = f'<!-- benchmark --all: {device_kind} begin -->', f'<!-- benchmark --all: {device_kind} end -->'
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text or text.index(begin) > text.index(end):
        raise ValueError(f'{path}: no "{begin}" ... "{end}" markers to write the table between')
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, 'w') as f:
        f.write(f'{head}{begin}\n{section}\n{end}{tail}')


def benchmark_all(args) -> List[Dict]:
    """``--all``: measure every row, print the table, write ``--json`` / ``--update-doc``."""
    from mmengine.utils.dl_utils import set_multi_processing

    import avsseg.datasets  # noqa: F401  (datasets, transforms, avs_collate)
    root = args.root
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda requested but no GPU is available')
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.configs:
        rows = [Row(c, precision=p) for c in args.configs for p in args.precision]
    else:
        rows = default_rows(root, args.device, args.precision)
    if args.batch_size is not None:
        for row in rows:
            row['cfg_options']['total_batch_size'] = args.batch_size
    if args.cfg_options:
        for row in rows:
            row['cfg_options'].update(args.cfg_options)
    runnable = [r for r in rows if device.type == 'cuda' or not r['gpu_only']]
    # rows counted without timing (parameters and FLOPs, on this CPU): one per config, as configured
    counted = [r for r in rows if r not in runnable and args.count_gpu_rows and r['precision'] == 'config'
               and not r['cfg_options']]
    init_default_scope('avsseg')
    set_multi_processing(mp_start_method='fork', opencv_num_threads=0)  # as the Runner sets up training
    subsets, batches = [], [1]
    for row in runnable + counted:
        cfg = Config.fromfile(config_path(root, row['config']))
        if row['cfg_options']:
            cfg.merge_from_dict(row['cfg_options'])
        subsets.append(subset_of(cfg, row['config']))
        if row in runnable:  # counted rows only need test clips
            batches.append(cfg.get('total_batch_size') or cfg.train_dataloader.batch_size)
    data_roots = synthetic_data(args.data_dir, subsets, (args.iters + args.warmup) * max(batches))
    loads = [os.getloadavg()[0]]
    results = []
    for row in rows:
        if row in counted:
            print(f'--- {row["label"]} (parameters and FLOPs only)', flush=True)
            result = measure_row(row, root, device, data_roots, args.iters, args.warmup, args.infer_iters, False)
            results.append(dict(result, skipped='needs a GPU'))
            continue
        if row not in runnable:
            cfg = Config.fromfile(config_path(root, row['config']))
            if row['cfg_options']:
                cfg.merge_from_dict(row['cfg_options'])
            batch = cfg.get('total_batch_size') or cfg.train_dataloader.batch_size
            results.append(dict(label=row['label'], config=row['config'],
                                skipped=f'batch {batch}: needs a GPU (not run here)'))
            continue
        print(f'--- {row["label"]}', flush=True)
        results.append(measure_row(row, root, device, data_roots, args.iters, args.warmup, args.infer_iters))
    loads.append(os.getloadavg()[0])
    command = 'python tools/analysis_tools/benchmark.py ' + ' '.join(args.argv)
    section = doc_section(results, args.device, machine_description(device), command, tuple(loads), args.iters,
                          args.warmup)
    print(section)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(machine=machine_description(device), loads=loads, results=results), f, indent=2)
    if args.update_doc:
        update_doc(args.update_doc, 'gpu' if device.type == 'cuda' else 'cpu', section)
    return results


def _device_name(device: torch.device) -> str:
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    import platform
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{name} ({os.cpu_count()} logical CPUs)'


def format_report(result: Dict) -> str:
    gib = 1024**3
    mem = 'GPU max_memory_allocated' if result['device'].startswith('cuda') else 'CPU peak RSS (process)'
    lines = [f"config: {result['config']}",
             f"device: {result['device']} - {result['device_name']}, torch {result['torch']}, "
             f"{result['torch_threads']} threads",
             f"input: batch {result['batch_size']} clips x {result['num_frames']} frames x "
             f"{result['input_size'][0]}x{result['input_size'][1]}"]
    if 'train' in result:
        t = result['train']
        lines.append(f"train step: {t['sec_per_step']:.3f} s/step ({t['sec_per_frame'] * 1e3:.1f} ms/frame), "
                     f"{mem} {t['peak_memory_bytes'] / gib:.2f} GiB [{t['optim_wrapper']}]")
    if 'inference' in result:
        t = result['inference']
        lines.append(f"inference: {t['sec_per_frame'] * 1e3:.1f} ms/frame ({t['fps']:.2f} frames/s, "
                     f"{t['sec_per_batch']:.3f} s/batch), {mem} {t['peak_memory_bytes'] / gib:.2f} GiB")
    lines.append(f"process max RSS: {result['process_max_rss_bytes'] / gib:.2f} GiB")
    flops = result.get('flops_per_frame')
    header = f"{'module':<48}{'params (M)':>12}{'trainable (M)':>15}" + (f"{'GFLOPs/frame':>14}" if flops else '')
    lines += ['', header, '-' * len(header)]
    for row in result['params']['modules']:
        name = ('  ' * row['depth']) + row['name']
        if len(row['members']) > 1:
            name += ' [' + ', '.join(m.rsplit('.', 1)[-1] for m in row['members']) + ']'
            name = name if len(name) <= 47 else name[:44] + '...]'

        line = f"{name:<48}{row['params'] / 1e6:>12.2f}{row['trainable'] / 1e6:>15.2f}"
        if flops:
            line += f"{flops['modules'].get(row['name'], 0.0) / 1e9:>14.2f}"
        lines.append(line)
    p = result['params']
    line = f"{'total':<48}{p['total'] / 1e6:>12.2f}{p['trainable'] / 1e6:>15.2f}"
    if flops:
        line += f"{flops['total'] / 1e9:>14.2f}"
    lines.append(line)
    if flops:
        lines.append('FLOPs: torch.utils.flop_counter (2 per multiply-add; grid_sample in MSDeformAttn, norms, '
                     'activations and interpolation are not counted)')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark an avsseg config on random clips, or (--all) every method config on synthetic data '
        'into one table.')
    parser.add_argument('config', nargs='?', help='a config (not with --all)')
    parser.add_argument('--all', action='store_true',
                        help='every method config: the small *_tiny_* ones on CPU, the full ones (and COMBO-PVT AVSS '
                        'with each gradient-checkpointing option) on a GPU; train steps on generated synthetic data')
    parser.add_argument('--configs', nargs='+', default=None, help='--all: these configs instead of the defaults')
    parser.add_argument('--precision', nargs='+', choices=PRECISIONS, default=['config'],
                        help="--all: one row per precision: 'config' (its optimizer wrapper), 'fp32', 'amp'")
    parser.add_argument('--data-dir', default='data/benchmark_synthetic',
                        help='--all: where the synthetic sets (one per subset, with Maskiges) are kept or generated')
    parser.add_argument('--update-doc', default=None,
                        help='--all: write the table between the "<!-- benchmark --all: cpu|gpu begin/end -->" '
                        'markers of this Markdown file (docs/benchmarks.md)')
    parser.add_argument('--count-gpu-rows', action='store_true',
                        help='--all on CPU: also build the models of the rows that need a GPU and count their '
                        'parameters and FLOPs (one forward pass each; no timing)')
    parser.add_argument('--infer-iters', type=int, default=3, help='--all: timed inference batches per row')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='clips per batch (default 2; with --all the config\'s own, total_batch_size included)')
    parser.add_argument('--iters', type=int, default=None,
                        help='timed iterations per phase (default 5; --all: 10 train steps)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed iterations before timing (default 1; --all: 2, the first loads start the '
                        'loader workers)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--checkpoint', default=None, help='optional weights (do not change the figures)')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads for torch (default: torch\'s choice); on a loaded machine 1 thread avoids '
                        'spin-wait contention between torch\'s workers and other processes')
    parser.add_argument('--num-frames', type=int, default=None, help='override the clip length')
    parser.add_argument('--shape', type=int, nargs='+', default=None, help='override the input size: H [W]')
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--skip-infer', action='store_true')
    parser.add_argument('--skip-flops', action='store_true')
    parser.add_argument('--json', default=None, help='also write the figures to this json file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if args.all == bool(args.config):
        parser.error('give either a config or --all')
    if not args.all:
        only_all = [flag for flag, value in (('--configs', args.configs), ('--update-doc', args.update_doc),
                                             ('--precision', args.precision != ['config']),
                                             ('--count-gpu-rows', args.count_gpu_rows)) if value]
        if only_all:
            parser.error(f'{", ".join(only_all)} only apply with --all')
        args.batch_size = 2 if args.batch_size is None else args.batch_size
    elif args.num_frames or args.shape or args.checkpoint or args.skip_train or args.skip_infer or args.skip_flops:
        parser.error('--all measures every figure at the configs\' own clip length and input size: --num-frames, '
                     '--shape, --checkpoint and --skip-* only apply to a single config')
    args.iters = (10 if args.all else 5) if args.iters is None else args.iters
    args.warmup = (2 if args.all else 1) if args.warmup is None else args.warmup
    if (args.batch_size is not None and args.batch_size < 1) or args.iters < 1 or args.warmup < 0 or \
            args.infer_iters < 1 or (args.threads is not None and args.threads < 1):
        parser.error('--batch-size, --iters, --infer-iters and --threads must be >= 1, --warmup >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.all:
        threads = torch.get_num_threads()
        try:
            return benchmark_all(args)
        finally:
            torch.set_num_threads(threads)
    result = benchmark(args)
    print(format_report(result))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main(sys.argv[1:])
