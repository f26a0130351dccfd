"""Audio-visual matching (AVM) loss of the AVSBench baseline."""
from typing import Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class AudioVisualMatchingLoss(nn.Module):
    """KL form of the AVSBench audio-visual matching loss (``L_AVM``, official ``A_MaskedV_SimmLoss`` with
    ``kl_flag``).

    For each stage ``s`` in ``stages`` and each counted frame ``n``:

    - the predicted mask is pooled to the stage size ``(h, w)`` (adaptive average or max pooling). One-channel
      (binary) logits are pooled, then passed through a sigmoid; multi-class logits are first binarised as
      ``argmax != background_index`` and the pooled binary mask is used as it is (official AVSS);
    - masked visual feature ``v_n = mean_{hw}(V_s[n] * mask)`` ``[C]``;
    - ``KL_n = sum_c p_a[c] * (log p_a[c] - log p_v[c])`` with ``p_a = softmax(A_s[n])`` and
      ``p_v = softmax(v_n)`` (``F.kl_div(log p_v, p_a)``; ``log_softmax`` is used for ``log p_v``, the same value
      as the official ``softmax().log()`` without its underflow).

    The frame terms are summed (``frame_reduction='sum'``: official MS3, ``reduction='sum'`` over all frames of
    the batch) or averaged (``'mean'``: official AVSS, divided by the number of labelled frames), then averaged
    over the stages and multiplied by ``loss_weight`` (``lambda_1``, official 0.5).

    Gradients flow into the visual maps, the projected audio and (binary case) the mask logits; the
    multi-class binarisation is not differentiable, as in the official code.

    Args:
        stages: stage indices the loss is computed on (official 0-3).
        loss_weight: ``lambda_1``.
        frame_reduction: ``'sum'`` or ``'mean'`` over counted frames.
        mask_pooling: ``'avg'`` (official default) or ``'max'``.
        background_index: background class for multi-class binarisation (AVSBench-semantic: 0).
        loss_name: key of the loss in the loss dict (must start with ``loss_`` to be back-propagated).
    """

    def __init__(self,
                 stages: Sequence[int] = (0, 1, 2, 3),
                 loss_weight: float = 0.5,
                 frame_reduction: str = 'sum',
                 mask_pooling: str = 'avg',
                 background_index: int = 0,
                 loss_name: str = 'loss_avm'):
        super().__init__()
        if not stages:
            raise ValueError('AudioVisualMatchingLoss: stages must not be empty')
        if frame_reduction not in ('sum', 'mean'):
            raise ValueError(f'AudioVisualMatchingLoss: frame_reduction must be "sum" or "mean", '
                             f'got {frame_reduction!r}')
        if mask_pooling not in ('avg', 'max'):
            raise ValueError(f'AudioVisualMatchingLoss: mask_pooling must be "avg" or "max", got {mask_pooling!r}')
        self.stages = tuple(int(s) for s in stages)
        self.loss_weight = loss_weight
        self.frame_reduction = frame_reduction
        self.mask_pooling = mask_pooling
        self.background_index = background_index
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def _pool(self, mask: Tensor, size) -> Tensor:
        if self.mask_pooling == 'avg':
            return F.adaptive_avg_pool2d(mask, size)
        return F.adaptive_max_pool2d(mask, size)

    def forward(self,
                seg_logits: Tensor,
                visual_feats: Sequence[Tensor],
                audio_feats: Sequence[Optional[Tensor]],
                frame_weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            seg_logits: ``[N, K, H, W]`` predicted logits (``K = 1`` binary, else multi-class).
            visual_feats: per-stage visual maps ``[N, C, h_s, w_s]`` (the fused maps of the neck).
            audio_feats: per-stage projected audio ``[N, C]`` (None for stages without audio).
            frame_weight: ``[N]`` 1 for frames that count (labelled frames), 0 otherwise; all frames when None.

        Returns:
            Scalar loss (already multiplied by ``loss_weight``).
        """
        if seg_logits.dim() != 4:
            raise ValueError(f'AudioVisualMatchingLoss: seg_logits must be [N, K, H, W], got '
                             f'{tuple(seg_logits.shape)}')
        num = seg_logits.shape[0]
        if seg_logits.shape[1] == 1:
            mask = seg_logits
            apply_sigmoid = True
        else:
            mask = (seg_logits.argmax(dim=1, keepdim=True) != self.background_index).to(seg_logits.dtype)
            apply_sigmoid = False
        if frame_weight is None:
            frame_weight = seg_logits.new_ones(num)
        frame_weight = frame_weight.to(seg_logits.dtype)
        if frame_weight.shape != (num, ):
            raise ValueError(f'AudioVisualMatchingLoss: frame_weight must be [{num}], got '
                             f'{tuple(frame_weight.shape)}')

        total = seg_logits.new_zeros(())
        for stage in self.stages:
            if stage >= len(visual_feats) or stage >= len(audio_feats) or audio_feats[stage] is None:
                raise ValueError(f'AudioVisualMatchingLoss: stage {stage} has no projected audio feature; '
                                 'the neck must run audio-visual TPAVI on every stage in loss stages '
                                 f'{self.stages}')
            v_map, a_fea = visual_feats[stage], audio_feats[stage]
            if v_map.shape[0] != num or a_fea.shape != (num, v_map.shape[1]):
                raise ValueError(f'AudioVisualMatchingLoss: stage {stage} visual {tuple(v_map.shape)} and audio '
                                 f'{tuple(a_fea.shape)} do not match {num} frames with one channel count')
            pooled = self._pool(mask, v_map.shape[-2:])
            if apply_sigmoid:
                pooled = pooled.sigmoid()
            masked_v = (v_map * pooled).mean(dim=(-2, -1))  # [N, C]
            kl = F.kl_div(
                F.log_softmax(masked_v, dim=-1), F.softmax(a_fea, dim=-1), reduction='none').sum(-1)  # [N]
            kl = (kl * frame_weight).sum()
            if self.frame_reduction == 'mean':
                kl = kl / frame_weight.sum().clamp(min=1)
            total = total + kl
        return self.loss_weight * total / len(self.stages)
