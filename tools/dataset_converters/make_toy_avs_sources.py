"""Write tiny *source* datasets for build_avs_synthetic.py, so the AVS-Synthetic pipeline runs offline.

Example::

    python tools/dataset_converters/make_toy_avs_sources.py data/toy_avs_sources --num-images 40
    python tools/dataset_converters/build_avs_synthetic.py data/toy_avs_synthetic \\
        --category-map data/toy_avs_sources/category_map.json --seg-format coco \\
        --seg-ann data/toy_avs_sources/seg_coco/instances.json --seg-images data/toy_avs_sources/seg_coco/images \\
        --audio-csv data/toy_avs_sources/audio/vggsound.csv --audio-dir data/toy_avs_sources/audio/wavs \\
        --test-size 8 --val-size 4

Images come from avsseg's synthetic renderer (2-4 shapes of distinct categories on a textured background) and
audio from its category sounds, written in the layouts the builder reads:

- ``seg_coco/instances.json`` + ``seg_coco/images/``: COCO instance JSON; convex shapes as polygons
  (``cv2.findContours``), the others as compressed RLE (pycocotools); every 7th image also gets a crowd region;
- ``seg_png/instances.csv`` + ``seg_png/masks/``: the folder layout (same images, one PNG per instance);
- ``audio/vggsound.csv`` + ``audio/wavs/{ytid}_{start:06d}.wav``: VGGSound style, 3 s clips at 16 kHz whose labels
  differ from the segmentation names (``disc humming``, ...), plus a distractor label mapped to nothing;
- ``category_map.json``: links them, leaving the ``hexagon`` category out (the builder must drop it).
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import soundfile as sf
from pycocotools import mask as mask_utils

from avsseg.datasets.synthetic import CATEGORIES, SAMPLE_RATE, render_frames, sample_scene, synthesize_source

#: Audio-side label of each synthetic category (as VGGSound names sounds, not objects).
AUDIO_LABELS = {
    'disc': 'disc humming', 'square': 'square hissing', 'triangle': 'triangle chirping', 'ring': 'ring trilling',
    'cross': 'cross clicking', 'star': 'star whistling', 'diamond': 'diamond rumbling', 'hexagon': 'hexagon beeping'
}
#: Categories written as COCO polygons (no holes); the rest as RLE.
POLYGON_SHAPES = ('square', 'triangle', 'diamond', 'disc')
#: Drawn in the images and heard in the audio, but left out of the category map.
UNMAPPED = 'hexagon'
DISTRACTOR_LABEL = 'people whistling'


def write_sources(out: str, num_images: int = 40, clips_per_label: int = 4, image_size: int = 64,
                  seed: int = 0) -> dict:
    """Write the toy sources under ``out``; returns the paths the builder needs."""
    rng = np.random.default_rng(seed)
    for sub in ('seg_coco/images', 'seg_png/masks', 'audio/wavs'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    coco = dict(images=[], annotations=[],
                categories=[dict(id=i + 1, name=c.name) for i, c in enumerate(CATEGORIES)])
    cat_id = {c.name: i + 1 for i, c in enumerate(CATEGORIES)}
    png_rows = []
    ann_id = 0
    for k in range(num_images):
        n = int(rng.integers(2, 5))
        cats = [CATEGORIES[i] for i in rng.choice(len(CATEGORIES), n, replace=False)]
        scene, inst, _ = sample_scene(rng, sounding=[], silent=cats, size=image_size, num_frames=1)
        img = render_frames(scene, inst, rng)[0]
        name = f'toy_{k:05d}.png'
        cv2.imwrite(osp.join(out, 'seg_coco', 'images', name), img[..., ::-1])
        coco['images'].append(dict(id=k + 1, file_name=name, height=image_size, width=image_size))
        for j, obj in enumerate(scene.objects):
            m = inst[0] == j
            if not m.any():
                continue
            ann_id += 1
            if obj.category.name in POLYGON_SHAPES:
                contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
                seg = [(c.reshape(-1, 2) + 0.5).ravel().tolist() for c in contours if len(c) >= 3]
            else:
                rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
                seg = dict(size=rle['size'], counts=rle['counts'].decode())
            coco['annotations'].append(dict(id=ann_id, image_id=k + 1, category_id=cat_id[obj.category.name],
                                            segmentation=seg, iscrowd=0, area=int(m.sum())))
            mask_name = f'{ann_id:06d}.png'
            cv2.imwrite(osp.join(out, 'seg_png', 'masks', mask_name), m.astype(np.uint8) * 255)
            png_rows.append([f'toy_{k:05d}', ann_id, obj.category.name, f'masks/{mask_name}',
                             f'../seg_coco/images/{name}'])
        if k % 7 == 6:  # a crowd region of the first object's category
            ann_id += 1
            box = np.zeros((image_size, image_size), np.uint8)
            box[:4, :4] = 1
            rle = mask_utils.encode(np.asfortranarray(box))
            first = cat_id[scene.objects[0].category.name]
            coco['annotations'].append(dict(id=ann_id, image_id=k + 1, category_id=first,
                                            segmentation=dict(size=rle['size'], counts=rle['counts'].decode()),
                                            iscrowd=1, area=16))
    with open(osp.join(out, 'seg_coco', 'instances.json'), 'w') as f:
        json.dump(coco, f)
    with open(osp.join(out, 'seg_png', 'instances.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image_id', 'instance_id', 'category', 'mask_path', 'image_path'])
        writer.writerows(png_rows)

    audio_rows = []
    labels = [(c, AUDIO_LABELS[c.name]) for c in CATEGORIES] + [(CATEGORIES[0], DISTRACTOR_LABEL)]
    for c, label in labels:
        for j in range(clips_per_label):
            split = 'test' if j % 2 else 'train'
            ytid = f'{_slug(label)}{j:02d}'
            start = int(rng.integers(0, 300))
            pitch = 0.5 if label == DISTRACTOR_LABEL else float(rng.uniform(0.9, 1.1))
            wave = 0.1 * synthesize_source(c.sound, 3.0, rng, pitch=pitch, rate=float(rng.uniform(0.9, 1.1)))
            sf.write(osp.join(out, 'audio', 'wavs', f'{ytid}_{start:06d}.wav'), wave.astype(np.float32), SAMPLE_RATE)
            audio_rows.append([ytid, start, label, split])
    with open(osp.join(out, 'audio', 'vggsound.csv'), 'w', newline='') as f:
        csv.writer(f).writerows(audio_rows)
    cmap = dict(description='toy category map written by make_toy_avs_sources.py', categories=[
        dict(name=c.name, segmentation=[c.name], audio=[AUDIO_LABELS[c.name]]) for c in CATEGORIES
        if c.name != UNMAPPED
    ])
    with open(osp.join(out, 'category_map.json'), 'w') as f:
        json.dump(cmap, f, indent=1)
    return dict(category_map=osp.join(out, 'category_map.json'), coco_ann=osp.join(out, 'seg_coco', 'instances.json'),
                coco_images=osp.join(out, 'seg_coco', 'images'), png_csv=osp.join(out, 'seg_png', 'instances.csv'),
                audio_csv=osp.join(out, 'audio', 'vggsound.csv'), audio_dir=osp.join(out, 'audio', 'wavs'))


def _slug(label: str) -> str:
    return ''.join(ch for ch in label if ch.isalnum())[:10]


def main(argv=None):
    p = argparse.ArgumentParser(description='Write toy segmentation (COCO JSON and PNG layouts) and VGGSound-style '
                                'audio sources for build_avs_synthetic.py.')
    p.add_argument('out_dir')
    p.add_argument('--num-images', type=int, default=40)
    p.add_argument('--clips-per-label', type=int, default=4, help='audio clips per label (half train, half test)')
    p.add_argument('--image-size', type=int, default=64)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    if osp.isdir(args.out_dir) and os.listdir(args.out_dir):
        sys.exit(f'make_toy_avs_sources.py: error: {args.out_dir} is not empty')
    paths = write_sources(args.out_dir, args.num_images, args.clips_per_label, args.image_size, args.seed)
    print(json.dumps(paths, indent=1))


if __name__ == '__main__':
    main()
