"""AuTR's audio-visual feature fusion (AVFF): visual pixels attend to the audio, per scale."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.layers.transformer.utils import MLP
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.models.utils.positional_encoding import sine_positional_encoding_1d
from avsseg.registry import MODELS
from avsseg.structures import AVFeatures

FUSE_MODES = ('mul', 'add')
AUDIO_TOKEN_MODES = ('frame', 'clip')


@MODELS.register_module()
class AVFFNeck(BaseModule):
    """Audio-visual feature fusion of AuTR (paper §3.3.2) on backbone stages 2-4; stage 1 passes through.

    Paper: "MLP layers" map the audio to ``C_av``, a 1x1 convolution maps each visual scale to ``C_av``, and
    multi-head attention with **queries from the visual features and keys/values from the audio** fuses them on each
    of three scales separately. What the paper leaves open is taken from ReferFormer's ``VisionLanguageFusionModule``
    (AuTR is ReferFormer with text replaced by audio; spec sheet §2.3):

    - audio MLP ``Linear(D_audio, C_av) -> ReLU -> Linear(C_av, C_av) -> LayerNorm(eps 1e-12)`` [sheet
      recommendation]; its output ``[N, C_av]`` replaces ``feats.audio`` (the head's queries and the pixel decoder
      use this one projection, as ReferFormer shares its ``resizer``);
    - stages 2-4 (strides 8/16/32): ``GN(Conv1x1(x))`` to ``C_av`` [ReferFormer ``input_proj``, GroupNorm(32)];
    - ``u = MHA(q = v, k = a + pos_a, v = a)`` with ``num_heads`` heads, dropout 0, ``pos_a`` ReferFormer's 1-D sine
      encoding of the audio tokens; one attention module shared by the three scales (``share_attn=True``, as
      ReferFormer applies one fusion module to every level; ``False`` gives each scale its own);
    - fusion ``fuse='mul'`` (default, ReferFormer's ``tgt * tgt2``): ``f = v * u``; ``'add'``: ``f = v + u``
      [spec sheet A4];
    - audio tokens ``audio_tokens='frame'`` (default, sheet A5: frame ``t``'s pixels attend to ``f_a^t`` alone, the
      same in T = 1 training and T = 5 testing): with one key the softmax is 1 and ``u = W_o(W_v a_t + b_v) + b_o``
      at every pixel, so AVFF is an audio-conditioned channel gate. ``'clip'``: the ``T`` audio tokens of the clip
      are the keys (ReferFormer's word tokens); padded frames (``frame_mask`` 0) are masked out of the keys.

    Args:
        in_channels: channels of the 4 backbone stages (strides 4, 8, 16, 32), e.g. PVT-v2-b5 ``[64, 128, 320,
            512]``, ResNet-50 ``[256, 512, 1024, 2048]``.
        audio_channels: dimension ``D_audio`` of the audio backbone's vector (VGGish: 128).
        channels: ``C_av`` (256).
        num_heads: attention heads (8).
        fuse: ``'mul'`` or ``'add'`` (see above).
        audio_tokens: ``'frame'`` or ``'clip'`` (see above).
        share_attn: one attention module for the three scales (ReferFormer) or one per scale.
        audio_pos: add the 1-D sine position encoding to the audio keys (ReferFormer); no effect with one token.
        norm_cfg: norm of the input projections (ReferFormer: GroupNorm with 32 groups).
        init_cfg: mmengine init config (None: xavier-uniform projections with zero bias, as ReferFormer).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 audio_channels: int = 128,
                 channels: int = 256,
                 num_heads: int = 8,
                 fuse: str = 'mul',
                 audio_tokens: str = 'frame',
                 share_attn: bool = True,
                 audio_pos: bool = True,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        if len(self.in_channels) != 4:
            raise ValueError(f'AVFFNeck: in_channels must list the 4 backbone stages (strides 4, 8, 16, 32), got '
                             f'{self.in_channels}')
        if fuse not in FUSE_MODES:
            raise ValueError(f'AVFFNeck: fuse must be one of {FUSE_MODES}, got {fuse!r}')
        if audio_tokens not in AUDIO_TOKEN_MODES:
            raise ValueError(f'AVFFNeck: audio_tokens must be one of {AUDIO_TOKEN_MODES}, got {audio_tokens!r}')
        if channels % num_heads:
            raise ValueError(f'AVFFNeck: channels={channels} is not divisible by num_heads={num_heads}')
        self.audio_channels = audio_channels
        self.channels = channels
        self.fuse = fuse
        self.audio_tokens = audio_tokens
        self.share_attn = share_attn
        self.audio_pos = audio_pos

        self.audio_mlp = MLP(audio_channels, channels, channels, 2)
        self.audio_norm = nn.LayerNorm(channels, eps=1e-12)
        self.input_projs = nn.ModuleList(
            ConvModule(c, channels, 1, bias=True, norm_cfg=norm_cfg, act_cfg=None) for c in self.in_channels[1:])
        num_attn = 1 if share_attn else 3
        self.attns = nn.ModuleList(nn.MultiheadAttention(channels, num_heads, dropout=0.0) for _ in range(num_attn))
        self._init_projs()

    def _init_projs(self) -> None:
        for proj in self.input_projs:
            nn.init.xavier_uniform_(proj.conv.weight, gain=1)
            nn.init.zeros_(proj.conv.bias)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            # ConvModule.init_weights (run by the parent) re-initialises its conv with Kaiming.
            self._init_projs()

    def project_audio(self, audio: Tensor) -> Tensor:
        """``[N, D_audio] -> [N, C_av]``: the audio MLP and its LayerNorm."""
        return self.audio_norm(self.audio_mlp(audio))

    def _audio_keys(self, audio: Tensor, num_frames: int, frame_mask: Optional[Tensor]):
        """Keys/values of every frame's pixels: ``([L, N, C] keys, [L, N, C] values, [N, L] padding or None)``."""
        n = audio.shape[0]
        if self.audio_tokens == 'frame':
            values = audio[None]  # one token per frame
            padding = torch.zeros(n, 1, dtype=torch.bool, device=audio.device)
        else:
            b = n // num_frames
            clip_tokens = audio.reshape(b, num_frames, -1)
            # Row b*T + t gets the T tokens of clip b.
            values = clip_tokens.repeat_interleave(num_frames, dim=0).transpose(0, 1)  # [T, N, C]
            if frame_mask is None:
                padding = torch.zeros(n, num_frames, dtype=torch.bool, device=audio.device)
            else:
                clip_pad = frame_mask.reshape(b, num_frames) == 0
                if clip_pad.all(1).any():
                    bad = clip_pad.all(1).nonzero(as_tuple=True)[0].tolist()
                    raise ValueError(f'AVFFNeck: clip(s) {bad} of the batch have no real frame (frame_mask all 0)')
                padding = clip_pad.repeat_interleave(num_frames, dim=0)  # [N, T]
        keys = values
        if self.audio_pos:
            pos = sine_positional_encoding_1d(padding, self.channels).to(values.dtype)  # [N, L, C]
            keys = values + pos.transpose(0, 1)
        key_padding = padding if padding.any() else None
        return keys, values, key_padding

    def forward(self, feats: AVFeatures) -> AVFeatures:
        """Fuse the audio into backbone stages 2-4.

        Args:
            feats: 4 stage maps ``[N, C_i, H / s_i, W / s_i]`` (strides 4, 8, 16, 32; row ``b*T + t`` = frame t of
                clip b), ``audio`` ``[N, D_audio]``, ``num_frames`` ``T`` and ``frame_mask`` (``[N]``, 1 real /
                0 padded, or None).

        Returns:
            The bundle with levels ``(stage1 [N, C_1, H/4, W/4] unchanged, f_1 [N, C_av, H/8, W/8],
            f_2 [N, C_av, H/16, W/16], f_3 [N, C_av, H/32, W/32])``, ``audio`` the projected audio ``[N, C_av]``
            and ``extras['audio_raw']`` the input audio ``[N, D_audio]``.
        """
        if len(feats) != 4:
            raise ValueError(f'AVFFNeck: expected the 4 backbone stages, got {len(feats)} levels')
        n = feats[0].shape[0]
        for i, (feat, c) in enumerate(zip(feats, self.in_channels)):
            if feat.dim() != 4 or feat.shape[0] != n or feat.shape[1] != c:
                raise ValueError(f'AVFFNeck: visual stage {i + 1} must be [{n}, {c}, H, W], got {list(feat.shape)}')
        audio = feats.audio
        if audio is None or audio.shape != (n, self.audio_channels):
            shape = None if audio is None else list(audio.shape)
            raise ValueError(f'AVFFNeck: audio must be [{n}, {self.audio_channels}] (one vector per frame), got '
                             f'{shape}')
        num_frames = feats.num_frames
        if not isinstance(num_frames, int) or num_frames < 1 or n % num_frames:
            raise ValueError(f'AVFFNeck: num_frames must be a positive int dividing the {n} frames of the batch, got '
                             f'{num_frames!r}')
        frame_mask = feats.frame_mask
        if frame_mask is not None and frame_mask.shape != (n, ):
            raise ValueError(f'AVFFNeck: frame_mask must be [{n}], got {list(frame_mask.shape)}')

        audio_proj = self.project_audio(audio)
        keys, values, key_padding = self._audio_keys(audio_proj, num_frames, frame_mask)
        fused: List[Tensor] = [feats[0]]
        for level, (feat, proj) in enumerate(zip(feats[1:], self.input_projs)):
            v = proj(feat)
            h, w = v.shape[-2:]
            query = v.flatten(2).permute(2, 0, 1)  # [H*W, N, C]
            attn = self.attns[0 if self.share_attn else level]
            u = attn(query, keys, values, key_padding_mask=key_padding, need_weights=False)[0]
            u = u.permute(1, 2, 0).reshape(n, self.channels, h, w)
            fused.append(v * u if self.fuse == 'mul' else v + u)
        return feats.replace(visual=fused, audio=audio_proj, extras={**feats.extras, 'audio_raw': audio})
