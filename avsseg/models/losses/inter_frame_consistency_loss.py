"""COMBO's adaptive inter-frame consistency loss (Yang et al., CVPR 2024, eq. 6-7)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class AdaptiveInterFrameLoss(BaseModule):
    """Adaptive inter-frame consistency loss ``L_ada``.

    For adjacent frames ``t, t+1`` of a clip the similarity is ``S = cos(O_t, O_{t+1})`` (eq. 6), where ``O_t``
    is the whole mask prediction of frame ``t`` flattened to one vector (all queries times all pixels). With
    ``l = 1 - S`` (``torch.nn.functional.cosine_embedding_loss`` with target 1) each pair contributes
    ``exp(S - 1) * (1 - S) = l * exp(-l)`` (eq. 7): pairs that already differ a lot get a small adaptive weight,
    so real scene changes are not forced together. As in the official code the weight ``exp(-l)`` is *not*
    detached (the gradient of ``l * exp(-l)`` is ``(1 - l) * exp(-l)``).

    Reduction: the official code sums the pair terms over the ``T-1`` pairs and the clips and divides by
    ``batch * (T-1)``, i.e. the mean over pairs. Here only pairs whose two frames are both real (``valid``)
    count, and the loss is the mean over all valid pairs of the batch, which is the official value when every
    frame is real. A batch without any valid pair (clips of one frame) gives an exact zero that still depends
    on the input, so the graph stays connected.

    The loss is unsupervised: it needs no label, so in S4 (only frame 1 labelled) it uses all frames.
    Computed in float32 (AMP-safe).

    Args:
        loss_weight: ``lambda_ada`` (paper: 10 for AVSBench-object, 5 for AVSBench-semantic).
        loss_name: key of the loss in the loss dict.
        init_cfg: unused, kept for the mmengine interface.
    """

    def __init__(self, loss_weight: float = 10.0, loss_name: str = 'loss_ada', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, mask_preds: Tensor, num_frames: int, valid: Optional[Tensor] = None) -> Tensor:
        """Loss of one decoder layer's predictions.

        Args:
            mask_preds: mask logits ``[B*T, ...]`` (e.g. ``[B*T, Q, H, W]``), clip-major (row ``b*T + t``).
            num_frames: clip length ``T``.
            valid: optional bool ``[B*T]``; False marks padded frames, which take part in no pair.

        Returns:
            Scalar: ``loss_weight * mean over valid adjacent pairs of l * exp(-l)``.
        """
        if num_frames < 1:
            raise ValueError(f'AdaptiveInterFrameLoss: num_frames must be >= 1, got {num_frames}')
        if mask_preds.shape[0] % num_frames != 0:
            raise ValueError(f'AdaptiveInterFrameLoss: {mask_preds.shape[0]} predictions are not a multiple of '
                             f'num_frames={num_frames}')
        batch = mask_preds.shape[0] // num_frames
        x = mask_preds.float().reshape(batch, num_frames, -1)
        if valid is None:
            valid = torch.ones(batch * num_frames, dtype=torch.bool, device=mask_preds.device)
        if valid.shape != (batch * num_frames, ):
            raise ValueError(f'AdaptiveInterFrameLoss: valid must have shape [{batch * num_frames}], got '
                             f'{list(valid.shape)}')
        valid = valid.to(device=mask_preds.device, dtype=torch.bool).reshape(batch, num_frames)
        if num_frames == 1:
            return x.sum() * 0.0
        pair_valid = (valid[:, :-1] & valid[:, 1:]).reshape(-1)
        if not pair_valid.any():
            return x.sum() * 0.0
        first = x[:, :-1].reshape(-1, x.shape[-1])[pair_valid]
        second = x[:, 1:].reshape(-1, x.shape[-1])[pair_valid]
        target = first.new_ones(first.shape[0])
        dissimilarity = F.cosine_embedding_loss(first, second, target, reduction='none')  # 1 - S per pair
        loss = (dissimilarity * torch.exp(-dissimilarity)).mean()
        return self.loss_weight * loss
