"""TPAVI: temporal pixel-wise audio-visual interaction block of the AVSBench baseline."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class TPAVIBlock(BaseModule):
    """Temporal Pixel-wise Audio-Visual Interaction (TPAVI) block (Zhou et al., AVSBench, ECCV 2022).

    A non-local block whose keys come from the audio of every frame of the clip, so each visual position
    attends to the audio of all ``T`` frames (and, through ``g``, gathers visual values of all ``T`` frames):

    ``a' = audio_proj(a)`` (one vector per frame, broadcast over ``H x W``);
    ``f = theta(x)^T phi(a')`` over all ``N = T*H*W`` positions;
    ``y = (f / N) g(x)`` ("dot" mode: normalised by ``N``, no softmax) or ``y = softmax(f) g(x)`` ("embedded");
    ``z = LayerNorm_C(W_z(y) + x)`` where ``W_z`` = 1x1x1 Conv3d + BatchNorm3d with the norm zero-initialised,
    so at initialisation the block is ``LayerNorm_C(x)``.

    With ``audio=None`` the keys are the visual features themselves (the official ``tpavi_vv`` variant,
    visual self-attention).

    Complexity: the attention map ``f`` is ``[B, T*H*W, T*H*W]`` (15680^2 entries per clip at 1/4 scale of a
    224^2, 5-frame clip: ~1 GB in fp32). Because "dot" mode has no softmax, the block computes the identical
    quantity ``theta^T (phi g^T) / N`` in ``O(T*H*W * C_i^2)`` time and ``O(C_i^2)`` extra memory instead;
    "embedded" mode has to materialise ``f`` (``O((T*H*W)^2 * C_i)`` time, ``O((T*H*W)^2)`` memory).

    Official facts (OpenNLPLab/AVSBench ``model/TPAVI.py``): ``inter_channels = in_channels // 2``; audio
    alignment ``Linear(128, C)`` with bias in S4/MS3 and without bias in AVSS; ``g``/``theta``/``phi`` are
    1x1x1 Conv3d with bias; LayerNorm over channels after the residual.

    Args:
        in_channels: visual channels ``C``.
        inter_channels: channels inside the block; ``C // 2`` when None.
        audio_channels: dimension of the input audio vector (VGGish: 128).
        align_bias: bias of the audio alignment Linear (True: S4/MS3, False: AVSS).
        mode: ``'dot'`` (official) or ``'embedded'`` (softmax-normalised).
        norm_cfg: norm after the ``W_z`` conv (BatchNorm3d by default; e.g. ``dict(type='SyncBN')`` for DDP).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 inter_channels: Optional[int] = None,
                 audio_channels: int = 128,
                 align_bias: bool = True,
                 mode: str = 'dot',
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if mode not in ('dot', 'embedded'):
            raise ValueError(f'TPAVIBlock: mode must be "dot" or "embedded", got {mode!r}')
        if in_channels < 1 or audio_channels < 1:
            raise ValueError(f'TPAVIBlock: in_channels ({in_channels}) and audio_channels ({audio_channels}) '
                             'must be positive')
        self.in_channels = in_channels
        self.inter_channels = inter_channels if inter_channels is not None else max(in_channels // 2, 1)
        self.audio_channels = audio_channels
        self.mode = mode

        self.audio_proj = nn.Linear(audio_channels, in_channels, bias=align_bias)
        self.g = nn.Conv3d(in_channels, self.inter_channels, kernel_size=1)
        self.theta = nn.Conv3d(in_channels, self.inter_channels, kernel_size=1)
        self.phi = nn.Conv3d(in_channels, self.inter_channels, kernel_size=1)
        self.out_conv = nn.Conv3d(self.inter_channels, in_channels, kernel_size=1)
        self.out_norm_name, out_norm = build_norm_layer(norm_cfg, in_channels, postfix='_out')
        self.add_module(self.out_norm_name, out_norm)
        self.norm = nn.LayerNorm(in_channels)
        self._zero_init_out_norm()

    @property
    def out_norm(self) -> nn.Module:
        return getattr(self, self.out_norm_name)

    def _zero_init_out_norm(self) -> None:
        # W_z starts at zero so the block is the identity (before the LayerNorm) and does not disturb the
        # pretrained visual features at the start of training.
        nn.init.zeros_(self.out_norm.weight)
        nn.init.zeros_(self.out_norm.bias)

    def init_weights(self) -> None:
        super().init_weights()
        self._zero_init_out_norm()

    def forward(self, x: Tensor, audio: Optional[Tensor] = None) -> Tuple[Tensor, Optional[Tensor]]:
        """Fuse a clip's visual features with its audio.

        Args:
            x: visual features ``[B, C, T, H, W]``.
            audio: audio vectors ``[B, T, D]`` (``D = audio_channels``), or None for visual self-attention.

        Returns:
            ``(z, audio_aligned)``: ``z`` ``[B, C, T, H, W]``; ``audio_aligned`` ``[B, T, C]`` (the projected
            audio the audio-visual matching loss compares with) or None when ``audio`` is None.
        """
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f'TPAVIBlock: expected visual features [B, {self.in_channels}, T, H, W], '
                             f'got {tuple(x.shape)}')
        batch, _, num_frames, height, width = x.shape
        num_positions = num_frames * height * width

        audio_aligned = None
        if audio is not None:
            if audio.shape != (batch, num_frames, self.audio_channels):
                raise ValueError(f'TPAVIBlock: expected audio [{batch}, {num_frames}, {self.audio_channels}], '
                                 f'got {tuple(audio.shape)}')
            audio_aligned = self.audio_proj(audio)  # [B, T, C]
            # phi is a 1x1x1 conv, so applying it before broadcasting over H x W is the same as after.
            keys = self.phi(audio_aligned.permute(0, 2, 1)[..., None, None])  # [B, Ci, T, 1, 1]
            keys = keys.expand(-1, -1, -1, height, width)
        else:
            keys = self.phi(x)
        keys = keys.reshape(batch, self.inter_channels, num_positions)  # [B, Ci, N]
        queries = self.theta(x).reshape(batch, self.inter_channels, num_positions)  # [B, Ci, N]
        values = self.g(x).reshape(batch, self.inter_channels, num_positions)  # [B, Ci, N]

        if self.mode == 'dot':
            # (theta^T phi / N) g^T == theta^T (phi g^T) / N: never builds the N x N map.
            context = torch.bmm(keys, values.transpose(1, 2)) / num_positions  # [B, Ci, Ci]
            y = torch.bmm(queries.transpose(1, 2), context)  # [B, N, Ci]
        else:
            attn = torch.bmm(queries.transpose(1, 2), keys).softmax(dim=-1)  # [B, N, N]
            y = torch.bmm(attn, values.transpose(1, 2))  # [B, N, Ci]

        y = y.transpose(1, 2).reshape(batch, self.inter_channels, num_frames, height, width)
        z = self.out_norm(self.out_conv(y)) + x
        z = self.norm(z.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        return z.contiguous(), audio_aligned
