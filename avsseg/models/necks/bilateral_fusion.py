"""COMBO's Bilateral-Fusion Module (BFM; Yang et al., CVPR 2024, sec. 3.2, eq. 4-5)."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS

FUSION_MODES = ('none', 'visual', 'audio', 'bilateral')


class BilateralAttention(BaseModule):
    """Multi-head attention between visual tokens and audio tokens with one shared logit matrix.

    ``Q = (v + pos_v) W_Q``, ``K = (a + pos_a) W_K``, ``V_v = v W_V^v``, ``V_a = a W_V^a`` (point-wise linear
    layers to ``embed_dims``, split into heads). The logits ``Q K^T / sqrt(d_head)`` ``[N*heads, L_v, L_a]`` are
    computed once (:meth:`attention_logits`) and normalised over the visual positions (softmax over ``L_v``):

    - audio update (eq. 5): ``softmax_{L_v}(QK^T)^T V_v`` -> ``out_a`` (``embed_dims -> audio_channels``);
    - visual update (eq. 4): ``softmax(QK^T) V_a`` -> ``out_v`` (``embed_dims -> visual_channels``). With
      ``visual_softmax='spatial'`` (official ``BiMultiHeadAttention``: ``softmax(attn, dim=1)``) it reuses the
      audio side's probabilities, so one softmax serves both directions; ``'token'`` normalises over the audio
      tokens instead (standard cross-attention; with one audio token every weight is 1, i.e. the projected audio
      is broadcast to every position, as the official visual-only ``AttentionA2I`` does).

    Logits are clamped to +-5e4 (fp16 range, as the official code) and the softmax runs in float32. Dropout on
    the attention probabilities, separately per direction. Projections: Xavier-uniform weights, zero biases.

    Args:
        visual_channels: channels of the visual tokens.
        audio_channels: channels of the audio tokens.
        embed_dims: attention width (split into ``num_heads``).
        num_heads: number of heads.
        dropout: dropout on the attention probabilities.
        update_visual: build the visual-update path (``V_a``, ``out_v``).
        update_audio: build the audio-update path (``V_v``, ``out_a``).
        visual_softmax: ``'spatial'`` or ``'token'`` (see above).
    """

    def __init__(self,
                 visual_channels: int,
                 audio_channels: int,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 dropout: float = 0.1,
                 update_visual: bool = True,
                 update_audio: bool = True,
                 visual_softmax: str = 'spatial',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'BilateralAttention: embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        if visual_softmax not in ('spatial', 'token'):
            raise ValueError(f"BilateralAttention: visual_softmax must be 'spatial' or 'token', got {visual_softmax!r}")
        if not (update_visual or update_audio):
            raise ValueError('BilateralAttention: at least one of update_visual / update_audio must be True')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = self.head_dims**-0.5
        self.dropout = dropout
        self.update_visual = update_visual
        self.update_audio = update_audio
        self.visual_softmax = visual_softmax
        self.clamp_value = 5e4

        self.query_proj = nn.Linear(visual_channels, embed_dims)
        self.key_proj = nn.Linear(audio_channels, embed_dims)
        if update_visual:
            self.audio_value_proj = nn.Linear(audio_channels, embed_dims)
            self.visual_out_proj = nn.Linear(embed_dims, visual_channels)
        if update_audio:
            self.visual_value_proj = nn.Linear(visual_channels, embed_dims)
            self.audio_out_proj = nn.Linear(embed_dims, audio_channels)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        """``[N, L, embed_dims] -> [N*heads, L, head_dims]``."""
        n, length, _ = x.shape
        return x.view(n, length, self.num_heads, self.head_dims).transpose(1, 2).reshape(
            n * self.num_heads, length, self.head_dims)

    def _merge_heads(self, x: Tensor, n: int) -> Tensor:
        """``[N*heads, L, head_dims] -> [N, L, embed_dims]``."""
        length = x.shape[1]
        return x.view(n, self.num_heads, length, self.head_dims).transpose(1, 2).reshape(n, length, self.embed_dims)

    def attention_logits(self, query_in: Tensor, key_in: Tensor) -> Tensor:
        """``Q K^T / sqrt(d_head)``: ``[N, L_v, C_v], [N, L_a, C_a] -> [N*heads, L_v, L_a]`` (clamped)."""
        query = self._split_heads(self.query_proj(query_in) * self.scale)
        key = self._split_heads(self.key_proj(key_in))
        logits = torch.bmm(query, key.transpose(1, 2))
        return logits.clamp(min=-self.clamp_value, max=self.clamp_value)

    def forward(self,
                visual: Tensor,
                audio: Tensor,
                visual_pos: Optional[Tensor] = None,
                audio_pos: Optional[Tensor] = None) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """Bilateral updates.

        Args:
            visual: ``[N, L_v, C_v]`` (normalised) visual tokens.
            audio: ``[N, L_a, C_a]`` (normalised) audio tokens.
            visual_pos: positional encoding added to the visual tokens for the queries only ``[N, L_v, C_v]``.
            audio_pos: positional encoding added to the audio tokens for the keys only (broadcastable).

        Returns:
            ``(delta_visual [N, L_v, C_v] or None, delta_audio [N, L_a, C_a] or None)``; None for a direction
            that was not built.
        """
        n = visual.shape[0]
        query_in = visual if visual_pos is None else visual + visual_pos
        key_in = audio if audio_pos is None else audio + audio_pos
        logits = self.attention_logits(query_in, key_in)
        # one softmax over the visual positions serves the audio update and (official form) the visual update
        spatial_probs = logits.float().softmax(dim=1).to(logits.dtype)

        delta_visual = delta_audio = None
        if self.update_visual:
            if self.visual_softmax == 'spatial':
                visual_probs = spatial_probs
            else:
                visual_probs = logits.float().softmax(dim=2).to(logits.dtype)
            visual_probs = F.dropout(visual_probs, p=self.dropout, training=self.training)
            audio_values = self._split_heads(self.audio_value_proj(audio))
            delta_visual = self.visual_out_proj(self._merge_heads(torch.bmm(visual_probs, audio_values), n))
        if self.update_audio:
            audio_probs = F.dropout(spatial_probs.transpose(1, 2), p=self.dropout, training=self.training)
            visual_values = self._split_heads(self.visual_value_proj(visual))
            delta_audio = self.audio_out_proj(self._merge_heads(torch.bmm(audio_probs, visual_values), n))
        return delta_visual, delta_audio


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

    def forward(self,
                visual_feats: Sequence[Tensor],
                audio_feats: Tensor,
                num_frames: Optional[int] = None) -> Tuple[Tuple[Tensor, ...], Tensor]:
        """Fuse.

        Args:
            visual_feats: tuple of ``[B*T, C_i, H_i, W_i]``.
            audio_feats: ``[B*T, audio_channels]``.
            num_frames: clip length (unused; frames are fused independently).

        Returns:
            ``(visual_feats, audio_feats)`` with the fused levels replaced (same shapes as the inputs).
        """
        visual_feats = tuple(visual_feats)
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
            return visual_feats, audio_feats

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
        return tuple(outputs), audio_out
