"""How many of an AUSS model's audio queries fire per frame, against how many objects sound in it.

    python tools/analysis_tools/count_queries.py CONFIG CHECKPOINT [--data-root DIR] [--objects-json PATH]
        [--audio-perturb {none,silence,swap}] [--min-pixels 1] [--out-dir DIR] [--cfg-options k=v ...]

AUSS (``AUSSHead``) unmixes a clip's audio into ``N`` queries, meant to be one per sound source. The tool runs the
model over the config's test set and counts per real frame:

- ``firing``: queries whose class is *sound* (``argmax p_i = sound``, i.e. ``p_i(sound) > 0.5``; Eq. 20-21 give
  every query its argmax class);
- ``shown``: firing queries that own at least ``--min-pixels`` pixels of the predicted mask, as the head's
  ``inference`` gives pixels to queries (:meth:`AUSSHead.assign_pixels`; default ``'sound'``: the best-scoring
  sounding query ``p_i m_i(x, y)``, foreground where its mask is > 0.5), at the input size the head predicts at,
  padding cropped;
- ``sounding``: objects that sound and are visible in the frame, from the generator's description of the
  synthetic sets (``synthetic_<subset>.json`` in the data root, or ``--objects-json``): the clip's objects with
  ``sounding`` true and ``visible_pixels[frame] > 0``. Without such a file the column is empty and only
  ``gt_regions`` (connected regions of the ground-truth mask, 8-connectivity: touching objects count once) is
  reported;
- ``gt_regions`` and the frame's predicted foreground pixels.

Writes ``{out-dir}/per_frame.csv``, ``per_clip.csv`` (per clip: sounding sources of the clip, mean firing and shown
queries over its frames and the per-frame lists) and ``summary.json``, and prints a table grouped by the number of
sounding objects per frame (frames, mean firing, mean shown, fraction of frames where ``shown == sounding``).
``--audio-perturb silence`` / ``swap`` wrap the test set in ``AudioPerturbedDataset`` (seed 0) as
``tools/test.py`` does: silenced audio should fire no query.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from prettytable import PrettyTable
from scipy import ndimage
from torch.utils.data import DataLoader

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path[:1]:
    sys.path.insert(0, REPO_ROOT)

import avsseg  # noqa: F401,E402  (registries, checkpoint allowlist)
from avsseg.datasets.transforms.formatting import avs_collate  # noqa: E402
from avsseg.models.decode_heads.auss_head import AUSSHead  # noqa: E402
from avsseg.registry import DATASETS, MODELS  # noqa: E402
from avsseg.structures import padded_input_size  # noqa: E402
from avsseg.utils import drop_missing_weight_files, set_data_root  # noqa: E402

PERTURBATIONS = ('none', 'silence', 'swap')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Firing AUSS queries per frame vs sounding objects')
    parser.add_argument('config', help='an AUSS config')
    parser.add_argument('checkpoint', help='its trained weights')
    parser.add_argument('--data-root', help='data root of the test set (as tools/test.py --data-root)')
    parser.add_argument('--objects-json', help='the synthetic set description (default: synthetic_<subset>.json '
                        'in the data root when there is one)')
    parser.add_argument('--audio-perturb', choices=PERTURBATIONS, default='none', help='test-time audio (none)')
    parser.add_argument('--min-pixels', type=int, default=1,
                        help='pixels of the predicted mask a firing query must own to count as shown (1)')
    parser.add_argument('--out-dir', help='where the tables go (default work_dirs/count_queries/<config name>)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = parser.parse_args(argv)
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            parser.error(f'{what} not found: {path}')
    if args.objects_json and not osp.isfile(args.objects_json):
        parser.error(f'--objects-json: file not found: {args.objects_json}')
    if args.min_pixels < 1:
        parser.error(f'--min-pixels must be >= 1, got {args.min_pixels}')
    return args


def count_queries(is_sound: torch.Tensor, owner: torch.Tensor, s_bg: torch.Tensor, s_fg: torch.Tensor,
                  min_pixels: int = 1) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Firing and shown queries of each frame from :meth:`AUSSHead.assign_pixels`' outputs.

    Args:
        is_sound: ``[N, Q]`` bool, queries whose argmax class is sound.
        owner: ``[N, H, W]`` the query each pixel goes to.
        s_bg, s_fg: ``[N, H, W]`` the two scores; a pixel is foreground where ``s_fg > s_bg``.
        min_pixels: foreground pixels a query must own to be shown.

    Returns:
        ``firing [N]``, ``shown [N]`` (firing queries owning at least ``min_pixels`` foreground pixels) and
        ``foreground [N, H, W]`` (bool).
    """
    foreground = s_fg > s_bg
    owned = F.one_hot(owner, is_sound.shape[1]).permute(0, 3, 1, 2) & foreground[:, None]  # [N, Q, H, W]
    shown = (owned.flatten(2).sum(-1) >= min_pixels) & is_sound
    return is_sound.sum(1), shown.sum(1), foreground


def load_objects(path: Optional[str]) -> Optional[Dict[str, dict]]:
    """``{clip name: clip entry}`` of a synthetic set description, or None without a file."""
    if path is None:
        return None
    with open(path) as f:
        desc = json.load(f)
    clips = desc.get('clips')
    if not isinstance(clips, list):
        raise ValueError(f'{path}: no "clips" list (not a synthetic_avsbench.py description)')
    out = {}
    for i, clip in enumerate(clips):
        for key in ('name', 'objects'):
            if key not in clip:
                raise ValueError(f'{path}: clips[{i}] has no "{key}"')
        out[clip['name']] = clip
    return out


def sounding_in_frame(clip: dict, frame: int, path: str) -> int:
    """Sounding objects of a described clip visible in one of its frames."""
    count = 0
    for obj in clip['objects']:
        visible = obj.get('visible_pixels')
        if visible is None or frame >= len(visible):
            raise ValueError(f'{path}: clip {clip["name"]} object {obj.get("category")} has no visible_pixels for '
                             f'frame {frame}')
        count += bool(obj.get('sounding')) and visible[frame] > 0
    return count


def build(cfg: Config, args):
    """The model with the checkpoint's weights (strict) and the test set (wrapped for ``--audio-perturb``)."""
    init_default_scope(cfg.get('default_scope', 'avsseg'))
    for key, path in drop_missing_weight_files(cfg):
        print(f'{path} not found: {key} set to None (its weights come from {args.checkpoint})')
    model = MODELS.build(cfg.model)
    head = getattr(model, 'decode_head', None)
    if not isinstance(head, AUSSHead):
        raise TypeError(f'{args.config}: count_queries.py needs an AUSSHead decode_head, the model has '
                        f'{type(head).__name__}')
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model.to(args.device).eval()
    dataset_cfg = cfg.test_dataloader.dataset
    if args.audio_perturb != 'none':
        dataset_cfg = dict(type='AudioPerturbedDataset', dataset=dataset_cfg,
                           perturbation=dict(type=args.audio_perturb, seed=0))
    dataset = DATASETS.build(dataset_cfg)
    return model, dataset


def run(model, dataset, min_pixels: int, batch_clips: int = 4) -> List[dict]:
    """Per real frame: clip id, frame index, firing and shown queries, foreground pixels and GT regions."""
    head = model.decode_head
    captured = {}
    predict_by_feat = head.predict_by_feat

    def capture(all_cls_scores, all_mask_preds, batch_img_metas):
        captured['cls'], captured['mask'] = all_cls_scores[-1], all_mask_preds[-1]
        captured['size'] = padded_input_size(batch_img_metas)
        return predict_by_feat(all_cls_scores, all_mask_preds, batch_img_metas)

    head.predict_by_feat = capture
    rows = []
    loader = DataLoader(dataset, batch_size=batch_clips, shuffle=False, num_workers=0, collate_fn=avs_collate)
    try:
        with torch.no_grad():
            for batch in loader:
                samples = model.test_step(batch)
                assignment = head.assign_pixels(captured['cls'], captured['mask'], captured['size'])
                firing, shown, foreground = count_queries(*assignment, min_pixels)
                for i, sample in enumerate(samples):
                    if sample.metainfo.get('is_padded', False):
                        continue
                    h, w = sample.metainfo['img_shape'][:2]
                    gt_regions = None
                    if 'gt_sem_seg' in sample:
                        gt = sample.gt_sem_seg.data[0].cpu().numpy() == 1
                        gt_regions = int(ndimage.label(gt, structure=np.ones((3, 3)))[1])
                    rows.append(dict(clip_id=sample.metainfo['clip_id'], frame=int(sample.metainfo['frame_idx']),
                                     firing=int(firing[i]), shown=int(shown[i]),
                                     fg_pixels=int(foreground[i, :h, :w].sum()), gt_regions=gt_regions))
    finally:
        del head.predict_by_feat
    return rows


def add_sounding(rows: List[dict], objects: Optional[Dict[str, dict]], path: Optional[str]) -> None:
    """Fills ``sounding`` of every row from the set description (None without one); unknown clips are an error."""
    for row in rows:
        if objects is None:
            row['sounding'] = None
            continue
        clip = objects.get(row['clip_id'])
        if clip is None:
            raise KeyError(f'{path}: no clip {row["clip_id"]!r} (a description of another set?)')
        row['sounding'] = sounding_in_frame(clip, row['frame'], path)


def per_clip(rows: List[dict], objects: Optional[Dict[str, dict]]) -> List[dict]:
    """Per clip: its sounding sources, mean firing / shown queries over its frames and the per-frame lists."""
    clips = defaultdict(list)
    for row in rows:
        clips[row['clip_id']].append(row)
    out = []
    for clip_id, frames in clips.items():
        sources = None if objects is None else len(objects[clip_id].get('sounding') or [])
        out.append(dict(clip_id=clip_id, sources=sources,
                        sounding=' '.join(str(r['sounding']) for r in frames) if objects is not None else None,
                        firing_mean=float(np.mean([r['firing'] for r in frames])),
                        shown_mean=float(np.mean([r['shown'] for r in frames])),
                        firing=' '.join(str(r['firing']) for r in frames),
                        shown=' '.join(str(r['shown']) for r in frames)))
    return out


def summarise(rows: List[dict]) -> List[dict]:
    """Frames grouped by sounding objects (by GT regions without a description)."""
    key = 'sounding' if rows and rows[0]['sounding'] is not None else 'gt_regions'
    groups = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    out = []
    for value in sorted(groups, key=lambda v: (v is None, v)):
        frames = groups[value]
        out.append({key: value, 'frames': len(frames),
                    'firing_mean': float(np.mean([r['firing'] for r in frames])),
                    'shown_mean': float(np.mean([r['shown'] for r in frames])),
                    'shown_eq': float(np.mean([r['shown'] == r[key] for r in frames]))})
    return out


def write_csv(path: str, rows: List[dict]) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    model, dataset = build(cfg, args)
    objects_json = args.objects_json
    if objects_json is None:
        data_root = cfg.test_dataloader.dataset.get('data_root', '')
        for name in os.listdir(data_root) if data_root and osp.isdir(data_root) else []:
            if name.startswith('synthetic_') and name.endswith('.json'):
                objects_json = osp.join(data_root, name)
    objects = load_objects(objects_json)
    rows = run(model, dataset, args.min_pixels)
    if not rows:
        raise RuntimeError(f'{args.config}: the test set has no real frame')
    add_sounding(rows, objects, objects_json)
    clips = per_clip(rows, objects)
    summary = summarise(rows)

    out_dir = args.out_dir or osp.join('work_dirs', 'count_queries', osp.splitext(osp.basename(args.config))[0])
    os.makedirs(out_dir, exist_ok=True)
    write_csv(osp.join(out_dir, 'per_frame.csv'), rows)
    write_csv(osp.join(out_dir, 'per_clip.csv'), clips)
    result = dict(config=args.config, checkpoint=args.checkpoint, audio_perturb=args.audio_perturb,
                  objects_json=objects_json, min_pixels=args.min_pixels,
                  num_queries=model.decode_head.num_queries, frames=len(rows), clips=len(clips),
                  firing_mean=float(np.mean([r['firing'] for r in rows])),
                  shown_mean=float(np.mean([r['shown'] for r in rows])), by_sounding=summary)
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(result, f, indent=2)

    table = PrettyTable(list(summary[0]))
    for entry in summary:
        table.add_row([f'{v:.3f}' if isinstance(v, float) else v for v in entry.values()])
    print(f'{args.config} ({args.audio_perturb} audio): {len(rows)} frames of {len(clips)} clips, '
          f'{result["num_queries"]} queries per clip; firing {result["firing_mean"]:.3f}, shown '
          f'{result["shown_mean"]:.3f} per frame')
    print(table)
    print(f'tables in {out_dir}')
    return result


if __name__ == '__main__':
    main()
