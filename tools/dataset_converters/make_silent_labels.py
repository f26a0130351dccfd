"""BAVS silent-object labels for every frame of a split: caption -> nouns -> nearest category -> minus ground truth.

Examples::

    # captions made elsewhere (UniDiffuser / BLIP / ...), GloVe vectors from a local text file
    python tools/dataset_converters/make_silent_labels.py data/AVSBench_semantic --captioner file \
        --captions captions/avss_train.json --glove checkpoints/glove/glove.6B.300d.txt --split train

    # the synthetic smoke data: the generator's record is the caption (every visible object's category)
    python tools/dataset_converters/make_silent_labels.py data/synthetic_avss --captioner oracle-synthetic

Captioners (``--captioner``):
    ``file``: ``--captions`` JSON mapping each frame path (relative to DATA_ROOT) to its caption, or to
    ``{"caption": str, "gt": [category names]}``. Without ``gt`` the frame's ground-truth categories are read from
    its AVSS class-index label (``.../labels_semantic/{i}.png`` next to ``.../frames/{i}.*``); a frame with
    neither is an error. Only the listed frames are written. The paper's captioner (UniDiffuser) is run offline
    by the user; record which one in ``--captioner-name``.
    ``oracle-synthetic``: reads ``synthetic_{subset}.json`` written by ``synthetic_avsbench.py``; per frame the
    caption names every visible object (``visible_pixels[t] > 0``), the nouns are their categories and the
    ground truth the sounding ones, so the silent labels are exactly the visible silent objects' categories.

Nouns: ``--parser rules`` (built in; see ``avsseg.datasets.silent_labels``) or ``nltk`` (NLTK and its data
installed locally). Each noun is mapped to the category of highest GloVe cosine similarity (``--glove``; a
multi-word category is the mean of its words), with no threshold unless ``--sim-thr`` is given (the paper has
none). The category dictionary is ``--classes`` (a JSON list, a ``label2idx.json`` or comma-separated names;
default DATA_ROOT/label2idx.json without the background, or the synthetic record's categories).

Output (``-o``, default ``DATA_ROOT/silent_labels/{subset}_{split}.json``; format ``avsseg-silent-labels/1``)::

    {"format": "avsseg-silent-labels/1", "classes": [...], "captioner": ..., "parser": ..., "glove": ...,
     "sim_thr": null, "frames": {"v1s/uid/frames/0.jpg": {"caption": ..., "nouns": [...], "mapped": [...],
     "similarity": [...], "silent": [...]}}}

read by ``LoadSilentObjectLabels``. The run prints the number of frames with silent labels, the words without a
vector and a histogram of the noun -> category similarities (bavs sheet A9).
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import Counter
from glob import glob
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from avsseg.datasets.silent_labels import (CategoryMatcher, category_words, extract_nouns, frame_silent_labels,
                                           load_glove)
from avsseg.datasets.transforms.loading_silent_labels import SILENT_LABELS_FORMAT

CAPTIONERS = ('file', 'oracle-synthetic')


def read_classes(spec: Optional[str], data_root: str) -> Optional[List[str]]:
    """The category dictionary (background excluded) from ``--classes`` or ``DATA_ROOT/label2idx.json``."""
    path = spec if spec is not None else osp.join(data_root, 'label2idx.json')
    if spec is not None and not osp.isfile(spec):
        return [c.strip() for c in spec.split(',') if c.strip()]
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if isinstance(data, list):
        return [str(c) for c in data]
    if isinstance(data, dict):
        names = [n for n, _ in sorted(data.items(), key=lambda kv: kv[1])]
        return [n for n in names if n != 'background']
    raise ValueError(f'{path}: expected a list of names or a label2idx mapping')


def oracle_synthetic(data_root: str, split: str, subset: Optional[str]) -> Tuple[str, List[str], Dict[str, dict]]:
    """``(subset, categories, {frame: dict(caption, nouns, gt)})`` from the synthetic generator's record."""
    if subset is None:
        found = sorted(glob(osp.join(data_root, 'synthetic_*.json')))
        if len(found) != 1:
            raise FileNotFoundError(f'{data_root}: expected one synthetic_{{subset}}.json, found {found} (pass '
                                    '--subset)')
        path = found[0]
    else:
        path = osp.join(data_root, f'synthetic_{subset}.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist (written by tools/dataset_converters/synthetic_avsbench.py)')
    with open(path, encoding='utf-8') as f:
        record = json.load(f)
    categories = [c['name'] for c in record['categories']]
    frames = {}
    for clip in record['clips']:
        if split != 'all' and clip['split'] != split:
            continue
        for t, frame in enumerate(clip['paths']['frames']):
            visible = [o for o in clip['objects'] if o['visible_pixels'][t] > 0]
            names = list(dict.fromkeys(o['category'] for o in visible))
            listed = [f'a {n}' for n in names]
            listed = ', '.join(listed[:-1]) + ' and ' + listed[-1] if len(listed) > 1 else ''.join(listed)
            caption = f'There is {listed}.' if names else 'An empty scene.'
            gt = sorted({o['category'] for o in visible if o['sounding']})
            frames[frame] = dict(caption=caption, nouns=names, gt=gt)
    return record['subset'], categories, frames


def avss_gt(data_root: str, frame: str, classes: List[str]) -> Optional[List[str]]:
    """Categories of an AVSS frame's class-index label (``labels_semantic/{i}.png``), or None without one."""
    frame_dir, name = osp.split(frame)
    clip_dir = osp.dirname(frame_dir)
    label = osp.join(data_root, clip_dir, 'labels_semantic', osp.splitext(name)[0] + '.png')
    if not osp.isfile(label):
        return None
    values = np.unique(np.asarray(Image.open(label)))
    bad = [int(v) for v in values if v > len(classes)]
    if bad:
        raise ValueError(f'{label}: class indices {bad} beyond the {len(classes)} categories')
    return [classes[int(v) - 1] for v in values if v > 0]


def file_captions(path: str, data_root: str, classes: List[str]) -> Dict[str, dict]:
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object frame -> caption')
    frames = {}
    for frame, entry in data.items():
        if isinstance(entry, str):
            entry = dict(caption=entry)
        if not isinstance(entry, dict) or not isinstance(entry.get('caption'), str):
            raise ValueError(f'{path}: frame {frame!r} needs a caption string')
        gt = entry.get('gt')
        if gt is None:
            gt = avss_gt(data_root, frame, classes)
        if gt is None:
            raise ValueError(f'{path}: frame {frame!r} has no "gt" and no labels_semantic label under {data_root}')
        frames[frame] = dict(caption=entry['caption'], gt=list(gt))
    return frames


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root')
    parser.add_argument('--captioner', required=True, choices=CAPTIONERS)
    parser.add_argument('--captions', help="captions JSON for --captioner file")
    parser.add_argument('--captioner-name', help='which model made the captions (recorded in the output)')
    parser.add_argument('--glove', help='GloVe text file (e.g. glove.6B.300d.txt)')
    parser.add_argument('--classes', help='category dictionary: JSON list / label2idx.json / comma-separated names')
    parser.add_argument('--split', default='train', help="split to label ('all' for every split; default train)")
    parser.add_argument('--subset', help='synthetic subset (s4 / ms3 / avss) for oracle-synthetic')
    parser.add_argument('--parser', default='rules', choices=('rules', 'nltk'))
    parser.add_argument('--sim-thr', type=float, default=None, help='drop nouns below this similarity (none)')
    parser.add_argument('-o', '--out', help='output JSON')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isdir(args.data_root):
        print(f'make_silent_labels: data_root {args.data_root!r} is not a directory', file=sys.stderr)
        return 1
    try:
        classes = read_classes(args.classes, args.data_root)
        if args.captioner == 'oracle-synthetic':
            subset, categories, frames = oracle_synthetic(args.data_root, args.split, args.subset)
            classes = classes or categories
            captioner = 'oracle-synthetic'
        else:
            if not args.captions:
                raise ValueError('--captioner file needs --captions')
            if classes is None:
                raise ValueError(f'no category dictionary: pass --classes or place label2idx.json in {args.data_root}')
            subset = osp.basename(osp.normpath(args.data_root))
            frames = file_captions(args.captions, args.data_root, classes)
            captioner = f'file:{args.captioner_name or osp.basename(args.captions)}'
        vectors = None
        if args.glove:
            words = {w for c in classes for w in category_words(c)}
            for entry in frames.values():
                nouns = entry.get('nouns') or extract_nouns(entry['caption'], args.parser)
                words.update(w for n in nouns for w in category_words(n))
            vectors = load_glove(args.glove, words)
        matcher = CategoryMatcher(classes, vectors, args.sim_thr)
        out_frames = {}
        for frame in sorted(frames):
            entry = frames[frame]
            out_frames[frame] = frame_silent_labels(entry['caption'], entry['gt'], matcher, args.parser,
                                                    nouns=entry.get('nouns'))
    except (ValueError, FileNotFoundError, LookupError, ImportError) as e:
        print(f'make_silent_labels: {e}', file=sys.stderr)
        return 1
    out = args.out or osp.join(args.data_root, 'silent_labels', f'{subset}_{args.split}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    result = dict(format=SILENT_LABELS_FORMAT, classes=classes, captioner=captioner, parser=args.parser,
                  glove=None if not args.glove else dict(path=args.glove, size=osp.getsize(args.glove)),
                  sim_thr=args.sim_thr, split=args.split, frames=out_frames)
    tmp = out + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
        f.write('\n')
    os.replace(tmp, out)

    with_silent = sum(bool(e['silent']) for e in out_frames.values())
    print(f'{out}: {len(out_frames)} frames, {with_silent} with silent categories')
    counts = Counter(c for e in out_frames.values() for c in e['silent'])
    print('silent categories: ' + ', '.join(f'{c} {n}' for c, n in counts.most_common()))
    if matcher.oov or matcher.class_oov:
        print(f'words without a vector: {sorted(matcher.oov)}; categories without any: {matcher.class_oov}')
    sims = [s for e in out_frames.values() for s, m in zip(e['similarity'], e['mapped']) if m is not None]
    if sims:
        hist, edges = np.histogram(sims, bins=10, range=(0.0, 1.0))
        print('noun -> category similarity: ' + ' '.join(f'[{edges[i]:.1f},{edges[i + 1]:.1f}):{h}'
                                                         for i, h in enumerate(hist)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
