"""Clip loading and clip-consistent transforms: every frame, label map and auxiliary image of a clip moves
together; stock transforms run through ClipTransformBroadcaster where they reproduce the clip rules exactly."""
import copy

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmcv.transforms import RandomChoiceResize

from avsseg.datasets.transforms import (ClipPad, ClipPhotoMetricDistortion, ClipRandomCrop, ClipRandomResize,
                                        ClipResize, ClipSelectLabelledFrames, ClipTransformBroadcaster,
                                        LoadClipAnnotations, LoadClipAuxImages, LoadClipFrames, PackAVSInputs,
                                        avs_collate, declare_aux_image_key)
from avsseg.datasets.transforms.transforms import COMBO_SHORT_EDGES
from avsseg.models.data_preprocessor import AVSDataPreprocessor
from avsseg.registry import TRANSFORMS

T, H, W = 3, 40, 60
MARK = (5, 11, 10, 16)  # y1, y2, x1, x2 of the marker square
AUX = 'maskige'  # any declared key; nothing below depends on the name


def make_clip(with_aux=True, labeled=(True, True, True), key=AUX):
    """T frames that differ per frame, with a white marker square at MARK that every mask (label 1) and
    auxiliary image (pure red) marks too."""
    y1, y2, x1, x2 = MARK
    imgs, segs, auxs = [], [], []
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
        a = np.zeros((H, W, 3), np.uint8)
        a[y1:y2, x1:x2] = (255, 0, 0)
        auxs.append(a)
    results = dict(
        clip_id='clip', imgs=imgs, gt_seg_maps=segs, img_shape=(H, W), ori_shape=(H, W), num_frames=T,
        frame_flags=dict(is_labeled=list(labeled), is_padded=[False] * T))
    if with_aux:
        results[key] = auxs
        declare_aux_image_key(results, key, 'test')
    return results


def random_clip(seed, num_frames=T, padded=None):
    """Noise frames, 3-class label maps and noise auxiliary images (for exact comparisons)."""
    rng = np.random.default_rng(seed)
    padded = padded or [False] * num_frames
    results = dict(
        clip_id=f'c{seed}',
        imgs=[np.zeros((H, W, 3), np.uint8) if p else rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
              for p in padded],
        gt_seg_maps=[rng.integers(0, 3, (H, W)).astype(np.uint8) for _ in range(num_frames)],
        img_shape=(H, W), ori_shape=(H, W),
        frame_flags=dict(is_labeled=[True] * num_frames, is_padded=list(padded)))
    results[AUX] = [np.zeros((H, W, 3), np.uint8) if p else rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
                    for p in padded]
    declare_aux_image_key(results, AUX, 'test')
    return results


def marker_masks(results, t, key=AUX):
    """Boolean marker masks of frame t as seen in the frame, its label map and its auxiliary image."""
    img = results['imgs'][t]
    return ((img >= 250).all(-1), results['gt_seg_maps'][t] == 1, results[key][t][..., 0] >= 250)


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


def assert_clips_equal(a, b, keys=('imgs', 'gt_seg_maps', AUX)):
    for key in keys:
        assert len(a[key]) == len(b[key])
        for x, y in zip(a[key], b[key]):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


def flip(direction):
    return dict(type='ClipTransformBroadcaster', transforms=[dict(type='RandomFlip', prob=0.5, direction=direction)])


# ----------------------------------------------------------------------------------------------- resize
def test_clip_resize_aligned_and_metadata():
    results = ClipResize(scale=(90, 60)).transform(make_clip())
    assert results['img_shape'] == (60, 90) and results['ori_shape'] == (H, W)
    assert results['scale_factor'] == (1.5, 1.5) and results['keep_ratio'] is False
    for t in range(T):
        assert results['imgs'][t].shape == (60, 90, 3) and results['gt_seg_maps'][t].shape == (60, 90)
        assert results[AUX][t].shape == (60, 90, 3)
        assert set(np.unique(results['gt_seg_maps'][t])) == {0, 1}  # nearest: no new labels
        frame_m, seg_m, aux_m = marker_masks(results, t)
        np.testing.assert_allclose(centroid(frame_m), centroid(seg_m), atol=0.8)
        np.testing.assert_allclose(centroid(aux_m), centroid(frame_m), atol=0.1)
        # pixel centres map as (x + 0.5) * 1.5 - 0.5: the marker centre (7.5, 12.5) goes to (11.5, 19)
        np.testing.assert_allclose(centroid(seg_m), [11.5, 19.0], atol=0.8)
    kept = ClipResize(scale=(1000, 20), keep_ratio=True, update_ori_shape=True).transform(make_clip())
    assert kept['img_shape'] == (20, 30) and kept['ori_shape'] == (20, 30) and kept['gt_seg_maps'][2].shape == (20, 30)


def test_clip_resize_is_mmcv_resize_on_every_image_with_per_key_interpolation():
    """The old ClipResize called mmcv.imresize per image (frames and auxiliary images bilinear, labels nearest):
    the broadcast mmcv Resize gives the same arrays; the per-key rule switches one auxiliary key only."""
    orig = random_clip(0)
    out = ClipResize(scale=(50, 33)).transform(copy.deepcopy(orig))
    stock = ClipTransformBroadcaster(transforms=[dict(type='Resize', scale=(50, 33))]).transform(copy.deepcopy(orig))
    assert_clips_equal(out, stock)
    assert out['scale_factor'] == stock['scale_factor'] == (50 / W, 33 / H)
    for t in range(T):
        np.testing.assert_array_equal(out['imgs'][t], mmcv.imresize(orig['imgs'][t], (50, 33)))
        np.testing.assert_array_equal(out['gt_seg_maps'][t],
                                      mmcv.imresize(orig['gt_seg_maps'][t], (50, 33), interpolation='nearest'))
        np.testing.assert_array_equal(out[AUX][t], mmcv.imresize(orig[AUX][t], (50, 33)))
    nearest = ClipResize(scale=(50, 33), aux_interpolation={AUX: 'nearest'}).transform(copy.deepcopy(orig))
    assert_clips_equal(nearest, out, keys=('imgs', 'gt_seg_maps'))
    for t in range(T):
        np.testing.assert_array_equal(nearest[AUX][t], mmcv.imresize(orig[AUX][t], (50, 33), interpolation='nearest'))


@pytest.mark.parametrize('resize', [
    lambda backend, aux: ClipResize(scale=(24, 16), aux_interpolation=aux, backend=backend),
    lambda backend, aux: ClipRandomResize(short_edge_lengths=[16], max_long_edge=None, aux_interpolation=aux,
                                          backend=backend)])
def test_pillow_backend_resizes_antialiased_as_pil(resize):
    """backend='pillow': frames as PIL's bilinear (antialiased when shrinking, as COMBO's offline AVSS frames),
    an auxiliary key nearest as PIL's NEAREST (COMBO's AVSS Maskiges); OpenCV's bilinear aliases instead."""
    from PIL import Image
    orig = random_clip(1)
    orig['imgs'] = [img.copy() for img in orig['imgs']]
    for img in orig['imgs']:
        img[::2] = 0  # a pattern finer than the output grid
    out = resize('pillow', {AUX: 'nearest'}).transform(copy.deepcopy(orig))
    for t in range(T):
        np.testing.assert_array_equal(out['imgs'][t],
                                      np.asarray(Image.fromarray(orig['imgs'][t]).resize((24, 16), Image.BILINEAR)))
        np.testing.assert_array_equal(out[AUX][t],
                                      np.asarray(Image.fromarray(orig[AUX][t]).resize((24, 16), Image.NEAREST)))
    aliased = resize('cv2', {AUX: 'nearest'}).transform(copy.deepcopy(orig))
    assert out['imgs'][0].std() < aliased['imgs'][0].std()  # averaging over the pattern, not sampling it


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
        assert {img.shape[:2] for img in results['imgs'] + results[AUX] + results['gt_seg_maps']} == {(h, w)}
        seen.add(h)
    assert len(seen) > 1  # one random draw per clip, different between clips
    rng_tf = ClipRandomResize(short_edge_lengths=(50, 52), max_long_edge=None, sample_style='range')
    assert rng_tf.transform(make_clip())['img_shape'][0] in (50, 51, 52)
    with pytest.raises(ValueError, match='range'):
        ClipRandomResize(short_edge_lengths=(1, 2, 3), sample_style='range')


def test_stock_random_choice_resize_rounds_differently_where_the_cap_binds():
    """Why ClipRandomResize is kept: mmcv's RandomChoiceResize(keep_ratio) takes min(cap / long, s / short) as
    one factor, and a 67x256 clip at short edge 313 comes out one row taller than COMBO's two-step rule."""
    assert ClipRandomResize().target_size(67, 256, 313) == (896, 234)
    stock = RandomChoiceResize(scales=[(896, 313)], resize_type='Resize', keep_ratio=True)
    out = stock(dict(img=np.zeros((67, 256, 3), np.uint8)))
    assert out['img'].shape[:2] == (235, 896)


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
        np.testing.assert_array_equal(results[AUX][t], orig[AUX][t][y:y + 20, x:x + 30])
    # a crop larger than the clip keeps that side whole
    big = ClipRandomCrop(crop_size=(100, 30)).transform(make_clip())
    assert big['img_shape'] == (40, 30)


def _object_in_lower_right(labeled):
    results = make_clip(labeled=labeled)
    for t in range(T):
        if labeled[t]:
            results['gt_seg_maps'][t][:] = 0
            results['gt_seg_maps'][t][18:40, 35:60] = 1
    return results


def test_clip_random_crop_category_constraint_on_first_labelled_frame():
    # frame 0 is unlabelled; frame 1 (the reference) has an object in the lower right: about 70 % of random
    # 20x20 windows miss it or are dominated by one class
    results = _object_in_lower_right((False, True, True))

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


def test_stock_random_crop_matches_without_constraint_but_not_the_clip_reference():
    """mmseg's RandomCrop broadcast over the clip draws ClipRandomCrop's window when unconstrained; with
    cat_max_ratio it judges the first frame, unlabelled here, so the constraint is never met (why ours stays)."""
    for seed in range(5):
        orig = random_clip(seed)
        np.random.seed(seed)
        ours = ClipRandomCrop(crop_size=(20, 30)).transform(copy.deepcopy(orig))
        np.random.seed(seed)
        stock = ClipTransformBroadcaster(transforms=[dict(type='mmseg.RandomCrop', crop_size=(20, 30))]).transform(
            copy.deepcopy(orig))
        assert_clips_equal(ours, stock)
    results = _object_in_lower_right((False, True, True))
    met_ours = met_stock = 0
    for seed in range(10):
        np.random.seed(seed)
        ours = ClipRandomCrop(crop_size=(20, 20), cat_max_ratio=0.9).transform(copy.deepcopy(results))
        np.random.seed(seed)
        stock = ClipTransformBroadcaster(transforms=[
            dict(type='mmseg.RandomCrop', crop_size=(20, 20), cat_max_ratio=0.9)
        ]).transform(copy.deepcopy(results))
        for out, name in ((ours, 'ours'), (stock, 'stock')):
            labels = np.unique(out['gt_seg_maps'][1])
            if len(labels) == 2:
                met_ours += name == 'ours'
                met_stock += name == 'stock'
    assert met_ours == 10 and met_stock < 10


def test_clip_random_crop_per_frame():
    orig = make_clip()
    for t in range(T):  # make each frame's content unique so its window can be located
        orig['imgs'][t] = np.random.default_rng(t).integers(0, 256, (H, W, 3), dtype=np.uint8)
        orig[AUX][t] = orig['imgs'][t][..., ::-1].copy()
    np.random.seed(1)
    out = ClipRandomCrop(crop_size=(20, 30), per_frame=True).transform(copy.deepcopy(orig))
    origins = []
    for t in range(T):
        y, x = locate(out['imgs'][t], orig['imgs'][t])
        origins.append((y, x))
        np.testing.assert_array_equal(out['gt_seg_maps'][t], orig['gt_seg_maps'][t][y:y + 20, x:x + 30])
        np.testing.assert_array_equal(out[AUX][t], orig[AUX][t][y:y + 20, x:x + 30])
    assert len(set(origins)) > 1 and out['img_shape'] == (20, 30)


def test_center_crop_through_the_broadcaster():
    """mmcv's CenterCrop (offset round((h - crop) / 2), torchvision's rule, as the official AVSS preprocessing),
    broadcast to frames, label maps and auxiliary images; a side shorter than the crop is kept whole."""
    orig = make_clip()
    crop = ClipTransformBroadcaster(transforms=[dict(type='CenterCrop', crop_size=(20, 20))])
    results = crop.transform(copy.deepcopy(orig))
    assert results['img_shape'] == (20, 20)
    for key in ('imgs', 'gt_seg_maps', AUX):
        for t in range(T):
            np.testing.assert_array_equal(results[key][t], orig[key][t][10:30, 20:40])
    odd = random_clip(1)
    odd['imgs'] = [img[:35, :57] for img in odd['imgs']]
    odd['gt_seg_maps'] = [seg[:35, :57] for seg in odd['gt_seg_maps']]
    odd[AUX] = [a[:35, :57] for a in odd[AUX]]
    out = ClipTransformBroadcaster(transforms=[dict(type='CenterCrop', crop_size=(60, 20))]).transform(
        copy.deepcopy(odd))
    y1, x1 = int(round(15 / 2)), 0  # margins 15 (rows) and none (57 < 60 columns)
    for key in ('imgs', 'gt_seg_maps', AUX):
        np.testing.assert_array_equal(out[key][1], odd[key][1][y1:y1 + 20, x1:x1 + 57])


# ----------------------------------------------------------------------------------------------- flip, pad
@pytest.mark.parametrize('direction', ['horizontal', 'vertical'])
def test_stock_random_flip_reproduces_the_clip_flip(direction):
    """The old ClipRandomFlip drew ``np.random.rand() < prob`` once per clip; mmcv's RandomFlip through the
    broadcaster draws the same number from the same stream and flips every frame, label map and auxiliary
    image with it."""
    tf = TRANSFORMS.build(flip(direction))
    axis = 1 if direction == 'horizontal' else 0
    flipped = 0
    for seed in range(12):
        orig = random_clip(seed)
        np.random.seed(seed)
        expected = bool(np.random.rand() < 0.5)
        after_old = np.random.rand()
        np.random.seed(seed)
        out = tf.transform(copy.deepcopy(orig))
        assert np.random.rand() == after_old  # one draw per clip, as before
        assert out['flip'] is expected and out['flip_direction'] == (direction if expected else None)
        for key in ('imgs', 'gt_seg_maps', AUX):
            for t in range(T):
                want = np.flip(orig[key][t], axis=axis) if expected else orig[key][t]
                np.testing.assert_array_equal(out[key][t], want)
        flipped += expected
    assert 0 < flipped < 12


def test_broadcaster_per_frame_draws_keep_each_frame_aligned():
    tf = ClipTransformBroadcaster(transforms=[dict(type='RandomFlip', prob=0.5)], share_random_params=False)
    orig = make_clip()
    mixed = 0
    for seed in range(6):
        np.random.seed(seed)
        out = tf.transform(copy.deepcopy(orig))
        if isinstance(out['flip'], list):  # per-frame metadata
            assert len(out['flip']) == T and len(set(out['flip'])) == 2
            mixed += 1
        flips = out['flip'] if isinstance(out['flip'], list) else [out['flip']] * T
        for t in range(T):
            frame_m, seg_m, aux_m = marker_masks(out, t)
            np.testing.assert_array_equal(frame_m, seg_m)
            np.testing.assert_array_equal(frame_m, aux_m)
            assert (centroid(seg_m)[1] > W / 2) == flips[t]
    assert mixed > 0
    out['audio'] = np.zeros((T, 1, 96, 64), np.float32)
    samples = PackAVSInputs().transform(out)['data_samples']
    assert [s.metainfo['flip'] for s in samples] == flips


def test_broadcaster_aux_keys_and_dropped_channels():
    results = make_clip()
    results['depth'] = [np.full((H, W, 1), 7 + t, np.uint16) for t in range(T)]
    declare_aux_image_key(results, 'depth', 'test')
    out = ClipTransformBroadcaster(transforms=[dict(type='Resize', scale=(30, 20))]).transform(results)
    assert [d.shape for d in out['depth']] == [(20, 30, 1)] * T  # OpenCV's [H, W] gets its channel back
    assert [int(d[0, 0, 0]) for d in out['depth']] == [7, 8, 9] and out['depth'][0].dtype == np.uint16
    grey = ClipTransformBroadcaster(transforms=[dict(type='RandomGrayscale', prob=1.0, keep_channels=True)],
                                    aux_image_keys=())
    kept = grey.transform(make_clip())
    np.testing.assert_array_equal(kept[AUX][0], make_clip()[AUX][0])  # not listed: untouched
    assert (kept['imgs'][0][..., 0] == kept['imgs'][0][..., 1]).all()
    with pytest.raises(KeyError, match="declares no auxiliary image key \\['flow'\\]"):
        ClipTransformBroadcaster(transforms=[], aux_image_keys=['flow']).transform(make_clip())
    broken = make_clip()
    broken[AUX] = broken[AUX][:2]
    with pytest.raises(ValueError, match=f"declares the auxiliary image key '{AUX}' but results\\['{AUX}'\\] holds 2"):
        ClipTransformBroadcaster(transforms=[dict(type='RandomFlip', prob=0.5)]).transform(broken)


def test_clip_pad():
    orig = make_clip()
    results = ClipPad(size=(50, 70), pad_val=128, seg_pad_val=255, aux_pad_val={AUX: 7}).transform(
        copy.deepcopy(orig))
    assert results['img_shape'] == (50, 70) and results['pad_shape'] == (50, 70)
    for t in range(T):
        np.testing.assert_array_equal(results['imgs'][t][:H, :W], orig['imgs'][t])
        assert (results['imgs'][t][H:] == 128).all() and (results['imgs'][t][:, W:] == 128).all()
        assert (results['gt_seg_maps'][t][H:] == 255).all() and (results['gt_seg_maps'][t][:, W:] == 255).all()
        assert (results[AUX][t][H:] == 7).all()
        np.testing.assert_array_equal(results['gt_seg_maps'][t][:H, :W], orig['gt_seg_maps'][t])
    same = ClipPad(size=(50, 70), pad_val=128).transform(copy.deepcopy(orig))
    assert (same[AUX][0][H:] == 128).all()  # unlisted keys pad like the frames
    assert ClipPad(size_divisor=16).transform(make_clip())['img_shape'] == (48, 64)
    with pytest.raises(ValueError, match='clip clip is 40x60, larger than the pad size 32x32'):
        ClipPad(size=32).transform(make_clip())
    with pytest.raises(ValueError, match='exactly one'):
        ClipPad()


# ----------------------------------------------------------------------------------------------- colour
def jitter_with_draws(tf, orig, seed, num_draws):
    """``tf`` applied to a copy of ``orig`` under ``seed``, and the first ``num_draws`` draws of that seed."""
    np.random.seed(seed)
    out = tf.transform(copy.deepcopy(orig))
    np.random.seed(seed)
    return out, [tf.draw_params() for _ in range(num_draws)]


def test_photometric_distortion_one_draw_per_clip():
    tf = ClipPhotoMetricDistortion()
    results = make_clip()
    results['imgs'][2] = results['imgs'][0].copy()  # two identical frames must stay identical
    results['imgs'][1] = np.zeros_like(results['imgs'][1])
    results['frame_flags']['is_padded'] = [False, True, False]  # frame 1 is padding: stays zeros
    orig = copy.deepcopy(results)
    changed = 0
    for seed in range(8):
        out, (params, ) = jitter_with_draws(tf, orig, seed, 1)
        for t in (0, 2):
            np.testing.assert_array_equal(out['imgs'][t], tf.apply(orig['imgs'][t], params))
        np.testing.assert_array_equal(out['imgs'][0], out['imgs'][2])
        assert (out['imgs'][1] == 0).all()
        for t in range(T):  # never on auxiliary images (unless listed) or labels
            np.testing.assert_array_equal(out[AUX][t], orig[AUX][t])
            np.testing.assert_array_equal(out['gt_seg_maps'][t], orig['gt_seg_maps'][t])
        changed += not np.array_equal(out['imgs'][0], orig['imgs'][0])
    assert changed >= 6  # all four operations are skipped with probability 1/16 only


def test_photometric_distortion_per_frame_and_listed_aux_keys():
    """per_frame=True: each real frame draws, then each of its listed auxiliary images draws separately
    (COMBO's mapper); padded frames and their auxiliary images stay zeros and draw nothing."""
    tf = ClipPhotoMetricDistortion(per_frame=True, aux_image_keys=[AUX])
    results = make_clip()
    results['imgs'] = [results['imgs'][0].copy() for _ in range(T)]
    results[AUX] = [results['imgs'][0].copy() for _ in range(T)]
    results['imgs'][1][:] = 0
    results[AUX][1][:] = 0
    results['frame_flags']['is_padded'] = [False, True, False]
    orig = copy.deepcopy(results)
    distinct = 0
    for seed in range(6):
        out, draws = jitter_with_draws(tf, orig, seed, 4)  # frame 0, its aux; frame 2, its aux
        np.testing.assert_array_equal(out['imgs'][0], tf.apply(orig['imgs'][0], draws[0]))
        np.testing.assert_array_equal(out[AUX][0], tf.apply(orig[AUX][0], draws[1]))
        np.testing.assert_array_equal(out['imgs'][2], tf.apply(orig['imgs'][2], draws[2]))
        np.testing.assert_array_equal(out[AUX][2], tf.apply(orig[AUX][2], draws[3]))
        assert not out['imgs'][1].any() and not out[AUX][1].any()
        distinct += not np.array_equal(out['imgs'][0], out['imgs'][2])
    assert distinct >= 4
    # per clip with a listed key: the clip's one draw on frames and listed images alike
    np.random.seed(0)
    clip_out = ClipPhotoMetricDistortion(aux_image_keys=[AUX]).transform(copy.deepcopy(orig))
    np.testing.assert_array_equal(clip_out['imgs'][0], clip_out[AUX][0])
    with pytest.raises(KeyError, match="no auxiliary image key 'depth'"):
        ClipPhotoMetricDistortion(aux_image_keys=['depth']).transform(make_clip())


def test_stock_photometric_distortion_draws_per_frame_even_when_shared():
    """Why ClipPhotoMetricDistortion is kept: mmseg's PhotoMetricDistortion draws without @cache_randomness, so
    the broadcaster cannot share its draw and identical frames come out different."""
    results = make_clip()
    results['imgs'] = [results['imgs'][0].copy() for _ in range(T)]
    shared = ClipTransformBroadcaster(transforms=[dict(type='mmseg.PhotoMetricDistortion')], aux_image_keys=())
    differ = 0
    for seed in range(6):
        np.random.seed(seed)
        out = shared.transform(copy.deepcopy(results))
        differ += not all(np.array_equal(out['imgs'][0], img) for img in out['imgs'])
    assert differ >= 4


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


# ----------------------------------------------------------------------------------------------- padded frames
@pytest.mark.parametrize('per_frame', [False, True])
def test_padded_frames_stay_zero_through_the_training_chain(per_frame):
    results = random_clip(4, num_frames=4, padded=[False, False, True, True])
    results['audio'] = np.zeros((4, 1, 96, 64), np.float32)
    chain = [
        ClipRandomResize(short_edge_lengths=[48], max_long_edge=None),
        ClipRandomCrop((40, 40), per_frame=per_frame),
        ClipPhotoMetricDistortion(per_frame=per_frame, aux_image_keys=[AUX]),
        ClipTransformBroadcaster(transforms=[dict(type='RandomFlip', prob=0.5)], share_random_params=not per_frame),
    ]
    for seed in range(3):
        np.random.seed(seed)
        out = copy.deepcopy(results)
        for tf in chain:
            out = tf.transform(out)
        for t in (2, 3):
            assert not out['imgs'][t].any() and not out[AUX][t].any()
        assert out['imgs'][0].any() and out[AUX][1].any()
        packed = PackAVSInputs().transform(out)
        assert not packed['inputs']['frames'][2:].any() and not packed['inputs'][AUX][2:].any()


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


def _write_depth_clip(tmp_path, fake, size=(16, 24)):
    """Two frames and a padded one; 16-bit single-channel depth maps next to the frames, marking the same
    square as the frame's object (depth 1000 there, 4000 elsewhere)."""
    paths = []
    for t in range(2):
        paths.append(str(tmp_path / f'{t}.png'))
        fake.write_image(paths[-1], fake.frame_array(0, t, size))
        depth = np.full(size, 4000, np.uint16)
        depth[fake.mask_array(t, size) > 0] = 1000
        cv2.imwrite(str(tmp_path / f'{t}_depth.png'), depth)
    masks = [str(tmp_path / f'm{t}.png') for t in range(2)]
    for t in range(2):
        fake.write_image(masks[t], fake.mask_array(t, size, value=1))
    return dict(clip_id='c', img_paths=paths + [None], seg_map_paths=masks + [None], label_format='binary',
                audio=np.zeros((3, 1, 96, 64), np.float32),
                frame_flags=dict(is_labeled=[True, True, False], is_padded=[False, False, True]))


def test_any_aux_key_flows_from_loader_to_data_preprocessor(tmp_path, fake):
    """'depth' (uint16, one channel) goes loader -> clip transforms -> packer -> collate -> preprocessor like
    the frames, with statistics of its own; no code names the key."""
    loader = LoadClipAuxImages(key='depth', path_template='{frame_dir}/{stem}_depth.png', color_type='unchanged')
    chain = [LoadClipFrames(), loader, LoadClipAnnotations(),
             ClipResize(scale=(48, 32), aux_interpolation=dict(depth='nearest')),
             ClipTransformBroadcaster(transforms=[dict(type='RandomFlip', prob=1.0)]),
             ClipPhotoMetricDistortion(), ClipPad(size=(40, 48), pad_val=0, aux_pad_val=dict(depth=4000)),
             PackAVSInputs()]
    clips = []
    for seed in range(2):
        np.random.seed(seed)
        results = _write_depth_clip(tmp_path, fake)
        for tf in chain[:-1]:
            results = tf.transform(results)
        assert results['aux_image_keys'] == ['depth'] and results['depth_paths'][2] is None
        for t in range(2):
            near = results['depth'][t][..., 0] == 1000
            np.testing.assert_array_equal(near, results['gt_seg_maps'][t] == 1)  # aligned with the label
        assert results['depth'][2].dtype == np.uint16 and not results['depth'][2][:32].any()  # padded frame
        assert (results['depth'][0][32:] == 4000).all()  # per-key pad value
        clips.append(chain[-1].transform(results))
    assert clips[0]['inputs']['depth'].shape == (3, 1, 40, 48)
    batch = avs_collate(clips)
    pre = AVSDataPreprocessor(size=(40, 48), aux_image_keys=dict(depth=dict(mean=[2000.0], std=[1000.0])))
    out = pre(batch, training=True)
    depth = out['inputs']['depth']
    assert depth.shape == (6, 1, 40, 48) and depth.dtype == torch.float32
    assert set(depth[0].unique().tolist()) == {-1.0, 2.0}  # (1000 - 2000) / 1000, (4000 - 2000) / 1000
    frames = out['inputs']['frames']
    assert frames.shape == (6, 3, 40, 48)
    with pytest.raises(ValueError, match=r"inputs \['depth'\] are not among its aux_image_keys"):
        AVSDataPreprocessor()(avs_collate(clips), training=True)
    with pytest.raises(ValueError, match='1 channels but 3 mean/std values'):
        AVSDataPreprocessor(aux_image_keys=('depth', ))(avs_collate(clips), training=True)


def test_load_aux_images_errors_and_fill(tmp_path, fake):
    results = _write_depth_clip(tmp_path, fake)
    results = LoadClipFrames().transform(results)
    (tmp_path / '1_depth.png').unlink()
    loader = LoadClipAuxImages(key='depth', path_template='{frame_dir}/{stem}_depth.png', color_type='unchanged')
    with pytest.raises(FileNotFoundError, match='1_depth.png'):
        loader.transform(copy.deepcopy(results))
    filled = LoadClipAuxImages(key='depth', path_template='{frame_dir}/{stem}_depth.png', color_type='unchanged',
                               missing='fill', fill_value=0).transform(copy.deepcopy(results))
    assert filled['depth'][1].shape == (16, 24, 1) and not filled['depth'][1].any()
    assert filled['depth'][1].dtype == np.uint16  # like the clip's other depth maps
    rooted = LoadClipAuxImages(key='prior', path_template='{root}/{stem}_depth.png', root=str(tmp_path),
                               missing='fill', fill_value=[1, 2, 3]).transform(copy.deepcopy(results))
    assert rooted['prior'][0].shape == (16, 24, 3) and rooted['aux_image_keys'] == ['prior']
    np.testing.assert_array_equal(rooted['prior'][1][0, 0], [1, 2, 3])
    with pytest.raises(ValueError, match='unknown field'):
        LoadClipAuxImages(key='depth', path_template='{frame}/{nope}.png')
    with pytest.raises(ValueError, match='identifier not among'):
        LoadClipAuxImages(key='imgs', path_template='{frame_dir}/{stem}.png')
    with pytest.raises(ValueError, match='color_type'):
        LoadClipAuxImages(key='depth', path_template='{frame_dir}/{stem}.png', color_type='rgb')
    small = copy.deepcopy(results)
    small['imgs'] = [np.zeros((8, 12, 3), np.uint8)] * 3
    with pytest.raises(ValueError, match='resize_to_frame'):
        LoadClipAuxImages(key='prior', path_template='{frame_dir}/{stem}.png').transform(small)
    resized = LoadClipAuxImages(key='prior', path_template='{frame_dir}/{stem}.png',
                                resize_to_frame=True).transform(small)
    assert resized['prior'][0].shape == (8, 12, 3)


# ----------------------------------------------------------------------------------------------- packing
def test_train_chain_then_pack_keeps_alignment_and_metadata():
    np.random.seed(5)
    results = make_clip()
    results['audio'] = np.zeros((T, 1, 96, 64), np.float32)
    results['img_paths'] = [f'f{t}.png' for t in range(T)]
    # resize x1.5 (60 x 90), crop 56 x 80 (the marker, at rows 8..16 / cols 15..23, stays inside), flip, pad
    for tf in (ClipRandomResize(short_edge_lengths=[60], max_long_edge=None), ClipRandomCrop((56, 80)),
               ClipTransformBroadcaster(transforms=[dict(type='RandomFlip', prob=1.0)]),
               ClipPad(size=(64, 96), pad_val=0)):
        results = tf.transform(results)
    for t in range(T):
        frame_m, seg_m, aux_m = marker_masks(results, t)
        np.testing.assert_allclose(centroid(frame_m), centroid(seg_m), atol=0.8)
        np.testing.assert_allclose(centroid(aux_m), centroid(frame_m), atol=0.1)
        assert centroid(seg_m)[1] > 80 - 24  # flipped: the marker moved to the right half
    packed = PackAVSInputs().transform(results)
    inputs, samples = packed['inputs'], packed['data_samples']
    assert inputs['frames'].shape == (T, 3, 64, 96) and inputs['frames'].dtype == torch.uint8
    assert inputs[AUX].shape == (T, 3, 64, 96) and inputs['audio'].shape == (T, 1, 96, 64)
    meta = samples[1].metainfo
    assert meta['flip'] is True and meta['flip_direction'] == 'horizontal'
    assert meta['img_shape'] == (64, 96) and meta['pad_shape'] == (64, 96) and meta['ori_shape'] == (H, W)
    assert meta['scale_factor'] == (1.5, 1.5) and meta['img_path'] == 'f1.png' and meta['frame_idx'] == 1
    np.testing.assert_array_equal(samples[2].gt_sem_seg.data[0].numpy(), results['gt_seg_maps'][2])


def test_packer_refuses_misaligned_aux_images():
    results = make_clip()
    results['audio'] = np.zeros((T, 1, 96, 64), np.float32)
    results[AUX] = [a[:20] for a in results[AUX]]
    with pytest.raises(ValueError, match=f"auxiliary images '{AUX}' of clip clip are \\(20, 60\\) but its frames"):
        PackAVSInputs().transform(results)
    undeclared = make_clip(with_aux=False)
    undeclared['audio'] = np.zeros((T, 1, 96, 64), np.float32)
    undeclared[AUX] = make_clip()[AUX]  # not declared: not an input
    assert set(PackAVSInputs().transform(undeclared)['inputs']) == {'frames', 'audio'}


def test_clip_select_labelled_frames_slices_every_per_frame_key():
    T = 5
    results = dict(
        clip_id='c',
        imgs=[np.full((4, 4, 3), t, np.uint8) for t in range(T)],
        gt_seg_maps=[np.full((4, 4), t, np.uint8) for t in range(T)],
        img_paths=[f'f{t}.png' for t in range(T)],
        audio=np.arange(T, dtype=np.float32).reshape(T, 1, 1, 1) * np.ones((T, 1, 96, 64), np.float32),
        frame_flags=dict(is_labeled=[False, True, False, True, False], is_padded=[False] * T),
        num_frames=T)
    results[AUX] = [np.full((4, 4, 3), 10 + t, np.uint8) for t in range(T)]
    results[f'{AUX}_paths'] = [f'm{t}.png' for t in range(T)]
    declare_aux_image_key(results, AUX, 'test')
    out = ClipSelectLabelledFrames()(results)
    assert out['num_frames'] == 2
    assert [int(img[0, 0, 0]) for img in out['imgs']] == [1, 3]
    assert [int(m[0, 0]) for m in out['gt_seg_maps']] == [1, 3]
    assert [int(m[0, 0, 0]) for m in out[AUX]] == [11, 13] and out[f'{AUX}_paths'] == ['m1.png', 'm3.png']
    assert out['img_paths'] == ['f1.png', 'f3.png']
    assert out['audio'].shape == (2, 1, 96, 64) and out['audio'][:, 0, 0, 0].tolist() == [1.0, 3.0]
    assert out['frame_flags'] == dict(is_labeled=[True, True], is_padded=[False, False])
    packed = PackAVSInputs()(out)
    assert packed['inputs']['frames'].shape == (2, 3, 4, 4) and packed['inputs'][AUX].shape == (2, 3, 4, 4)
    assert [s.metainfo['num_frames'] for s in packed['data_samples']] == [2, 2]

    with pytest.raises(ValueError, match='no labelled frame'):
        ClipSelectLabelledFrames()(dict(clip_id='x', imgs=[], frame_flags=dict(is_labeled=[False] * 2)))
    with pytest.raises(ValueError, match='img_paths has 1 entries'):
        ClipSelectLabelledFrames()(dict(clip_id='x', img_paths=['a'], frame_flags=dict(is_labeled=[True, False])))
