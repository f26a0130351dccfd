import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from avsseg.datasets.maskige import (ade_palette, load_proposals, maskige_palette, maskige_path, masks_to_index_map,
                                     masks_to_maskige, read_maskige, save_maskige, save_proposals)
from avsseg.datasets.transforms import LoadClipMaskige, PackAVSInputs

GREY = [120, 120, 120]


def _hand_masks():
    """A (area 8, rows 0-1), B (area 2, row 0 cols 0-1, inside A), C (area 3, row 3 cols 0-2)."""
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[0, :2] = True
    masks[1, 0, :2] = True
    masks[2, 3, :3] = True
    return masks


def test_ade_palette_values():
    pal = ade_palette()
    assert pal.shape == (150, 3) and pal.dtype == np.uint8
    # first and last rows of the ADE20K palette (the official colour matrix)
    assert pal[0].tolist() == GREY
    assert pal[1].tolist() == [180, 120, 120]
    assert pal[2].tolist() == [6, 230, 230]
    assert pal[149].tolist() == [92, 0, 255]
    ext = maskige_palette()
    assert ext.shape == (256, 3)
    np.testing.assert_array_equal(ext[:150], pal)
    # ranks beyond the ADE palette cycle through colours 1..149, never the "unassigned" grey
    assert ext[150].tolist() == pal[1].tolist()
    assert ext[255].tolist() == pal[106].tolist()


def test_encoding_hand_case():
    index = masks_to_index_map(_hand_masks())
    # sorted by area: B (2) -> 1, C (3) -> 2, A (8) -> 3; B stays on top of A
    expected = np.array([[1, 1, 3, 3],
                         [3, 3, 3, 3],
                         [0, 0, 0, 0],
                         [2, 2, 2, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(index, expected)
    assert index.dtype == np.uint8
    rgb = masks_to_maskige(_hand_masks())
    assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    assert rgb[2, 0].tolist() == GREY  # unassigned
    assert rgb[0, 0].tolist() == [180, 120, 120]  # rank 1 (B)
    assert rgb[3, 0].tolist() == [6, 230, 230]  # rank 2 (C)
    assert rgb[1, 0].tolist() == [80, 50, 50]  # rank 3 (A)


def test_encoding_ties_resize_and_empty():
    masks = np.zeros((2, 2, 4), dtype=bool)
    masks[0, :, :2] = True
    masks[1, :, 2:] = True  # same area: input order decides
    np.testing.assert_array_equal(masks_to_index_map(masks), [[1, 1, 2, 2], [1, 1, 2, 2]])
    # nearest resize of the rank map, (height, width)
    big = masks_to_index_map(masks, out_size=(4, 8))
    np.testing.assert_array_equal(big, [[1, 1, 1, 1, 2, 2, 2, 2]] * 4)
    assert masks_to_index_map(masks, out_size=6).shape == (6, 6)
    # no proposal at all (official .npy: float zeros [1, H, W]) -> all grey
    rgb = masks_to_maskige(np.zeros((1, 3, 5)))
    assert (rgb == np.array(GREY, np.uint8)).all()
    assert (masks_to_maskige(np.zeros((0, 3, 5), bool)) == np.array(GREY, np.uint8)).all()


def test_encoding_overflow_and_bad_input():
    masks = np.zeros((257, 1, 257), dtype=bool)
    for k in range(257):
        masks[k, 0, :k + 1] = True  # area k + 1: nested, rank order = input order
    with pytest.raises(ValueError, match='257 proposals'):
        masks_to_index_map(masks)
    index = masks_to_index_map(masks, overflow='clip')
    assert index[0, 0] == 1 and index[0, 254] == 255 and index[0, 256] == 255
    with pytest.raises(ValueError, match='shape'):
        masks_to_index_map(np.zeros((2, 2, 2, 2), bool))
    with pytest.raises(ValueError, match='NaN'):
        masks_to_index_map(np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match='overflow'):
        masks_to_index_map(masks, overflow='wrap')


def test_save_and_read_roundtrip(tmp_path):
    masks = _hand_masks()
    png = str(tmp_path / 'a' / 'f_mask_color.png')
    save_maskige(masks_to_index_map(masks), png)
    with Image.open(png) as img:
        assert img.mode == 'P'  # palette PNG, as the official tools write
    np.testing.assert_array_equal(read_maskige(png), masks_to_maskige(masks))
    npy = str(tmp_path / 'a' / 'f_mask.npy')
    save_proposals(masks, npy)
    np.testing.assert_array_equal(load_proposals(npy), masks)
    assert not [n for n in os.listdir(tmp_path / 'a') if '.tmp' in n]
    np.save(str(tmp_path / 'bad.npy'), np.array([{'a': 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match='bad.npy'):
        load_proposals(str(tmp_path / 'bad.npy'))
    with pytest.raises(FileNotFoundError, match='nope.npy'):
        load_proposals(str(tmp_path / 'nope.npy'))


S4_FRAME = '/d/Single-source/s4_data/visual_frames/train/dog/vid1/vid1_1.png'
MS3_FRAME = '/d/Multi-sources/ms3_data/visual_frames/vid2/vid2.mp4_3.png'
AVSS_FRAME = '/d/AVSBench_semantic/v2/uid9/frames/4.jpg'


def test_official_paths():
    assert maskige_path(S4_FRAME) == \
        '/d/Single-source/s4_data/pre_SAM_mask/train/dog/vid1/vid1_1_mask_color.png'
    assert maskige_path(MS3_FRAME) == '/d/Multi-sources/ms3_data/pre_SAM_mask/vid2/vid2.mp4_3_mask_color.png'
    assert maskige_path(AVSS_FRAME) == \
        '/d/AVSBench_semantic/pre_SAM_mask/AVSBench_semantic/v2/uid9/frames/4_mask_color.png'
    assert maskige_path(AVSS_FRAME.replace('/frames/', '/processed_frames/'), suffix='_mask.npy') == \
        '/d/AVSBench_semantic/pre_SAM_mask/AVSBench_semantic/v2/uid9/processed_frames/4_mask.npy'
    # re-rooted official trees
    assert maskige_path(S4_FRAME, maskige_root='/m') == '/m/train/dog/vid1/vid1_1_mask_color.png'
    assert maskige_path(AVSS_FRAME, maskige_root='/m') == '/m/v2/uid9/frames/4_mask_color.png'
    assert maskige_path('/x/y/f.png', layout='beside') == '/x/y/f_mask_color.png'
    assert maskige_path('/x/y/z/f.png', layout='mirror', maskige_root='/o', frames_root='/x') == \
        '/o/y/z/f_mask_color.png'
    assert maskige_path('/x/f.jpg', path_template='{maskige_root}/{stem}{suffix}', maskige_root='/q') == \
        '/q/f_mask_color.png'
    with pytest.raises(ValueError, match='official AVSBench frame tree'):
        maskige_path('/x/y/f.png')
    with pytest.raises(ValueError, match='not under frames_root'):
        maskige_path('/x/f.png', layout='mirror', maskige_root='/o', frames_root='/y')
    with pytest.raises(ValueError, match='unknown field'):
        maskige_path('/x/f.png', path_template='{nope}')


def _write_maskige(path, masks):
    save_maskige(masks_to_index_map(masks), path)
    return masks_to_maskige(masks)


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_load_clip_maskige_official_layouts(tmp_path, subset):
    root = str(tmp_path)
    if subset == 's4':
        frames = [osp.join(root, 's4_data', 'visual_frames', 'test', 'cat', 'v', f'v_{t}.png') for t in (1, 2)]
        targets = [osp.join(root, 's4_data', 'pre_SAM_mask', 'test', 'cat', 'v', f'v_{t}_mask_color.png')
                   for t in (1, 2)]
    elif subset == 'ms3':
        frames = [osp.join(root, 'ms3_data', 'visual_frames', 'v', f'v.mp4_{t}.png') for t in (1, 2)]
        targets = [osp.join(root, 'ms3_data', 'pre_SAM_mask', 'v', f'v.mp4_{t}_mask_color.png') for t in (1, 2)]
    else:
        frames = [osp.join(root, 'v1m', 'u', 'frames', f'{t}.jpg') for t in (0, 1)]
        targets = [osp.join(root, 'pre_SAM_mask', 'AVSBench_semantic', 'v1m', 'u', 'frames', f'{t}_mask_color.png')
                   for t in (0, 1)]
    rng = np.random.default_rng(0)
    expected = [_write_maskige(p, rng.random((3, 6, 8)) > 0.5) for p in targets]
    out = LoadClipMaskige()(dict(img_paths=frames + [None], clip_id='v'))
    assert out['maskige_paths'] == targets + [None]
    assert out['aux_image_keys'] == ['maskige'] and len(out['maskige']) == 3
    for got, exp in zip(out['maskige'], expected):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, exp)
    # the padded frame is zeros of the clip's size
    assert out['maskige'][2].shape == (6, 8, 3) and not out['maskige'][2].any()


def test_load_clip_maskige_missing_size_and_packing(tmp_path):
    frame_dir = tmp_path / 'frames'
    frames = [str(frame_dir / f'{t}.png') for t in range(2)]
    rng = np.random.default_rng(1)
    _write_maskige(str(frame_dir / '0_mask_color.png'), rng.random((2, 4, 6)) > 0.5)
    with pytest.raises(FileNotFoundError, match='1_mask_color.png'):
        LoadClipMaskige(layout='beside')(dict(img_paths=frames))
    out = LoadClipMaskige(layout='beside', missing='blank')(dict(img_paths=frames))
    assert (out['maskige'][1] == np.array(GREY, np.uint8)).all()

    _write_maskige(str(frame_dir / '1_mask_color.png'), rng.random((2, 4, 6)) > 0.5)
    imgs = [np.zeros((8, 12, 3), np.uint8)] * 2  # frames twice the Maskige size
    with pytest.raises(ValueError, match='resize_to_frame'):
        LoadClipMaskige(layout='beside')(dict(img_paths=frames, imgs=imgs))
    out = LoadClipMaskige(layout='beside', resize_to_frame=True)(dict(img_paths=frames, imgs=imgs))
    small = read_maskige(str(frame_dir / '0_mask_color.png'))
    np.testing.assert_array_equal(out['maskige'][0], small.repeat(2, axis=0).repeat(2, axis=1))

    # packed like the frames: inputs['maskige'] uint8 [T, 3, H, W]
    results = dict(out, audio=np.zeros((2, 1, 96, 64), np.float32),
                   frame_flags=dict(is_labeled=[True, False], is_padded=[False, False]))
    packed = PackAVSInputs()(results)
    assert tuple(packed['inputs']['maskige'].shape) == (2, 3, 8, 12)
    assert packed['inputs']['maskige'].dtype.is_floating_point is False
    with pytest.raises(ValueError, match='layout'):
        LoadClipMaskige(layout='nope')
    with pytest.raises(ValueError, match='mirror'):
        LoadClipMaskige(layout='mirror')
