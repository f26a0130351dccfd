"""Clip-consistent augmentation: one random draw per clip, applied identically to every frame, mask and Maskige.

Every transform here works on the clip keys written by the loaders:

- ``imgs``: list of T ``[H, W, 3]`` frames (geometric and colour transforms);
- ``gt_seg_maps``: list of T ``[H, W]`` label maps (geometric transforms, nearest-neighbour, ``255`` = ignore);
- ``maskiges`` (optional): list of T ``uint8 [H, W, 3]`` COMBO Maskige images, treated like frames by geometric
  transforms (COMBO's mapper runs the image transform on them) but never colour-jittered, since their colours
  encode mask identities.

and keeps ``img_shape`` (``(H, W)``), ``scale_factor`` (``(w_scale, h_scale)``), ``flip``/``flip_direction``
and ``pad_shape`` up to date; ``ori_shape`` stays the loaded size so ``BaseSegmentor.postprocess_result``
resizes predictions back to it (see :class:`ClipResize` ``update_ori_shape`` for scoring at the resized size).
Randomness comes from ``np.random`` (seeded per worker by mmengine), one draw per call.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from avsseg.registry import TRANSFORMS

#: COMBO's (and the AVSBench-COMBO recipe's) shortest-edge choices: ``int(x * 0.1 * 224)`` for x = 5..20,
#: i.e. 112 .. 448 in steps of ~22.4.
COMBO_SHORT_EDGES = tuple(int(x * 0.1 * 224) for x in range(5, 21))


def _pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) <= 0:
        raise ValueError(f'{name} must be a positive int or a pair, got {value!r}')
    return value


def _clip_shape(results: Dict) -> Tuple[int, int]:
    shapes = {img.shape[:2] for img in results['imgs']}
    if len(shapes) != 1:
        raise ValueError(f'clip {results.get("clip_id")}: frames have different sizes {sorted(shapes)}')
    return shapes.pop()


def _map_clip(results: Dict, img_fn, seg_fn, maskige_fn=None) -> None:
    """Apply ``img_fn`` to every frame, ``seg_fn`` to every label map, ``maskige_fn`` (else ``img_fn``) to every
    Maskige."""
    results['imgs'] = [img_fn(img) for img in results['imgs']]
    if results.get('gt_seg_maps') is not None:
        results['gt_seg_maps'] = [seg_fn(seg) for seg in results['gt_seg_maps']]
    if results.get('maskiges') is not None:
        fn = maskige_fn or img_fn
        results['maskiges'] = [fn(m) for m in results['maskiges']]


def _resize_clip(results: Dict, size_wh: Tuple[int, int], interpolation: str, maskige_interpolation: str) -> None:
    h, w = _clip_shape(results)
    new_w, new_h = size_wh
    if (new_w, new_h) != (w, h):
        _map_clip(
            results,
            lambda img: mmcv.imresize(img, (new_w, new_h), interpolation=interpolation),
            lambda seg: mmcv.imresize(seg, (new_w, new_h), interpolation='nearest'),
            lambda m: mmcv.imresize(m, (new_w, new_h), interpolation=maskige_interpolation))
    results['img_shape'] = (new_h, new_w)
    results['scale'] = (new_w, new_h)
    results['scale_factor'] = (new_w / w, new_h / h)


def _crop_clip(results: Dict, y1: int, y2: int, x1: int, x2: int) -> None:
    bbox = np.array([x1, y1, x2 - 1, y2 - 1])  # mmcv.imcrop's corners are inclusive
    crop = lambda img: mmcv.imcrop(img, bbox)  # noqa: E731
    _map_clip(results, crop, crop)
    results['img_shape'] = (y2 - y1, x2 - x1)


@TRANSFORMS.register_module()
class ClipResize(BaseTransform):
    """Resize every frame, mask and Maskige of a clip to one size.

    Args:
        scale: target ``(w, h)`` (or an int for a square), as mmcv's ``Resize``. With ``keep_ratio`` it bounds
            the result as in ``mmcv.imrescale``: the long edge at most ``max(scale)``, the short edge at most
            ``min(scale)`` (``scale=(4096, 224)`` = short side 224).
        keep_ratio: keep the aspect ratio.
        interpolation: frame interpolation (mmcv name).
        maskige_interpolation: Maskige interpolation; ``'bilinear'`` like COMBO (which resizes Maskiges as
            images), ``'nearest'`` keeps their colours exact.
        update_ori_shape: also set ``ori_shape`` to the new size, so predictions are scored at this size (the
            AVSBench protocol evaluates AVSS at 224x224 against nearest-resized masks); otherwise they are resized
            back to the loaded size.
    """

    def __init__(self,
                 scale: Union[int, Sequence[int]],
                 keep_ratio: bool = False,
                 interpolation: str = 'bilinear',
                 maskige_interpolation: str = 'bilinear',
                 update_ori_shape: bool = False):
        self.scale = _pair(scale, 'ClipResize.scale')
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation
        self.maskige_interpolation = maskige_interpolation
        self.update_ori_shape = update_ori_shape

    def transform(self, results: Dict) -> Dict:
        h, w = _clip_shape(results)
        size = mmcv.rescale_size((w, h), self.scale) if self.keep_ratio else self.scale
        _resize_clip(results, size, self.interpolation, self.maskige_interpolation)
        results['keep_ratio'] = self.keep_ratio
        if self.update_ori_shape:
            results['ori_shape'] = results['img_shape']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'update_ori_shape={self.update_ori_shape})')


@TRANSFORMS.register_module()
class ClipRandomResize(BaseTransform):
    """Resize a clip so its shortest edge is a random choice, capping the long edge (detectron2's
    ``ResizeShortestEdge``, COMBO's multi-scale recipe). One draw per clip.

    The new size is ``s / min(h, w)`` times the old, then scaled down so the long edge is at most
    ``max_long_edge``, each side rounded to the nearest integer.

    Args:
        short_edge_lengths: candidate short-edge lengths (default: COMBO's 112..448, :data:`COMBO_SHORT_EDGES`).
            With ``sample_style='range'`` a ``(min, max)`` pair sampled uniformly (integers, inclusive).
        max_long_edge: cap on the long edge (COMBO: 896), or None.
        sample_style: ``'choice'`` or ``'range'``.
        interpolation, maskige_interpolation: as in :class:`ClipResize`.
    """

    def __init__(self,
                 short_edge_lengths: Sequence[int] = COMBO_SHORT_EDGES,
                 max_long_edge: Optional[int] = 896,
                 sample_style: str = 'choice',
                 interpolation: str = 'bilinear',
                 maskige_interpolation: str = 'bilinear'):
        if sample_style not in ('choice', 'range'):
            raise ValueError(f"ClipRandomResize: sample_style must be 'choice' or 'range', got {sample_style!r}")
        lengths = [int(s) for s in short_edge_lengths]
        if not lengths or min(lengths) <= 0:
            raise ValueError(f'ClipRandomResize: short_edge_lengths must be positive, got {short_edge_lengths!r}')
        if sample_style == 'range' and len(lengths) != 2:
            raise ValueError(f"ClipRandomResize: sample_style='range' needs (min, max), got {lengths}")
        self.short_edge_lengths = lengths
        self.max_long_edge = max_long_edge
        self.sample_style = sample_style
        self.interpolation = interpolation
        self.maskige_interpolation = maskige_interpolation

    def _sample_short_edge(self) -> int:
        if self.sample_style == 'range':
            return int(np.random.randint(self.short_edge_lengths[0], self.short_edge_lengths[1] + 1))
        return self.short_edge_lengths[np.random.randint(len(self.short_edge_lengths))]

    def target_size(self, h: int, w: int, short_edge: int) -> Tuple[int, int]:
        """``(new_w, new_h)`` for a ``h x w`` clip and the chosen short edge."""
        factor = short_edge / min(h, w)
        new_h, new_w = h * factor, w * factor
        if self.max_long_edge is not None and max(new_h, new_w) > self.max_long_edge:
            cap = self.max_long_edge / max(new_h, new_w)
            new_h, new_w = new_h * cap, new_w * cap
        return int(new_w + 0.5), int(new_h + 0.5)

    def transform(self, results: Dict) -> Dict:
        h, w = _clip_shape(results)
        _resize_clip(results, self.target_size(h, w, self._sample_short_edge()), self.interpolation,
                     self.maskige_interpolation)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(short_edge_lengths={self.short_edge_lengths}, '
                f'max_long_edge={self.max_long_edge}, sample_style={self.sample_style!r})')


@TRANSFORMS.register_module()
class ClipRandomCrop(BaseTransform):
    """Crop the same random window from every frame, mask and Maskige of a clip.

    The window is drawn once per clip. With ``cat_max_ratio < 1`` up to 10 windows are tried until no single
    class covers more than that fraction of the labelled pixels of the reference mask, the first labelled
    frame's (detectron2's ``RandomCrop_CategoryAreaConstraint`` as COMBO applies it on frame 0; mmseg's
    ``RandomCrop``). A side shorter than the crop is kept whole (pad afterwards with :class:`ClipPad`).

    Args:
        crop_size: ``(h, w)`` or an int.
        cat_max_ratio: the largest share one class may cover in the crop (1.0 = no constraint).
        ignore_index: label excluded from the class shares.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]], cat_max_ratio: float = 1.0, ignore_index: int = 255):
        self.crop_size = _pair(crop_size, 'ClipRandomCrop.crop_size')
        if not 0 < cat_max_ratio <= 1:
            raise ValueError(f'ClipRandomCrop: cat_max_ratio must be in (0, 1], got {cat_max_ratio}')
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index

    def _random_window(self, h: int, w: int) -> Tuple[int, int, int, int]:
        ch, cw = self.crop_size
        y1 = np.random.randint(0, max(h - ch, 0) + 1)
        x1 = np.random.randint(0, max(w - cw, 0) + 1)
        return y1, y1 + min(ch, h), x1, x1 + min(cw, w)

    def _reference_map(self, results: Dict) -> Optional[np.ndarray]:
        maps = results.get('gt_seg_maps')
        if maps is None:
            return None
        labeled = results.get('frame_flags', {}).get('is_labeled')
        for t, seg in enumerate(maps):
            if (labeled[t] if labeled is not None else (seg != self.ignore_index).any()):
                return seg
        return None

    def transform(self, results: Dict) -> Dict:
        h, w = _clip_shape(results)
        window = self._random_window(h, w)
        ref = self._reference_map(results) if self.cat_max_ratio < 1.0 else None
        if ref is not None:
            for _ in range(10):
                y1, y2, x1, x2 = window
                labels, counts = np.unique(ref[y1:y2, x1:x2], return_counts=True)
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                window = self._random_window(h, w)
        _crop_clip(results, *window)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, cat_max_ratio={self.cat_max_ratio}, '
                f'ignore_index={self.ignore_index})')


@TRANSFORMS.register_module()
class ClipCenterCrop(BaseTransform):
    """Crop the central ``crop_size`` window of every frame, mask and Maskige (the official AVSS training
    transform after a short-side resize to 224). A side shorter than the crop is kept whole.

    Args:
        crop_size: ``(h, w)`` or an int.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]]):
        self.crop_size = _pair(crop_size, 'ClipCenterCrop.crop_size')

    def transform(self, results: Dict) -> Dict:
        h, w = _clip_shape(results)
        ch, cw = min(self.crop_size[0], h), min(self.crop_size[1], w)
        y1, x1 = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        _crop_clip(results, y1, y1 + ch, x1, x1 + cw)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class ClipRandomFlip(BaseTransform):
    """Flip a whole clip (frames, masks, Maskiges) with probability ``prob``; one draw per clip.

    Args:
        prob: flip probability.
        direction: ``'horizontal'`` or ``'vertical'``.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal'):
        if not 0 <= prob <= 1:
            raise ValueError(f'ClipRandomFlip: prob must be in [0, 1], got {prob}')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"ClipRandomFlip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.prob = prob
        self.direction = direction

    def transform(self, results: Dict) -> Dict:
        flip = bool(np.random.rand() < self.prob)
        if flip:
            flip_fn = lambda img: mmcv.imflip(img, direction=self.direction)  # noqa: E731
            _map_clip(results, flip_fn, flip_fn)
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, direction={self.direction!r})'


@TRANSFORMS.register_module()
class ClipPhotoMetricDistortion(BaseTransform):
    """SSD-style colour jitter with one draw per clip, applied identically to every real frame.

    The operations and ranges are those of mmseg's ``PhotoMetricDistortion`` and detectron2's
    ``ColorAugSSDTransform`` (COMBO): brightness, contrast (before or after the HSV steps), saturation and
    hue, each applied with probability 0.5. Frames are RGB. Padded frames stay zeros and Maskiges are not
    touched (COMBO's mapper does jitter its Maskiges, but their colours are mask identities, not appearance).
    Frames come out ``uint8`` (as mmseg's transform).

    Args:
        brightness_delta: brightness shift range ``[-d, d]``.
        contrast_range: contrast factor range.
        saturation_range: saturation factor range.
        hue_delta: hue shift range in OpenCV hue units (0..179).
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18):
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta

    def draw_params(self) -> dict:
        """One random draw: ``None`` for an operation that is skipped."""
        rand = np.random
        return dict(
            brightness=rand.uniform(-self.brightness_delta, self.brightness_delta) if rand.randint(2) else None,
            contrast_first=bool(rand.randint(2)),
            contrast=rand.uniform(self.contrast_lower, self.contrast_upper) if rand.randint(2) else None,
            saturation=rand.uniform(self.saturation_lower, self.saturation_upper) if rand.randint(2) else None,
            hue=int(rand.randint(-self.hue_delta, self.hue_delta)) if rand.randint(2) else None)

    @staticmethod
    def _affine(img: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
        return np.clip(img.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)

    def apply(self, img: np.ndarray, params: dict) -> np.ndarray:
        """Apply drawn ``params`` to one RGB frame ``[H, W, 3]``."""
        img = self._affine(img)
        if params['brightness'] is not None:
            img = self._affine(img, beta=params['brightness'])
        if params['contrast_first'] and params['contrast'] is not None:
            img = self._affine(img, alpha=params['contrast'])
        if params['saturation'] is not None or params['hue'] is not None:
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            if params['saturation'] is not None:
                hsv[..., 1] = self._affine(hsv[..., 1], alpha=params['saturation'])
            if params['hue'] is not None:
                hsv[..., 0] = (hsv[..., 0].astype(np.int32) + params['hue']) % 180
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        if not params['contrast_first'] and params['contrast'] is not None:
            img = self._affine(img, alpha=params['contrast'])
        return img

    def transform(self, results: Dict) -> Dict:
        params = self.draw_params()
        padded = results.get('frame_flags', {}).get('is_padded', [False] * len(results['imgs']))
        results['imgs'] = [
            img.astype(np.uint8) if is_pad else self.apply(img, params)
            for img, is_pad in zip(results['imgs'], padded)
        ]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta={self.brightness_delta}, contrast_range='
                f'({self.contrast_lower}, {self.contrast_upper}), saturation_range=({self.saturation_lower}, '
                f'{self.saturation_upper}), hue_delta={self.hue_delta})')


@TRANSFORMS.register_module()
class ClipPad(BaseTransform):
    """Pad every frame, mask and Maskige of a clip at the bottom/right to a fixed size or a size multiple.

    A training transform (COMBO pads its 224 crops, images with 128 and labels with 255): mmseg's
    ``postprocess_result`` only removes the padding the data preprocessor adds, so test pipelines should resize
    to the network size instead of padding.

    Args:
        size: ``(h, w)`` (or int) to pad to; the clip must not be larger.
        size_divisor: pad each side up to a multiple of this instead.
        pad_val: frame padding value (0; COMBO: 128).
        seg_pad_val: label padding value (ignore index).
        maskige_pad_val: Maskige padding value (default: ``pad_val``, as COMBO pads Maskiges like images).
    """

    def __init__(self,
                 size: Optional[Union[int, Sequence[int]]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Union[int, float] = 0,
                 seg_pad_val: int = 255,
                 maskige_pad_val: Optional[Union[int, float]] = None):
        if (size is None) == (size_divisor is None):
            raise ValueError('ClipPad: give exactly one of size and size_divisor')
        self.size = None if size is None else _pair(size, 'ClipPad.size')
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.maskige_pad_val = pad_val if maskige_pad_val is None else maskige_pad_val

    def transform(self, results: Dict) -> Dict:
        h, w = _clip_shape(results)
        if self.size is not None:
            out_h, out_w = self.size
            if h > out_h or w > out_w:
                raise ValueError(f'ClipPad: clip {results.get("clip_id")} is {h}x{w}, larger than the pad size '
                                 f'{out_h}x{out_w}; crop or resize first')
        else:
            d = self.size_divisor
            out_h, out_w = -(-h // d) * d, -(-w // d) * d
        if (out_h, out_w) != (h, w):
            shape = (out_h, out_w)

            def pad(arr, value):
                # cv2 reads a scalar border value as (v, 0, 0, 0): give every channel the value
                if arr.ndim == 3 and isinstance(value, (int, float)):
                    value = (value, ) * arr.shape[2]
                return mmcv.impad(arr, shape=shape, pad_val=value)

            _map_clip(results, lambda img: pad(img, self.pad_val), lambda seg: pad(seg, self.seg_pad_val),
                      lambda m: pad(m, self.maskige_pad_val))
        results['img_shape'] = (out_h, out_w)
        results['pad_shape'] = (out_h, out_w)
        results['pad_fixed_size'] = self.size
        results['pad_size_divisor'] = self.size_divisor
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, size_divisor={self.size_divisor}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')


@TRANSFORMS.register_module()
class ClipSelectLabelledFrames(BaseTransform):
    """Keep only the labelled frames of a training clip (``frame_flags['is_labeled']``).

    In S4 training only frame 1 of 5 carries a mask, so a model without temporal terms in its loss spends 4/5 of
    its compute on frames that get no supervision. This transform trades TPAVI's temporal context during
    training for a 5x cheaper step; the official recipes (and the quickstart) keep all frames.
    Place it after the loaders; it slices every per-frame key (``imgs``, ``gt_seg_maps``, ``maskiges``,
    ``img_paths``, ``seg_map_paths``, ``audio`` ``[T, ...]`` and the ``frame_flags`` lists) and sets
    ``num_frames``.
    """

    PER_FRAME_KEYS = ('imgs', 'gt_seg_maps', 'maskiges', 'img_paths', 'seg_map_paths')

    def transform(self, results: Dict) -> Dict:
        flags = results.get('frame_flags')
        if flags is None or 'is_labeled' not in flags:
            raise KeyError(f'ClipSelectLabelledFrames: clip {results.get("clip_id")} has no frame_flags.is_labeled')
        keep = [t for t, labelled in enumerate(flags['is_labeled']) if labelled]
        if not keep:
            raise ValueError(f'ClipSelectLabelledFrames: clip {results.get("clip_id")} has no labelled frame')
        num_frames = len(flags['is_labeled'])
        for key in self.PER_FRAME_KEYS:
            if results.get(key) is not None:
                if len(results[key]) != num_frames:
                    raise ValueError(f'ClipSelectLabelledFrames: clip {results.get("clip_id")}: {key} has '
                                     f'{len(results[key])} entries for {num_frames} frames')
                results[key] = [results[key][t] for t in keep]
        if results.get('audio') is not None:
            results['audio'] = results['audio'][keep]
        results['frame_flags'] = {name: [values[t] for t in keep] for name, values in flags.items()}
        results['num_frames'] = len(keep)
        return results
