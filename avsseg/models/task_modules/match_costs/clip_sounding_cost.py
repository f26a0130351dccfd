"""AuTR's sounding-score matching cost of a clip: ReferFormer's focal class cost averaged over sounding frames."""
from typing import Optional

import torch
from mmdet.models.task_modules.assigners import FocalLossCost
from mmengine.structures import InstanceData
from torch import Tensor

from avsseg.registry import TASK_UTILS


@TASK_UTILS.register_module()
class ClipSoundingCost(FocalLossCost):
    """Sigmoid focal class cost of each query's per-frame sounding logits, averaged over a clip's sounding frames.

    AuTR (Eq. 4, ``C_sound``) matches one query index to a whole clip (ReferFormer's instance-sequence matching):
    the class cost of query ``i`` is mmdet's focal cost ``alpha (1-p)^gamma (-log p) - (1-alpha) p^gamma
    (-log(1-p))`` (:class:`~mmdet.models.task_modules.FocalLossCost`, class mode) of its logit on frame ``t``,
    averaged over the labelled frames ``t`` whose ground truth holds sounding pixels (ReferFormer's matcher skips
    frames where the object is absent). A clip with no sounding labelled frame costs 0 for every query.

    Args:
        alpha, gamma, eps, weight: as :class:`~mmdet.models.task_modules.FocalLossCost` (0.25, 2, 1e-12; AuTR
            ``lambda_sound`` = 2).
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2, eps: float = 1e-12, weight: float = 1.) -> None:
        super().__init__(alpha=alpha, gamma=gamma, eps=eps, binary_input=False, weight=weight)

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """Cost matrix ``[num_queries, num_gts]``.

        Args:
            pred_instances: ``scores`` ``[Q, T]``, the sounding logit of each query on each of the clip's ``T``
                labelled frames.
            gt_instances: ``sounding_frames`` ``[G, T]`` bool, whether ground truth ``g`` is sounding (non-empty)
                on frame ``t``.
            img_meta: unused.
        """
        scores = pred_instances.scores
        sounding = gt_instances.sounding_frames
        if scores.dim() != 2 or sounding.dim() != 2 or scores.shape[1] != sounding.shape[1]:
            raise ValueError(f'ClipSoundingCost: scores must be [Q, T] and sounding_frames [G, T], got '
                             f'{list(scores.shape)} and {list(sounding.shape)}')
        num_frames = scores.shape[1]
        per_frame = self._focal_loss_cost(scores, torch.arange(num_frames, device=scores.device))  # [Q, T]
        sounding = sounding.to(per_frame.dtype)
        return per_frame @ sounding.t() / sounding.sum(1).clamp(min=1)
