"""The silent-object-aware loss: seed 001's L_soas (Eq. 4) = BAVS's L_ins (Eq. 4)."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class SilentObjectAwareLoss(BaseModule):
    """Soft IoU of the no-object queries' masks with the union of the ground-truth objects, to be minimised.

    Per frame ``f`` with ground-truth foreground ``G`` (the union of every ground-truth instance) and valid pixels
    ``V`` (not ``ignore_index``), for each query ``q`` of the no-object set (paper: "the predicted masks belonging
    to the non-object set"; which queries these are is the caller's choice, see ``PSOSHead.soas_set``)::

        IoU_q = sum_V sigmoid(m_q) * G / (sum_V (sigmoid(m_q) + G - sigmoid(m_q) * G) + eps)
        L = loss_weight * mean_f sum_q IoU_q

    Choices (seed001.md §2 / A5, bavs.md §2; recommendations, the papers give only the set formula):

    - soft IoU on the sigmoid probabilities (a hard IoU has no gradient);
    - ``resize='pred'`` (default): the mask logits ``[F, Q, h, w]`` are upsampled bilinearly to the ground
      truth's size before the sigmoid (the recommended reading); ``'gt'`` instead downsamples the ground truth
      (nearest) to the masks' size, cheaper in memory (the alternative of A5);
    - **sum over the no-object queries of a frame, mean over frames** (Eq. 4 is a sum; a mean over ~99 queries
      would make the term negligible);
    - a frame whose ground truth has no foreground contributes 0 (no intersection; ``eps`` keeps 0 / 0 finite);
    - ignore pixels count in neither sum.

    Args:
        eps: added to the union (1e-6).
        resize: ``'pred'`` (masks upsampled to the ground truth) or ``'gt'`` (ground truth to the masks).
        ignore_index: ground-truth value of unlabelled pixels.
        loss_weight: lambda_soas (paper: 1).
        loss_name: key in the loss dict.
    """

    def __init__(self,
                 eps: float = 1e-6,
                 resize: str = 'pred',
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_soas'):
        super().__init__()
        if resize not in ('pred', 'gt'):
            raise ValueError(f"SilentObjectAwareLoss: resize must be 'pred' or 'gt', got {resize!r}")
        self.eps = float(eps)
        self.resize = resize
        self.ignore_index = int(ignore_index)
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def soft_iou(self, mask_logits: Tensor, gt_foreground: Tensor) -> Tensor:
        """Per-query soft IoU ``[F, Q]`` (float32).

        Args:
            mask_logits: ``[F, Q, h, w]`` mask logits.
            gt_foreground: ``[F, H, W]`` with 1 foreground, 0 background, ``ignore_index`` unlabelled.
        """
        if mask_logits.dim() != 4 or gt_foreground.dim() != 3 or mask_logits.shape[0] != gt_foreground.shape[0]:
            raise ValueError(f'SilentObjectAwareLoss: mask_logits must be [F, Q, h, w] and gt_foreground [F, H, W] '
                             f'for the same frames, got {list(mask_logits.shape)} and {list(gt_foreground.shape)}')
        gt = gt_foreground
        bad = (gt != 0) & (gt != 1) & (gt != self.ignore_index)
        if bad.any():
            raise ValueError(f'SilentObjectAwareLoss: gt_foreground must hold 0, 1 or {self.ignore_index}, found '
                             f'{torch.unique(gt[bad]).tolist()[:10]}')
        logits = mask_logits.float()
        if self.resize == 'pred':
            if logits.shape[-2:] != gt.shape[-2:]:
                logits = F.interpolate(logits, size=gt.shape[-2:], mode='bilinear', align_corners=False)
        elif gt.shape[-2:] != logits.shape[-2:]:
            gt = F.interpolate(gt[:, None].float(), size=logits.shape[-2:], mode='nearest')[:, 0].to(gt.dtype)
        valid = (gt != self.ignore_index).float()[:, None]  # [F, 1, H, W]
        target = (gt == 1).float()[:, None]
        prob = logits.sigmoid() * valid
        target = target * valid
        inter = (prob * target).flatten(2).sum(-1)
        union = (prob + target - prob * target).flatten(2).sum(-1)
        return inter / (union + self.eps)

    def forward(self, mask_logits: Tensor, gt_foreground: Tensor, no_object: Tensor) -> Tensor:
        """Weighted L_soas.

        Args:
            mask_logits: ``[F, Q, h, w]`` mask logits of one decoder layer for ``F`` labelled frames.
            gt_foreground: ``[F, H, W]`` union of the ground-truth objects (1), background (0), ``ignore_index``.
            no_object: ``[F, Q]`` bool, the queries the loss applies to (e.g. those the matching left unmatched).

        Returns:
            Scalar loss; an exact 0 connected to ``mask_logits`` when there is no frame.
        """
        if no_object.shape != mask_logits.shape[:2]:
            raise ValueError(f'SilentObjectAwareLoss: no_object must be [F, Q] = {list(mask_logits.shape[:2])}, '
                             f'got {list(no_object.shape)}')
        if mask_logits.shape[0] == 0:
            return mask_logits.sum() * 0.0
        iou = self.soft_iou(mask_logits, gt_foreground)
        per_frame = (iou * no_object.float()).sum(dim=1)  # [F]
        return self.loss_weight * per_frame.mean().to(mask_logits.dtype)
