"""Clip structure read from per-frame metainfo (``num_frames``, ``is_labeled``, ``is_padded``, input shapes).

Every helper takes a list of metainfo dicts or of data samples (anything with ``.metainfo``), one per frame,
clip-major, as :class:`~avsseg.datasets.transforms.PackAVSInputs` writes them.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor


def metas_of(samples_or_metas: Sequence) -> List[dict]:
    """``[SegDataSample or dict] * N -> [dict] * N`` (the metainfo of each frame)."""
    return [s if isinstance(s, dict) else s.metainfo for s in samples_or_metas]


def clip_length(samples_or_metas: Sequence) -> int:
    """The clip length ``T`` shared by a batch; an error when frames disagree or carry none."""
    metas = metas_of(samples_or_metas)
    if not metas:
        raise ValueError('data samples are needed to know the clip length')
    lengths = {m.get('num_frames') for m in metas}
    if None in lengths:
        raise ValueError('every frame needs num_frames in its metainfo (written by PackAVSInputs)')
    if len(lengths) != 1:
        raise ValueError(f'clips of one batch must have one length, got {sorted(lengths)}')
    length = lengths.pop()
    if len(metas) % length:
        raise ValueError(f'{len(metas)} frames in the batch is not a multiple of num_frames={length}')
    return length


def frame_flags(samples_or_metas: Sequence, key: str, device=None) -> Tensor:
    """Per-frame boolean flag ``[N]`` (``is_labeled`` / ``is_padded``; absent means False)."""
    return torch.tensor([bool(m.get(key, False)) for m in metas_of(samples_or_metas)], device=device)


def labeled_index(samples_or_metas: Sequence, device=None) -> Tensor:
    """Indices ``[L]`` of the frames that carry supervision (``is_labeled``); an error when there are none."""
    index = frame_flags(samples_or_metas, 'is_labeled', device).nonzero(as_tuple=True)[0]
    if index.numel() == 0:
        raise ValueError('no frame of the batch is labelled (is_labeled is False everywhere); the supervised '
                         'losses need at least one labelled frame')
    return index


def real_frame_mask(samples_or_metas: Sequence, device=None, dtype=torch.float32) -> Optional[Tensor]:
    """``[N]`` 1 for real and 0 for padded frames, or None when the batch has no padded frame."""
    padded = frame_flags(samples_or_metas, 'is_padded', device)
    if not padded.any():
        return None
    return (~padded).to(dtype)


def padded_input_size(samples_or_metas: Sequence) -> Tuple[int, int]:
    """``(H, W)`` of the batch input after padding (``batch_input_shape``, else ``pad_shape``, else ``img_shape``).

    mmseg's ``predict_by_feat`` prefers ``img_shape`` when it is a ``torch.Size`` (as ``stack_batch`` stores it),
    which is the unpadded size; predictions must be at the padded size because ``postprocess_result`` crops the
    padding itself.
    """
    meta = metas_of(samples_or_metas)[0]
    for key in ('batch_input_shape', 'pad_shape', 'img_shape'):
        if meta.get(key) is not None:
            return tuple(int(s) for s in tuple(meta[key])[:2])
    raise ValueError('metainfo has none of batch_input_shape / pad_shape / img_shape')
