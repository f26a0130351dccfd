"""Speed, memory, parameters and FLOPs of any avsseg config, on random clips (no dataset needed).

    python tools/analysis_tools/benchmark.py configs/combo/combo_pvt_s4.py --batch-size 8 --iters 5
    python tools/analysis_tools/benchmark.py configs/tpavi/tpavi_r50_s4.py --device cuda --checkpoint x.pth

What is measured (on a batch of ``--batch-size`` clips of the config's clip length and crop size):

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
import json
import logging
import os
import resource
import sys
import threading
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

# ----------------------------------------------------------------------------------------------- inputs


def _strip_pretrained(node):
    # random weights: the benchmark must not need (or read) local pretrained files
    if isinstance(node, dict):
        node = type(node)({k: _strip_pretrained(v) for k, v in node.items()})
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None
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
    crop = cfg.get('crop_size')
    if crop is None:
        crop = cfg.model.get('data_preprocessor', {}).get('size') or (224, 224)
    if isinstance(crop, int):
        crop = (crop, crop)
    return num_frames, (int(crop[0]), int(crop[1])), labeled


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
    parser = argparse.ArgumentParser(description='Benchmark an avsseg config on random clips.')
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=2, help='clips per batch')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations per phase')
    parser.add_argument('--warmup', type=int, default=1, help='untimed iterations before timing')
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
    if args.batch_size < 1 or args.iters < 1 or args.warmup < 0 or (args.threads is not None and args.threads < 1):
        parser.error('--batch-size, --iters and --threads must be >= 1, --warmup >= 0')
    return args


def main(argv=None) -> Dict:
    args = parse_args(argv)
    result = benchmark(args)
    print(format_report(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main(sys.argv[1:])
