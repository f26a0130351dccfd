"""Writers for the official AVSBench on-disk layouts (S4, MS3, AVSBench-semantic).

Paths, file names and index files follow the official release exactly (see ``docs/synthetic_data.md``), so
the dataset classes that read the real data read the synthetic data unchanged. Audio is written as 16 kHz mono
16-bit wav (the release's VGGish ``.pkl`` log-mel files are not written).
"""
import csv
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import soundfile as sf

from ..avsbench_semantic_dataset import avss_palette
from .categories import category_names

SPLITS = ('train', 'val', 'test')
AVSS_LABELS = ('v1s', 'v1m', 'v2')

#: Index files and data folders each subset writes directly under ``data_root``.
LAYOUT_ROOT_ENTRIES = {
    's4': ('s4_meta_data.csv', 's4_data'),
    'ms3': ('ms3_meta_data.csv', 'ms3_data'),
    'avss': ('metadata.csv', 'label2idx.json') + AVSS_LABELS,
}

S4_CSV_HEADER = ('name', 'start', 'category', 'split')
MS3_CSV_HEADER = ('name', 'start', 'split')
AVSS_CSV_HEADER = ('vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label')


def avss_label2idx() -> Dict[str, int]:
    """``label2idx.json`` of the synthetic AVSS set: ``background`` = 0, categories 1..K in table order."""
    mapping = {'background': 0}
    mapping.update({name: i + 1 for i, name in enumerate(category_names())})
    return mapping


def labelled_frames(subset: str, split: str, num_frames: int, label: Optional[str] = None) -> List[int]:
    """0-based indices of the frames that carry a mask, as in the official release.

    S4 train and AVSS v1s train label frame 0 only; every other (subset, split) labels all frames.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    first_only = (subset == 's4' or (subset == 'avss' and label == 'v1s')) and split == 'train'
    return [0] if first_only else list(range(num_frames))


def clip_paths(subset: str, clip: Dict) -> Dict:
    """Paths (relative to ``data_root``) of one clip's files.

    Args:
        subset: ``'s4'``, ``'ms3'`` or ``'avss'``.
        clip: Needs ``name``, ``split``, ``num_frames``; S4 also ``category``; AVSS also ``uid`` and ``label``.

    Returns:
        ``dict(frames=[T paths], labels={frame_idx: path}, labels_rgb={frame_idx: path} (AVSS only),
        audio=path)``; ``labels`` holds the labelled frames only.
    """
    name, split, num = clip['name'], clip['split'], clip['num_frames']
    lab = labelled_frames(subset, split, num, clip.get('label'))
    if subset == 's4':
        rel = osp.join(split, clip['category'], name)
        frames = [osp.join('s4_data', 'visual_frames', rel, f'{name}_{k + 1}.png') for k in range(num)]
        labels = {k: osp.join('s4_data', 'gt_masks', rel, f'{name}_{k + 1}.png') for k in lab}
        audio = osp.join('s4_data', 'audio_wav', split, clip['category'], f'{name}.wav')
        return dict(frames=frames, labels=labels, audio=audio)
    if subset == 'ms3':
        frames = [osp.join('ms3_data', 'visual_frames', name, f'{name}.mp4_{k + 1}.png') for k in range(num)]
        labels = {k: osp.join('ms3_data', 'gt_masks', split, name, f'{name}_{k + 1}.png') for k in lab}
        audio = osp.join('ms3_data', 'audio_wav', split, f'{name}.wav')
        return dict(frames=frames, labels=labels, audio=audio)
    if subset == 'avss':
        base = osp.join(clip['label'], clip['uid'])
        return dict(
            frames=[osp.join(base, 'frames', f'{k}.jpg') for k in range(num)],
            labels={k: osp.join(base, 'labels_semantic', f'{k}.png') for k in lab},
            labels_rgb={k: osp.join(base, 'labels_rgb', f'{k}.png') for k in lab},
            audio=osp.join(base, 'audio.wav'))
    raise ValueError(f'subset must be one of {tuple(LAYOUT_ROOT_ENTRIES)}, got {subset!r}')


def _imwrite(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)  # cv2 writes BGR
    if not cv2.imwrite(path, img):
        raise OSError(f'cv2 could not write image {path!r}')


def write_clip(subset: str, data_root: str, clip: Dict, frames: Sequence[np.ndarray],
               label_maps: Sequence[np.ndarray], audio: np.ndarray, sample_rate: int) -> Dict:
    """Write one clip's frames, masks / labels and wav.

    Args:
        subset: ``'s4'``, ``'ms3'`` or ``'avss'``.
        data_root: Dataset root.
        clip: Clip description (see :func:`clip_paths`).
        frames: T RGB uint8 ``[H, W, 3]``.
        label_maps: T uint8 ``[H, W]``: for S4 / MS3 0/1 sounding-object masks (written as 0/255), for AVSS
            class indices (0 = background). Only the labelled frames are written.
        audio: float32 ``[T * sample_rate]`` in [-1, 1]; written as mono 16-bit PCM.
        sample_rate: Audio rate.

    Returns:
        The relative paths from :func:`clip_paths`.
    """
    paths = clip_paths(subset, clip)
    for img, rel in zip(frames, paths['frames']):
        _imwrite(osp.join(data_root, rel), img)
    if subset == 'avss':
        # The reader's own palette, so labels_rgb decodes to exactly the labels_semantic indices.
        palette = np.asarray(avss_palette(len(avss_label2idx())), np.uint8)
        for k, rel in paths['labels'].items():
            _imwrite(osp.join(data_root, rel), label_maps[k])
            _imwrite(osp.join(data_root, paths['labels_rgb'][k]), palette[label_maps[k]])
    else:
        for k, rel in paths['labels'].items():
            _imwrite(osp.join(data_root, rel), (label_maps[k] > 0).astype(np.uint8) * 255)
    wav_path = osp.join(data_root, paths['audio'])
    os.makedirs(osp.dirname(wav_path), exist_ok=True)
    sf.write(wav_path, audio, sample_rate, subtype='PCM_16')
    return paths


def write_index(subset: str, data_root: str, clips: Sequence[Dict]) -> List[str]:
    """Write the subset's index file(s) (csv, and ``label2idx.json`` for AVSS). Returns the paths written."""
    written = []
    if subset == 's4':
        header, rows = S4_CSV_HEADER, [(c['name'], c['start'], c['category'], c['split']) for c in clips]
        csv_name = 's4_meta_data.csv'
    elif subset == 'ms3':
        header, rows = MS3_CSV_HEADER, [(c['name'], c['start'], c['split']) for c in clips]
        csv_name = 'ms3_meta_data.csv'
    elif subset == 'avss':
        header = AVSS_CSV_HEADER
        rows = [(c['vid'], c['uid'], c['start'] // 60, c['start'] % 60, c['a_obj'], c['split'], c['label'])
                for c in clips]
        csv_name = 'metadata.csv'
        json_path = osp.join(data_root, 'label2idx.json')
        with open(json_path, 'w') as f:
            json.dump(avss_label2idx(), f, indent=1)
        written.append(json_path)
    else:
        raise ValueError(f'subset must be one of {tuple(LAYOUT_ROOT_ENTRIES)}, got {subset!r}')
    csv_path = osp.join(data_root, csv_name)
    with open(csv_path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    written.append(csv_path)
    return written
