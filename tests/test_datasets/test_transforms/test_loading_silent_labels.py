import json
import os.path as osp

import numpy as np
import pytest

from avsseg.datasets.transforms import ClipSelectLabelledFrames, LoadSilentObjectLabels, PackAVSInputs
from avsseg.registry import TRANSFORMS

CLASSES = ['disc', 'square', 'triangle', 'ring']


def write_labels(tmp_path, frames, classes=CLASSES):
    path = tmp_path / 'silent.json'
    path.write_text(json.dumps(dict(format='avsseg-silent-labels/1', classes=classes,
                                    frames={k: dict(caption='', silent=v) for k, v in frames.items()})))
    return str(path)


def clip(root, n=3, padded=0):
    paths = [osp.join(root, 'v1s', 'c0', 'frames', f'{t}.jpg') for t in range(n)] + [None] * padded
    return dict(clip_id='c0', img_paths=paths, imgs=[np.zeros((4, 4, 3), np.uint8)] * (n + padded),
                audio=np.zeros((n + padded, 1, 96, 64), np.float32),
                frame_flags=dict(is_labeled=[True, False, True] + [False] * padded, is_padded=[False] * n + [True] *
                                 padded))


def test_silent_labels_per_frame_into_metainfo(tmp_path):
    root = str(tmp_path)
    ann = write_labels(tmp_path, {'v1s/c0/frames/0.jpg': ['triangle', 'disc'], 'v1s/c0/frames/1.jpg': [],
                                  'v1s/c0/frames/2.jpg': ['ring']})
    load = TRANSFORMS.build(dict(type='LoadSilentObjectLabels', ann_file='silent.json', data_root=root))
    results = load(clip(root, padded=1))
    # dataset class indices: background 0, the file's classes 1..K
    assert results['silent_labels'] == [[1, 3], [], [4], []]
    samples = PackAVSInputs()(results)['data_samples']
    assert [s.metainfo['silent_labels'] for s in samples] == [[1, 3], [], [4], []]
    # ClipSelectLabelledFrames keeps each frame's entry with its frame
    selected = ClipSelectLabelledFrames()(load(clip(root, padded=1)))
    assert selected['silent_labels'] == [[1, 3], [4]]
    assert [s.metainfo['silent_labels'] for s in PackAVSInputs()(selected)['data_samples']] == [[1, 3], [4]]
    # the dataset's class list (background first, another order) gives its indices
    load = LoadSilentObjectLabels(ann, data_root=root, classes=['background', 'ring', 'triangle', 'square', 'disc'])
    assert load(clip(root))['silent_labels'] == [[2, 4], [], [1]]


def test_missing_frames_and_bad_files(tmp_path):
    root = str(tmp_path)
    ann = write_labels(tmp_path, {'v1s/c0/frames/0.jpg': ['disc']})
    with pytest.raises(KeyError, match=r"frame 'v1s/c0/frames/1.jpg' \(clip c0\) is not in .*silent.json"):
        LoadSilentObjectLabels(ann, data_root=root)(clip(root))
    assert LoadSilentObjectLabels(ann, data_root=root, missing='empty')(clip(root))['silent_labels'] == [[1], [], []]
    ann = write_labels(tmp_path, {'v1s/c0/frames/0.jpg': ['hexagon']})
    with pytest.raises(ValueError, match=r"frame 'v1s/c0/frames/0.jpg' lists unknown categories \['hexagon'\]"):
        LoadSilentObjectLabels(ann)
    ann = write_labels(tmp_path, {'v1s/c0/frames/0.jpg': ['disc']})
    with pytest.raises(ValueError, match=r"categories \['triangle', 'ring'\] of .* are not in the classes given"):
        LoadSilentObjectLabels(ann, classes=['background', 'disc', 'square'])
    with pytest.raises(FileNotFoundError, match='make_silent_labels.py'):
        LoadSilentObjectLabels('nope.json', data_root=root)
    (tmp_path / 'other.json').write_text('{"frames": {}}')
    with pytest.raises(ValueError, match='is not an avsseg-silent-labels/1 file'):
        LoadSilentObjectLabels(str(tmp_path / 'other.json'))


def test_clip_transform_broadcaster_leaves_silent_labels_per_frame(tmp_path):
    root = str(tmp_path)
    write_labels(tmp_path, {'v1s/c0/frames/0.jpg': ['disc'], 'v1s/c0/frames/1.jpg': [], 'v1s/c0/frames/2.jpg': []})
    results = LoadSilentObjectLabels('silent.json', data_root=root)(clip(root))
    flip = TRANSFORMS.build(dict(type='ClipTransformBroadcaster', share_random_params=False,
                                 transforms=[dict(type='RandomFlip', prob=0.5)]))
    assert flip(results)['silent_labels'] == [[1], [], []]
