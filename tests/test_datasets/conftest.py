"""Tiny fake AVSBench releases (S4, MS3, AVSS) in the official on-disk layouts, written per test in tmp_path.

Every frame carries a bright square whose position depends on the frame index, and every mask marks the
same square, so tests can check that frames and labels stay aligned. Audio is written both as wav (a
sine whose pitch depends on the clip) and as the official pickled log-mel tensor ``[T, 1, 96, 64]``.
"""
import csv
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

SIZE = 32  # S4 / MS3 frames are SIZE x SIZE (the release has 224 x 224)
AVSS_SHAPE = (24, 32)  # AVSS frames keep their original, non-square size


def square_box(t, shape):
    """``(y1, y2, x1, x2)`` of the object square of frame ``t``."""
    h, w = shape
    s = min(h, w) // 4
    y1 = (2 + 2 * t) % (h - s)
    x1 = (3 + 3 * t) % (w - s)
    return y1, y1 + s, x1, x1 + s


def frame_array(clip_idx, t, shape=(SIZE, SIZE)):
    h, w = shape
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = 40 + 10 * clip_idx
    img[..., 1] = np.linspace(0, 120, w, dtype=np.uint8)[None]
    img[..., 2] = 20 * t
    y1, y2, x1, x2 = square_box(t, shape)
    img[y1:y2, x1:x2] = 250
    return img


def mask_array(t, shape=(SIZE, SIZE), value=255):
    m = np.zeros(shape, np.uint8)
    y1, y2, x1, x2 = square_box(t, shape)
    m[y1:y2, x1:x2] = value
    return m


def write_image(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def write_wav(path, seconds, sr=16000, channels=1, freq=440.0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    n = int(round(seconds * sr))
    wave = 0.3 * np.sin(2 * np.pi * freq * np.arange(n) / sr).astype(np.float32)
    sf.write(path, np.stack([wave] * channels, axis=1), sr, subtype='FLOAT')


def write_pkl(path, num_segments, seed=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    with open(path, 'wb') as f:
        pickle.dump(torch.randn(num_segments, 1, 96, 64, generator=gen) - 2.0, f)


def write_csv(path, header, rows):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


# (name, category, split)
S4_CLIPS = [('s4a', 'guitar', 'train'), ('s4b', 'dog', 'train'), ('s4c', 'guitar', 'train'),
            ('s4d', 'dog', 'val'), ('s4e', 'guitar', 'test')]


def make_s4(root, clips=S4_CLIPS, wav=True, pkl=True):
    """Writes an S4 release under ``root`` (the ``Single-source`` folder) and returns it."""
    root = str(root)
    write_csv(osp.join(root, 's4_meta_data.csv'), ['name', 'start', 'category', 'split'],
              [[n, 0, c, s] for n, c, s in clips])
    for i, (name, cat, split) in enumerate(clips):
        for k in range(1, 6):
            write_image(osp.join(root, 's4_data', 'visual_frames', split, cat, name, f'{name}_{k}.png'),
                        frame_array(i, k - 1))
            if split != 'train' or k == 1:
                write_image(osp.join(root, 's4_data', 'gt_masks', split, cat, name, f'{name}_{k}.png'),
                            mask_array(k - 1))
        if wav:
            write_wav(osp.join(root, 's4_data', 'audio_wav', split, cat, f'{name}.wav'), 5, freq=300 + 100 * i)
        if pkl:
            write_pkl(osp.join(root, 's4_data', 'audio_log_mel', split, cat, f'{name}.pkl'), 5, seed=i)
    return root


MS3_CLIPS = [('ms3a', 'train'), ('ms3b', 'train'), ('ms3c', 'val'), ('ms3d', 'test')]


def make_ms3(root, clips=MS3_CLIPS, wav=True, pkl=True):
    """Writes an MS3 release under ``root`` (the ``Multi-sources`` folder) and returns it."""
    root = str(root)
    write_csv(osp.join(root, 'ms3_meta_data.csv'), ['name', 'start', 'split'], [[n, 0, s] for n, s in clips])
    for i, (name, split) in enumerate(clips):
        for k in range(1, 6):
            write_image(osp.join(root, 'ms3_data', 'visual_frames', name, f'{name}.mp4_{k}.png'),
                        frame_array(i, k - 1))
            write_image(osp.join(root, 'ms3_data', 'gt_masks', split, name, f'{name}_{k}.png'),
                        mask_array(k - 1))
        if wav:
            # 44.1 kHz stereo: the loader must downmix and resample
            write_wav(osp.join(root, 'ms3_data', 'audio_wav', split, f'{name}.wav'), 5, sr=44100, channels=2,
                      freq=500 + 50 * i)
        if pkl:
            write_pkl(osp.join(root, 'ms3_data', 'audio_log_mel', split, f'{name}.pkl'), 5, seed=10 + i)
    return root


AVSS_CLASSES = ['background'] + [f'class_{i}' for i in range(1, 71)]
# (uid, subset, split, a_obj, class index of the object)
AVSS_CLIPS = [('u1', 'v1s', 'train', 'guitar', 5), ('u2', 'v1m', 'train', 'man, piano', 17),
              ('u3', 'v2', 'train', 'dog', 70), ('u4', 'v1s', 'val', 'car', 33), ('u5', 'v2', 'test', 'cat', 2)]
AVSS_FRAMES = dict(v1s=5, v1m=5, v2=10)


def avss_labeled(subset, split):
    if subset == 'v1s' and split == 'train':
        return [0]
    return list(range(AVSS_FRAMES[subset]))


def make_avss(root, clips=AVSS_CLIPS, wav=True, pkl=False, classes=AVSS_CLASSES):
    """Writes an AVSS release under ``root`` (the ``AVSBench_semantic`` folder) and returns it."""
    from avsseg.datasets.avsbench_semantic_dataset import avss_palette
    root = str(root)
    write_csv(osp.join(root, 'metadata.csv'), ['vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label'],
              [[uid + '_vid', uid, 0, 0, obj, split, subset] for uid, subset, split, obj, _ in clips])
    with open(osp.join(root, 'label2idx.json'), 'w') as f:
        json.dump({c: i for i, c in enumerate(classes)}, f)
    palette = np.array(avss_palette(len(classes)), np.uint8)
    for i, (uid, subset, split, _, cls) in enumerate(clips):
        clip_dir = osp.join(root, subset, uid)
        for t in range(AVSS_FRAMES[subset]):
            write_image(osp.join(clip_dir, 'frames', f'{t}.jpg'), frame_array(i, t, AVSS_SHAPE))
        for t in avss_labeled(subset, split):
            index = mask_array(t, AVSS_SHAPE, value=cls)
            write_image(osp.join(clip_dir, 'labels_semantic', f'{t}.png'), index)
            write_image(osp.join(clip_dir, 'labels_rgb', f'{t}.png'), palette[index])
        if wav:
            write_wav(osp.join(clip_dir, 'audio.wav'), AVSS_FRAMES[subset], freq=200 + 100 * i)
        if pkl:
            write_pkl(osp.join(clip_dir, 'audio.pkl'), 10, seed=20 + i)
    return root


@pytest.fixture
def s4_root(tmp_path):
    return make_s4(tmp_path / 'Single-source')


@pytest.fixture
def ms3_root(tmp_path):
    return make_ms3(tmp_path / 'Multi-sources')


@pytest.fixture
def avss_root(tmp_path):
    return make_avss(tmp_path / 'AVSBench_semantic')


@pytest.fixture
def fake():
    """The writers above, for tests that build variants of the releases (``fake.make_s4(path, ...)``)."""
    import types
    return types.SimpleNamespace(
        make_s4=make_s4, make_ms3=make_ms3, make_avss=make_avss, write_image=write_image, write_wav=write_wav,
        write_pkl=write_pkl, write_csv=write_csv, frame_array=frame_array, mask_array=mask_array,
        square_box=square_box, avss_labeled=avss_labeled, S4_CLIPS=S4_CLIPS, MS3_CLIPS=MS3_CLIPS,
        AVSS_CLIPS=AVSS_CLIPS, AVSS_CLASSES=AVSS_CLASSES, AVSS_SHAPE=AVSS_SHAPE, SIZE=SIZE)
