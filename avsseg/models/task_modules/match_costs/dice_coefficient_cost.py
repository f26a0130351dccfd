"""Negative dice coefficient as a matching cost (ReferFormer's ``dice_coef``)."""
from typing import Optional

from mmdet.models.task_modules.assigners import DiceCost
from mmengine.structures import InstanceData
from torch import Tensor

from avsseg.registry import TASK_UTILS


@TASK_UTILS.register_module()
class DiceCoefficientCost(DiceCost):
    """``-(2 sum(p y) + eps) / (sum(p) + sum(y) + eps)``, the dice cost of ReferFormer's matcher (AuTR Eq. 4).

    mmdet's :class:`~mmdet.models.task_modules.DiceCost` with ``naive_dice=True`` gives ``1 - dice``; this cost
    is that minus 1 (times the weight), so matching is unchanged but the cost values are ReferFormer's (and the
    AuTR spec sheet's hand case).

    Args:
        weight: cost weight (AuTR ``lambda_dice`` = 1).
        pred_act: apply sigmoid to the predicted masks (logits in).
        eps: smoothing (ReferFormer: 1).
    """

    def __init__(self, weight: float = 1., pred_act: bool = True, eps: float = 1.) -> None:
        super().__init__(weight=weight, pred_act=pred_act, eps=eps, naive_dice=True)

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """``[num_queries, num_gts]`` from ``pred_instances.masks`` ``[Q, ...]`` and ``gt_instances.masks``
        ``[G, ...]`` (same trailing shape)."""
        return super().__call__(pred_instances, gt_instances, img_meta, **kwargs) - self.weight
