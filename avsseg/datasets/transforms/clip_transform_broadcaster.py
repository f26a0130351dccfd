"""Stock single-image transforms (mmcv, mmseg, mmdet) over a whole clip, through mmcv's ``TransformBroadcaster``."""
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import Compose, TransformBroadcaster
from mmcv.transforms.utils import cache_random_params

from avsseg.registry import TRANSFORMS
from .aux_images import AUX_IMAGE_KEYS, aux_image_keys

# Per-frame results keys: an item carries the frame's own entry instead (or nothing).
PER_FRAME_KEYS = ('imgs', 'gt_seg_maps', 'img_paths', 'seg_map_paths', 'silent_labels')
# Item keys that hold image data rather than metadata.
_ITEM_DATA_KEYS = ('img', 'gt_seg_map', 'seg_fields')
_MISSING = object()


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    try:
        return bool(a == b)
    except Exception:  # values that do not compare (e.g. tuples of arrays) count as different
        return False


@TRANSFORMS.register_module()
class ClipTransformBroadcaster(TransformBroadcaster):
    """Apply stock single-image transforms to every frame, label map and auxiliary image of a clip.

    mmcv's ``TransformBroadcaster`` (as in mmdet's ``youtube_vis.py``) runs a list of transforms on each item of a
    sequence; here the items of a clip are its T frames (``img``, with the frame's label map as ``gt_seg_map``,
    listed in ``seg_fields`` for mmseg's transforms) and, for every declared auxiliary image key (see
    :mod:`avsseg.datasets.transforms.aux_images`), its T images as ``img`` without a label map. Clip-level
    metadata (``img_shape``, ``ori_shape``, ...) is copied into every item; per-frame lists are not.

    Random draws: with ``share_random_params=True`` mmcv's ``cache_random_params`` makes every draw of the
    wrapped transforms once per clip (the first frame's item draws, every other item reuses it); with ``False``
    once per frame, shared by frame t, its label map and its auxiliary images, so they stay aligned. Only draws
    made in methods decorated with ``@cache_randomness`` are shared: mmseg's ``PhotoMetricDistortion`` draws
    inline and would jitter every frame differently even with ``share_random_params=True`` (use
    :class:`ClipPhotoMetricDistortion`). Colour transforms here also touch padded (all-zero) frames.

    Metadata the transforms write (``img_shape``, ``scale_factor``, ``flip``, ``flip_direction``, ...) is taken
    from the frames' items: one value when all frames agree, otherwise a list of T (:class:`PackAVSInputs` gives
    frame t its entry). An auxiliary image whose single channel a transform drops (OpenCV returns ``[H, W]`` for
    ``[H, W, 1]``) gets it back.

    Args:
        transforms: transforms (configs or callables) that each read and write one ``img`` (and ``gt_seg_map``),
            as for mmcv's ``TransformBroadcaster``; e.g. ``[dict(type='RandomFlip', prob=0.5)]``.
        share_random_params: one random draw per clip (True) or per frame (False).
        aux_image_keys: auxiliary image keys to transform: ``None`` for every declared key (geometric transforms
            must move them all with their frames), or a list of keys (e.g. ``()`` to keep them out of a colour
            transform). A listed key the clip does not declare is an error.
    """

    def __init__(self,
                 transforms: List[Union[Dict, Callable[[Dict], Dict]]],
                 share_random_params: bool = True,
                 aux_image_keys: Optional[Sequence[str]] = None):
        super().__init__(transforms=transforms, share_random_params=share_random_params)
        self.aux_image_keys = None if aux_image_keys is None else tuple(aux_image_keys)

    def aux_pipeline(self, key: str) -> Compose:
        """Transforms applied to the images of auxiliary key ``key`` (all wrapped transforms by default).

        A subclass may return other transforms for a key (e.g. another interpolation); they run outside the
        random-parameter cache, so they must not draw at random.
        """
        return self.transforms

    def _selected_aux_keys(self, results: Dict) -> List[str]:
        declared = aux_image_keys(results, type(self).__name__)
        if self.aux_image_keys is None:
            return declared
        unknown = [k for k in self.aux_image_keys if k not in declared]
        if unknown:
            raise KeyError(f'{type(self).__name__}: clip {results.get("clip_id")} declares no auxiliary image '
                           f'key {unknown} (declared: {declared})')
        return list(self.aux_image_keys)

    @staticmethod
    def _run(pipeline: Compose, item: Dict) -> Dict:
        ndim = item['img'].ndim  # the transforms may write the result into ``item`` itself
        out = pipeline(item)
        if out is None:
            raise ValueError('ClipTransformBroadcaster: a wrapped transform returned None; transforms that drop a '
                             'sample cannot be applied to one frame of a clip')
        if ndim == 3 and out['img'].ndim == 2:
            out['img'] = out['img'][..., None]
        return out

    def transform(self, results: Dict) -> Dict:
        num_frames = len(results['imgs'])
        keys = self._selected_aux_keys(results)
        skip = set(PER_FRAME_KEYS) | set(results.get(AUX_IMAGE_KEYS, ()))
        meta = {k: v for k, v in results.items() if k not in skip}
        segs = results.get('gt_seg_maps')

        frame_outs, aux_outs = [], {key: [] for key in keys}

        def run_frame(t: int) -> None:
            item = dict(meta, img=results['imgs'][t], seg_fields=[])
            if segs is not None:
                item.update(gt_seg_map=segs[t], seg_fields=['gt_seg_map'])
            frame_outs.append(self._run(self.transforms, item))
            for key in keys:
                aux_outs[key].append(self._run(self.aux_pipeline(key), dict(meta, img=results[key][t],
                                                                            seg_fields=[])))

        if self.share_random_params:
            with cache_random_params(self.transforms):
                for t in range(num_frames):
                    run_frame(t)
        else:
            for t in range(num_frames):
                with cache_random_params(self.transforms):
                    run_frame(t)

        results['imgs'] = [out['img'] for out in frame_outs]
        if segs is not None:
            results['gt_seg_maps'] = [out['gt_seg_map'] for out in frame_outs]
        for key in keys:
            results[key] = [out['img'] for out in aux_outs[key]]
        written = {k for out in frame_outs for k in out} - set(_ITEM_DATA_KEYS)
        for name in written:
            values = [out.get(name) for out in frame_outs]
            if all(v is meta.get(name, _MISSING) for v in values):
                continue  # passed through untouched
            results[name] = values[0] if all(_same(v, values[0]) for v in values[1:]) else values
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms}, '
                f'share_random_params={self.share_random_params}, aux_image_keys={self.aux_image_keys})')
