"""Stage 1 of the two-stage AVS methods: potential sounding object segmentation (PSOS).

Seed 001 (cross-modal mutual semantics, "CMMS", §3.1) and BAVS (seed 000, §III-B) segment every object that could
sound with a Mask2Former over K categories plus no-object, trained with the silent-object-aware losses; stage 2
(an audio branch) then picks the sounding ones from the potential instance set this head outputs.
"""
from contextlib import contextmanager
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, metas_of, padded_input_size
from ..utils.instance_filters import INSTANCE_FILTERS, filter_instances
from .audio_query_mask2former_head import AudioQueryMask2FormerHead

SOAS_LAYERS = ('all', 'last')
SOAS_SETS = ('unmatched', 'pred_noobj')
OUTPUTS = ('binary', 'semantic')
EMPTY_LOGIT = -1e4  # foreground logit of a frame without instance: softmax / sigmoid give 0


@MODELS.register_module()
class PSOSHead(AudioQueryMask2FormerHead):
    """Mask2Former over K categories + no-object, no background instance, silent-object-aware losses.

    What PSOS changes in the shared decoder (:class:`AudioQueryMask2FormerHead`; the decoder loop is the base's):

    - classes: ``num_classes = K`` object categories; the class predictor has ``K + 1`` outputs, the last being
      Mask2Former's no-object, which stands for the background (seed 001 §3.1 [paper]). The audio is not read
      (``audio_channels=None``);
    - :meth:`gt_instances`: ``gt_sem_seg`` holds dataset class indices (0 background, ``1..K`` categories, from
      ``ClipCategoryToLabel`` for S4); every present category ``c`` becomes one instance with label ``c - 1``;
      **the background is never a ground-truth instance** (a frame with an empty mask has none);
    - losses (:meth:`loss_by_feat`): mmdet's Mask2Former losses (Hungarian matching, class CE, mask loss and dice
      on sampled points, deep supervision) plus ``loss_soas`` (:class:`SilentObjectAwareLoss`, seed 001's
      L_soas = BAVS's L_ins) on the no-object queries of each decoder layer with that layer's matching
      (``soas_layers='all'``, deep supervision, recommendation A6; ``'last'``: the last layer only). The no-object
      set (A4) is the queries the matching leaves unmatched (``soas_set='unmatched'``, recommended) or those whose
      detached argmax is no-object (``'pred_noobj'``);
    - ``silent_exclusion`` (BAVS's L_cls, Eq. 3): an unmatched query whose detached argmax over the K + 1 classes
      is one of the frame's silent categories (metainfo ``silent_key``, dataset class indices ``1..K``) gets
      no-object CE weight 0 (bavs.md A1, recommendation); everything else, including the no-object class weight and
      the CE normalisation, is Mask2Former's. With ``silent_exclusion=False`` the Mask2Former losses are mmdet's,
      bit for bit;
    - :meth:`predict` (via :meth:`predict_by_feat`): the top-1 instance (the "w/o AVSC" / "w/o AVIS" baseline of
      both papers, and the stage-1 validation output): of the queries whose argmax is not no-object, the one with
      the highest argmax-class probability (A7), its mask logits upsampled bilinearly to the padded input size.
      ``output='binary'``: 2 channels ``[0, mask logit]`` (so ``softmax(.)[1] = sigmoid(mask logit)``, binarised
      at 0.5 by the metric as the papers binarise masks); ``'semantic'``: ``K + 1`` channels, 0 for the
      background and the mask logit in the channel of the instance's class (``label + 1``). A frame where every
      query predicts no-object is predicted empty;
    - :meth:`predict_instances`: the potential instance set of each frame for stage 2 (see there).

    Args:
        num_classes: K, the number of object categories (no background, no no-object).
        loss_soas: ``SilentObjectAwareLoss`` config (lambda_soas = 1 as its ``loss_weight``), or None (the
            "w/o L_soas" ablation).
        soas_layers: ``'all'`` decoder predictions or only the ``'last'``.
        soas_set: ``'unmatched'`` or ``'pred_noobj'`` (see above).
        silent_exclusion: BAVS's L_cls exemption of unmatched queries predicting a silent category.
        silent_key: metainfo key holding the frame's silent categories (dataset class indices); required on every
            labelled frame when ``silent_exclusion``.
        output: ``'binary'`` (S4 / MS3 metric) or ``'semantic'`` (AVSS metric) top-1 prediction.
        instance_filter: filter of :meth:`predict_instances`: ``'category_score'`` (seed 001: at most one
            instance per category), ``'two_phase'`` (BAVS, with ``iou_thr``) or ``'none'``.
        iou_thr: ``t`` of the two-phase filter (recommendation 0.5).
        **kwargs: arguments of :class:`AudioQueryMask2FormerHead` / mmseg's ``Mask2FormerHead``; ``loss_cls``'s
            ``class_weight`` must have ``K + 1`` entries (no-object last, 0.1).
    """

    def __init__(self,
                 num_classes: int,
                 loss_soas: OptConfigType = dict(type='SilentObjectAwareLoss', loss_weight=1.0),
                 soas_layers: str = 'all',
                 soas_set: str = 'unmatched',
                 silent_exclusion: bool = False,
                 silent_key: str = 'silent_labels',
                 output: str = 'binary',
                 instance_filter: str = 'category_score',
                 iou_thr: float = 0.5,
                 **kwargs):
        if kwargs.pop('audio_channels', None) is not None:
            raise ValueError('PSOSHead: stage 1 does not read the audio; leave audio_channels out (None)')
        for name, value, allowed in (('soas_layers', soas_layers, SOAS_LAYERS), ('soas_set', soas_set, SOAS_SETS),
                                     ('output', output, OUTPUTS),
                                     ('instance_filter', instance_filter, INSTANCE_FILTERS)):
            if value not in allowed:
                raise ValueError(f'PSOSHead: {name} must be one of {allowed}, got {value!r}')
        super().__init__(num_classes=num_classes, audio_channels=None, **kwargs)
        if self.class_weight is not None and len(self.class_weight) != num_classes + 1:
            raise ValueError(f'PSOSHead: loss_cls.class_weight has {len(self.class_weight)} entries, expected '
                             f'num_classes + 1 = {num_classes + 1} (K categories, then no-object)')
        self.loss_soas = None
        if loss_soas is not None:
            loss_soas = dict(loss_soas)
            loss_soas.setdefault('ignore_index', self.ignore_index)
            self.loss_soas = MODELS.build(loss_soas)
        self.soas_layers = soas_layers
        self.soas_set = soas_set
        self.silent_exclusion = bool(silent_exclusion)
        self.silent_key = silent_key
        self.output = output
        self.instance_filter = instance_filter
        self.iou_thr = float(iou_thr)
        self._layer_mask_weights: Optional[Tensor] = None
        self._kept_outputs: Optional[dict] = None

    @property
    def eval_num_classes(self) -> int:
        """Classes of the predicted maps, i.e. of the dataset they are scored against: 2 (binary) or K + 1."""
        return 2 if self.output == 'binary' else self.num_classes + 1

    # ---------------------------------------------------------------- ground truth
    def gt_instances(self, data_samples: SampleList) -> Tuple[list, List[dict]]:
        """One instance per present category (label ``c - 1``), never one for the background.

        Returns ``(batch_gt_instances, batch_img_metas)``; each meta also carries ``soas_target``, the frame's
        ground-truth foreground ``[H, W]`` (1 object, 0 background, ``ignore_index``) for ``loss_soas``. Labels
        outside ``0..K`` (other than ``ignore_index``) are an error naming the frame.
        """
        batch_gt_instances, batch_img_metas = [], []
        for sample in data_samples:
            gt = sample.gt_sem_seg.data[0].long()  # [H, W]
            ignore = gt == self.ignore_index
            bad = ~ignore & ((gt < 0) | (gt > self.num_classes))
            if bad.any():
                raise ValueError(f'PSOSHead: ground truth of {sample.metainfo.get("img_path", "a frame")} has labels '
                                 f'{torch.unique(gt[bad]).tolist()[:10]}, outside 0..{self.num_classes} (0 background, '
                                 f'1..K categories; ignore_index={self.ignore_index}); binary masks need '
                                 'ClipCategoryToLabel first')
            classes = torch.unique(gt[~ignore & (gt > 0)])
            masks = torch.stack([gt == c for c in classes]).long() if classes.numel() else gt.new_zeros(
                (0, *gt.shape))
            batch_gt_instances.append(InstanceData(labels=classes - 1, masks=masks))
            meta = dict(sample.metainfo)
            meta['soas_target'] = torch.where(ignore, gt, (gt > 0).long())
            batch_img_metas.append(meta)
        return batch_gt_instances, batch_img_metas

    def silent_labels(self, img_meta: dict, device: torch.device) -> Tensor:
        """The frame's silent categories as head labels (``index - 1``), checked against ``1..K``."""
        where = img_meta.get('img_path', 'a frame')
        if self.silent_key not in img_meta:
            raise KeyError(f'PSOSHead: silent_exclusion needs metainfo "{self.silent_key}" on every labelled frame; '
                           f'{where} has none (LoadSilentObjectLabels puts it there)')
        silent = torch.as_tensor(list(img_meta[self.silent_key] or []), dtype=torch.long, device=device)
        if silent.numel() and (silent.min() < 1 or silent.max() > self.num_classes):
            raise ValueError(f'PSOSHead: {self.silent_key} of {where} = {silent.tolist()}; silent categories are '
                             f'dataset class indices 1..{self.num_classes}')
        return silent - 1

    # ---------------------------------------------------------------- loss
    def _get_targets_single(self, cls_score: Tensor, mask_pred: Tensor, gt_instances: InstanceData,
                            img_meta: dict) -> tuple:
        """mmdet's targets; with ``silent_exclusion``, label weight 0 for unmatched queries predicting a silent
        category of the frame (argmax over K + 1 of the detached scores of this layer)."""
        targets = super()._get_targets_single(cls_score, mask_pred, gt_instances, img_meta)
        if not self.silent_exclusion:
            return targets
        labels, label_weights, mask_targets, mask_weights = targets[:4]
        silent = self.silent_labels(img_meta, cls_score.device)
        predicted = cls_score.detach().argmax(dim=-1)
        exempt = (mask_weights == 0) & torch.isin(predicted, silent)
        return (labels, label_weights.masked_fill(exempt, 0), mask_targets, mask_weights) + tuple(targets[4:])

    def get_targets(self, cls_scores_list, mask_preds_list, batch_gt_instances, batch_img_metas,
                    return_sampling_results: bool = False):
        """mmdet's ``get_targets``; keeps the layer's mask weights (1 = matched) for ``loss_soas``."""
        targets = super().get_targets(cls_scores_list, mask_preds_list, batch_gt_instances, batch_img_metas,
                                      return_sampling_results)
        self._layer_mask_weights = torch.stack(targets[3]) if len(targets[3]) else None
        return targets

    def loss_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor], batch_gt_instances: list,
                     batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """mmdet's Mask2Former losses per decoder prediction (same order, same random points) plus ``loss_soas``.

        Keys: ``loss_cls``, ``loss_mask``, ``loss_dice``, ``loss_soas`` (last prediction) and ``d{i}.loss_*``
        (earlier ones; ``d{i}.loss_soas`` only with ``soas_layers='all'``).
        """
        num_layers = len(all_cls_scores)
        soas_target = None
        if self.loss_soas is not None and batch_img_metas:
            soas_target = torch.stack([meta['soas_target'] for meta in batch_img_metas])
        loss_dict: Dict[str, Tensor] = {}
        for i in range(num_layers):
            prefix = '' if i == num_layers - 1 else f'd{i}.'
            self._layer_mask_weights = None
            loss_cls, loss_mask, loss_dice = self._loss_by_feat_single(all_cls_scores[i], all_mask_preds[i],
                                                                       batch_gt_instances, batch_img_metas)
            loss_dict[f'{prefix}loss_cls'] = loss_cls
            loss_dict[f'{prefix}loss_mask'] = loss_mask
            loss_dict[f'{prefix}loss_dice'] = loss_dice
            if soas_target is not None and (self.soas_layers == 'all' or i == num_layers - 1):
                if self.soas_set == 'unmatched':
                    no_object = self._layer_mask_weights == 0
                else:
                    no_object = all_cls_scores[i].detach().argmax(dim=-1) == self.num_classes
                loss_dict[f'{prefix}{self.loss_soas.loss_name}'] = self.loss_soas(all_mask_preds[i], soas_target,
                                                                                  no_object)
        self._layer_mask_weights = None
        return loss_dict

    # ---------------------------------------------------------------- predict
    @contextmanager
    def keep_outputs(self):
        """Within the block, :meth:`predict` also stores the last decoder layer's ``cls`` ``[N, Q, K + 1]`` and
        ``masks`` ``[N, Q, h, w]`` in the yielded dict, so a segmentor can build the instance sets of the same
        forward pass (``PSOSSegmentor``)."""
        kept: dict = {}
        self._kept_outputs = kept
        try:
            yield kept
        finally:
            self._kept_outputs = None

    def predict(self, inputs: AVFeatures, batch_img_metas: List[dict], test_cfg: ConfigType = None) -> Tensor:
        """Top-1 logits ``[N, 2 or K + 1, H_pad, W_pad]`` (see the class docstring)."""
        all_cls_scores, all_mask_preds = self.forward(inputs)
        if self._kept_outputs is not None:
            self._kept_outputs.update(cls=all_cls_scores[-1], masks=all_mask_preds[-1])
        return self.predict_by_feat(all_cls_scores, all_mask_preds, metas_of(batch_img_metas))

    def predict_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor],
                        batch_img_metas: List[dict]) -> Tensor:
        """Top-1 instance of the last decoder layer as logits at the padded input size."""
        size = padded_input_size(batch_img_metas)
        cls_probs = F.softmax(all_cls_scores[-1].float(), dim=-1)
        scores, labels = cls_probs.max(dim=-1)  # [N, Q]
        is_object = labels != self.num_classes
        # argmax returns the first maximum: ties go to the lowest query index, as in the instance filters
        top = torch.where(is_object, scores, scores.new_full((), -1.0)).argmax(dim=1)  # [N]
        rows = torch.arange(top.shape[0], device=top.device)
        has_object = is_object[rows, top]
        mask = F.interpolate(all_mask_preds[-1][rows, top][:, None].float(), size=size, mode='bilinear',
                             align_corners=False)[:, 0]  # [N, H, W]
        mask = torch.where(has_object[:, None, None], mask, mask.new_full((), EMPTY_LOGIT))
        if self.output == 'binary':
            return torch.stack([torch.zeros_like(mask), mask], dim=1)
        logits = mask.new_full((mask.shape[0], self.num_classes + 1, *size), EMPTY_LOGIT)
        logits[:, 0] = 0.0
        channel = torch.where(has_object, labels[rows, top] + 1, torch.zeros_like(top))
        logits[rows[has_object], channel[has_object]] = mask[has_object]
        return logits

    def predict_instances(self, inputs: AVFeatures, batch_img_metas: List[dict],
                          test_cfg: ConfigType = None) -> List[InstanceData]:
        """The potential instance set of every frame (stage 2's input).

        Args:
            inputs: the feature bundle of ``N`` frames.
            batch_img_metas: their metainfo (the padded input size).

        Returns:
            ``N`` ``InstanceData`` (see :meth:`instances_by_feat`).
        """
        all_cls_scores, all_mask_preds = self.forward(inputs)
        return self.instances_by_feat(all_cls_scores, all_mask_preds, metas_of(batch_img_metas))

    def instances_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor],
                          batch_img_metas: List[dict]) -> List[InstanceData]:
        """Filtered instances of the last decoder layer, per frame.

        Each ``InstanceData`` holds ``N_p`` instances, by descending score (filter ``instance_filter``):
        ``labels`` long ``[N_p]`` (category ``0..K-1``; dataset class ``label + 1``), ``scores`` ``[N_p]`` (the
        argmax-class probability), ``cls_probs`` ``[N_p, K + 1]``, ``masks`` bool ``[N_p, H_pad, W_pad]``
        (``sigmoid > 0.5`` of the mask logits upsampled bilinearly to the padded input size) and ``mask_logits``
        float ``[N_p, H_pad, W_pad]``.
        """
        size = padded_input_size(batch_img_metas)
        cls_probs = F.softmax(all_cls_scores[-1].float(), dim=-1)
        results = []
        for n in range(cls_probs.shape[0]):
            mask_logits = F.interpolate(all_mask_preds[-1][n][None].float(), size=size, mode='bilinear',
                                        align_corners=False)[0]
            masks = mask_logits > 0
            keep = filter_instances(cls_probs[n], masks, self.instance_filter, self.iou_thr)
            scores, labels = cls_probs[n].max(dim=-1)
            results.append(
                InstanceData(labels=labels[keep], scores=scores[keep], cls_probs=cls_probs[n][keep],
                             masks=masks[keep], mask_logits=mask_logits[keep]))
        return results
