"""Clip loading and clip-consistent transforms: every frame, mask and Maskige of a clip moves together."""
import copy

import cv2
import numpy as np
import pytest
import torch

from avsseg.datasets.transforms import (ClipCenterCrop, ClipPad, ClipPhotoMetricDistortion, ClipRandomCrop,
                                        ClipRandomFlip, ClipRandomResize, ClipResize, LoadClipAnnotations,
                                        LoadClipFrames, PackAVSInputs)
from avsseg.datasets.transforms.transforms import COMBO_SHORT_EDGES

T, H, W = 3, 40, 60
MARK = (5, 11, 10, 16)  # y1, y2, x1, x2 of the marker square


def make_clip(with_maskige=True, labeled=(True, True, True)):
    """T frames that differ per frame, with a white marker square at MARK that every mask (label 1) and Maskige
    (pure red) marks too."""
    y1, y2, x1, x2 = MARK
    imgs, segs, maskiges = [], [], []
    for t in range(T):
        img = np.zeros((H, W, 3), np.uint8)
        img[..., 0] = np.linspace(0, 150, W, dtype=np.uint8)[None]
        img[..., 1] = np.linspace(0, 150, H, dtype=np.uint8)[:, None]
        img[..., 2] = 30 * t
        img[y1:y2, x1:x2] = 255
        imgs.append(img)
        seg = np.zeros((H, W), np.uint8)
        seg[y1:y2, x1:x2] = 1
        segs.append(seg if labeled[t] else np.full((H, W), 255, np.uint8))
        m = np.zeros((H, W, 3), np.uint8)
        m[y1:y2, x1:x2] = (255, 0, 0)
        maskiges.append(m)
    results = dict(
        clip_id='clip', imgs=imgs, gt_seg_maps=segs, img_shape=(H, W), ori_shape=(H, W), num_frames=T,
        frame_flags=dict(is_labeled=list(labeled), is_padded=[False] * T))
    if with_maskige:
        results['maskiges'] = maskiges
    return results


def marker_masks(results, t):
    """Boolean marker masks of frame t as seen in the frame, its label map and its Maskige."""
    img = results['imgs'][t]
    return ((img >= 250).all(-1), results['gt_seg_maps'][t] == 1, results['maskiges'][t][..., 0] >= 250)


def centroid(mask):
    ys, xs = np.nonzero(mask)
    return np.array([ys.mean(), xs.mean()])


def locate(patch, image):
    """(y, x) where ``patch`` sits inside ``image`` (exact match)."""
    ph, pw = patch.shape[:2]
    for y in range(image.shape[0] - ph + 1):
        for x in range(image.shape[1] - pw + 1):
            if np.array_equal(image[y:y + ph, x:x + pw], patch):
                return y, x
    raise AssertionError('patch not found')


# ----------------------------------------------------------------------------------------------- resize
def test_clip_resize_aligned_and_metadata():
    results = ClipResize(scale=(90, 60)).transform(make_clip())
    assert results['img_shape'] == (60, 90) and results['ori_shape'] == (H, W)
    assert results['scale_factor'] == (1.5, 1.5) and results['keep_ratio'] is False
    for t in range(T):
        assert results['imgs'][t].shape == (60, 90, 3) and results['gt_seg_maps'][t].shape == (60, 90)
        assert results['maskiges'][t].shape == (60, 90, 3)
        assert set(np.unique(results['gt_seg_maps'][t])) == {0, 1}  # nearest: no new labels
        frame_m, seg_m, mg_m = marker_masks(results, t)
        np.testing.assert_allclose(centroid(frame_m), centroid(seg_m), atol=0.8)
        np.testing.assert_allclose(centroid(mg_m), centroid(frame_m), atol=0.1)
        # pixel centres map as (x + 0.5) * 1.5 - 0.5: the marker centre (7.5, 12.5) goes to (11.5, 19)
        np.testing.assert_allclose(centroid(seg_m), [11.5, 19.0], atol=0.8)
    kept = ClipResize(scale=(1000, 20), keep_ratio=True, update_ori_shape=True).transform(make_clip())
    assert kept['img_shape'] == (20, 30) and kept['ori_shape'] == (20, 30) and kept['gt_seg_maps'][2].shape == (20, 30)


def test_clip_random_resize_shortest_edge():
    tf = ClipRandomResize()  # COMBO recipe
    assert list(COMBO_SHORT_EDGES) == [112, 134, 156, 179, 201, 224, 246, 268, 291, 313, 336, 358, 380, 403, 425, 448]
    assert tf.target_size(40, 60, 112) == (168, 112)  # (w, h): short edge 112, aspect kept
    assert tf.target_size(40, 60, 448) == (672, 448)
    assert tf.target_size(40, 100, 448) == (896, 358)  # long edge capped at 896: 448 * 896 / 1120 = 358.4
    assert ClipRandomResize(short_edge_lengths=[10], max_long_edge=None).target_size(33, 20, 10) == (10, 17)
    np.random.seed(0)
    seen = set()
    for _ in range(6):
        results = tf.transform(make_clip())
        h, w = results['img_shape']
        assert h in COMBO_SHORT_EDGES and w == int(h * 1.5 + 0.5)
        assert {img.shape[:2] for img in results['imgs'] + results['maskiges'] + results['gt_seg_maps']} == {(h, w)}
        seen.add(h)
    assert len(seen) > 1  # one random draw per clip, different between clips
    rng_tf = ClipRandomResize(short_edge_lengths=(50, 52), max_long_edge=None, sample_style='range')
    assert rng_tf.transform(make_clip())['img_shape'][0] in (50, 51, 52)
    with pytest.raises(ValueError, match='range'):
        ClipRandomResize(short_edge_lengths=(1, 2, 3), sample_style='range')


# ----------------------------------------------------------------------------------------------- crops
def test_clip_random_crop_same_window_everywhere():
    orig = make_clip()
    np.random.seed(3)
    results = ClipRandomCrop(crop_size=(20, 30)).transform(copy.deepcopy(orig))
    assert results['img_shape'] == (20, 30)
    y, x = locate(results['imgs'][0], orig['imgs'][0])
    for t in range(T):
        np.testing.assert_array_equal(results['imgs'][t], orig['imgs'][t][y:y + 20, x:x + 30])
        np.testing.assert_array_equal(results['gt_seg_maps'][t], orig['gt_seg_maps'][t][y:y + 20, x:x + 30])
        np.testing.assert_array_equal(results['maskiges'][t], orig['maskiges'][t][y:y + 20, x:x + 30])
    # a crop larger than the clip keeps that side whole
    big = ClipRandomCrop(crop_size=(100, 30)).transform(make_clip())
    assert big['img_shape'] == (40, 30)


def test_clip_random_crop_category_constraint_on_first_labelled_frame():
    # frame 0 is unlabelled; frame 1 (the reference) has an object in the lower right: about 70 % of random
    # 20x20 windows miss it or are dominated by one class
    results = make_clip(labeled=(False, True, True))
    for t in (1, 2):
        results['gt_seg_maps'][t][:] = 0
        results['gt_seg_maps'][t][18:40, 35:60] = 1

    def satisfied(ratio):
        count = 0
        for seed in range(20):
            np.random.seed(seed)
            out = ClipRandomCrop(crop_size=(20, 20), cat_max_ratio=ratio).transform(copy.deepcopy(results))
            labels, counts = np.unique(out['gt_seg_maps'][1], return_counts=True)
            count += len(labels) == 2 and counts.max() / counts.sum() < 0.9
            assert (out['gt_seg_maps'][0] == 255).all()
            np.testing.assert_array_equal(out['gt_seg_maps'][1], out['gt_seg_maps'][2])  # same window
        return count

    assert satisfied(0.9) == 20  # up to 10 windows are tried until one satisfies the constraint
    assert satisfied(1.0) < 12  # unconstrained: the first window is taken
    with pytest.raises(ValueError, match='cat_max_ratio'):
        ClipRandomCrop(crop_size=8, cat_max_ratio=0)


def test_clip_center_crop():
    orig = make_clip()
    results = ClipCenterCrop(crop_size=20).transform(copy.deepcopy(orig))
    assert results['img_shape'] == (20, 20)
    for key in ('imgs', 'gt_seg_maps', 'maskiges'):
        for t in range(T):
            np.testing.assert_array_equal(results[key][t], orig[key][t][10:30, 20:40])


# ----------------------------------------------------------------------------------------------- flip, pad
@pytest.mark.parametrize('direction', ['horizontal', 'vertical'])
def test_clip_random_flip(direction):
    orig = make_clip()
    results = ClipRandomFlip(prob=1.0, direction=direction).transform(copy.deepcopy(orig))
    axis = 1 if direction == 'horizontal' else 0
    assert results['flip'] is True and results['flip_direction'] == direction
    for key in ('imgs', 'gt_seg_maps', 'maskiges'):
        for t in range(T):
            np.testing.assert_array_equal(results[key][t], np.flip(orig[key][t], axis=axis))
    kept = ClipRandomFlip(prob=0.0).transform(copy.deepcopy(orig))
    assert kept['flip'] is False and kept['flip_direction'] is None
    np.testing.assert_array_equal(kept['imgs'][1], orig['imgs'][1])


def test_clip_pad():
    orig = make_clip()
    results = ClipPad(size=(50, 70), pad_val=128, seg_pad_val=255, maskige_pad_val=7).transform(copy.deepcopy(orig))
    assert results['img_shape'] == (50, 70) and results['pad_shape'] == (50, 70)
    for t in range(T):
        np.testing.assert_array_equal(results['imgs'][t][:H, :W], orig['imgs'][t])
        assert (results['imgs'][t][H:] == 128).all() and (results['imgs'][t][:, W:] == 128).all()
        assert (results['gt_seg_maps'][t][H:] == 255).all() and (results['gt_seg_maps'][t][:, W:] == 255).all()
        assert (results['maskiges'][t][H:] == 7).all()
        np.testing.assert_array_equal(results['gt_seg_maps'][t][:H, :W], orig['gt_seg_maps'][t])
    assert ClipPad(size_divisor=16).transform(make_clip())['img_shape'] == (48, 64)
    with pytest.raises(ValueError, match='clip clip is 40x60, larger than the pad size 32x32'):
        ClipPad(size=32).transform(make_clip())
    with pytest.raises(ValueError, match='exactly one'):
        ClipPad()


# ----------------------------------------------------------------------------------------------- colour
def test_photometric_distortion_one_draw_per_clip():
    tf = ClipPhotoMetricDistortion()
    results = make_clip()
    results['imgs'][2] = results['imgs'][0].copy()  # two identical frames must stay identical
    results['imgs'][1] = np.zeros_like(results['imgs'][1])
    results['frame_flags']['is_padded'] = [False, True, False]  # frame 1 is padding: stays zeros
    orig = copy.deepcopy(results)
    changed = 0
    for seed in range(8):
        np.random.seed(seed)
        out = tf.transform(copy.deepcopy(orig))
        np.random.seed(seed)
        params = tf.draw_params()
        for t in (0, 2):
            np.testing.assert_array_equal(out['imgs'][t], tf.apply(orig['imgs'][t], params))
        np.testing.assert_array_equal(out['imgs'][0], out['imgs'][2])
        assert (out['imgs'][1] == 0).all()
        for t in range(T):  # never on Maskige or labels
            np.testing.assert_array_equal(out['maskiges'][t], orig['maskiges'][t])
            np.testing.assert_array_equal(out['gt_seg_maps'][t], orig['gt_seg_maps'][t])
        changed += not np.array_equal(out['imgs'][0], orig['imgs'][0])
    assert changed >= 6  # all four operations are skipped with probability 1/16 only


def test_photometric_operations_by_hand():
    tf = ClipPhotoMetricDistortion()
    none = dict(brightness=None, contrast_first=True, contrast=None, saturation=None, hue=None)
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 200
    np.testing.assert_array_equal(tf.apply(red, none), red)
    np.testing.assert_array_equal(tf.apply(red, dict(none, brightness=70.0))[0, 0], [255, 70, 70])
    np.testing.assert_array_equal(tf.apply(red, dict(none, contrast=0.5))[0, 0], [100, 0, 0])
    # hue +90 (OpenCV units, 180 = full turn) turns red into cyan
    np.testing.assert_array_equal(tf.apply(red, dict(none, hue=90))[0, 0], [0, 200, 200])
    # saturation 0.5 on pure red (S=255, V=200): S -> 127, so G = B = V * (1 - S/255)
    out = tf.apply(red, dict(none, saturation=0.5))[0, 0]
    expected = cv2.cvtColor(np.array([[[0, 127, 200]]], np.uint8), cv2.COLOR_HSV2RGB)[0, 0]
    np.testing.assert_array_equal(out, expected)
    assert out[0] == 200 and 95 <= out[1] == out[2] <= 105


# ----------------------------------------------------------------------------------------------- loading
def test_load_frames_and_binary_masks(tmp_path, fake):
    paths, masks = [], []
    for t in range(2):
        paths.append(str(tmp_path / f'f{t}.png'))
        fake.write_image(paths[-1], fake.frame_array(0, t, (16, 24)))
        masks.append(str(tmp_path / f'm{t}.png'))
    fake.write_image(masks[0], fake.mask_array(0, (16, 24), value=1))  # 0/1 PNG
    rgb_mask = np.repeat(fake.mask_array(1, (16, 24))[..., None], 3, axis=2)  # 0/255 RGB PNG
    fake.write_image(masks[1], rgb_mask)
    results = dict(clip_id='c', img_paths=paths + [None], seg_map_paths=masks + [None], label_format='binary')
    results = LoadClipFrames(to_float32=True).transform(results)
    assert [img.dtype for img in results['imgs']] == [np.float32] * 3
    assert results['img_shape'] == results['ori_shape'] == (16, 24)
    np.testing.assert_array_equal(results['imgs'][1], fake.frame_array(0, 1, (16, 24)))
    assert (results['imgs'][2] == 0).all() and results['imgs'][2].shape == (16, 24, 3)
    results = LoadClipAnnotations(ignore_index=250).transform(results)
    np.testing.assert_array_equal(results['gt_seg_maps'][0], fake.mask_array(0, (16, 24), value=1))
    np.testing.assert_array_equal(results['gt_seg_maps'][1], fake.mask_array(1, (16, 24), value=1))
    assert (results['gt_seg_maps'][2] == 250).all()
    with pytest.raises(KeyError, match='LoadClipFrames first'):
        LoadClipAnnotations().transform(dict(clip_id='c', seg_map_paths=masks))
    with pytest.raises(ValueError, match='has no real frame'):
        LoadClipFrames().transform(dict(clip_id='c', img_paths=[None, None]))


def test_palette_masks_with_explicit_palette(tmp_path, fake):
    frame = str(tmp_path / 'f.png')
    fake.write_image(frame, fake.frame_array(0, 0, (8, 8)))
    palette = [[0, 0, 0], [10, 20, 30], [200, 100, 0]]
    idx = np.zeros((8, 8), np.uint8)
    idx[:4] = 1
    idx[6:, 6:] = 2
    mask = str(tmp_path / 'm.png')
    fake.write_image(mask, np.array(palette, np.uint8)[idx])
    results = dict(clip_id='c', img_paths=[frame], seg_map_paths=[mask])
    results = LoadClipFrames().transform(results)
    out = LoadClipAnnotations(label_format='palette_rgb', palette=palette).transform(results)
    np.testing.assert_array_equal(out['gt_seg_maps'][0], idx)
    with pytest.raises(ValueError, match='num_classes'):
        LoadClipAnnotations(label_format='palette_rgb').transform(dict(results, label_format='palette_rgb'))


# ----------------------------------------------------------------------------------------------- packing
def test_train_chain_then_pack_keeps_alignment_and_metadata():
    np.random.seed(5)
    results = make_clip()
    results['audio'] = np.zeros((T, 1, 96, 64), np.float32)
    results['img_paths'] = [f'f{t}.png' for t in range(T)]
    # resize x1.5 (60 x 90), crop 56 x 80 (the marker, at rows 8..16 / cols 15..23, stays inside), flip, pad
    for tf in (ClipRandomResize(short_edge_lengths=[60], max_long_edge=None), ClipRandomCrop((56, 80)),
               ClipRandomFlip(prob=1.0), ClipPad(size=(64, 96), pad_val=0)):
        results = tf.transform(results)
    for t in range(T):
        frame_m, seg_m, mg_m = marker_masks(results, t)
        np.testing.assert_allclose(centroid(frame_m), centroid(seg_m), atol=0.8)
        np.testing.assert_allclose(centroid(mg_m), centroid(frame_m), atol=0.1)
        assert centroid(seg_m)[1] > 80 - 24  # flipped: the marker moved to the right half
    packed = PackAVSInputs().transform(results)
    inputs, samples = packed['inputs'], packed['data_samples']
    assert inputs['frames'].shape == (T, 3, 64, 96) and inputs['frames'].dtype == torch.uint8
    assert inputs['maskige'].shape == (T, 3, 64, 96) and inputs['audio'].shape == (T, 1, 96, 64)
    meta = samples[1].metainfo
    assert meta['flip'] is True and meta['flip_direction'] == 'horizontal'
    assert meta['img_shape'] == (64, 96) and meta['pad_shape'] == (64, 96) and meta['ori_shape'] == (H, W)
    assert meta['scale_factor'] == (1.5, 1.5) and meta['img_path'] == 'f1.png' and meta['frame_idx'] == 1
    np.testing.assert_array_equal(samples[2].gt_sem_seg.data[0].numpy(), results['gt_seg_maps'][2])


def test_clip_select_labelled_frames_slices_every_per_frame_key():
    from avsseg.datasets.transforms import ClipSelectLabelledFrames
    T = 5
    results = dict(
        clip_id='c',
        imgs=[np.full((4, 4, 3), t, np.uint8) for t in range(T)],
        gt_seg_maps=[np.full((4, 4), t, np.uint8) for t in range(T)],
        maskiges=[np.full((4, 4, 3), 10 + t, np.uint8) for t in range(T)],
        img_paths=[f'f{t}.png' for t in range(T)],
        audio=np.arange(T, dtype=np.float32).reshape(T, 1, 1, 1) * np.ones((T, 1, 96, 64), np.float32),
        frame_flags=dict(is_labeled=[False, True, False, True, False], is_padded=[False] * T),
        num_frames=T)
    out = ClipSelectLabelledFrames()(results)
    assert out['num_frames'] == 2
    assert [int(img[0, 0, 0]) for img in out['imgs']] == [1, 3]
    assert [int(m[0, 0]) for m in out['gt_seg_maps']] == [1, 3]
    assert [int(m[0, 0, 0]) for m in out['maskiges']] == [11, 13]
    assert out['img_paths'] == ['f1.png', 'f3.png']
    assert out['audio'].shape == (2, 1, 96, 64) and out['audio'][:, 0, 0, 0].tolist() == [1.0, 3.0]
    assert out['frame_flags'] == dict(is_labeled=[True, True], is_padded=[False, False])
    packed = PackAVSInputs()(out)
    assert packed['inputs']['frames'].shape == (2, 3, 4, 4)
    assert [s.metainfo['num_frames'] for s in packed['data_samples']] == [2, 2]

    with pytest.raises(ValueError, match='no labelled frame'):
        ClipSelectLabelledFrames()(dict(clip_id='x', imgs=[], frame_flags=dict(is_labeled=[False] * 2)))
    with pytest.raises(ValueError, match='img_paths has 1 entries'):
        ClipSelectLabelledFrames()(dict(clip_id='x', img_paths=['a'], frame_flags=dict(is_labeled=[True, False])))
