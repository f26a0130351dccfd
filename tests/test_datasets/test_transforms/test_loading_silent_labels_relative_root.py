"""LoadSilentObjectLabels with a relative data_root (the configs' 'data/...'): frame paths are relative too."""
import json
import os
import os.path as osp

import numpy as np

from avsseg.registry import TRANSFORMS


def test_relative_data_root_finds_the_frames(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = osp.join('data', 'syn')
    os.makedirs(root)
    with open(osp.join(root, 'silent.json'), 'w') as f:
        json.dump(dict(format='avsseg-silent-labels/1', classes=['disc', 'square'],
                       frames={'v2/c0/frames/0.jpg': dict(caption='', silent=['square'])}), f)
    load = TRANSFORMS.build(dict(type='LoadSilentObjectLabels', ann_file='silent.json', data_root=root,
                                 classes=['background', 'disc', 'square']))
    results = dict(clip_id='c0', img_paths=[osp.join(root, 'v2', 'c0', 'frames', '0.jpg')],
                   imgs=[np.zeros((2, 2, 3), np.uint8)], frame_flags=dict(is_labeled=[True], is_padded=[False]))
    assert load(results)['silent_labels'] == [[2]]
    # an absolute path under the root still works
    results['img_paths'] = [osp.abspath(osp.join(root, 'v2', 'c0', 'frames', '0.jpg'))]
    assert load(results)['silent_labels'] == [[2]]
