"""Helpers of the score kernels."""
from typing import Optional, Tuple

from torch import Tensor


def select_valid(valid: Optional[Tensor], *maps: Tensor) -> Tuple[Tensor, ...]:
    """The pixels of ``maps`` where ``valid`` is True, each flattened to ``[P]``.

    Args:
        valid: bool mask of the maps' shape, or None for every pixel.
        *maps: per-pixel tensors of one shape (a prediction, a ground truth, ...).

    Returns:
        One ``[P]`` tensor per map, in order.
    """
    shapes = [tuple(m.shape) for m in maps] + ([] if valid is None else [tuple(valid.shape)])
    if len(set(shapes)) != 1:
        raise ValueError(f'the maps (and the valid mask) must have one shape, got {shapes}')
    if valid is None:
        return tuple(m.reshape(-1) for m in maps)
    return tuple(m[valid] for m in maps)
