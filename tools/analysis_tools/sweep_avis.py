"""Sweep BAVS's AVIS settings on cached stage-1 instance sets and cached tags, **val split only** (BAVS sheet §6.3, A2).

    python tools/analysis_tools/cache_stage1.py CONFIG CKPT --split val --out CACHE --tags [--instance-filter none]
    python tools/analysis_tools/sweep_avis.py CONFIG --cache CACHE --checkpoint CKPT --split val --out DIR \\
        [--tag-thr 0.05 0.1 0.2 0.3] [--topk 3 5 10 none] [--t 0.5] \\
        [--switch fallback_after_direct=true,false consume_on_fallback=true,false fallback=true agg=sum,max] \\
        [--audio-perturb noise --snr 10] [--metric mIoU] [--data-root DIR]

CONFIG is a BAVS stage-2 config (``BAVSSegmentor``), CKPT its composed checkpoint; the cache must hold the val
split's instance sets and tags written from that checkpoint (sha256 compared) for the chosen audio perturbation
(``--audio-perturb`` / ``--snr`` / ``--offscreen-audio`` select the cached tags, as cache_stage1.py names them).
For every grid point the integrator of the config is rebuilt with the point's settings
(:class:`AudioVisualSemanticIntegration`, the config's tree and classes) and each val frame goes through the
segmentor's own steps: ``integrate_instances`` on the frame's potential set ``P_c`` and its tags (padded frames:
nothing sounds), ``BAVSSegmentor.paint`` of the sounding masks, then the config's ``test_evaluator`` metrics
(``AVSSemanticMetric`` for AVSS, ``AVSBinaryMetric`` for S4 / MS3, ``PotentialInstanceMetric`` for I) on the val
ground truth, so the config's own setting scores what ``tools/test.py`` gives on val (tested). No model runs.

- ``--t`` (the two-phase IoU threshold): a cache written with the head's ``two_phase`` filter holds ``P_c`` for its
  own t only; for other values write the cache with ``--instance-filter none`` (every query not predicting
  no-object), from which ``two_phase_filter`` makes ``P_c`` for each t exactly as the head does.
- Defaults: the sheet's grid, ``tag_thr`` in {0.05, 0.1, 0.2, 0.3} x ``topk`` in {3, 5, 10, none}; t and the
  switches at the config's values.
- Output in ``--out``: ``sweep_avis.csv`` and ``sweep_avis.md`` (one row per grid point, every scalar metric; the
  config's own setting marked), ``best.json`` (the best setting by ``--metric``, default the mask metric's main
  score ``mIoU`` / ``mJ``; ties go to the setting with the fewest changes from the config's, then to the first in
  grid order) and its ``--cfg-options`` line for ``tools/test.py``, also printed.
- The cached masks are at ``ori_shape`` and are painted there; ``tools/test.py`` paints at the input size and
  resizes the logits. The two agree exactly when the test pipeline's resize gives ``ori_shape`` (avsseg's
  AVSBench and synthetic test pipelines: ``ClipResize(update_ori_shape=True)``); otherwise a boundary pixel can
  differ, and the sweep says so.

``--split test`` is refused: thresholds are chosen on val, never on the test set (sheet test 13).
"""
import argparse
import copy
import csv
import itertools
import json
import logging
import os
import os.path as osp
import sys
import time
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import DictAction

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import cache_stage1  # noqa: E402

#: The sheet's grid (bavs.md A2).
DEFAULT_TAG_THR = (0.05, 0.1, 0.2, 0.3)
DEFAULT_TOPK = (3, 5, 10, None)
#: Integrator settings ``--switch`` may sweep, and how their values are read.
SWITCHES = OrderedDict(fallback='bool', fallback_after_direct='bool', consume_on_fallback='bool', agg='str')
SETTINGS = ('tag_thr', 'topk', 'iou_thr') + tuple(SWITCHES)


def _topk(value: str) -> Optional[int]:
    if value.lower() in ('none', 'null', 'all'):
        return None
    k = int(value)
    if k < 1:
        raise argparse.ArgumentTypeError(f'--topk values must be positive integers or none, got {value}')
    return k


def _switch_value(name: str, value: str):
    if SWITCHES[name] == 'bool':
        if value.lower() not in ('true', 'false', '1', '0'):
            raise ValueError(f'--switch {name}: values must be true/false, got {value!r}')
        return value.lower() in ('true', '1')
    return value


def parse_switches(items: Optional[List[str]]) -> Dict[str, list]:
    """``['fallback=true,false', 'agg=sum']`` -> ``{'fallback': [True, False], 'agg': ['sum']}``."""
    out: Dict[str, list] = OrderedDict()
    for item in items or []:
        name, sep, values = item.partition('=')
        if not sep or name not in SWITCHES or not values:
            raise ValueError(f'--switch {item!r}: expected NAME=V1[,V2...] with NAME one of {list(SWITCHES)}')
        out[name] = [_switch_value(name, v) for v in values.split(',')]
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Sweep the AVIS settings of a BAVS stage-2 config on cached val '
                                     'instance sets and tags (no model runs)')
    parser.add_argument('config', help='BAVS stage-2 config (BAVSSegmentor)')
    parser.add_argument('--cache', required=True, help='cache_stage1.py --tags folder of the val split')
    parser.add_argument('--checkpoint', required=True,
                        help='the composed checkpoint the cache was written from (its sha256 is compared)')
    parser.add_argument('--split', default='val', help='must be val (no test-set tuning)')
    parser.add_argument('--out', required=True, help='folder of the table and best.json')
    parser.add_argument('--data-root', default=None, help='data root of the dataset')
    parser.add_argument('--tag-thr', type=float, nargs='+', default=list(DEFAULT_TAG_THR))
    parser.add_argument('--topk', type=_topk, nargs='+', default=list(DEFAULT_TOPK), help='integers or none')
    parser.add_argument('--t', type=float, nargs='+', default=None,
                        help="two-phase IoU thresholds (default: the config's)")
    parser.add_argument('--switch', nargs='+', default=None, metavar='NAME=V1,V2',
                        help=f'integrator settings to sweep, among {list(SWITCHES)} (default: the config\'s)')
    parser.add_argument('--metric', default=None, help='key that chooses the best setting (default mIoU / mJ)')
    cache_stage1.add_perturbation_args(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='key=value overrides of the config')
    args = parser.parse_args(argv)
    if args.split == 'test':
        parser.error('--split test is refused: sweeping AVIS thresholds on the test split would tune on the test '
                     'set; sweep on val (the sheet: "val split only") and test once with the chosen settings')
    if args.split != 'val':
        parser.error(f'--split {args.split!r}: the sweep runs on the val split only')
    cache_stage1.check_perturbation_args(parser, args)
    try:
        args.switch = parse_switches(args.switch)
    except ValueError as err:
        parser.error(str(err))
    return args


class _PaintContext:
    """What ``BAVSSegmentor.paint`` reads of the segmentor (the head's ``output`` and ``num_classes``), so the
    sweep paints with the segmentor's own code without building its networks."""

    def __init__(self, output: str, num_classes: int):
        self.decode_head = argparse.Namespace(output=output, num_classes=num_classes)


def head_setting(head_cfg: dict, name: str):
    """A ``PSOSHead`` setting of the config, or the class default."""
    import inspect

    from avsseg.models.decode_heads.psos_head import PSOSHead
    if name in head_cfg:
        return head_cfg[name]
    return inspect.signature(PSOSHead.__init__).parameters[name].default


def check_cache(args, digest: str, record: dict) -> tuple:
    """The instance cache's and the tags' meta, after checking split, checkpoint and perturbation."""
    from avsseg.datasets.transforms.loading_instances import read_cache_meta
    meta = read_cache_meta(args.cache)
    if meta.get('split') != 'val':
        raise ValueError(f'sweep_avis: the instance cache {args.cache} holds split {meta.get("split")!r}; the sweep '
                         'runs on val only (cache_stage1.py ... --split val)')
    if meta.get('stage1_sha256') != digest:
        raise ValueError(f'sweep_avis: the instance cache {args.cache} was written from a checkpoint with sha256 '
                         f'{meta.get("stage1_sha256")} ({meta.get("stage1_checkpoint")}), but {args.checkpoint} has '
                         f'{digest}; rewrite the cache with cache_stage1.py')
    if meta.get('instance_filter') not in ('two_phase', 'none'):
        raise ValueError(f'sweep_avis: the instance cache {args.cache} was filtered with '
                         f'{meta.get("instance_filter")!r}, which drops masks the two-phase filter keeps; write it '
                         "with the BAVS head's two_phase filter or --instance-filter none")
    key = cache_stage1.perturbation_key(record)
    tags = cache_stage1.read_tags_meta(args.cache, key)
    if tags.get('checkpoint_sha256') != digest:
        raise ValueError(f'sweep_avis: the tags {cache_stage1.tags_folder(args.cache, key)} were written from a '
                         f'checkpoint with sha256 {tags.get("checkpoint_sha256")} ({tags.get("checkpoint")}), but '
                         f'{args.checkpoint} has {digest}; rewrite them with cache_stage1.py --tags')
    if tags.get('perturbation') != record:
        raise ValueError(f'sweep_avis: the tags {cache_stage1.tags_folder(args.cache, key)} were written with the '
                         f'audio perturbation {tags.get("perturbation")}, not {record}; rewrite them')
    if tags.get('split') != 'val':
        raise ValueError(f'sweep_avis: the tags {cache_stage1.tags_folder(args.cache, key)} hold split '
                         f'{tags.get("split")!r}, not val')
    return meta, tags, key


def load_frames(dataset, cache: str, key: str, num_tags: int) -> List[List[dict]]:
    """Per clip, per frame: ``meta`` (metainfo), ``gt`` (``[1, H, W]``), the cached set and the frame's tags."""
    from avsseg.datasets.transforms.loading_instances import cache_frame_path
    clips = []
    for idx in range(len(dataset)):
        samples = dataset[idx]['data_samples']
        clip_id = samples[0].metainfo['clip_id']
        path = cache_stage1.tags_path(cache, key, clip_id)
        if not osp.isfile(path):
            raise FileNotFoundError(f'sweep_avis: no cached tags {path} for the val clip {clip_id}; was the cache '
                                    'written for this split and data root?')
        with np.load(path) as data:
            probs = torch.from_numpy(data['probs'].astype(np.float32))
        if probs.shape != (len(samples), num_tags):
            raise ValueError(f'sweep_avis: {path} holds tags {list(probs.shape)}, expected [{len(samples)}, '
                             f'{num_tags}] (the clip\'s frames x the tagger\'s labels)')
        frames = []
        for t, sample in enumerate(samples):
            ipath = cache_frame_path(cache, clip_id, t)
            if not osp.isfile(ipath):
                raise FileNotFoundError(f'sweep_avis: no cached instance set {ipath} for frame {t} of the val clip '
                                        f'{clip_id}; was the cache written for this split and data root?')
            with np.load(ipath) as data:
                shape = tuple(int(s) for s in data['shape'])
                input_shape = tuple(int(s) for s in data['input_shape'])
            gt = sample.gt_sem_seg.data if 'gt_sem_seg' in sample else None
            if gt is not None and gt.numel() and 0 <= int(gt.min()) and int(gt.max()) <= 255:
                gt = gt.to(torch.uint8)  # the metrics read it as long; a quarter of the memory of int32
            # the sets are read again per t (read_set), not kept: every query's masks of a val split are gigabytes
            frames.append(dict(meta=dict(sample.metainfo), gt=gt, path=ipath, shape=shape, input_shape=input_shape,
                               tags=probs[t]))
        clips.append(frames)
    return clips


def read_set(path: str) -> dict:
    """One cached frame: ``labels`` / ``scores`` ``[N]``, ``cls_probs`` ``[N, K + 1]``, ``masks`` ``[N, H, W]``."""
    with np.load(path) as data:
        shape = tuple(int(s) for s in data['shape'])
        masks = np.unpackbits(data['masks'], count=int(np.prod(shape))).reshape(shape).astype(bool)
        return dict(labels=torch.from_numpy(data['labels'].astype(np.int64)),
                    scores=torch.from_numpy(data['scores'].astype(np.float32)),
                    cls_probs=torch.from_numpy(data['cls_probs'].astype(np.float32)), masks=torch.from_numpy(masks))


def potential_sets(clips: List[List[dict]], cache_filter: str, t: float) -> List[List[object]]:
    """``P_c`` (``InstanceData``: labels, scores, masks) of every frame for the two-phase threshold ``t``: the
    cached set of a ``two_phase`` cache, or :func:`two_phase_filter` (the head's filter) of a ``none`` cache."""
    from mmengine.structures import InstanceData

    from avsseg.models.utils.instance_filters import two_phase_filter
    out = []
    for frames in clips:
        sets = []
        for f in frames:
            cached = read_set(f['path'])
            if cache_filter == 'none' and len(cached['labels']):
                keep = two_phase_filter(cached['cls_probs'], cached['masks'], t)
            else:
                keep = torch.arange(len(cached['labels']))
            sets.append(InstanceData(labels=cached['labels'][keep], scores=cached['scores'][keep],
                                     masks=cached['masks'][keep]))
        out.append(sets)
    return out


def evaluate_point(integrator, clips, sets, mids, paint_ctx, metrics, perturbation) -> Dict[str, float]:
    """The metrics of one setting over the val clips (the segmentor's integrate / paint, the config's metrics)."""
    from avsseg.models.segmentors.bavs_segmentor import BAVSSegmentor
    for frames, frame_sets in zip(clips, sets):
        samples = []
        for f, inst in zip(frames, frame_sets):
            if f['meta'].get('is_padded', False):
                sounding = torch.zeros(0, dtype=torch.long)
            else:
                sounding = integrator.integrate_instances(inst, f['tags'], mids)
            logits = BAVSSegmentor.paint(paint_ctx, inst, sounding, tuple(inst.masks.shape[-2:]))
            flags = torch.zeros(len(inst), dtype=torch.bool)
            flags[sounding] = True
            sample = dict(f['meta'])
            if perturbation is not None:
                sample['audio_perturbation'] = perturbation
            sample['seg_logits'] = dict(data=logits)
            sample['pred_sem_seg'] = dict(data=logits.argmax(dim=0, keepdim=True))
            if f['gt'] is not None:
                sample['gt_sem_seg'] = dict(data=f['gt'])
            sample['pred_instances'] = dict(labels=inst.labels, scores=inst.scores, masks=inst.masks, sounding=flags)
            samples.append(sample)
        for metric in metrics:
            metric.process(None, samples)
    scores: Dict[str, float] = OrderedDict()
    for metric in metrics:
        for name, value in metric.evaluate(len(clips)).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                scores[name] = value
    return scores


def fmt_setting(value) -> str:
    """A setting as the table shows it: ``0.1``, ``none``, ``true``, ``sum``."""
    if isinstance(value, float):
        return f'{value:g}'
    return fmt(value)


def fmt(value) -> str:
    if value is None:
        return 'none'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f'{value:.4f}' if not value.is_integer() or abs(value) < 1 else f'{value:g}'
    return str(value)


def cfg_options_line(setting: dict) -> str:
    """``--cfg-options`` for tools/test.py (the head filters with the integrator's t)."""
    parts = [f'model.integrator.{k}={"None" if v is None else v}' for k, v in setting.items()]
    parts.append(f'model.decode_head.iou_thr={setting["iou_thr"]}')
    return ' '.join(parts)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import avsseg  # noqa: F401
    from avsseg.models.segmentors.avsc_segmentor import file_sha256
    from avsseg.registry import DATASETS, METRICS, TASK_UTILS

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    if str(cfg.model.get('type', '')).split('.')[-1] != 'BAVSSegmentor' or 'integrator' not in cfg.model:
        raise ValueError(f'sweep_avis: {args.config} is not a BAVS stage-2 config (model.type BAVSSegmentor with an '
                         f'integrator), got model.type {cfg.model.get("type")!r}')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'sweep_avis: --checkpoint {args.checkpoint} does not exist')
    digest = file_sha256(args.checkpoint)
    record = cache_stage1.perturbation_record(args)
    meta, tags_meta, key = check_cache(args, digest, record)

    base_cfg = copy.deepcopy(cfg.model.integrator)
    base = TASK_UTILS.build(base_cfg)
    mids = list(tags_meta['label_mids'])
    base.tree.tags_to_categories(torch.zeros(len(mids)), mids)  # unknown mids: an error naming them
    defaults = OrderedDict((k, getattr(base, k)) for k in SETTINGS)
    cache_filter, cache_t = meta['instance_filter'], float(meta['iou_thr'])
    ts = args.t if args.t is not None else [defaults['iou_thr']]
    if cache_filter == 'two_phase' and any(abs(t - cache_t) > 1e-9 for t in ts):
        raise ValueError(f'sweep_avis: the cache {args.cache} holds the two-phase sets of t = {cache_t} only; to sweep '
                         f'--t {ts} write it with cache_stage1.py --instance-filter none')
    grid_values = OrderedDict(tag_thr=args.tag_thr, topk=args.topk, iou_thr=ts)
    for name in SWITCHES:
        grid_values[name] = args.switch.get(name, [defaults[name]])
    grid = [OrderedDict(zip(grid_values, combo)) for combo in itertools.product(*grid_values.values())]

    head_cfg = cfg.model.decode_head
    paint_ctx = _PaintContext(head_setting(head_cfg, 'output'), int(head_cfg['num_classes']))
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['split'] = 'val'
    ds_cfg['test_mode'] = True
    if args.data_root is not None:
        ds_cfg['data_root'] = args.data_root
    dataset = DATASETS.build(ds_cfg)
    evaluator_cfg = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    metrics = [METRICS.build(copy.deepcopy(m)) for m in evaluator_cfg]
    for metric in metrics:
        metric.dataset_meta = dataset.metainfo
    main_keys = {'AVSSemanticMetric': 'mIoU', 'AVSBinaryMetric': 'mJ'}
    main_key = args.metric or next((main_keys[type(m).__name__] for m in metrics if type(m).__name__ in main_keys),
                                   None)
    if main_key is None:
        raise ValueError(f'sweep_avis: the test_evaluator of {args.config} has no AVSSemanticMetric / AVSBinaryMetric; '
                         'give --metric')

    start = time.time()
    clips = load_frames(dataset, args.cache, key, len(mids))
    loaded = time.time() - start
    resized = sum(f['input_shape'] != f['shape'][1:] for frames in clips for f in frames)
    if resized:
        print(f'sweep_avis: {resized} frames were resized from the input size to ori_shape; the sweep paints at '
              'ori_shape and tools/test.py at the input size, so a boundary pixel can differ')
    # what AudioPerturbedDataset puts in the metainfo, as far as the metrics print it
    perturbation = None
    if record['type'] != 'none':
        perturbation = {k: v for k, v in record.items() if k in ('type', 'snr_db')}
    rows = []
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # each metric logs a table per grid point
    try:
        for t in ts:
            sets = potential_sets(clips, cache_filter, t)
            for setting in (s for s in grid if s['iou_thr'] == t):
                integrator = type(base)(tree=base.tree, classes=base.classes, **setting)
                rows.append((setting, evaluate_point(integrator, clips, sets, mids, paint_ctx, metrics,
                                                     perturbation)))
    finally:
        logger.setLevel(level)
    per_point = (time.time() - start - loaded) / len(rows)
    missing = [r for r in rows if main_key not in r[1]]
    if missing:
        raise KeyError(f'sweep_avis: --metric {main_key!r} is not among the scores {list(rows[0][1])}')

    same = [sum(s[k] == defaults[k] for k in SETTINGS) for s, _ in rows]
    is_default = [n == len(SETTINGS) for n in same]
    # ties: the setting closest to the config's (fewest changed settings), then the first in grid order
    best = max(range(len(rows)), key=lambda i: (rows[i][1][main_key], same[i], -i))
    columns = list(SETTINGS) + [k for k in rows[0][1]]
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'sweep_avis.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(columns + ['config_default'])
        for (setting, scores), dflt in zip(rows, is_default):
            writer.writerow([fmt_setting(setting[k]) for k in SETTINGS] + [scores[k] for k in rows[0][1]] + [int(dflt)])
    # the markdown keeps the swept settings and the main scores; the csv has every setting and score
    swept = [k for k in SETTINGS if len(grid_values[k]) > 1] or ['tag_thr']
    fixed = ', '.join(f'{k} {fmt_setting(grid_values[k][0])}'
                      for k in SETTINGS if k not in swept)
    shown = [main_key] + [k for k in ('F', 'mF', 'empty_frac', 'instances/I') if k in rows[0][1] and k != main_key]
    lines = [f'AVIS sweep of {osp.basename(args.config)} on val ({len(clips)} clips), audio {key}; fixed: {fixed}; '
             f'chosen by {main_key}; * = the config\'s setting, ** = best', '',
             '| ' + ' | '.join(swept + shown) + ' |', '|' + '---|' * len(swept + shown)]
    for i, (setting, scores) in enumerate(rows):
        mark = ('**' if i == best else '') + ('*' if is_default[i] else '')
        cells = [fmt_setting(setting[k]) for k in swept] + [fmt(scores[k]) for k in shown]
        cells[0] = cells[0] + (f' {mark}' if mark else '')
        lines.append('| ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines)
    with open(osp.join(args.out, 'sweep_avis.md'), 'w') as f:
        f.write(table + '\n')
    chosen = rows[best][0]
    default_row = next((rows[i] for i in range(len(rows)) if is_default[i]), None)
    result = OrderedDict(
        config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint), checkpoint_sha256=digest,
        cache=osp.abspath(args.cache), split='val', audio=key, metric=main_key, score=rows[best][1][main_key],
        settings=dict(chosen), scores=rows[best][1], cfg_options=cfg_options_line(chosen),
        config_setting=dict(defaults), config_score=None if default_row is None else default_row[1][main_key],
        grid={k: list(v) for k, v in grid_values.items()})
    with open(osp.join(args.out, 'best.json'), 'w') as f:
        json.dump(result, f, indent=1)
    print(table)
    print(f'\nbest {main_key} {rows[best][1][main_key]:.4f}'
          + ('' if default_row is None else f' (config setting: {default_row[1][main_key]:.4f})'))
    print(f'--cfg-options {result["cfg_options"]}')
    print(f'{sum(len(c) for c in clips)} frames loaded in {loaded:.1f} s, then {per_point:.2f} s per setting')
    return 0


if __name__ == '__main__':
    sys.exit(main())
