"""Class-index masks for AVSBench MS3 from the AVSBench-semantic (AVSS) ``v1m`` labels of the same videos.

The MS3 release has binary masks and no categories, but the two-stage methods' stage 1 (seed 001 / BAVS) trains on
(category, mask) instances. The AVSS ``v1m`` subset holds the MS3 videos with semantic labels (seed001.md §4 A1,
recommendation). For every MS3 clip this tool finds its ``v1m`` clip, and writes per frame an index PNG of the
MS3 size::

    ms3_data/gt_masks_semantic/{split}/{name}/{name}_{i}.png     i = 1..5 <- AVSS labels_semantic/{i-1}.png

with the AVSS class index (1..70, AVSS's own numbering; 0 background) on the MS3 foreground and 0 elsewhere: the
AVSS label map is resized to the MS3 mask's size (nearest), restricted to the MS3 foreground, and an MS3
foreground pixel that AVSS calls background takes the class of the nearest AVSS-labelled pixel. A frame whose
MS3 foreground is not empty while its AVSS label map has no object at all cannot be labelled: its foreground is
written as 255 (ignored) and the frame is listed in the report.

Checks (a report is printed and written to ``ms3_data/gt_masks_semantic/report.json``):

- every MS3 clip has exactly one ``v1m`` clip (join below) -- otherwise an error listing them
  (``--allow-missing`` writes the others and lists the missing ones);
- **split consistency**: the MS3 and AVSS splits of each joined video agree -- otherwise an error listing them
  (``--allow-split-mismatch`` to write anyway);
- agreement of the two annotations: per frame the IoU of the MS3 foreground and the resized AVSS foreground; the
  number of frames below ``--min-iou`` (0.9) and the worst ones are reported.

Join (``--join``): ``vid-start`` (default): MS3 ``name`` = AVSS ``vid`` and MS3 ``start`` (seconds) = AVSS
``60 * s_min + s_sec``; ``uid``: MS3 ``name`` = AVSS ``uid``. Which one the releases need has not been checked
against the real files here; the report's unmatched count tells.

Usage::

    python tools/dataset_converters/avss_labels_to_avsbench.py data/AVSBench_object/Multi-sources \\
        data/AVSBench_semantic [--join vid-start] [--min-iou 0.9]
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image
from scipy import ndimage

NUM_FRAMES = 5
IGNORE = 255


def read_csv(path: str, required: Tuple[str, ...]) -> List[Dict[str, str]]:
    if not osp.isfile(path):
        raise SystemExit(f'avss_labels_to_avsbench.py: error: metadata csv not found: {path}')
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in required if rows and c not in rows[0]]
    if not rows or missing:
        raise SystemExit(f'avss_labels_to_avsbench.py: error: {path} needs the columns {required} and rows '
                         f'(missing: {missing})')
    return rows


def join_clips(ms3_rows, avss_rows, join: str):
    """``{ms3 name: avss row}`` of the ``v1m`` clips, and the MS3 names without (or with several) matches."""
    index: Dict[tuple, List[dict]] = {}
    for row in avss_rows:
        if row['label'] != 'v1m':
            continue
        if join == 'uid':
            key = (row['uid'], )
        else:
            key = (row['vid'], int(row['s_min']) * 60 + int(row['s_sec']))
        index.setdefault(key, []).append(row)
    pairs, missing, ambiguous = {}, [], []
    for row in ms3_rows:
        key = (row['name'], ) if join == 'uid' else (row['name'], int(float(row['start'])))
        found = index.get(key, [])
        if len(found) == 1:
            pairs[row['name']] = found[0]
        elif found:
            ambiguous.append(row['name'])
        else:
            missing.append(row['name'])
    return pairs, missing, ambiguous


def read_png(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise SystemExit(f'avss_labels_to_avsbench.py: error: label file not found: {path}')
    try:
        return np.asarray(Image.open(path))
    except Exception as err:  # noqa: BLE001 (any decoding error is reported with the file)
        raise SystemExit(f'avss_labels_to_avsbench.py: error: cannot read {path}: {err}') from err


def convert_frame(ms3_mask: np.ndarray, avss_labels: np.ndarray) -> Tuple[np.ndarray, float, bool]:
    """The class-index map of one frame, the MS3/AVSS foreground IoU and whether AVSS had no object at all.

    Args:
        ms3_mask: MS3 binary mask ``[H, W]`` (0 / >0; multi-channel PNGs use the channel maximum).
        avss_labels: AVSS index map ``[h, w]`` (0 background).
    """
    fg = (ms3_mask.max(axis=-1) if ms3_mask.ndim == 3 else ms3_mask) > 0
    labels = np.asarray(Image.fromarray(avss_labels.astype(np.uint8)).resize(fg.shape[::-1], Image.NEAREST))
    avss_fg = labels > 0
    union = np.logical_or(fg, avss_fg).sum()
    iou = float(np.logical_and(fg, avss_fg).sum() / union) if union else 1.0
    out = np.zeros(fg.shape, np.uint8)
    if not avss_fg.any():
        out[fg] = IGNORE
        return out, iou, bool(fg.any())
    # nearest AVSS-labelled pixel of every pixel (the indices of the closest zero of ~avss_fg)
    _, (rows, cols) = ndimage.distance_transform_edt(~avss_fg, return_indices=True)
    nearest = labels[rows, cols]
    out[fg] = np.where(avss_fg, labels, nearest)[fg]
    return out, iou, False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('ms3_root', help='the MS3 "Multi-sources" folder (ms3_meta_data.csv, ms3_data/)')
    parser.add_argument('avss_root', help='the AVSBench-semantic folder (metadata.csv, v1m/)')
    parser.add_argument('--join', choices=('vid-start', 'uid'), default='vid-start')
    parser.add_argument('--min-iou', type=float, default=0.9, help='report frames whose MS3/AVSS IoU is lower')
    parser.add_argument('--allow-missing', action='store_true', help='write the MS3 clips that have a v1m clip')
    parser.add_argument('--allow-split-mismatch', action='store_true')
    args = parser.parse_args(argv)

    ms3_rows = read_csv(osp.join(args.ms3_root, 'ms3_meta_data.csv'), ('name', 'start', 'split'))
    avss_rows = read_csv(osp.join(args.avss_root, 'metadata.csv'), ('vid', 'uid', 's_min', 's_sec', 'split', 'label'))
    pairs, missing, ambiguous = join_clips(ms3_rows, avss_rows, args.join)
    if ambiguous:
        raise SystemExit(f'avss_labels_to_avsbench.py: error: {len(ambiguous)} MS3 clips match several v1m clips '
                         f'(--join {args.join}): {ambiguous[:10]}')
    if missing and not args.allow_missing:
        raise SystemExit(f'avss_labels_to_avsbench.py: error: {len(missing)} of {len(ms3_rows)} MS3 clips have no '
                         f'v1m clip (--join {args.join}): {missing[:10]}{" ..." if len(missing) > 10 else ""}; '
                         'check --join, or --allow-missing to convert the others')
    split_of = {r['name']: r['split'] for r in ms3_rows}
    mismatched = [(name, split_of[name], row['split']) for name, row in pairs.items() if row['split'] != split_of[name]]
    if mismatched and not args.allow_split_mismatch:
        shown = ', '.join(f'{n} (MS3 {a}, AVSS {b})' for n, a, b in mismatched[:10])
        raise SystemExit(f'avss_labels_to_avsbench.py: error: {len(mismatched)} videos are in different splits of '
                         f'MS3 and AVSS: {shown}; --allow-split-mismatch to write anyway')

    out_root = osp.join(args.ms3_root, 'ms3_data', 'gt_masks_semantic')
    ious, unlabelled, classes = [], [], set()
    for name, row in sorted(pairs.items()):
        split = split_of[name]
        out_dir = osp.join(out_root, split, name)
        os.makedirs(out_dir, exist_ok=True)
        for i in range(NUM_FRAMES):
            ms3 = read_png(osp.join(args.ms3_root, 'ms3_data', 'gt_masks', split, name, f'{name}_{i + 1}.png'))
            avss = read_png(osp.join(args.avss_root, 'v1m', row['uid'], 'labels_semantic', f'{i}.png'))
            out, iou, no_object = convert_frame(ms3, avss)
            ious.append((iou, f'{name}_{i + 1}'))
            if no_object:
                unlabelled.append(f'{name}_{i + 1}')
            classes.update(int(c) for c in np.unique(out) if 0 < c < IGNORE)
            Image.fromarray(out).save(osp.join(out_dir, f'{name}_{i + 1}.png'))
    low = sorted(x for x in ious if x[0] < args.min_iou)
    report = dict(
        join=args.join,
        ms3_clips=len(ms3_rows),
        converted_clips=len(pairs),
        missing_clips=missing,
        split_mismatches=[dict(name=n, ms3=a, avss=b) for n, a, b in mismatched],
        frames=len(ious),
        min_iou=args.min_iou,
        frames_below_min_iou=len(low),
        worst_frames=[dict(frame=f, iou=round(v, 4)) for v, f in low[:20]],
        frames_without_avss_object=unlabelled,
        avss_classes_present=sorted(classes))
    os.makedirs(out_root, exist_ok=True)
    with open(osp.join(out_root, 'report.json'), 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=1)
    print(f'{len(pairs)} of {len(ms3_rows)} MS3 clips converted ({len(ious)} frames) into {out_root}; '
          f'{len(low)} frames with MS3/AVSS foreground IoU < {args.min_iou}; {len(unlabelled)} frames with an MS3 '
          f'object and no AVSS object (written as {IGNORE}); {len(missing)} clips without a v1m clip; '
          f'{len(mismatched)} split mismatches; AVSS classes present: {sorted(classes)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
