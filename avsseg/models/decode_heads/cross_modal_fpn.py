"""AuTR's pixel decoder: a top-down FPN whose levels attend to the clip (self-attention) and to the audio."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor

from avsseg.models.utils.positional_encoding import sine_positional_encoding_1d
from avsseg.registry import MODELS

AUDIO_TOKEN_MODES = ('frame', 'clip')


def _to_clip_tokens(x: Tensor, num_frames: int) -> Tensor:
    """``[B*T, C, H, W] -> [T*H*W, B, C]`` (ReferFormer's ``'(b t) c h w -> (t h w) b c'``)."""
    n, c, h, w = x.shape
    return x.reshape(n // num_frames, num_frames, c, h, w).permute(1, 3, 4, 0, 2).reshape(-1, n // num_frames, c)


def _from_clip_tokens(x: Tensor, num_frames: int, h: int, w: int) -> Tensor:
    """``[T*H*W, B, C] -> [B*T, C, H, W]``."""
    b, c = x.shape[1:]
    return x.reshape(num_frames, h, w, b, c).permute(3, 0, 4, 1, 2).reshape(b * num_frames, c, h, w)


class AudioVisionBlock(BaseModule):
    """ReferFormer's ``VisionLanguageBlock`` with audio for text (post-norm).

    ``x = norm1(x + drop(SelfAttn_sr(x + pos, x + pos, x)))`` over all ``T*h*w`` pixels of a clip, where with
    ``sr_ratio > 1`` queries, keys and values are nearest-downsampled by ``sr_ratio`` and the output is bilinearly
    upsampled back (spatial reduction); ``x = norm2(x + drop(CrossAttn(x + pos, a + pos_a, a)))`` to the audio
    tokens; ``x = norm3(x + FFN(x))``.

    Args:
        channels: token dimension.
        num_heads: attention heads.
        feedforward_channels: FFN hidden size.
        dropout: dropout of attention weights, residual branches and FFN.
        sr_ratio: spatial reduction of the self-attention.
        audio_channels: dimension of the audio tokens (None: ``channels``).
    """

    def __init__(self, channels: int, num_heads: int, feedforward_channels: int, dropout: float, sr_ratio: int,
                 audio_channels: Optional[int] = None):
        super().__init__()
        self.sr_ratio = sr_ratio
        self.self_attn = nn.MultiheadAttention(channels, num_heads, dropout=dropout)
        self.cross_attn = nn.MultiheadAttention(
            channels, num_heads, dropout=dropout, kdim=audio_channels, vdim=audio_channels)
        self.ffn = FFN(channels, feedforward_channels, num_fcs=2, ffn_drop=dropout, act_cfg=dict(type='ReLU'))
        self.norms = nn.ModuleList(nn.LayerNorm(channels) for _ in range(3))
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # ReferFormer: xavier-uniform on every matrix of the block.
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, x: Tensor, pos: Tensor, num_frames: int, size: Tuple[int, int], frame_pad: Optional[Tensor],
                audio: Tensor, audio_pos: Tensor, audio_pad: Optional[Tensor]) -> Tensor:
        """One block.

        Args:
            x: pixel tokens ``[T*h*w, B, C]`` of ``B`` clips.
            pos: their positional encoding, same shape.
            num_frames: ``T``.
            size: ``(h, w)``.
            frame_pad: ``[B, T]`` True for padded frames (kept out of the self-attention keys), or None.
            audio: audio tokens ``[L, M, C_a]`` with ``M = B`` (clip tokens, queries ``[T*h*w, B]``) or ``M = B*T``
                (one token set per frame, queries ``[h*w, B*T]``).
            audio_pos: positional encoding of ``audio``.
            audio_pad: ``[M, L]`` True for padded audio tokens, or None.

        Returns:
            ``[T*h*w, B, C]``.
        """
        h, w = size
        b = x.shape[1]
        q = k = x + pos
        pad = None
        if self.sr_ratio > 1:
            small = (max(1, int(h / self.sr_ratio)), max(1, int(w / self.sr_ratio)))

            def down(t: Tensor) -> Tensor:
                return _to_clip_tokens(
                    F.interpolate(_from_clip_tokens(t, num_frames, h, w), size=small, mode='nearest'), num_frames)

            q, k, v = down(q), down(k), down(x)
            if frame_pad is not None:
                pad = frame_pad[:, :, None].expand(-1, -1, small[0] * small[1]).reshape(b, -1)
        else:
            v = x
            small = size
            if frame_pad is not None:
                pad = frame_pad[:, :, None].expand(-1, -1, h * w).reshape(b, -1)
        out = self.self_attn(q, k, v, key_padding_mask=pad, need_weights=False)[0]
        if self.sr_ratio > 1:
            out = _to_clip_tokens(
                F.interpolate(
                    _from_clip_tokens(out, num_frames, *small), size=size, mode='bilinear', align_corners=False),
                num_frames)
        x = self.norms[0](x + self.dropout1(out))

        query = x + pos
        if audio.shape[1] != b:  # per-frame audio tokens: the frames become the attention batch
            query = query.reshape(num_frames, h * w, b, -1).permute(1, 2, 0, 3).reshape(h * w, b * num_frames, -1)
        out = self.cross_attn(query, audio + audio_pos, audio, key_padding_mask=audio_pad, need_weights=False)[0]
        if audio.shape[1] != b:
            out = out.reshape(h * w, b, num_frames, -1).permute(2, 0, 1, 3).reshape(num_frames * h * w, b, -1)
        x = self.norms[1](x + self.dropout2(out))
        return self.norms[2](self.ffn(x))


@MODELS.register_module()
class CrossModalFPN(BaseModule):
    """Pixel decoder of AuTR (paper §3.3.4, spec sheet §2.6): mask features at stride 4.

    The paper: a light FPN over the backbone features, the audio and the encoder output that aggregates them "with
    cross-attention and pooling". Its structure is ReferFormer's ``CrossModalFPNDecoder`` (audio for text):

    - levels top-down 1/32 -> 1/16 -> 1/8 (the encoder memories) -> 1/4 (backbone stage 1, raw);
    - each level: lateral ``Conv1x1`` + GN(8) -> :class:`AudioVisionBlock` (self-attention over the clip's
      ``T*h*w`` pixels with spatial reduction ``sr_ratios`` 8/4/2/1 for 1/4..1/32 (the "pooling"), cross-attention to
      the audio, FFN; 2-D sine positions on the pixels, 1-D sine on the audio tokens) -> plus the nearest-upsampled
      coarser output -> ``Conv3x3`` + GN(8) + ReLU; the 1/32 level has no coarser input;
    - ``mask_features``: ``Conv3x3`` (with bias) of the 1/4 output to ``mask_channels``.

    The self-attention is the only place where the model mixes the frames of a clip; padded frames (``frame_mask``
    0) are kept out of its keys. Audio tokens (spec sheet A5): ``'frame'`` (default) lets frame ``t``'s pixels
    attend to its own audio only, ``'clip'`` to the clip's ``T`` tokens (padded frames masked). Pixel padding of the
    input is not tracked (the positions cover the whole padded map), as the rest of avsseg pads only to a divisor.
    Convs are caffe2-xavier initialised, attention and FFN matrices xavier-uniform (ReferFormer).

    Args:
        stage1_channels: channels ``C_1`` of backbone stage 1 (PVT-v2-b5 64, ResNet-50 256).
        in_channels: channels of the three encoder memories (``C_av``, 256).
        channels: the FPN width (ReferFormer ``conv_dim`` = hidden dim 256).
        mask_channels: ``C_m`` of the output (256).
        audio_channels: dimension of the audio vector (None: ``channels``; AuTR feeds the AVFF-projected audio).
        num_heads: attention heads (8).
        feedforward_channels: FFN hidden size of the blocks (2048).
        dropout: dropout of the blocks (0.1).
        sr_ratios: spatial reduction of the self-attention at strides 4, 8, 16, 32.
        audio_tokens: ``'frame'`` or ``'clip'``.
        norm_cfg: norm of the FPN convs (ReferFormer: GroupNorm with 8 groups).
        init_cfg: mmengine init config (None: the ReferFormer init).
    """

    def __init__(self,
                 stage1_channels: int,
                 in_channels: int = 256,
                 channels: int = 256,
                 mask_channels: int = 256,
                 audio_channels: Optional[int] = None,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.1,
                 sr_ratios: Sequence[int] = (8, 4, 2, 1),
                 audio_tokens: str = 'frame',
                 norm_cfg: dict = dict(type='GN', num_groups=8),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if audio_tokens not in AUDIO_TOKEN_MODES:
            raise ValueError(f'CrossModalFPN: audio_tokens must be one of {AUDIO_TOKEN_MODES}, got {audio_tokens!r}')
        if len(sr_ratios) != 4 or any(int(r) < 1 for r in sr_ratios):
            raise ValueError(f'CrossModalFPN: sr_ratios must be 4 ratios >= 1 (strides 4..32), got {sr_ratios}')
        if channels % num_heads or channels % 2:
            raise ValueError(f'CrossModalFPN: channels={channels} must be even and divisible by num_heads='
                             f'{num_heads}')
        self.stage1_channels = stage1_channels
        self.in_channels = in_channels
        self.channels = channels
        self.mask_channels = mask_channels
        self.audio_channels = audio_channels or channels
        if self.audio_channels % 2:
            raise ValueError(f'CrossModalFPN: audio_channels must be even (sine positions), got {self.audio_channels}')
        self.audio_tokens = audio_tokens

        # Index 0..3 = strides 4, 8, 16, 32 (finest first); forward walks them coarse to fine.
        level_in = [stage1_channels] + [in_channels] * 3
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, channels, 1, norm_cfg=norm_cfg, act_cfg=None) for c in level_in)
        self.output_convs = nn.ModuleList(
            ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
            for _ in level_in)
        self.blocks = nn.ModuleList(
            AudioVisionBlock(channels, num_heads, feedforward_channels, dropout, int(r),
                             audio_channels=self.audio_channels) for r in sr_ratios)
        self.mask_features = nn.Conv2d(channels, mask_channels, 3, padding=1)
        self.pixel_pos = SinePositionalEncoding(channels // 2, normalize=True, offset=-0.5)
        self._init_convs()

    def _init_convs(self) -> None:
        for conv in [*self.lateral_convs, *self.output_convs]:
            caffe2_xavier_init(conv.conv, bias=0)
        caffe2_xavier_init(self.mask_features, bias=0)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            # ConvModule.init_weights (run by the parent) re-initialises its conv with Kaiming.
            self._init_convs()
            for block in self.blocks:
                block.reset_parameters()

    def _audio_tokens(self, audio: Tensor, num_frames: int, frame_pad: Optional[Tensor]):
        """``(tokens [L, M, C_a], positions [L, M, C_a], padding [M, L] or None)``; ``M = B*T`` ('frame') or B."""
        if self.audio_tokens == 'frame':
            tokens = audio[None]
            pad = torch.zeros(audio.shape[0], 1, dtype=torch.bool, device=audio.device)
        else:
            tokens = audio.reshape(-1, num_frames, audio.shape[1]).transpose(0, 1)  # [T, B, C_a]
            pad = frame_pad if frame_pad is not None else torch.zeros(
                tokens.shape[1], num_frames, dtype=torch.bool, device=audio.device)
        pos = sine_positional_encoding_1d(pad, self.audio_channels).to(audio.dtype).transpose(0, 1)
        return tokens, pos, (pad if pad.any() else None)

    def forward(self,
                memories: Sequence[Tensor],
                stage1: Tensor,
                audio: Tensor,
                num_frames: int,
                frame_mask: Optional[Tensor] = None) -> Tensor:
        """Mask features of every frame.

        Args:
            memories: the 3 encoder outputs ``[N, C_av, H/8, W/8]``, ``[N, C_av, H/16, W/16]``,
                ``[N, C_av, H/32, W/32]`` (finest first; ``N = B*T``, row ``b*T + t`` = frame t of clip b).
            stage1: backbone stage 1 ``[N, C_1, H/4, W/4]``.
            audio: per-frame audio ``[N, C_a]`` (AuTR: the AVFF-projected audio, ``C_a = C_av``).
            num_frames: clip length ``T`` (the self-attention spans the clip; required, never assumed).
            frame_mask: ``[N]`` 1 real / 0 padded, or None.

        Returns:
            Mask features ``[N, mask_channels, H/4, W/4]``.
        """
        if len(memories) != 3:
            raise ValueError(f'CrossModalFPN: expected 3 encoder memories (strides 8, 16, 32), got {len(memories)}')
        n = stage1.shape[0]
        if stage1.dim() != 4 or stage1.shape[1] != self.stage1_channels:
            raise ValueError(f'CrossModalFPN: stage1 must be [N, {self.stage1_channels}, H/4, W/4], got '
                             f'{list(stage1.shape)}')
        finer = stage1.shape[-2:]
        for i, mem in enumerate(memories):
            if mem.dim() != 4 or mem.shape[:2] != (n, self.in_channels):
                raise ValueError(f'CrossModalFPN: memory {i} (stride {8 * 2**i}) must be [{n}, {self.in_channels}, '
                                 f'h, w], got {list(mem.shape)}')
            size = mem.shape[-2:]
            if size[0] > finer[0] or size[1] > finer[1] or size == finer:
                raise ValueError(f'CrossModalFPN: memory {i} (stride {8 * 2**i}) of size {tuple(size)} is not coarser '
                                 f'than the level before it {tuple(finer)}: memories go finest first (8, 16, 32)')
            finer = size
        if audio.shape != (n, self.audio_channels):
            raise ValueError(f'CrossModalFPN: audio must be [{n}, {self.audio_channels}], got {list(audio.shape)}')
        if not isinstance(num_frames, int) or num_frames < 1 or n % num_frames:
            raise ValueError(f'CrossModalFPN: num_frames must be a positive int dividing the {n} frames, got '
                             f'{num_frames!r}')
        frame_pad = None
        if frame_mask is not None:
            if frame_mask.shape != (n, ):
                raise ValueError(f'CrossModalFPN: frame_mask must be [{n}], got {list(frame_mask.shape)}')
            frame_pad = frame_mask.reshape(-1, num_frames) == 0
            if frame_pad.all(1).any():
                bad = frame_pad.all(1).nonzero(as_tuple=True)[0].tolist()
                raise ValueError(f'CrossModalFPN: clip(s) {bad} of the batch have no real frame (frame_mask all 0)')
            if not frame_pad.any():
                frame_pad = None

        tokens, token_pos, token_pad = self._audio_tokens(audio, num_frames, frame_pad)
        levels: List[Tensor] = [stage1, *memories]
        y = None
        for idx in (3, 2, 1, 0):
            x = self.lateral_convs[idx](levels[idx])
            h, w = x.shape[-2:]
            pos = self.pixel_pos(x.new_zeros(n, h, w, dtype=torch.bool))  # [N, C, h, w]
            x = self.blocks[idx](
                _to_clip_tokens(x, num_frames), _to_clip_tokens(pos.to(x.dtype), num_frames), num_frames, (h, w),
                frame_pad, tokens, token_pos, token_pad)
            x = _from_clip_tokens(x, num_frames, h, w)
            if y is not None:
                x = x + F.interpolate(y, size=(h, w), mode='nearest')
            y = self.output_convs[idx](x)
        return self.mask_features(y)
