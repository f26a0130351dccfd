"""Softmax focal loss for query classification (AUSS's L_class, "focal classification loss")."""
from typing import List, Optional

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class SoftmaxFocalLoss(BaseModule):
    """Focal loss on softmax class probabilities: ``(1 - p_y)^gamma * -log p_y`` per sample.

    mmdet's and mmseg's ``FocalLoss`` are sigmoid (one-vs-all) losses; AUSS classifies each query into the K = 2
    classes {sound, silent} with a softmax (Eq. 11), so the focal term is taken on the softmax probability of the
    target class. The call signature is mmdet ``CrossEntropyLoss``'s, so Mask2Former's ``loss_by_feat`` can call it
    (it passes ``avg_factor = class_weight[labels].sum()``), and ``class_weight`` is exposed as Mask2Former reads it.

    Args:
        gamma: focusing parameter (2.0).
        class_weight: per-class weights ``[K]`` multiplying each sample's term (None: all 1).
        reduction: ``'mean'`` (sum / ``avg_factor`` or mean), ``'sum'`` or ``'none'``.
        loss_weight: weight of the loss.
        loss_name: key in the loss dict.
    """

    def __init__(self, gamma: float = 2.0, class_weight: Optional[List[float]] = None, reduction: str = 'mean',
                 loss_weight: float = 1.0, loss_name: str = 'loss_cls'):
        super().__init__()
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"SoftmaxFocalLoss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.gamma = float(gamma)
        self.class_weight = class_weight
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, cls_score: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, reduction_override: Optional[str] = None) -> Tensor:
        """Weighted focal loss.

        Args:
            cls_score: ``[M, K]`` logits.
            label: ``[M]`` target class indices in ``[0, K)``.
            weight: ``[M]`` per-sample weights, or None.
            avg_factor: divisor of the sum for ``'mean'`` (default: ``M``).
            reduction_override: overrides ``reduction``.
        """
        if cls_score.dim() != 2 or label.shape != cls_score.shape[:1]:
            raise ValueError(f'SoftmaxFocalLoss: cls_score must be [M, K] and label [M], got '
                             f'{list(cls_score.shape)} and {list(label.shape)}')
        if label.numel() and (label.min() < 0 or label.max() >= cls_score.shape[1]):
            raise ValueError(f'SoftmaxFocalLoss: labels must lie in [0, {cls_score.shape[1]}), got '
                             f'{sorted(set(label.tolist()))}')
        log_p = F.log_softmax(cls_score.float(), dim=1).gather(1, label.view(-1, 1)).squeeze(1)
        loss = (1 - log_p.exp()).pow(self.gamma) * -log_p
        if self.class_weight is not None:
            loss = loss * loss.new_tensor(self.class_weight)[label]
        if weight is not None:
            loss = loss * weight.float()
        reduction = reduction_override or self.reduction
        if reduction == 'sum':
            loss = loss.sum()
        elif reduction == 'mean':
            loss = loss.sum() / (avg_factor if avg_factor is not None else max(loss.numel(), 1))
        return self.loss_weight * loss
