"""Per-clip and per-category scores of the masks ``tools/test.py --out`` wrote, and the worst and best clips drawn.

    python tools/test.py CONFIG CKPT --out PRED_DIR
    python tools/analysis_tools/analyze_results.py CONFIG PRED_DIR [--out-dir DIR] [--topk 3]
        [--cfg-options k=v ...]

The ground truth comes from the config's test dataset and pipeline, aligned with the masks as the metric aligns
it; each frame is scored by the config's test metric (``clip_entry`` of ``AVSBinaryMetric`` / ``AVSSemanticMetric``,
the same frame selection and formulas). The masks are hard (PNG), so binary F is F at the mask (``F_frame``), not
the max-F over thresholds of the soft maps.

- binary (S4, MS3): per clip ``J`` (mean over its scored frames) and ``F`` (mean over its scored frames with a
  non-empty ground truth); per category (the dataset's ``category``, e.g. S4's) the same over its clips' frames;
- semantic (AVSS): per clip ``mIoU`` and ``F`` over the classes present in the clip (predicted or in the ground
  truth); per class IoU and F over all frames (the metric's per-class table).

Writes ``{out-dir}/per_clip.csv``, ``per_category.csv``, ``summary.json`` and, for the ``--topk`` worst and best
clips by J (mIoU), ``worst/{rank}_{clip_id}.png`` and ``best/...``: every real frame ``ground truth | prediction``
drawn by the config's ``AVSLocalVisualizer``, side by side. A real frame without its mask file is an error naming
the file.
"""
import argparse
import csv
import json
import math
import os
import os.path as osp
import sys
from collections import OrderedDict, defaultdict
from typing import Dict, List

import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from prettytable import PrettyTable

import avsseg  # noqa: F401  (registries)
from avsseg.registry import DATASETS, METRICS, VISUALIZERS
from avsseg.visualization import gt_at_ori_shape


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Per-clip / per-category scores of tools/test.py --out masks')
    parser.add_argument('config', help='the config tools/test.py ran')
    parser.add_argument('pred_dir', help='the --out folder of tools/test.py ({clip_id}_{frame_idx}.png)')
    parser.add_argument('--out-dir', help='where to write the tables and drawings (default PRED_DIR/../analysis)')
    parser.add_argument('--topk', type=int, default=3, help='worst and best clips to draw (default 3)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    if not osp.isdir(args.pred_dir):
        parser.error(f'prediction folder not found: {args.pred_dir}')
    return args


def build_metric(cfg: Config):
    evaluator = cfg.test_evaluator
    metric_cfg = evaluator[0] if isinstance(evaluator, (list, tuple)) else evaluator
    metric_cfg = metric_cfg.get('metrics', metric_cfg) if 'type' not in metric_cfg else metric_cfg
    metric = METRICS.build(metric_cfg)
    if not hasattr(metric, 'clip_entry'):
        raise TypeError(f'analyze_results: the test metric {type(metric).__name__} is not an AVS clip metric')
    return metric


def read_prediction(pred_dir: str, clip_id, frame_idx: int, num_classes: int) -> np.ndarray:
    path = osp.join(pred_dir, f'{clip_id}_{frame_idx}.png')
    if not osp.isfile(path):
        raise FileNotFoundError(f'analyze_results: no prediction for frame {frame_idx} of clip {clip_id}: {path} '
                                '(run tools/test.py CONFIG CKPT --out PRED_DIR with the same config)')
    mask = mmcv.imread(path, flag='unchanged')
    if mask.ndim != 2:
        raise ValueError(f'analyze_results: {path} must be a single-channel mask PNG, got shape {mask.shape}')
    # binary masks are written 0/255 like the AVSBench ground truth
    return (mask > 0).astype(np.int64) if num_classes == 2 else mask.astype(np.int64)


def frame_dicts(item: dict, pred_dir: str, num_classes: int) -> List[dict]:
    """The per-frame dicts the metric's ``clip_entry`` takes: metainfo, prediction, aligned ground truth."""
    frames = []
    for sample in item['data_samples']:
        meta = dict(sample.metainfo)
        entry = dict(meta)
        if meta.get('is_padded'):
            shape = tuple(meta['ori_shape'][:2])
            pred = np.zeros(shape, np.int64)
        else:
            pred = read_prediction(pred_dir, meta['clip_id'], meta['frame_idx'], num_classes)
            gt = gt_at_ori_shape(sample)
            if gt.shape != pred.shape:
                raise ValueError(f'analyze_results: the mask of frame {meta["frame_idx"]} of clip {meta["clip_id"]} '
                                 f'is {pred.shape} but the ground truth at ori_shape is {gt.shape}; were the masks '
                                 'written with this config?')
            entry['gt_sem_seg'] = dict(data=torch.from_numpy(gt)[None])
        pred_t = torch.from_numpy(pred)
        entry['pred_sem_seg'] = dict(data=pred_t[None])
        entry['seg_logits'] = dict(data=pred_t[None].float())  # a hard mask as the probability of a binary metric
        entry['_pred'] = pred
        frames.append(entry)
    return frames


def clip_scores(entry: dict, semantic: bool) -> Dict[str, float]:
    if semantic:
        present = entry['cls_count'] > 0
        if not present.any():
            return dict(J=math.nan, F=math.nan, frames=int(entry['num_scored']))
        iou = entry['iou_sum'][present] / entry['cls_count'][present]
        fscore = entry['f_sum'][present] / entry['cls_count'][present]
        return dict(J=float(iou.mean()), F=float(fscore.mean()), frames=int(entry['num_scored']))
    scored = entry['scored']
    counted = scored & ~entry['empty_gt']
    return dict(J=float(entry['jaccard'][scored].mean()) if scored.any() else math.nan,
                F=float(entry['f_fixed'][counted].mean()) if counted.any() else math.nan, frames=int(scored.sum()))


def draw_clip(visualizer, info: dict, frames: List[dict]) -> np.ndarray:
    panels = []
    for frame in frames:
        if frame.get('is_padded'):
            continue
        image = mmcv.imread(info['img_paths'][frame['frame_idx']], channel_order='rgb')
        pred = frame['_pred']
        if image.shape[:2] != pred.shape:  # the pipeline scored at its own size (ClipResize(update_ori_shape))
            image = mmcv.imresize(image, (pred.shape[1], pred.shape[0]))
        gt = frame['gt_sem_seg']['data'][0].numpy() if 'gt_sem_seg' in frame else None
        panels.append(visualizer.draw_frame(image, pred, gt))
    height = max(p.shape[0] for p in panels)
    panels = [np.pad(p, ((0, height - p.shape[0]), (0, 4), (0, 0)), constant_values=255) for p in panels]
    return np.concatenate(panels, axis=1)


def fmt(value: float) -> str:
    return 'n/a' if value is None or (isinstance(value, float) and math.isnan(value)) else f'{value:.4f}'


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    metric = build_metric(cfg)
    metric.dataset_meta = dataset.metainfo  # as the runner does: the metric takes its class count from the dataset
    classes = list(dataset.metainfo['classes'])
    num_classes = len(classes)
    semantic = hasattr(metric, 'num_classes')
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.pred_dir)), 'analysis')
    os.makedirs(out_dir, exist_ok=True)

    clips, entries = [], []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        frames = frame_dicts(dataset[idx], args.pred_dir, num_classes)
        entry = metric.clip_entry(frames)
        scores = clip_scores(entry, semantic)
        clips.append(OrderedDict(clip_id=info['clip_id'], category=info.get('category') or 'all', **scores))
        entries.append(entry)

    metric_name = 'mIoU' if semantic else 'J'
    rows: List[OrderedDict] = []
    if semantic:
        count = np.sum([e['cls_count'] for e in entries], axis=0)
        iou = np.sum([e['iou_sum'] for e in entries], axis=0) / np.maximum(count, 1)
        fscore = np.sum([e['f_sum'] for e in entries], axis=0) / np.maximum(count, 1)
        for c in np.flatnonzero(count):
            rows.append(OrderedDict(category=classes[c], IoU=float(iou[c]), F=float(fscore[c]), frames=int(count[c])))
    else:
        groups = defaultdict(list)
        for clip, entry in zip(clips, entries):
            groups[clip['category']].append(entry)
        for category in sorted(groups):
            scored = np.concatenate([e['scored'] for e in groups[category]])
            counted = scored & ~np.concatenate([e['empty_gt'] for e in groups[category]])
            jac = np.concatenate([e['jaccard'] for e in groups[category]])
            fix = np.concatenate([e['f_fixed'] for e in groups[category]])
            rows.append(OrderedDict(category=category, J=float(jac[scored].mean()) if scored.any() else math.nan,
                                    F=float(fix[counted].mean()) if counted.any() else math.nan,
                                    clips=len(groups[category]), frames=int(scored.sum())))

    for name, table_rows in (('per_clip.csv', clips), ('per_category.csv', rows)):
        with open(osp.join(out_dir, name), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(table_rows[0]) if table_rows else ['category'])
            writer.writeheader()
            writer.writerows(table_rows)
    scored_clips = [c for c in clips if not math.isnan(c['J'])]
    ranked = sorted(scored_clips, key=lambda c: (c['J'], str(c['clip_id'])))
    summary = dict(config=args.config, pred_dir=args.pred_dir, clips=len(clips), scored_clips=len(scored_clips),
                   mean_clip_J=float(np.mean([c['J'] for c in scored_clips])) if scored_clips else math.nan,
                   worst=[c['clip_id'] for c in ranked[:args.topk]],
                   best=[c['clip_id'] for c in ranked[::-1][:args.topk]])
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)

    if args.topk > 0 and scored_clips:
        visualizer_cfg = dict(cfg.get('visualizer', dict(type='AVSLocalVisualizer')))
        visualizer_cfg.update(name='analyze_results', vis_backends=None)
        visualizer = VISUALIZERS.build(visualizer_cfg)
        visualizer.set_dataset_meta(dataset.metainfo.get('classes'), dataset.metainfo['palette'])
        index_of = {c['clip_id']: i for i, c in enumerate(clips)}
        for kind, chosen in (('worst', ranked[:args.topk]), ('best', ranked[::-1][:args.topk])):
            for rank, clip in enumerate(chosen):
                idx = index_of[clip['clip_id']]
                info, frames = dataset.get_data_info(idx), frame_dicts(dataset[idx], args.pred_dir, num_classes)
                name = str(clip['clip_id']).replace('/', '_')
                mmcv.imwrite(mmcv.rgb2bgr(draw_clip(visualizer, info, frames)),
                             osp.join(out_dir, kind, f'{rank}_{name}.png'))

    table = PrettyTable(['class' if semantic else 'category', 'IoU' if semantic else 'J', 'F', 'frames'])
    for row in rows:
        table.add_row([row['category'], fmt(row.get('IoU', row.get('J'))), fmt(row['F']), row['frames']])
    print(f'analyze_results: {len(clips)} clips, {len(scored_clips)} scored; mean per-clip {metric_name} '
          f'{fmt(summary["mean_clip_J"])}')
    print(table.get_string())
    print(f'worst: {", ".join(map(str, summary["worst"]))}\nbest: {", ".join(map(str, summary["best"]))}')
    print(f'tables and drawings in {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
