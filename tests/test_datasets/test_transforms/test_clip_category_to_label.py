import numpy as np
import pytest

from avsseg.datasets.transforms import ClipCategoryToLabel
from avsseg.registry import TRANSFORMS

CLASSES = ('disc', 'square', 'triangle')


def clip(category, maps=None):
    if maps is None:
        seg = np.zeros((4, 4), np.uint8)
        seg[1:3, 1:3] = 1
        seg[0, 0] = 255
        maps = [seg, np.full((4, 4), 255, np.uint8), None]
    return dict(clip_id='syn_s4_00007', category=category, gt_seg_maps=maps,
                seg_map_paths=['a.png', None, None])


def test_object_pixels_take_the_category_index():
    t = TRANSFORMS.build(dict(type='ClipCategoryToLabel', classes=CLASSES))
    out = t(clip('triangle'))['gt_seg_maps']
    assert out[0].dtype == np.uint8
    assert out[0][1, 1] == 3 and out[0][3, 3] == 0 and out[0][0, 0] == 255  # 1 -> 3, 0 stays 0, 255 stays 255
    assert sorted(np.unique(out[0]).tolist()) == [0, 3, 255]
    assert (out[1] == 255).all() and out[2] is None  # unlabelled frame stays ignored; a missing map stays missing


def test_silent_clip_is_all_background_and_the_map_renames():
    out = ClipCategoryToLabel(CLASSES)(clip('silent'))['gt_seg_maps']
    assert sorted(np.unique(out[0]).tolist()) == [0, 255]
    mapped = ClipCategoryToLabel(CLASSES, category_map={'hum': 'disc'})(clip('hum'))['gt_seg_maps']
    assert mapped[0][1, 1] == 1


def test_errors_name_the_clip():
    t = ClipCategoryToLabel(CLASSES)
    with pytest.raises(ValueError, match=r"syn_s4_00007 has category 'hexagon'"):
        t(clip('hexagon'))
    with pytest.raises(KeyError, match='syn_s4_00007 has no category'):
        t(clip(None))
    with pytest.raises(ValueError, match=r'syn_s4_00007 frame 0 \(a.png\).*\[2\]'):
        t(clip('disc', [np.full((2, 2), 2, np.uint8)]))
    with pytest.raises(ValueError, match='not in classes'):
        ClipCategoryToLabel(CLASSES, category_map={'hum': 'humming'})
    with pytest.raises(ValueError, match='distinct'):
        ClipCategoryToLabel(('disc', 'disc'))
