"""AUSS's audio query mask loss L_AQML (Ling et al., "Hear to Segment", Eq. 17-18)."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS
from .audio_query_distance_loss import confident_pairs


@MODELS.register_module()
class AudioQueryMaskLoss(BaseModule):
    """L_AQML: penalises overlapping masks of audio queries that all claim to be sounding.

    Per frame, with ``S2 = {k : p_k(sound) > delta}`` and ``n2 = |S2|`` (Eq. 17-18)::

        L = 2 / (n2 (n2 + 1)) * sum_{i < j in S2} I(m_i, m_j),
        I(m_i, m_j) = 1 / (2 H W) * sum_{x,y} [Bin(m_i) * m_j + m_i * Bin(m_j)]

    ``m`` are the sigmoid mask probabilities of the last decoder layer at their own resolution (stride 4) and
    ``Bin(m) = (m > 0.5)`` is detached (the paper's pseudo label), so ``dI/dm_j = Bin(m_i) / (2HW)``: each mask is
    pushed down where the other one confidently claims pixels. Frames with ``n2 < 2`` give 0; the loss is the
    mean over the valid frames.

    Args:
        pair_mean: normalise by the pair count ``n (n - 1) / 2`` instead of the printed ``n (n + 1) / 2``.
        threshold: binarisation threshold of ``Bin`` (0.5).
        loss_weight: lambda_2 (2.0 in the paper).
        loss_name: key in the loss dict.
    """

    def __init__(self, pair_mean: bool = False, threshold: float = 0.5, loss_weight: float = 1.0,
                 loss_name: str = 'loss_aqml'):
        super().__init__()
        self.pair_mean = pair_mean
        self.threshold = float(threshold)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, mask_prob: Tensor, sound_prob: Tensor, delta: float, valid: Optional[Tensor] = None) -> Tensor:
        """Weighted L_AQML.

        Args:
            mask_prob: ``[F, N, H, W]`` mask probabilities (after the sigmoid) of ``F`` frames.
            sound_prob: ``[F, N]`` probability of *sound* per query.
            delta: confidence threshold delta_2.
            valid: ``[F]`` bool, frames that count (real frames); None for all.

        Returns:
            Scalar loss (an exact 0 connected to ``mask_prob`` when no frame has a confident pair).
        """
        if mask_prob.dim() != 4 or sound_prob.shape != mask_prob.shape[:2]:
            raise ValueError(f'AudioQueryMaskLoss: mask_prob must be [F, N, H, W] and sound_prob [F, N], got '
                             f'{list(mask_prob.shape)} and {list(sound_prob.shape)}')
        m = mask_prob.float().flatten(2)  # [F, N, HW]
        binary = (m > self.threshold).float().detach()
        cross = binary @ m.transpose(1, 2)  # [F, N, N]: sum Bin(m_i) * m_j
        overlap = (cross + cross.transpose(1, 2)) / (2 * m.shape[-1])
        pairs, norm = confident_pairs(sound_prob.detach(), delta, valid, self.pair_mean)
        per_frame = torch.where(pairs, overlap, torch.zeros_like(overlap)).flatten(1).sum(1) * norm
        num_frames = mask_prob.shape[0] if valid is None else int(valid.sum())
        return self.loss_weight * per_frame.sum() / max(num_frames, 1)
