"""Auxiliary per-frame images of a clip (COMBO's Maskige today; priors, depth or flow maps later).

A loader of auxiliary images writes ``results[key]`` (a list of T ``[H, W, C]`` arrays, the frames' size) and
declares the key with :func:`declare_aux_image_key`, which appends it to ``results['aux_image_keys']``. Clip
transforms move every declared image with its frame, :class:`PackAVSInputs` packs each as ``inputs[key]``
``[T, C, H, W]``, and ``AVSDataPreprocessor(aux_image_keys=...)`` normalises and pads them like the frames.
No transform knows a key by name; per-key rules (interpolation, padding value, colour jitter) are arguments of the
transforms that need them.
"""
from typing import Dict, List

#: ``results`` field listing the declared auxiliary image keys, in loading order.
AUX_IMAGE_KEYS = 'aux_image_keys'
# Keys the clip pipeline and the packed inputs already use for something else.
RESERVED_KEYS = frozenset({'imgs', 'img', 'frames', 'audio', 'gt_seg_maps', 'gt_seg_map', 'img_paths',
                           'seg_map_paths', 'frame_flags', AUX_IMAGE_KEYS})


def declare_aux_image_key(results: Dict, key: str, owner: str) -> None:
    """Declare ``results[key]`` an auxiliary per-frame image list (idempotent).

    Args:
        results: the clip's results dict.
        key: the auxiliary image key (also the packed input key).
        owner: name of the declaring transform, for error messages.
    """
    if not isinstance(key, str) or not key.isidentifier() or key in RESERVED_KEYS:
        raise ValueError(f'{owner}: auxiliary image key must be an identifier not among {sorted(RESERVED_KEYS)}, '
                         f'got {key!r}')
    keys = results.setdefault(AUX_IMAGE_KEYS, [])
    if key not in keys:
        keys.append(key)


def aux_image_keys(results: Dict, owner: str) -> List[str]:
    """The declared auxiliary image keys of a clip, each checked to hold one image per frame.

    Args:
        results: the clip's results dict (``imgs`` gives the frame count).
        owner: name of the calling transform, for error messages.

    Returns:
        The keys in declaration order (empty when the clip has none).
    """
    keys = list(results.get(AUX_IMAGE_KEYS, ()))
    num_frames = len(results['imgs'])
    for key in keys:
        images = results.get(key)
        if not isinstance(images, (list, tuple)) or len(images) != num_frames:
            found = 'nothing' if images is None else (f'{len(images)} entries' if isinstance(images, (list, tuple))
                                                      else type(images).__name__)
            raise ValueError(f'{owner}: clip {results.get("clip_id")} declares the auxiliary image key {key!r} '
                             f'but results[{key!r}] holds {found} for {num_frames} frames')
    return keys
