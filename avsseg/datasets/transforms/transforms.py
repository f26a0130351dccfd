"""Clip-consistent augmentation: every frame, label map and auxiliary image of a clip moves together.

Every transform here works on the clip keys written by the loaders:

- ``imgs``: list of T ``[H, W, 3]`` frames (geometric and colour transforms);
- ``gt_seg_maps``: list of T ``[H, W]`` label maps (geometric transforms, nearest-neighbour, ``255`` = ignore);
- auxiliary images (:mod:`avsseg.datasets.transforms.aux_images`): for each key in ``results['aux_image_keys']``
  (COMBO's ``maskige``, ...) a list of T ``[H, W, C]`` images. Geometric transforms move them with their frames
  (interpolation and padding value per key where a transform has one); colour transforms leave them alone unless
  told to jitter a key.

and keeps ``img_shape`` (``(H, W)``), ``scale_factor`` (``(w_scale, h_scale)``), ``flip``/``flip_direction``
and ``pad_shape`` up to date; ``ori_shape`` stays the loaded size so ``BaseSegmentor.postprocess_result``
resizes predictions back to it (see :class:`ClipResize` ``update_ori_shape`` for scoring at the resized size).

Stock single-image transforms run on clips through :class:`ClipTransformBroadcaster` (mmcv's
``TransformBroadcaster``): flips (``RandomFlip``) and centre crops (``CenterCrop``) are done that way, and
:class:`ClipResize` is mmcv's ``Resize`` broadcast. The transforms below are kept where a clip rule or a
numerical difference rules the stock one out; each docstring says which. Randomness comes from ``np.random``
(seeded per worker by mmengine): one draw per clip by default, one per frame where a transform has
``per_frame=True`` (``share_random_params=False`` for the broadcaster).
"""
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, Compose, Resize

from avsseg.registry import TRANSFORMS
from .aux_images import aux_image_keys
from .clip_transform_broadcaster import PER_FRAME_KEYS, ClipTransformBroadcaster

#: COMBO's (and the AVSBench-COMBO recipe's) shortest-edge choices: ``int(x * 0.1 * 224)`` for x = 5..20,
#: i.e. 112 .. 448 in steps of ~22.4.
COMBO_SHORT_EDGES = tuple(int(x * 0.1 * 224) for x in range(5, 21))
#: ``(y1, y2, x1, x2)`` of a crop window, end-exclusive.
Window = Tuple[int, int, int, int]


def _pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) <= 0:
        raise ValueError(f'{name} must be a positive int or a pair, got {value!r}')
    return value


def _clip_shape(results: Dict) -> Tuple[int, int]:
    shapes = {img.shape[:2] for img in results['imgs']}
    if len(shapes) != 1:
        raise ValueError(f'clip {results.get("clip_id")}: frames have different sizes {sorted(shapes)}')
    return shapes.pop()


def _frame_flag(results: Dict, name: str) -> List[bool]:
    return list(results.get('frame_flags', {}).get(name, [False] * len(results['imgs'])))


def _image_fn(fn: Callable) -> Callable:
    """``fn`` for images: a single channel that OpenCV drops (``[H, W, 1]`` -> ``[H, W]``) is put back."""

    def wrapped(img: np.ndarray, t: int) -> np.ndarray:
        out = fn(img, t)
        return out[..., None] if img.ndim == 3 and out.ndim == 2 else out

    return wrapped


def _map_clip(results: Dict,
              img_fn: Callable,
              seg_fn: Optional[Callable] = None,
              aux_fns: Optional[Mapping[str, Callable]] = None,
              owner: str = 'clip transform') -> None:
    """Apply ``img_fn(img, t)`` to every frame, ``seg_fn(seg, t)`` (default ``img_fn``) to every label map and
    ``aux_fns[key](image, t)`` (default ``img_fn``) to every auxiliary image of key ``key``."""
    keys = aux_image_keys(results, owner)
    img_fn = _image_fn(img_fn)
    results['imgs'] = [img_fn(img, t) for t, img in enumerate(results['imgs'])]
    if results.get('gt_seg_maps') is not None:
        fn = seg_fn or img_fn
        results['gt_seg_maps'] = [fn(seg, t) for t, seg in enumerate(results['gt_seg_maps'])]
    for key in keys:
        fn = _image_fn(aux_fns[key]) if aux_fns and key in aux_fns else img_fn
        results[key] = [fn(image, t) for t, image in enumerate(results[key])]


def _resize_clip(results: Dict, size_wh: Tuple[int, int], interpolation: str,
                 aux_interpolation: Mapping[str, str], owner: str, backend: str = 'cv2') -> None:
    h, w = _clip_shape(results)
    new_w, new_h = size_wh
    if (new_w, new_h) != (w, h):

        def resizer(mode):
            return lambda img, t: mmcv.imresize(img, (new_w, new_h), interpolation=mode, backend=backend)

        _map_clip(results, resizer(interpolation), resizer('nearest'),
                  {key: resizer(mode) for key, mode in aux_interpolation.items()}, owner)
    results['img_shape'] = (new_h, new_w)
    results['scale'] = (new_w, new_h)
    results['scale_factor'] = (new_w / w, new_h / h)


def _crop_clip(results: Dict, windows: Sequence[Window], owner: str) -> None:
    """Crop frame t (its label map and auxiliary images) to ``windows[t]``."""

    def crop(img, t):
        y1, y2, x1, x2 = windows[t]
        return img[y1:y2, x1:x2, ...]

    _map_clip(results, crop, owner=owner)
    y1, y2, x1, x2 = windows[0]
    results['img_shape'] = (y2 - y1, x2 - x1)


@TRANSFORMS.register_module()
class ClipResize(ClipTransformBroadcaster):
    """mmcv's ``Resize`` on every frame, label map (nearest) and auxiliary image of a clip, plus the two clip
    rules ``Resize`` lacks: a per-key interpolation for auxiliary images and ``update_ori_shape``.

    Without those two, ``dict(type='ClipTransformBroadcaster', transforms=[dict(type='Resize', ...)])`` gives
    the same clip.

    Args:
        scale: target ``(w, h)`` (or an int for a square), as mmcv's ``Resize``. With ``keep_ratio`` it bounds
            the result as in ``mmcv.imrescale``: the long edge at most ``max(scale)``, the short edge at most
            ``min(scale)`` (``scale=(4096, 224)`` = short side 224).
        keep_ratio: keep the aspect ratio.
        interpolation: frame interpolation (mmcv name); auxiliary images use it too unless ``aux_interpolation``
            names their key.
        aux_interpolation: ``{key: interpolation}`` for auxiliary images, e.g. ``dict(maskige='nearest')`` to
            keep a Maskige's colours exact (COMBO resizes Maskiges bilinearly, as images).
        update_ori_shape: also set ``ori_shape`` to the new size, so predictions are scored at this size (the
            AVSBench protocol evaluates at 224x224 against nearest-resized masks); otherwise they are resized
            back to the loaded size.
        backend: ``'cv2'`` (default) or ``'pillow'``. Pillow's bilinear filter is antialiased when it shrinks
            (OpenCV's is not): the official AVSS frames were made with PIL (COMBO's offline preprocessing).
    """

    def __init__(self,
                 scale: Union[int, Sequence[int]],
                 keep_ratio: bool = False,
                 interpolation: str = 'bilinear',
                 aux_interpolation: Optional[Mapping[str, str]] = None,
                 update_ori_shape: bool = False,
                 backend: str = 'cv2'):
        self.scale = _pair(scale, 'ClipResize.scale')
        self.keep_ratio = keep_ratio
        self.backend = backend
        self.interpolation = interpolation
        self.aux_interpolation = dict(aux_interpolation or {})
        self.update_ori_shape = update_ori_shape
        super().__init__(transforms=[self._resize(interpolation)])
        # deterministic, so running outside the random-parameter cache is fine
        self._aux_pipelines = {key: Compose([self._resize(mode)]) for key, mode in self.aux_interpolation.items()}

    def _resize(self, interpolation: str) -> Resize:
        return Resize(scale=self.scale, keep_ratio=self.keep_ratio, interpolation=interpolation, backend=self.backend)

    def aux_pipeline(self, key: str) -> Compose:
        return self._aux_pipelines.get(key, self.transforms)

    def transform(self, results: Dict) -> Dict:
        results = super().transform(results)
        if self.update_ori_shape:
            results['ori_shape'] = results['img_shape']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation!r}, aux_interpolation={self.aux_interpolation}, '
                f'update_ori_shape={self.update_ori_shape}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class ClipRandomResize(BaseTransform):
    """Resize a clip so its shortest edge is a random choice, capping the long edge (detectron2's
    ``ResizeShortestEdge``, COMBO's multi-scale recipe). One draw per clip.

    The new size is ``s / min(h, w)`` times the old, then scaled down so the long edge is at most
    ``max_long_edge``, each side rounded to the nearest integer. Kept instead of mmcv's ``RandomChoiceResize``
    with ``Resize(keep_ratio=True)``: that one computes ``min(cap / long, s / short)`` in one factor, which can
    round a side differently where the cap binds, and it has no integer short-edge range. One draw per frame is
    not offered: the frames of a clip must keep one size.

    Args:
        short_edge_lengths: candidate short-edge lengths (default: COMBO's 112..448, :data:`COMBO_SHORT_EDGES`).
            With ``sample_style='range'`` a ``(min, max)`` pair sampled uniformly (integers, inclusive).
        max_long_edge: cap on the long edge (COMBO: 896), or None.
        sample_style: ``'choice'`` or ``'range'``.
        interpolation, aux_interpolation, backend: as in :class:`ClipResize`.
    """

    def __init__(self,
                 short_edge_lengths: Sequence[int] = COMBO_SHORT_EDGES,
                 max_long_edge: Optional[int] = 896,
                 sample_style: str = 'choice',
                 interpolation: str = 'bilinear',
                 aux_interpolation: Optional[Mapping[str, str]] = None,
                 backend: str = 'cv2'):
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
        self.aux_interpolation = dict(aux_interpolation or {})
        self.backend = backend

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
                     self.aux_interpolation, 'ClipRandomResize', self.backend)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(short_edge_lengths={self.short_edge_lengths}, '
                f'max_long_edge={self.max_long_edge}, sample_style={self.sample_style!r}, '
                f'aux_interpolation={self.aux_interpolation}, backend={self.backend!r})')


@TRANSFORMS.register_module()
class ClipRandomCrop(BaseTransform):
    """Crop a random window from every frame, label map and auxiliary image of a clip.

    With ``cat_max_ratio < 1`` up to 10 windows are tried until no single class covers more than that fraction
    of the labelled pixels of the reference mask (detectron2's ``RandomCrop_CategoryAreaConstraint``; mmseg's
    ``RandomCrop``). The clip rule mmseg's ``RandomCrop`` lacks: the reference is the clip's first *labelled*
    frame (COMBO applies the constraint on frame 0, its labelled one), not whichever frame comes first; a clip
    without a labelled frame is cropped unconstrained. With ``cat_max_ratio = 1`` mmseg's ``RandomCrop``
    through :class:`ClipTransformBroadcaster` draws the same window. A side shorter than the crop is kept whole
    (pad afterwards with :class:`ClipPad`).

    Args:
        crop_size: ``(h, w)`` or an int.
        cat_max_ratio: the largest share one class may cover in the crop (1.0 = no constraint).
        ignore_index: label excluded from the class shares.
        per_frame: draw a window per frame (each constrained by its own mask when labelled) instead of one per
            clip. Every frame keeps its auxiliary images aligned and all windows have one size.
    """

    def __init__(self,
                 crop_size: Union[int, Sequence[int]],
                 cat_max_ratio: float = 1.0,
                 ignore_index: int = 255,
                 per_frame: bool = False):
        self.crop_size = _pair(crop_size, 'ClipRandomCrop.crop_size')
        if not 0 < cat_max_ratio <= 1:
            raise ValueError(f'ClipRandomCrop: cat_max_ratio must be in (0, 1], got {cat_max_ratio}')
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index
        self.per_frame = per_frame

    def _random_window(self, h: int, w: int) -> Window:
        ch, cw = self.crop_size
        y1 = np.random.randint(0, max(h - ch, 0) + 1)
        x1 = np.random.randint(0, max(w - cw, 0) + 1)
        return y1, y1 + min(ch, h), x1, x1 + min(cw, w)

    def _is_labelled(self, results: Dict, t: int) -> bool:
        labelled = results.get('frame_flags', {}).get('is_labeled')
        if labelled is not None:
            return bool(labelled[t])
        return bool((results['gt_seg_maps'][t] != self.ignore_index).any())

    def _reference(self, results: Dict, frames: Sequence[int]) -> Optional[np.ndarray]:
        """The first labelled label map among ``frames`` (None without a constraint or a labelled frame)."""
        if self.cat_max_ratio >= 1.0 or results.get('gt_seg_maps') is None:
            return None
        for t in frames:
            if self._is_labelled(results, t):
                return results['gt_seg_maps'][t]
        return None

    def _draw(self, h: int, w: int, ref: Optional[np.ndarray]) -> Window:
        window = self._random_window(h, w)
        if ref is not None:
            for _ in range(10):
                y1, y2, x1, x2 = window
                labels, counts = np.unique(ref[y1:y2, x1:x2], return_counts=True)
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                window = self._random_window(h, w)
        return window

    def transform(self, results: Dict) -> Dict:
        h, w = _clip_shape(results)
        num_frames = len(results['imgs'])
        if self.per_frame:
            windows = [self._draw(h, w, self._reference(results, [t])) for t in range(num_frames)]
        else:
            windows = [self._draw(h, w, self._reference(results, range(num_frames)))] * num_frames
        _crop_clip(results, windows, 'ClipRandomCrop')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, cat_max_ratio={self.cat_max_ratio}, '
                f'ignore_index={self.ignore_index}, per_frame={self.per_frame})')


@TRANSFORMS.register_module()
class ClipPhotoMetricDistortion(BaseTransform):
    """SSD-style colour jitter of the real frames of a clip, drawn once per clip or once per frame.

    The operations and ranges are those of mmseg's ``PhotoMetricDistortion`` and detectron2's
    ``ColorAugSSDTransform`` (COMBO): brightness, contrast (before or after the HSV steps), saturation and
    hue, each applied with probability 0.5. Frames are RGB and come out ``uint8``. Kept instead of mmseg's
    transform, which differs in four ways: it draws inline, so through :class:`ClipTransformBroadcaster` every
    frame gets its own draw even with ``share_random_params=True``; it reads frames as BGR (the hue turns the
    other way on RGB frames); it converts to HSV and back once per HSV step (saturation and hue), rounding
    twice; and it would jitter padded frames, which must stay zeros.

    Auxiliary images are not jittered unless their key is listed in ``aux_image_keys`` (a Maskige's colours are
    mask identities, not appearance; COMBO's mapper does jitter its Maskiges, each with its own draw: list
    ``'maskige'`` with ``per_frame=True`` to reproduce that). Listed images must be RGB ``uint8``.

    Args:
        brightness_delta: brightness shift range ``[-d, d]``.
        contrast_range: contrast factor range.
        saturation_range: saturation factor range.
        hue_delta: hue shift range in OpenCV hue units (0..179).
        per_frame: one draw per real frame, and a separate one for each of its listed auxiliary images, instead
            of one draw for the whole clip (frames and listed auxiliary images alike).
        aux_image_keys: auxiliary image keys to jitter as well (default none).
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18,
                 per_frame: bool = False,
                 aux_image_keys: Sequence[str] = ()):
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta
        self.per_frame = per_frame
        self.aux_image_keys = tuple(aux_image_keys)

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
        """Apply drawn ``params`` to one RGB image ``[H, W, 3]``."""
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

    def _listed_keys(self, results: Dict) -> List[str]:
        declared = aux_image_keys(results, 'ClipPhotoMetricDistortion')
        for key in self.aux_image_keys:
            if key not in declared:
                raise KeyError(f'ClipPhotoMetricDistortion: clip {results.get("clip_id")} declares no auxiliary '
                               f'image key {key!r} (declared: {declared})')
            bad = [img.shape for img in results[key] if img.ndim != 3 or img.shape[2] != 3]
            if bad:
                raise ValueError(f'ClipPhotoMetricDistortion: auxiliary images {key!r} of clip '
                                 f'{results.get("clip_id")} are not RGB (shapes {bad[:3]}); colour jitter needs 3 '
                                 'channels')
        return list(self.aux_image_keys)

    def transform(self, results: Dict) -> Dict:
        keys = self._listed_keys(results)
        padded = _frame_flag(results, 'is_padded')
        num_frames = len(results['imgs'])
        if self.per_frame:
            # frame t's draw, then one per listed auxiliary key, in that order (padded frames draw nothing)
            draws = [None if padded[t] else [self.draw_params() for _ in range(1 + len(keys))]
                     for t in range(num_frames)]
        else:
            params = self.draw_params()
            draws = [None if padded[t] else [params] * (1 + len(keys)) for t in range(num_frames)]
        results['imgs'] = [img.astype(np.uint8) if draws[t] is None else self.apply(img, draws[t][0])
                           for t, img in enumerate(results['imgs'])]
        for k, key in enumerate(keys, start=1):
            results[key] = [img if draws[t] is None else self.apply(img, draws[t][k])
                            for t, img in enumerate(results[key])]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_delta={self.brightness_delta}, contrast_range='
                f'({self.contrast_lower}, {self.contrast_upper}), saturation_range=({self.saturation_lower}, '
                f'{self.saturation_upper}), hue_delta={self.hue_delta}, per_frame={self.per_frame}, '
                f'aux_image_keys={self.aux_image_keys})')


@TRANSFORMS.register_module()
class ClipPad(BaseTransform):
    """Pad every frame, label map and auxiliary image of a clip at the bottom/right to a fixed size or a size
    multiple.

    A training transform (COMBO pads its 224 crops, images with 128 and labels with 255): mmseg's
    ``postprocess_result`` only removes the padding the data preprocessor adds, so test pipelines should resize
    to the network size instead of padding. Kept instead of mmcv's ``Pad`` (same pixels otherwise), which leaves
    an image larger than ``size`` as it is without a word, takes ``size`` as ``(w, h)`` and has no padding value
    per auxiliary key.

    Args:
        size: ``(h, w)`` (or int) to pad to; the clip must not be larger.
        size_divisor: pad each side up to a multiple of this instead.
        pad_val: frame padding value (0; COMBO: 128).
        seg_pad_val: label padding value (ignore index).
        aux_pad_val: ``{key: value}`` for auxiliary images; a key not listed is padded with ``pad_val`` (as
            COMBO pads Maskiges like images).
    """

    def __init__(self,
                 size: Optional[Union[int, Sequence[int]]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Union[int, float] = 0,
                 seg_pad_val: int = 255,
                 aux_pad_val: Optional[Mapping[str, Union[int, float]]] = None):
        if (size is None) == (size_divisor is None):
            raise ValueError('ClipPad: give exactly one of size and size_divisor')
        self.size = None if size is None else _pair(size, 'ClipPad.size')
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.aux_pad_val = dict(aux_pad_val or {})

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

            def padder(value):

                def pad(arr, t):
                    # cv2 reads a scalar border value as (v, 0, 0, 0): give every channel the value
                    fill = (value, ) * arr.shape[2] if arr.ndim == 3 and isinstance(value, (int, float)) else value
                    return mmcv.impad(arr, shape=(out_h, out_w), pad_val=fill)

                return pad

            _map_clip(results, padder(self.pad_val), padder(self.seg_pad_val),
                      {key: padder(value) for key, value in self.aux_pad_val.items()}, 'ClipPad')
        results['img_shape'] = (out_h, out_w)
        results['pad_shape'] = (out_h, out_w)
        results['pad_fixed_size'] = self.size
        results['pad_size_divisor'] = self.size_divisor
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, size_divisor={self.size_divisor}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val}, aux_pad_val={self.aux_pad_val})')


@TRANSFORMS.register_module()
class ClipSelectLabelledFrames(BaseTransform):
    """Keep only the labelled frames of a training clip (``frame_flags['is_labeled']``).

    In S4 training only frame 1 of 5 carries a mask, so a model without temporal terms in its loss spends 4/5 of
    its compute on frames that get no supervision. This transform trades TPAVI's temporal context during
    training for a 5x cheaper step; the official recipes (and the quickstart) keep all frames.
    Place it after the loaders; it slices every per-frame key (``imgs``, ``gt_seg_maps``, ``img_paths``,
    ``seg_map_paths``, each auxiliary image key and its ``{key}_paths``, ``audio`` ``[T, ...]`` and the
    ``frame_flags`` lists) and sets ``num_frames``.
    """

    def transform(self, results: Dict) -> Dict:
        flags = results.get('frame_flags')
        if flags is None or 'is_labeled' not in flags:
            raise KeyError(f'ClipSelectLabelledFrames: clip {results.get("clip_id")} has no frame_flags.is_labeled')
        keep = [t for t, labelled in enumerate(flags['is_labeled']) if labelled]
        if not keep:
            raise ValueError(f'ClipSelectLabelledFrames: clip {results.get("clip_id")} has no labelled frame')
        num_frames = len(flags['is_labeled'])
        aux = list(results.get('aux_image_keys', ()))
        for key in (*PER_FRAME_KEYS, *aux, *(f'{k}_paths' for k in aux)):
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
