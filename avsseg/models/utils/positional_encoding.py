"""Fixed 1-D sine positional encoding of token sequences (ReferFormer's ``PositionEmbeddingSine1D``)."""
import math

import torch
from torch import Tensor


def sine_positional_encoding_1d(padding_mask: Tensor,
                                channels: int,
                                temperature: float = 10000.0,
                                normalize: bool = True,
                                scale: float = 2 * math.pi,
                                eps: float = 1e-6) -> Tensor:
    """Sine/cosine encoding of token positions, counting only real (unpadded) tokens.

    The position of token ``l`` is the number of real tokens up to it (``cumsum`` of the non-padded mask), with
    ``normalize`` divided by the sequence's count of real tokens and multiplied by ``scale``; channel pairs
    ``(2i, 2i + 1)`` hold ``sin`` / ``cos`` of ``position / temperature^(2i / channels)``. This is ReferFormer's
    ``PositionEmbeddingSine1D`` (its text positions, used by AuTR's spec sheet for the audio tokens); mmdet's
    ``SinePositionalEncoding`` is the 2-D version and splits the channels between y and x.

    Args:
        padding_mask: ``[B, L]`` bool, True for padded tokens.
        channels: encoding dimension ``C`` (even).
        temperature, normalize, scale, eps: as in DETR's sine encoding.

    Returns:
        ``[B, L, C]`` float32.
    """
    if padding_mask.dim() != 2:
        raise ValueError(f'sine_positional_encoding_1d: padding_mask must be [B, L], got {list(padding_mask.shape)}')
    if channels % 2:
        raise ValueError(f'sine_positional_encoding_1d: channels must be even, got {channels}')
    position = (~padding_mask.bool()).cumsum(1, dtype=torch.float32)  # [B, L]
    if normalize:
        position = position / (position[:, -1:] + eps) * scale
    dim_t = torch.arange(channels, dtype=torch.float32, device=padding_mask.device)
    dim_t = temperature**(2 * torch.div(dim_t, 2, rounding_mode='floor') / channels)
    pos = position[:, :, None] / dim_t  # [B, L, C]
    return torch.stack((pos[:, :, 0::2].sin(), pos[:, :, 1::2].cos()), dim=3).flatten(2)
