"""Compose an AVS-Synthetic training set (seed 002, annotation-free AVS) from your own instance-segmentation and
audio-classification datasets: (image, mask, audio) triplets matched through a category map.

Example::

    python tools/dataset_converters/build_avs_synthetic.py data/avs_synthetic \\
        --category-map tools/dataset_converters/avs_synthetic_categories.json \\
        --seg-format coco --seg-ann data/lvis/lvis_v1_train.json --seg-images data/coco/train2017 --seg-name lvis \\
        --audio-csv data/vggsound/vggsound.csv --audio-dir data/vggsound/audio \\
        --train-size 55000 --test-size 5000

The output is the layout ``AVSSyntheticDataset`` reads (the authors' release layout): ``annotations.csv``,
``images/``, ``masks/``, ``audios/``, ``category_audios.json``, plus ``categories.json`` and
``build_manifest.json``. See ``docs/avs_synthetic.md`` for the inputs, the filtering rules and the outputs.
"""
import argparse
import csv
import hashlib
import io
import json
import os
import os.path as osp
import re
import shutil
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from avsseg.datasets.audio import MIN_EXAMPLE_SAMPLES, TARGET_SAMPLE_RATE, load_audio, to_mono_16k
from avsseg.datasets.dataset_wrappers.audio_perturbed_dataset import clip_seed

#: Columns of annotations.csv (the release's 9-column schema, read by name by AVSSyntheticDataset).
CSV_HEADER = ('inst_id', 'img_id', 'split', 'mask_mode', 'cls_name', 'cls_id', 'dataset', 'source_ids', 'audio_name')
#: Audio shorter than this has no second VGGish example (0.96 s offset + one 0.975 s example).
MIN_AUDIO_SAMPLES = 96 * 160 + MIN_EXAMPLE_SAMPLES
PLAN_FILE = '.build_plan.json'
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


class BuildError(Exception):
    """A problem with the inputs; the message names the file."""


def _safe(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]+', '-', str(name)).strip('-') or 'x'


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def _atomic_write_bytes(path: str, data: bytes) -> None:
    """Write to ``path + '.tmp'`` and rename, so a crash never leaves a half-written file under the final name."""
    tmp = f'{path}.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def _atomic_write_text(path: str, text: str) -> None:
    _atomic_write_bytes(path, text.encode('utf-8'))


def _place_file(src: str, dst: str, link: str) -> None:
    """Symlink (default, sources are never re-hosted) or copy ``src`` to ``dst`` atomically."""
    tmp = f'{dst}.tmp'
    if osp.lexists(tmp):
        os.remove(tmp)
    if link == 'symlink':
        os.symlink(osp.abspath(src), tmp)
    else:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


# ---------------------------------------------------------------------------------------------- category map
def read_category_map(path: str) -> List[dict]:
    """``[dict(name, segmentation=[names], audio=[labels])]`` from the JSON map; errors name the file."""
    if not osp.isfile(path):
        raise BuildError(f'category map not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BuildError(f'category map {path} is not valid JSON: {err}') from err
    cats = data.get('categories') if isinstance(data, dict) else None
    if not isinstance(cats, list) or not cats:
        raise BuildError(f'category map {path} must hold {{"categories": [{{"name", "segmentation", "audio"}}]}}')
    seen_seg, seen_audio, names = {}, {}, set()
    for i, cat in enumerate(cats):
        ok = (isinstance(cat, dict) and isinstance(cat.get('name'), str) and cat['name']
              and all(isinstance(cat.get(k), list) and cat[k] and all(isinstance(n, str) for n in cat[k])
                      for k in ('segmentation', 'audio')))
        if not ok:
            raise BuildError(f'category map {path}: entry {i} needs a name and non-empty lists "segmentation" and '
                             f'"audio" of strings, got {cat!r}')
        if cat['name'] in names:
            raise BuildError(f'category map {path}: category {cat["name"]!r} is listed twice')
        names.add(cat['name'])
        for key, seen in (('segmentation', seen_seg), ('audio', seen_audio)):
            for n in cat[key]:
                if n in seen:
                    raise BuildError(f'category map {path}: {key} name {n!r} maps to both {seen[n]!r} and '
                                     f'{cat["name"]!r}; a source name must mean one target category')
                seen[n] = cat['name']
    return cats


# ---------------------------------------------------------------------------------------------- segmentation
def _decode_coco_segmentation(seg, h: int, w: int, where: str) -> np.ndarray:
    from pycocotools import mask as mask_utils
    try:
        if isinstance(seg, list):  # polygons
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
        elif isinstance(seg, dict) and isinstance(seg.get('counts'), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(seg, h, w)
        elif isinstance(seg, dict):
            rle = dict(seg, counts=seg['counts'].encode() if isinstance(seg['counts'], str) else seg['counts'])
        else:
            raise TypeError(f'unknown segmentation type {type(seg).__name__}')
        return mask_utils.decode(rle).astype(bool)
    except Exception as err:  # pycocotools raises bare exceptions on malformed input
        raise BuildError(f'{where}: cannot decode the segmentation: {err}') from err


def read_coco(ann_path: str, image_dir: str) -> Tuple[Dict, Dict[str, List[dict]], Dict[str, set], set]:
    """COCO / LVIS instance JSON -> ``(images, instances by image, not-exhaustive category names by image, all
    category names)``.

    ``images[image_id] = dict(path, height, width)``; an instance is ``dict(ann_id, category, iscrowd,
    decode=callable)``. LVIS images name their file by ``coco_url``; COCO by ``file_name``.
    """
    if not osp.isfile(ann_path):
        raise BuildError(f'segmentation annotation file not found: {ann_path}')
    try:
        with open(ann_path, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BuildError(f'segmentation annotation file {ann_path} is not valid JSON: {err}') from err
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            raise BuildError(f'{ann_path}: missing the COCO list "{key}"')
    cat_names = {c['id']: c['name'] for c in data['categories']}
    images, not_exhaustive = {}, {}
    for img in data['images']:
        name = img.get('file_name') or osp.basename(str(img.get('coco_url', '')))
        if not name:
            raise BuildError(f'{ann_path}: image {img.get("id")} has neither file_name nor coco_url')
        iid = str(img['id'])
        images[iid] = dict(path=osp.join(image_dir, name), height=int(img['height']), width=int(img['width']))
        not_exhaustive[iid] = {cat_names[c] for c in img.get('not_exhaustive_category_ids', []) if c in cat_names}
    instances = defaultdict(list)
    for ann in data['annotations']:
        iid = str(ann['image_id'])
        if iid not in images:
            raise BuildError(f'{ann_path}: annotation {ann.get("id")} refers to unknown image {iid}')
        if ann['category_id'] not in cat_names:
            raise BuildError(f'{ann_path}: annotation {ann.get("id")} has unknown category {ann["category_id"]}')
        info = images[iid]
        where = f'{ann_path}: annotation {ann.get("id")}'
        instances[iid].append(
            dict(ann_id=str(ann['id']), category=cat_names[ann['category_id']], iscrowd=bool(ann.get('iscrowd', 0)),
                 decode=lambda s=ann['segmentation'], h=info['height'], w=info['width'], where=where:
                 _decode_coco_segmentation(s, h, w, where)))
    return images, instances, not_exhaustive, set(cat_names.values())


def read_png_layout(csv_path: str) -> Tuple[Dict, Dict[str, List[dict]], Dict[str, set], set]:
    """Folder layout: ``instances.csv`` (``image_id,instance_id,category,mask_path[,image_path]``, paths relative
    to the csv's folder; images default to ``images/{image_id}.jpg|.jpeg|.png``) and one 0/255 PNG per instance."""
    if not osp.isfile(csv_path):
        raise BuildError(f'segmentation instances csv not found: {csv_path}')
    root = osp.dirname(osp.abspath(csv_path))
    with open(csv_path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        missing = {'image_id', 'instance_id', 'category', 'mask_path'} - set(reader.fieldnames or ())
        if missing:
            raise BuildError(f'{csv_path} lacks columns {sorted(missing)} (header: {reader.fieldnames})')
        rows = list(reader)
    images, instances = {}, defaultdict(list)
    for line, row in enumerate(rows, start=2):
        iid = row['image_id']
        if iid not in images:
            if row.get('image_path'):
                path = osp.join(root, row['image_path'])
            else:
                cands = [osp.join(root, 'images', iid + e) for e in IMAGE_EXTENSIONS]
                path = next((p for p in cands if osp.isfile(p)), cands[0])
            images[iid] = dict(path=path, height=None, width=None)
        mask_path = osp.join(root, row['mask_path'])

        def decode(p=mask_path, where=f'{csv_path} line {line}'):
            m = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
            if m is None:
                raise BuildError(f'{where}: cannot read mask {p}')
            return m > 0

        instances[iid].append(dict(ann_id=row['instance_id'], category=row['category'], iscrowd=False,
                                   decode=decode))
    return images, instances, {iid: set() for iid in images}, {r['category'] for r in rows}


# ---------------------------------------------------------------------------------------------- audio
def read_vggsound_csv(csv_path: str, audio_dir: str, template: str) -> List[dict]:
    """VGGSound csv (``ytid,start_s,label,split``, no header, as released) -> ``[dict(ytid, start, label, split,
    path)]``; ``template`` names the file of a clip (default ``{ytid}_{start:06d}.wav``)."""
    if not osp.isfile(csv_path):
        raise BuildError(f'audio csv not found: {csv_path}')
    clips = []
    with open(csv_path, newline='', encoding='utf-8') as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row or (line == 1 and row[0].strip().lower() in ('ytid', '# ytid', 'youtube_id')):
                continue
            if len(row) != 4:
                raise BuildError(f'{csv_path} line {line}: expected 4 columns ytid,start,label,split, got {row}')
            ytid, start, label, split = (c.strip() for c in row)
            try:
                start = int(float(start))
            except ValueError:
                raise BuildError(f'{csv_path} line {line}: start {start!r} is not a number') from None
            if split not in ('train', 'test'):
                raise BuildError(f'{csv_path} line {line}: split must be train or test, got {split!r}')
            clips.append(dict(ytid=ytid, start=start, label=label, split=split,
                              path=osp.join(audio_dir, template.format(ytid=ytid, start=start))))
    return clips


def audio_usable(path: str) -> Optional[str]:
    """``None`` when the clip is usable; otherwise why it is dropped (too short, silent). Unreadable or missing
    files raise :class:`BuildError` naming them."""
    if not osp.isfile(path):
        raise BuildError(f'audio file listed in the audio csv not found: {path}')
    try:
        wave = to_mono_16k(*load_audio(path))
    except (OSError, RuntimeError, ValueError) as err:
        raise BuildError(f'cannot read audio file {path}: {err}') from err
    if wave.shape[0] < MIN_AUDIO_SAMPLES:
        return f'shorter than {MIN_AUDIO_SAMPLES / TARGET_SAMPLE_RATE:.3f} s (no second VGGish example)'
    if not np.isfinite(wave).all() or not np.any(np.abs(wave) > 1e-6):
        return 'silent or not finite'
    return None


# ---------------------------------------------------------------------------------------------- planning
def union_mask(instances: List[dict]) -> np.ndarray:
    """bool ``[H, W]`` union of the instances' masks (all of one image); differing sizes are an error."""
    masks = [inst['decode']() for inst in instances]
    shapes = {m.shape for m in masks}
    if len(shapes) != 1:
        raise BuildError(f'instances {[i["ann_id"] for i in instances]} of one image have masks of different '
                         f'sizes {sorted(shapes)}')
    return np.logical_or.reduce(masks)


def plan_build(args) -> dict:
    """Everything the build writes, decided from the inputs and the seed (no output touched)."""
    cats = read_category_map(args.category_map)
    if args.seg_format == 'coco':
        images, instances, not_exhaustive, seg_names = read_coco(args.seg_ann, args.seg_images)
    else:
        images, instances, not_exhaustive, seg_names = read_png_layout(args.seg_ann)
    audio_clips = read_vggsound_csv(args.audio_csv, args.audio_dir, args.audio_template)
    audio_labels = {c['label'] for c in audio_clips}
    unknown = [f'segmentation name {n!r} (category {c["name"]}) not in {args.seg_ann}'
               for c in cats for n in c['segmentation'] if n not in seg_names]
    unknown += [f'audio label {n!r} (category {c["name"]}) not in {args.audio_csv}'
                for c in cats for n in c['audio'] if n not in audio_labels]
    if unknown and not args.allow_unknown_names:
        raise BuildError(f'category map {args.category_map} names {len(unknown)} thing(s) the sources lack '
                         '(fix the map, or --allow-unknown-names to ignore them):\n  ' + '\n  '.join(unknown))
    seg_to_cat = {n: c['name'] for c in cats for n in c['segmentation']}
    label_to_cat = {n: c['name'] for c in cats for n in c['audio']}
    counts = defaultdict(int)

    # audio pools, keeping the audio source's own split (no test audio is heard in training)
    pools = {c['name']: dict(train=[], test=[]) for c in cats}
    dropped_audio = []
    wanted = [a for a in audio_clips if a['label'] in label_to_cat]
    counts['audio_unmapped'] = len(audio_clips) - len(wanted)
    for a in tqdm(wanted, desc='checking audio', disable=args.quiet):
        why = audio_usable(a['path'])
        if why:
            dropped_audio.append(dict(path=a['path'], reason=why))
            continue
        a = dict(a, name=_safe(osp.splitext(osp.basename(a['path']))[0]))
        pools[label_to_cat[a['label']]][a['split']].append(a)
    names = [a['name'] for p in pools.values() for s in p.values() for a in s]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:5]
        raise BuildError(f'{args.audio_csv}: audio files share a name after the template: {dup}')

    # image-mask samples
    samples = []
    for iid in sorted(instances, key=str):
        by_cat = defaultdict(list)
        for inst in instances[iid]:
            if inst['category'] not in seg_to_cat:
                counts['instances_unmapped'] += 1
                continue
            if inst['category'] in not_exhaustive[iid]:
                counts['instances_not_exhaustive'] += 1  # some instances of it are unlabelled: a wrong target
                continue
            by_cat[seg_to_cat[inst['category']]].append(inst)
        for cat, insts in sorted(by_cat.items()):
            crowd = [i for i in insts if i['iscrowd']]
            counts['instances_crowd'] += len(crowd)
            if args.mask_mode == 'category':
                if crowd:  # the union would miss the crowd region's objects
                    counts['samples_dropped_crowd'] += 1
                    continue
                groups = [insts]
            else:
                groups = [[i] for i in insts if not i['iscrowd']]
            for group in groups:
                # Decoded here (and again when written) so the split sizes count only samples that are kept.
                if union_mask(group).mean() < args.min_area:
                    counts['samples_dropped_small'] += 1
                    continue
                samples.append(dict(image=iid, category=cat, instances=group))
    return dict(cats=cats, images=images, samples=samples, pools=pools, dropped_audio=dropped_audio, counts=counts)


def split_samples(samples: List[dict], sizes: Dict[str, int], seed: int) -> Dict[str, List[dict]]:
    """Whole images, in a seeded order, go to test, then val, then train until each has at least its size
    (``-1``: train takes every remaining image); an image is never in two splits."""
    by_image = defaultdict(list)
    for s in samples:
        by_image[s['image']].append(s)
    order = sorted(by_image, key=str)
    order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    out, pos = {}, 0
    for split in ('test', 'val', 'train'):
        out[split] = []
        want = sizes[split]
        while pos < len(order) and (want < 0 or len(out[split]) < want):
            out[split].extend(by_image[order[pos]])
            pos += 1
        if want > 0 and len(out[split]) < want:
            raise BuildError(f'not enough samples for split {split}: {len(out[split])} < {want} requested (after '
                             f'filtering, {len(samples)} samples in {len(order)} images); lower the split sizes')
    return out


# ---------------------------------------------------------------------------------------------- writing
def build(args) -> dict:
    out = args.out_dir
    plan = plan_build(args)
    kept, dropped_cats = [], []
    for c in plan['cats']:
        n_img = sum(s['category'] == c['name'] for s in plan['samples'])
        pool = plan['pools'][c['name']]
        reason = ('no image-mask sample' if not n_img else 'no usable train audio' if not pool['train'] else
                  'no usable test audio' if not pool['test'] else None)
        if reason:
            dropped_cats.append(dict(name=c['name'], reason=reason))
        else:
            kept.append(c)
    if not kept:
        raise BuildError(f'no category has image-mask samples and train and test audio: {dropped_cats}')
    cls_id = {c['name']: str(i) for i, c in enumerate(kept)}
    samples = [s for s in plan['samples'] if s['category'] in cls_id]
    splits = split_samples(samples, dict(train=args.train_size, val=args.val_size, test=args.test_size), args.seed)

    rows, tasks = [], []
    src_name = _safe(args.seg_name)
    for split in ('train', 'val', 'test'):
        for s in splits[split]:
            img_id = f'{src_name}_{_safe(s["image"])}'
            ann_ids = '+'.join(i['ann_id'] for i in s['instances'])
            inst_id = (f'{img_id}_{_safe(s["category"])}' if args.mask_mode == 'category' else
                       f'{img_id}_{_safe(s["instances"][0]["ann_id"])}')
            audio_name = ''
            if split != 'train':  # a fixed, seeded test-pool audio per sample
                pool = plan['pools'][s['category']]['test']
                audio_name = pool[clip_seed(args.seed, inst_id) % len(pool)]['name']
            rows.append((inst_id, img_id, split, args.mask_mode, s['category'], cls_id[s['category']], src_name,
                         ann_ids, audio_name))
            tasks.append((s, img_id, inst_id))

    fingerprint = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    if osp.isdir(out) and os.listdir(out):
        state = osp.join(out, PLAN_FILE)
        if not args.resume:
            raise BuildError(f'output folder {out} is not empty; --resume continues an interrupted build there')
        if not osp.isfile(state):
            raise BuildError(f'--resume: {out} holds no {PLAN_FILE}, it is not an interrupted build of this tool')
        with open(state) as f:
            if json.load(f).get('fingerprint') != fingerprint:
                raise BuildError(f'--resume: the samples planned now differ from those of the build in {out} '
                                 f'({state}); the inputs or options changed. Use a new output folder')
    for sub in ('images', 'masks', 'audios'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    _atomic_write_text(osp.join(out, PLAN_FILE), json.dumps(dict(fingerprint=fingerprint)))

    written = defaultdict(int)
    for s, img_id, inst_id in tqdm(tasks, desc='writing samples', disable=args.quiet):
        info = plan['images'][s['image']]
        src = info['path']
        if not osp.isfile(src):
            raise BuildError(f'image {s["image"]} of {args.seg_ann} not found: {src}')
        ext = osp.splitext(src)[1].lower()
        img_dst = osp.join(out, 'images', img_id + (ext if ext in IMAGE_EXTENSIONS else '.jpg'))
        mask_dst = osp.join(out, 'masks', f'{inst_id}.png')
        if osp.exists(mask_dst) and osp.exists(img_dst):
            written['skipped_existing'] += 1  # written by an interrupted run; files appear only when complete
            continue
        with Image.open(src) as im:
            w, h = im.size
        if info['height'] is not None and (h, w) != (info['height'], info['width']):
            raise BuildError(f'image {src} is {h}x{w} but {args.seg_ann} says {info["height"]}x{info["width"]}')
        mask = union_mask(s['instances'])
        if mask.shape != (h, w):
            raise BuildError(f'masks of instances {[i["ann_id"] for i in s["instances"]]} are '
                             f'{mask.shape[0]}x{mask.shape[1]} but image {src} is {h}x{w}')
        _, png = cv2.imencode('.png', mask.astype(np.uint8) * 255)
        _atomic_write_bytes(mask_dst, png.tobytes())
        if not osp.lexists(img_dst):
            _place_file(src, img_dst, args.link)
        written['samples'] += 1

    pool_names = {}
    for c in kept:
        pool = plan['pools'][c['name']]
        pool_names[cls_id[c['name']]] = [a['name'] for a in pool['train']]
        for a in pool['train'] + pool['test']:
            dst = osp.join(out, 'audios', f'{a["name"]}.wav')
            if not osp.lexists(dst):
                _place_file(a['path'], dst, args.link)

    final_rows = rows
    by_split = defaultdict(lambda: defaultdict(int))
    for r in final_rows:
        by_split[r[4]][r[2]] += 1
    categories = [
        dict(id=int(cls_id[c['name']]), name=c['name'], segmentation=c['segmentation'], audio=c['audio'],
             samples=dict(by_split[c['name']]), audio_train=len(plan['pools'][c['name']]['train']),
             audio_test=len(plan['pools'][c['name']]['test'])) for c in kept
    ]
    manifest = dict(
        arguments={k: v for k, v in vars(args).items() if k != 'quiet'},
        seed=args.seed,
        source_sha256={p: _sha256(p) for p in (args.category_map, args.seg_ann, args.audio_csv)},
        table1_row=dict(classes=len(kept), images=len({r[1] for r in final_rows}), masks=len(final_rows)),
        splits={s: sum(r[2] == s for r in final_rows) for s in ('train', 'val', 'test')},
        categories=categories,
        dropped_categories=dropped_cats,
        dropped_audio=plan['dropped_audio'],
        filtering=dict(plan['counts'], min_area=args.min_area),
        audio_sources={a['name']: dict(ytid=a['ytid'], start=a['start'], label=a['label'], split=a['split'])
                       for c in kept for s in ('train', 'test') for a in plan['pools'][c['name']][s]},
        resumed_samples=written['skipped_existing'])
    table = io.StringIO()
    writer = csv.writer(table, lineterminator='\n')
    writer.writerow(CSV_HEADER)
    writer.writerows(final_rows)
    _atomic_write_text(osp.join(out, 'category_audios.json'), json.dumps(pool_names, indent=1))
    _atomic_write_text(osp.join(out, 'categories.json'), json.dumps(categories, indent=1))
    _atomic_write_text(osp.join(out, 'build_manifest.json'), json.dumps(manifest, indent=1))
    # annotations.csv last: its presence means the set is complete
    _atomic_write_text(osp.join(out, 'annotations.csv'), table.getvalue())
    return manifest


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Compose AVS-Synthetic (image, mask, audio) triplets from a local instance-segmentation set '
        'and a local VGGSound-style audio set through a category map (seed 002, Sec. 3.2).')
    p.add_argument('out_dir', help='output folder (the data_root of AVSSyntheticDataset)')
    default_map = osp.join(osp.dirname(osp.abspath(__file__)), 'avs_synthetic_categories.json')
    p.add_argument('--category-map', default=default_map,
                   help='JSON {"categories": [{"name", "segmentation": [...], "audio": [...]}]} (default: the '
                   "paper's categories, avs_synthetic_categories.json)")
    p.add_argument('--seg-format', choices=('coco', 'png'), required=True,
                   help='coco: COCO / LVIS instance JSON (polygons or RLE); png: instances.csv + per-instance PNGs')
    p.add_argument('--seg-ann', required=True, help='the instance JSON (coco) or instances.csv (png)')
    p.add_argument('--seg-images', default='', help='image folder of the JSON file names (coco)')
    p.add_argument('--seg-name', default='seg', help='source name, written to the csv dataset column and ids')
    p.add_argument('--audio-csv', required=True, help='VGGSound-style csv: ytid,start_s,label,split (no header)')
    p.add_argument('--audio-dir', required=True, help='folder of the audio clips')
    p.add_argument('--audio-template', default='{ytid}_{start:06d}.wav', help='file name of a clip in --audio-dir')
    p.add_argument('--mask-mode', choices=('category', 'instance'), default='category',
                   help='category: one sample per (image, category), mask = union of its instances (default); '
                   'instance: one sample per instance, as the authors\' release')
    p.add_argument('--min-area', type=float, default=0.005, help='drop masks below this fraction of the image')
    p.add_argument('--train-size', type=int, default=-1, help='train samples (-1: every remaining image)')
    p.add_argument('--val-size', type=int, default=0, help='val samples (the paper has none; the release has)')
    p.add_argument('--test-size', type=int, default=5000, help='test samples (paper: 5000)')
    p.add_argument('--seed', type=int, default=0, help='split and test-audio seed')
    p.add_argument('--link', choices=('symlink', 'copy'), default='symlink',
                   help='symlink images and audio (default; licences differ, do not re-host) or copy them')
    p.add_argument('--resume', action='store_true', help='continue an interrupted build in out_dir')
    p.add_argument('--allow-unknown-names', action='store_true',
                   help='ignore category-map names that the sources lack instead of stopping')
    p.add_argument('--quiet', action='store_true', help='no progress bars')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.seg_format == 'coco' and not args.seg_images:
        sys.exit('build_avs_synthetic.py: error: --seg-format coco needs --seg-images')
    try:
        manifest = build(args)
    except BuildError as err:
        sys.exit(f'build_avs_synthetic.py: error: {err}')
    row = manifest['table1_row']
    print(f'AVS-Synthetic written to {args.out_dir}: {row["classes"]} categories, {row["images"]} images, '
          f'{row["masks"]} masks; splits {manifest["splits"]}; dropped categories: '
          f'{[d["name"] for d in manifest["dropped_categories"]]}')


if __name__ == '__main__':
    main()
