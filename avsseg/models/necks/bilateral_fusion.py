"""COMBO's Bilateral-Fusion Module (BFM; Yang et al., CVPR 2024, sec. 3.2, eq. 4-5)."""
from typing import Optional, Sequence, Union

import torch
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule
from torch import nn

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures
from ..layers import BilateralAttention

FUSION_MODES = ('none', 'visual', 'audio', 'bilateral')


@MODELS.register_module()
class BilateralFusion(BaseModule):
    """Bilateral-Fusion Module (BFM) of COMBO.

    Fuses per-pixel visual embeddings with the clip's per-frame audio feature in both directions (paper eq. 4-5;
    official ``AVFuse`` with ``TYPE: MHA-B``). COMBO applies it inside :class:`COMBOHead` to the pixel decoder's
    256-channel stride-4 mask features (official ``FUSION_STEP: late``, ``FUSED_BACKBONE: [res2]``); it follows
    the avsseg neck signature, so it can also sit between backbone and head. Frames are independent
    (``num_frames`` is accepted for the neck interface and not used).

    Per fused level ``i`` (official details):

    - visual tokens: ``v = LN_v(x + level_embed)`` with a learnable per-level embedding (``nn.Embedding``, N(0, 1));
      fixed sine positional encoding (``SinePositionalEncoding(C/2, normalize=True)``) added for the queries;
    - audio token: ``a = LN_a(audio)``; a learnable positional embedding (``audio_pos``) added for the keys;
    - :class:`BilateralAttention` (8 heads, ``embed_dims`` 256, dropout 0.1), logits computed once;
    - layer scale: ``v_out = v + gamma_v * delta_v`` and ``a_out = a + gamma_a * delta_a`` with ``gamma``
      initialised to ``layer_scale_init`` (1e-4); the residual is added to the LayerNorm'ed inputs, as in the
      official code. With several levels the audio outputs are averaged and ``gamma_a`` is shared.

    Modes (paper Table 5):

    - ``'bilateral'``: both updates;
    - ``'visual'``: only the visual features are updated (audio injected into visual); the audio output is the
      input audio, unchanged;
    - ``'audio'``: only the audio feature is updated (visual injected into audio); the visual output is the input
      visual features, unchanged. (The official ``MHA-S-Audio`` returns the dict that its bilateral block had
      already overwritten, so its "audio only" also changed the visual features; here it does what the paper
      describes.)
    - ``'none'``: identity, no parameters.

    Only the modules a mode uses are built, so no parameter is left without a gradient (DDP-safe).

    Args:
        in_channels: channels of each fused visual level.
        audio_channels: audio feature size (VGGish: 128).
        embed_dims: attention width (official: the largest fused channel count, 256).
        num_heads: attention heads (8).
        dropout: attention-probability dropout (0.1).
        mode: one of ``'none'``, ``'visual'``, ``'audio'``, ``'bilateral'``.
        in_index: which entries of the visual tuple are fused (one per ``in_channels`` entry).
        layer_scale_init: initial value of ``gamma_v`` / ``gamma_a``.
        visual_softmax: ``'spatial'`` (official) or ``'token'``; see :class:`BilateralAttention`.
        positional_encoding: extra arguments of mmdet's ``SinePositionalEncoding`` (``num_feats`` is ``C/2``).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]] = 256,
                 audio_channels: int = 128,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 dropout: float = 0.1,
                 mode: str = 'bilateral',
                 in_index: Union[int, Sequence[int]] = 0,
                 layer_scale_init: float = 1e-4,
                 visual_softmax: str = 'spatial',
                 positional_encoding: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if mode not in FUSION_MODES:
            raise ValueError(f'BilateralFusion: mode must be one of {FUSION_MODES}, got {mode!r}')
        in_channels = [in_channels] if isinstance(in_channels, int) else list(in_channels)
        in_index = [in_index] if isinstance(in_index, int) else list(in_index)
        if len(in_channels) != len(in_index) or not in_channels:
            raise ValueError(f'BilateralFusion: in_channels {in_channels} and in_index {in_index} must be '
                             'non-empty and of one length')
        self.mode = mode
        self.in_channels = in_channels
        self.in_index = in_index
        self.audio_channels = audio_channels
        self.update_visual = mode in ('visual', 'bilateral')
        self.update_audio = mode in ('audio', 'bilateral')
        if mode == 'none':
            return

        pe_cfg = dict(normalize=True)
        pe_cfg.update(positional_encoding or {})
        pe_cfg.pop('num_feats', None)
        self.positional_encodings = nn.ModuleList()
        self.level_embeds = nn.ParameterList()
        self.visual_norms = nn.ModuleList()
        self.audio_norms = nn.ModuleList()
        self.attentions = nn.ModuleList()
        self.gamma_v = nn.ParameterList()
        for channels in in_channels:
            if channels % 2 != 0:
                raise ValueError(f'BilateralFusion: visual channels must be even for the sine encoding, got '
                                 f'{channels}')
            self.positional_encodings.append(SinePositionalEncoding(num_feats=channels // 2, **pe_cfg))
            self.level_embeds.append(nn.Parameter(torch.randn(channels)))
            self.visual_norms.append(nn.LayerNorm(channels))
            self.audio_norms.append(nn.LayerNorm(audio_channels))
            self.attentions.append(
                BilateralAttention(
                    channels,
                    audio_channels,
                    embed_dims=embed_dims,
                    num_heads=num_heads,
                    dropout=dropout,
                    update_visual=self.update_visual,
                    update_audio=self.update_audio,
                    visual_softmax=visual_softmax))
            if self.update_visual:
                self.gamma_v.append(nn.Parameter(torch.full((channels, ), float(layer_scale_init))))
        self.audio_pos = nn.Embedding(1, audio_channels)
        if self.update_audio:
            self.gamma_a = nn.Parameter(torch.full((audio_channels, ), float(layer_scale_init)))

    def forward(self, feats: AVFeatures) -> AVFeatures:
        """Fuse.

        Args:
            feats: visual levels ``[N, C_i, H_i, W_i]`` with ``audio`` ``[N, audio_channels]`` (frames are fused
                independently; ``num_frames`` is not used).

        Returns:
            The bundle with the fused levels and the fused audio replaced (same shapes as the inputs).
        """
        visual_feats, audio_feats = feats.visual, feats.audio
        if audio_feats is None:
            raise ValueError('BilateralFusion: the feature bundle carries no audio')
        if audio_feats.dim() != 2 or audio_feats.shape[-1] != self.audio_channels:
            raise ValueError(f'BilateralFusion: audio_feats must be [N, {self.audio_channels}], got '
                             f'{list(audio_feats.shape)}')
        for index, channels in zip(self.in_index, self.in_channels):
            if index >= len(visual_feats) or visual_feats[index].dim() != 4 or \
                    visual_feats[index].shape[1] != channels or visual_feats[index].shape[0] != audio_feats.shape[0]:
                got = list(visual_feats[index].shape) if index < len(visual_feats) else 'missing'
                raise ValueError(f'BilateralFusion: visual level {index} must be [{audio_feats.shape[0]}, {channels}, '
                                 f'H, W], got {got}')
        if self.mode == 'none':
            return feats

        outputs = list(visual_feats)
        audio = audio_feats[:, None, :]  # one audio token per frame
        audio_pos = self.audio_pos.weight[None]  # [1, 1, D]
        new_audio = []
        for level, (index, channels) in enumerate(zip(self.in_index, self.in_channels)):
            feat = visual_feats[index]
            n, _, h, w = feat.shape
            pos = self.positional_encodings[level](feat.new_zeros((n, h, w), dtype=torch.bool))
            pos = pos.to(feat.dtype).flatten(2).transpose(1, 2)  # [N, HW, C]
            tokens = (feat + self.level_embeds[level].view(1, -1, 1, 1)).flatten(2).transpose(1, 2)
            visual = self.visual_norms[level](tokens)
            audio_normed = self.audio_norms[level](audio)
            delta_v, delta_a = self.attentions[level](visual, audio_normed, pos, audio_pos)
            if self.update_visual:
                fused = visual + self.gamma_v[level] * delta_v
                outputs[index] = fused.transpose(1, 2).reshape(n, channels, h, w)
            if self.update_audio:
                new_audio.append(audio_normed + self.gamma_a * delta_a)
        if self.update_audio:
            audio_out = torch.stack(new_audio, dim=0).mean(dim=0)[:, 0]
        else:
            audio_out = audio_feats
        return feats.replace(visual=outputs, audio=audio_out)
