"""Sigmoid focal loss on mask logits, averaged per instance sequence (ReferFormer's mask focal, AuTR's L_focal)."""
from typing import Optional

from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class SigmoidFocalMaskLoss(BaseModule):
    """Sigmoid focal loss of mask logits: mean over each row's pixels, summed over rows, divided by ``avg_factor``.

    AuTR's mask focal term (paper §3.3.5; the reduction is ReferFormer's ``sigmoid_focal_loss``, which AuTR follows):
    the matched query's masks of one clip, all its labelled frames flattened together into one row ``[T*h*w]``, give
    ``mean_pixels(alpha_t * (1 - p_t)^gamma * BCE)``; rows (clips) are summed and divided by ``num_boxes`` (the
    number of labelled frames of the batch, passed as ``avg_factor``). mmdet's ``FocalLoss`` is shaped for class
    logits and averages over all elements, so it would weigh a clip by its pixel count; the element-wise term is
    mmdet's ``py_sigmoid_focal_loss``.

    Args:
        alpha: weight of the positive pixels (0.25; ``1 - alpha`` for the negatives).
        gamma: focusing parameter (2.0).
        reduction: ``'mean'`` (sum of the row means / ``avg_factor``, default the number of rows), ``'sum'`` (sum of
            the row means) or ``'none'`` (the row means ``[M]``).
        loss_weight: weight of the loss (AuTR λ_focal, 1.0 recommended: ReferFormer's ``mask_loss_coef``).
        loss_name: key in the loss dict.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = 'mean', loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal'):
        super().__init__()
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"SigmoidFocalMaskLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, pred: Tensor, target: Tensor, valid: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None) -> Tensor:
        """Focal loss of ``M`` mask rows.

        Args:
            pred: mask logits ``[M, ...]`` (one row per instance sequence, e.g. ``[B, T*h*w]`` or ``[B, T, h, w]``;
                everything after the first dimension is one row).
            target: binary targets of ``pred``'s shape, values in {0, 1}.
            valid: optional boolean (or 0/1) mask of ``pred``'s shape: only these pixels enter each row's mean (ignore
                pixels left out). A row without a valid pixel contributes 0.
            avg_factor: divisor of the summed row means for ``'mean'`` (AuTR: ``num_boxes``); default ``M``.
            reduction_override: overrides ``reduction``.

        Returns:
            A scalar (``'mean'``, ``'sum'``) or the row means ``[M]`` (``'none'``), times ``loss_weight``.
        """
        if pred.dim() < 2 or pred.shape != target.shape:
            raise ValueError(f'SigmoidFocalMaskLoss: pred must be [M, ...] and target of its shape, got '
                             f'{list(pred.shape)} and {list(target.shape)}')
        if valid is not None and valid.shape != pred.shape:
            raise ValueError(f'SigmoidFocalMaskLoss: valid must have pred\'s shape {list(pred.shape)}, got '
                             f'{list(valid.shape)}')
        if target.numel() and ((target != 0) & (target != 1)).any():
            raise ValueError(f'SigmoidFocalMaskLoss: targets must be 0 or 1, got values '
                             f'{sorted(set(target.unique().tolist()) - {0, 1})[:5]} (ignore pixels go in valid)')
        pred, target = pred.flatten(1).float(), target.flatten(1).float()
        loss = py_sigmoid_focal_loss(pred, target, gamma=self.gamma, alpha=self.alpha, reduction='none')
        if valid is None:
            row = loss.mean(1)
        else:
            valid = valid.flatten(1).float()
            row = (loss * valid).sum(1) / valid.sum(1).clamp(min=1)
        reduction = reduction_override or self.reduction
        if reduction == 'sum':
            row = row.sum()
        elif reduction == 'mean':
            row = row.sum() / (avg_factor if avg_factor is not None else max(row.numel(), 1))
        return self.loss_weight * row
