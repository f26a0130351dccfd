"""The attention of COMBO's Bilateral-Fusion Module: one logit matrix serving both directions."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn


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
