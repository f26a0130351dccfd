"""AUSS's Attention-based Audio Unmixing (A2U, Ling et al., "Hear to Segment", Eq. 1-7)."""
import math

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from avsseg.registry import MODELS


class _LiteralEncoderLayer(nn.TransformerEncoderLayer):
    """Post-norm encoder layer without the LN after the FFN residual: Eq. 2-3 as printed.

    A subclass rather than ``norm2 = Identity``: torch's inference fast path reads ``norm2.eps``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.norm2

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = self.norm1(src + self._sa_block(src, src_mask, src_key_padding_mask, is_causal=is_causal))
        return x + self._ff_block(x)


@MODELS.register_module()
class AudioUnmixing(BaseModule):
    """A2U: a clip's ``T`` audio features become ``N`` audio queries (space projector + dependency catcher).

    Space projector (Eq. 1): ``A_hat = W1 . A_ori . W2`` with ``A_ori`` ``[T, e0]`` (one VGGish feature per
    second), ``W1`` ``[N, T]`` (number projector) and ``W2`` ``[e0, e]`` (dimension projector), no bias and no
    non-linearity, so ``A_hat`` (``N x e``) has rank <= T. Dependency catcher (Eq. 2-7): ``num_layers`` vanilla
    post-norm transformer-encoder layers (torch's ``nn.TransformerEncoderLayer``: scaled multi-head
    self-attention, LN after each residual) over the ``N`` tokens, without positional encoding (the rows of ``W1``
    already make the tokens distinct); they lift the queries out of the ``T``-dimensional span.

    Where it lives: a layer in ``models/layers`` that :class:`~avsseg.models.decode_heads.AUSSHead` builds, not a
    neck, because its output is the decoder's query set (its ``N`` must equal the head's ``num_queries`` and its
    width the decoder's), one per clip; a neck would have to pass a second feature set through the bundle and keep
    two configs in step. Registered so configs can replace it.

    Table 4 variants: ``use_number_proj=False`` (dimension projector only: ``N = T`` queries, ``W1`` absent),
    ``num_layers=0`` (projector without the encoder), ``num_queries`` 100 / 300 / 500 / 700.

    Args:
        in_channels: ``e0``, the audio feature size (VGGish: 128).
        embed_dims: ``e``, the query width (256 = 2 e0).
        num_frames: ``T``, seconds per clip (5); ``W1`` is ``[N, T]``.
        num_queries: ``N`` (300); must equal ``num_frames`` without the number projector.
        use_number_proj: keep ``W1``.
        num_layers: encoder layers (6); 0 = none.
        num_heads, feedforward_channels, dropout: encoder layer sizes (8, 2048, 0.1).
        second_norm: the vanilla layer's LN after the FFN residual; False reproduces Eq. 3 literally (no LN).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: int = 128,
                 embed_dims: int = 256,
                 num_frames: int = 5,
                 num_queries: int = 300,
                 use_number_proj: bool = True,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 dropout: float = 0.1,
                 second_norm: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not use_number_proj and num_queries != num_frames:
            raise ValueError(f'AudioUnmixing: without the number projector there are T = num_frames = {num_frames} '
                             f'queries, but num_queries={num_queries}')
        if num_layers < 0 or num_queries < 1 or num_frames < 1:
            raise ValueError(f'AudioUnmixing: num_layers must be >= 0 and num_queries, num_frames >= 1, got '
                             f'{num_layers}, {num_queries}, {num_frames}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.num_frames = num_frames
        self.num_queries = num_queries
        self.use_number_proj = use_number_proj
        self.second_norm = second_norm
        # W1 as a plain [N, T] matrix: a Linear would bring a bias, which Eq. 1 does not have
        self.number_proj = nn.Parameter(torch.empty(num_queries, num_frames)) if use_number_proj else None
        self.dim_proj = nn.Linear(in_channels, embed_dims, bias=False)
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            layer_type = nn.TransformerEncoderLayer if second_norm else _LiteralEncoderLayer
            self.layers.append(
                layer_type(d_model=embed_dims, nhead=num_heads, dim_feedforward=feedforward_channels,
                           dropout=dropout, activation='relu', batch_first=True, norm_first=False))
        self.reset_number_proj()

    def reset_number_proj(self) -> None:
        """``W1`` uniform in ``+-1/sqrt(T)`` (a Linear layer's default), so ``A_hat`` keeps the scale of ``A W2``."""
        if self.number_proj is not None:
            bound = 1 / math.sqrt(self.num_frames)
            nn.init.uniform_(self.number_proj, -bound, bound)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            self.reset_number_proj()

    def project(self, audio: Tensor) -> Tensor:
        """Space projector: ``[B, T, e0] -> [B, N, e]`` (Eq. 1)."""
        if audio.dim() != 3 or audio.shape[1:] != (self.num_frames, self.in_channels):
            raise ValueError(f'AudioUnmixing: audio must be [B, {self.num_frames}, {self.in_channels}] (clips, '
                             f'seconds, channels), got {list(audio.shape)}')
        out = audio
        if self.number_proj is not None:
            out = torch.einsum('nt,btc->bnc', self.number_proj.to(audio.dtype), out)
        return self.dim_proj(out)

    def forward(self, audio: Tensor) -> Tensor:
        """Audio queries of each clip.

        Args:
            audio: ``[B, T, e0]`` per-second audio features of ``B`` clips.

        Returns:
            ``[B, N, e]`` unmixed audio queries (Eq. 7's ``A``).
        """
        out = self.project(audio)
        for layer in self.layers:
            out = layer(out)
        return out
