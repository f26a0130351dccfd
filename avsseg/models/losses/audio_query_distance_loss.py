"""AUSS's audio query distance loss L_AQDL (Ling et al., "Hear to Segment", Eq. 15-16)."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


def confident_pairs(sound_prob: Tensor, delta: float, valid: Optional[Tensor],
                    pair_mean: bool = False) -> Tuple[Tensor, Tensor]:
    """Pairs of confident queries and the per-frame normaliser of Eq. 16 / 18.

    Args:
        sound_prob: ``[F, N]`` probability of the class *sound* per query.
        delta: threshold (strict ``>``, as Eq. 15 and 17 write).
        valid: ``[F]`` bool (real frames) or None (all frames).
        pair_mean: ``2 / (n (n - 1))`` (the mean over the pairs) instead of the printed ``2 / (n (n + 1))``.

    Returns:
        ``(pairs, norm)``: ``[F, N, N]`` bool, pairs ``i < j`` that both predict *sound* above ``delta`` on a
        valid frame; ``[F]`` the normaliser, 0 for frames with fewer than two confident queries (no pair, loss 0).
    """
    confident = sound_prob > delta
    if valid is not None:
        confident = confident & valid.view(-1, 1).bool()
    num = sound_prob.shape[1]
    upper = torch.ones(num, num, dtype=torch.bool, device=sound_prob.device).triu(1)
    pairs = confident.unsqueeze(2) & confident.unsqueeze(1) & upper
    n = confident.sum(1).float()
    denom = n * (n - 1) if pair_mean else n * (n + 1)
    norm = torch.where(n >= 2, 2 / denom.clamp(min=1), torch.zeros_like(n))
    return pairs, norm


@MODELS.register_module()
class AudioQueryDistanceLoss(BaseModule):
    """L_AQDL: pushes apart the embeddings of audio queries that all claim to be sounding.

    Per frame, with ``S1 = {k : p_k(sound) > delta}`` and ``n1 = |S1|`` (Eq. 15-16)::

        L = 2 / (n1 (n1 + 1)) * sum_{i < j in S1} d(a_i, a_j),
        d(a_i, a_j) = 1 / ||a_i - a_j||^2  if ||a_i - a_j||^2 < d0  else 0

    ``a`` are the query embeddings after the last decoder layer (before the class head's LayerNorm). The gradient
    flows into both queries of a pair; the class probabilities only select the pairs (no gradient through the
    threshold). Frames with ``n1 < 2`` give 0; the loss is the mean over the valid frames. ``d0`` is not given by
    the paper: the default ``0.1 * e`` (25.6 for 256-d queries) counts only near-duplicates (cosine > 0.95 for
    LayerNorm-scale embeddings); docs/auss.md. The squared distance is clamped at ``eps`` before the reciprocal.

    Args:
        d0: squared-distance cut-off; pairs at ``>= d0`` contribute 0.
        pair_mean: normalise by the pair count ``n (n - 1) / 2`` instead of the printed ``n (n + 1) / 2``.
        eps: lower clamp of the squared distance.
        loss_weight: lambda_1 (2.0 in the paper).
        loss_name: key in the loss dict.
    """

    def __init__(self, d0: float = 25.6, pair_mean: bool = False, eps: float = 1e-6, loss_weight: float = 1.0,
                 loss_name: str = 'loss_aqdl'):
        super().__init__()
        if d0 <= 0 or eps <= 0:
            raise ValueError(f'AudioQueryDistanceLoss: d0 and eps must be > 0, got d0={d0}, eps={eps}')
        self.d0 = float(d0)
        self.pair_mean = pair_mean
        self.eps = float(eps)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, queries: Tensor, sound_prob: Tensor, delta: float, valid: Optional[Tensor] = None) -> Tensor:
        """Weighted L_AQDL.

        Args:
            queries: ``[F, N, e]`` query embeddings of ``F`` frames.
            sound_prob: ``[F, N]`` probability of *sound* per query.
            delta: confidence threshold delta_1.
            valid: ``[F]`` bool, frames that count (real frames); None for all.

        Returns:
            Scalar loss (an exact 0 connected to ``queries`` when no frame has a confident pair).
        """
        if queries.dim() != 3 or sound_prob.shape != queries.shape[:2]:
            raise ValueError(f'AudioQueryDistanceLoss: queries must be [F, N, e] and sound_prob [F, N], got '
                             f'{list(queries.shape)} and {list(sound_prob.shape)}')
        a = queries.float()
        sq = (a * a).sum(-1)
        dist2 = (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * a @ a.transpose(1, 2)).clamp(min=self.eps)
        pairs, norm = confident_pairs(sound_prob.detach(), delta, valid, self.pair_mean)
        pairs = pairs & (dist2 < self.d0)
        per_frame = torch.where(pairs, 1.0 / dist2, torch.zeros_like(dist2)).flatten(1).sum(1) * norm
        num_frames = queries.shape[0] if valid is None else int(valid.sum())
        return self.loss_weight * per_frame.sum() / max(num_frames, 1)
