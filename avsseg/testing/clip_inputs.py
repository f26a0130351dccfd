"""Demo clips for model tests, made by the real packer, collate function and data preprocessor (as mmdet's
``demo_mm_inputs``), so their metainfo is what a model sees in training and testing."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch.nn as nn

from avsseg.datasets.transforms import PackAVSInputs, avs_collate, declare_aux_image_key
from avsseg.models.data_preprocessor import AVSDataPreprocessor
from avsseg.registry import MODELS

IGNORE_INDEX = 255
#: Padding divisor of the default data preprocessor of :func:`demo_clip_inputs`.
DEMO_SIZE_DIVISOR = 32

FrameFlags = Optional[Sequence[Union[bool, Sequence[bool]]]]


def _clip_flags(value: FrameFlags, name: str, num_clips: int, num_frames: int) -> List[List[bool]]:
    """Per-clip lists of T flags from ``None`` (all False), T flags (every clip alike) or ``num_clips`` lists of T
    flags."""
    if value is None:
        return [[False] * num_frames for _ in range(num_clips)]
    value = list(value)
    nested = [isinstance(v, (list, tuple, np.ndarray)) for v in value]
    if value and all(nested):
        if len(value) == num_clips and all(len(v) == num_frames for v in value):
            return [[bool(x) for x in v] for v in value]
    elif not any(nested) and len(value) == num_frames:
        return [[bool(x) for x in value] for _ in range(num_clips)]
    raise ValueError(f'demo_clip_batch: {name} must hold {num_frames} flags (one per frame, the same for every '
                     f'clip) or {num_clips} lists of {num_frames} (one per clip), got {value!r}')


def _check_flags(labeled: List[List[bool]], padded: List[List[bool]]) -> None:
    """Padded frames as the datasets make them: at the end of a clip, never labelled, not the whole clip."""
    for b, (lab, pad) in enumerate(zip(labeled, padded)):
        num_real = len(pad) - sum(pad)
        if num_real < 1 or any(pad[:num_real]):
            raise ValueError(f'demo_clip_batch: clip {b} must have at least one real frame and its padded frames at '
                             f'the end, got padded={pad}')
        if any(lab[t] for t in range(num_real, len(pad))):
            raise ValueError(f'demo_clip_batch: clip {b} has labelled padded frames (labeled={lab}, padded={pad}); '
                             'a padded frame has no label')


def demo_clip_batch(num_clips: int = 2,
                    num_frames: int = 3,
                    size: Union[int, Tuple[int, int]] = 32,
                    num_classes: int = 2,
                    aux_image_keys: Sequence[str] = (),
                    labeled: FrameFlags = None,
                    padded: FrameFlags = None,
                    audio_shape: Tuple[int, ...] = (1, 96, 64),
                    ignore_rows: int = 0,
                    seed: int = 0) -> Dict:
    """A batch of random clips as the data loader yields it: ``avs_collate`` of ``PackAVSInputs`` outputs.

    Each clip is what the loaders leave for the packer: uint8 RGB frames, a random class map per labelled frame,
    float32 log-mel audio and one uint8 3-channel image per frame for each auxiliary key. Unlabelled frames have an
    all-``ignore_index`` (255) map; padded frames (the AVSS padding) have zero frames, audio and auxiliary images.

    Args:
        num_clips: B.
        num_frames: T, frames per clip.
        size: frame size, ``H`` (square) or ``(H, W)``.
        num_classes: ground-truth classes are drawn from ``0..num_classes-1`` (2: background / object).
        aux_image_keys: auxiliary image keys, declared as their loaders declare them (e.g. ``('maskige', )``).
        labeled: ``is_labeled`` flags: T flags (every clip alike) or B lists of T; default every real frame.
        padded: ``is_padded`` flags in the same form; default none. Padded frames must end a clip and be
            unlabelled.
        audio_shape: shape of one frame's audio (VGGish log-mel ``(1, 96, 64)``).
        ignore_rows: the first rows of every labelled map are ``ignore_index`` (a band of unlabelled pixels).
        seed: everything random is drawn from ``numpy.random.default_rng(seed)``.

    Returns:
        ``dict(inputs=dict(frames=list of B uint8 [T, 3, H, W], audio=list of B float32 [T, *audio_shape],
        **{key: list of B uint8 [T, 3, H, W]}), data_samples=list of B*T SegDataSample)``, clip-major. Each sample
        holds ``gt_sem_seg`` ``[1, H, W]`` and the packer's metainfo (``clip_id`` ``'demo_clip_<b>'``,
        ``num_frames``, ``frame_idx``, ``is_labeled``, ``is_padded``, ``img_shape``, ``ori_shape``, ``pad_shape``).
    """
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if not 1 <= num_classes <= IGNORE_INDEX:
        raise ValueError(f'demo_clip_batch: num_classes must be in 1..{IGNORE_INDEX}, got {num_classes}')
    padded = _clip_flags(padded, 'padded', num_clips, num_frames)
    if labeled is None:  # every real frame
        labeled = [[not pad for pad in pads] for pads in padded]
    labeled = _clip_flags(labeled, 'labeled', num_clips, num_frames)
    _check_flags(labeled, padded)
    rng = np.random.default_rng(seed)
    pack = PackAVSInputs()
    clips = []
    for b in range(num_clips):
        frames = rng.integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)
        audio = rng.standard_normal((num_frames, *audio_shape)).astype(np.float32)
        gts = rng.integers(0, num_classes, (num_frames, height, width))
        aux = {key: rng.integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8) for key in aux_image_keys}
        for t in range(num_frames):
            if padded[b][t]:
                frames[t] = 0
                audio[t] = 0
                for images in aux.values():
                    images[t] = 0
            if not labeled[b][t]:
                gts[t] = IGNORE_INDEX
        gts[:, :ignore_rows] = IGNORE_INDEX
        results = dict(clip_id=f'demo_clip_{b}', imgs=list(frames), audio=audio, gt_seg_maps=list(gts),
                       frame_flags=dict(is_labeled=labeled[b], is_padded=padded[b]))
        for key, images in aux.items():
            results[key] = list(images)
            declare_aux_image_key(results, key, 'demo_clip_batch')
        clips.append(pack.transform(results))
    return avs_collate(clips)


def demo_clip_inputs(data_preprocessor: Union[None, dict, nn.Module] = None,
                     training: bool = False,
                     **clip_args) -> Dict:
    """Random clips as the model receives them: :func:`demo_clip_batch` through a data preprocessor.

    Args:
        data_preprocessor: the preprocessor to run (a model's ``data_preprocessor``, or a config built from
            avsseg's ``MODELS``); default ``AVSDataPreprocessor(size_divisor=32, aux_image_keys=...)`` with the
            batch's auxiliary keys and ImageNet mean/std.
        training: passed to the preprocessor (it may pad differently at test time).
        **clip_args: arguments of :func:`demo_clip_batch` (``num_clips``, ``num_frames``, ``size``,
            ``num_classes``, ``aux_image_keys``, ``labeled``, ``padded``, ``audio_shape``, ``ignore_rows``,
            ``seed``).

    Returns:
        ``dict(inputs=dict(frames=float [B*T, 3, H', W'], audio=float [B*T, *audio_shape], **{key: float
        [B*T, 3, H', W']}), data_samples=list of B*T SegDataSample)`` (row ``b*T + t`` is frame t of clip b),
        ready for ``model(**data, mode=...)``. ``H', W'`` is the padded size; the samples' ground truth is padded
        with the preprocessor's ``seg_pad_val`` and their metainfo has ``batch_input_shape`` and ``padding_size``
        on top of the packer's.
    """
    batch = demo_clip_batch(**clip_args)
    if data_preprocessor is None:
        data_preprocessor = AVSDataPreprocessor(size_divisor=DEMO_SIZE_DIVISOR,
                                                aux_image_keys=tuple(clip_args.get('aux_image_keys', ())))
    elif isinstance(data_preprocessor, dict):
        data_preprocessor = MODELS.build(data_preprocessor)
    return data_preprocessor(batch, training=training)
