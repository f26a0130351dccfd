"""BAVS stage 2: frozen PSOS + frozen audio tagger + the training-free audio-visual semantic integration (AVIS)."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.structures import InstanceData
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList
from torch import Tensor

from avsseg.registry import MODELS, TASK_UTILS
from avsseg.structures import frame_flags, metas_of, padded_input_size
from .psos_segmentor import PSOSSegmentor

MODES = ('avis', 'top1')
#: Logit magnitude of the binary / semantic maps painted from the sounding masks (sigmoid(10) = 0.99995).
PAINT_LOGIT = 10.0


@MODELS.register_module()
class BAVSSegmentor(PSOSSegmentor):
    """BAVS (arXiv 2308.10175) at test time: which potential sounding objects of stage 1 actually sound.

    Stage 2 of BAVS has no trainable part (§III-C, sheet bavs.md §6.3): the stage-1 PSOS model (``backbone`` +
    ``decode_head``, a ``PSOSHead``), the off-the-shelf tagger (``audio_backbone`` with ``output='probs'`` and a
    ``label_mids`` attribute: :class:`~avsseg.models.audio_backbones.BEATs`, ``HFAudioTagger`` or the tiny
    ``LogMelTagger``) and the ``integrator`` (:class:`~avsseg.models.task_modules.AudioVisualSemanticIntegration`,
    holding the audio-visual tree and the thresholds) are all frozen; :meth:`loss` raises. One checkpoint holds
    every weight (``tools/model_converters/compose_two_stage.py``), since MMEngine does not call ``init_weights``
    at test time.

    Prediction for ``B*T`` frames (``inputs['audio']``: 1 s waveform windows ``[B*T, samples]``):

    - tags: ``audio_backbone(audio) -> [B*T, L]`` confidences, zero on padded frames (so they tag nothing);
    - stage 1 on the frames, one forward pass: the potential instance set of each frame, filtered by the head's
      two-phase filter (``instance_filter='two_phase'`` with the integrator's ``iou_thr``, checked here): ``P_c``;
    - ``mode='avis'``: :meth:`AudioVisualSemanticIntegration.integrate_instances` on ``P_c`` and the frame's tags
      gives the sounding masks. ``output='binary'`` (the head's, S4 / MS3): 2 channels ``[0, +-10]``, +10 on their
      union (the metric's softmax gives 1 / 0); ``'semantic'`` (AVSS): ``K + 1`` channels, the background channel 0
      and +10 in channel ``v_i + 1`` of each sounding mask's visual label [A7], painted by ascending score so the
      highest-scoring mask wins overlaps [R]; -10 elsewhere. A frame with no sounding mask is all background;
    - ``mode='top1'`` (Table VI "w/o AVIS"): the head's top-1 instance (``PSOSHead.predict_by_feat``), the tags
      unused.

    Each data sample also carries ``pred_instances`` (``P_c`` at ``ori_shape``, as :class:`PSOSSegmentor`, so
    ``PotentialInstanceMetric`` gives the I of Table V) with a ``sounding`` bool field, and ``pred_tag_probs``
    ``[L]``.

    Args:
        backbone / decode_head: the stage-1 model (as its config; ``decode_head`` a ``PSOSHead``).
        audio_backbone: the tagger; must output ``[N, L]`` probabilities and expose ``label_mids`` (``L`` mids the
            tree is keyed by) unless ``label_mids`` is given here.
        integrator: ``AudioVisualSemanticIntegration`` config (tree file, ``tag_thr``, ``topk``, ``iou_thr``, the
            A5 switches); its ``classes`` default to the tree's visual classes and must match the head's K.
        mode: ``'avis'`` or ``'top1'``.
        label_mids: the tagger's mids, overriding ``audio_backbone.label_mids``.
        **kwargs: the remaining :class:`AudioVisualSegmentor` arguments (``data_preprocessor``, ``test_cfg``...).
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 audio_backbone: ConfigType,
                 integrator: ConfigType,
                 mode: str = 'avis',
                 label_mids: Optional[Sequence[str]] = None,
                 neck: OptConfigType = None,
                 **kwargs):
        if mode not in MODES:
            raise ValueError(f'BAVSSegmentor: mode must be one of {MODES}, got {mode!r}')
        if audio_backbone is None:
            raise ValueError('BAVSSegmentor: audio_backbone (the tagger) is required')
        if neck is not None:
            raise ValueError('BAVSSegmentor: stage 1 has no fusion neck (the tags do not touch the visual features)')
        if kwargs.get('auxiliary_head') is not None:
            raise ValueError('BAVSSegmentor: no auxiliary_head (stage 2 is inference only)')
        super().__init__(backbone=backbone, decode_head=decode_head, audio_backbone=audio_backbone, **kwargs)
        self.mode = mode
        self.integrator = TASK_UTILS.build(integrator) if isinstance(integrator, dict) else integrator
        head = self.decode_head
        if self.integrator.num_classes != head.num_classes:
            raise ValueError(f'BAVSSegmentor: the integrator has {self.integrator.num_classes} classes '
                             f'({self.integrator.classes[:5]}...) but decode_head.num_classes = {head.num_classes}')
        if head.instance_filter != 'two_phase' or abs(head.iou_thr - self.integrator.iou_thr) > 1e-9:
            raise ValueError(f"BAVSSegmentor: decode_head must filter with instance_filter='two_phase' and "
                             f'iou_thr={self.integrator.iou_thr} (the integrator\'s t), got '
                             f'{head.instance_filter!r} / {head.iou_thr}')
        mids = label_mids if label_mids is not None else getattr(self.audio_backbone, 'label_mids', None)
        if mids is None:
            raise ValueError(f'BAVSSegmentor: the tagger {type(self.audio_backbone).__name__} exposes no label_mids '
                             '(HFAudioTagger needs class_labels_csv, BEATs a label_dict); give label_mids=')
        self.label_mids: List[str] = list(mids)
        output = getattr(self.audio_backbone, 'output', 'probs')
        if output != 'probs':
            raise ValueError(f"BAVSSegmentor: the tagger must output 'probs' (sigmoid confidences), got {output!r}")
        # fail at build time on mids the tree does not know, not on the first test batch
        self.integrator.tree.tags_to_categories(torch.zeros(len(self.label_mids)), self.label_mids)
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> 'BAVSSegmentor':
        # frozen: BatchNorm statistics and dropout stay in inference mode whatever the runner asks
        return super().train(False)

    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        raise RuntimeError('BAVSSegmentor has no trainable parameters: stage 2 of BAVS is training-free. Train the '
                           'stage-1 PSOS (configs/bavs/*_stage1.py), compose its checkpoint with the tagger '
                           '(tools/model_converters/compose_two_stage.py) and run tools/test.py')

    # ---------------------------------------------------------------- predict
    def paint(self, instances: InstanceData, sounding: Tensor, size) -> Tensor:
        """Logits ``[2 or K + 1, H, W]`` of one frame from its sounding masks (positions into ``instances``)."""
        head = self.decode_head
        masks = instances.masks[sounding]  # [S, H, W], by descending score
        if head.output == 'binary':
            union = masks.any(dim=0) if len(sounding) else torch.zeros(size, dtype=torch.bool, device=masks.device)
            fg = torch.where(union, PAINT_LOGIT, -PAINT_LOGIT).float()
            return torch.stack([torch.zeros_like(fg), fg])
        logits = torch.full((head.num_classes + 1, *size), -PAINT_LOGIT, device=masks.device)
        logits[0] = 0.0  # background unless a sounding mask covers the pixel
        label_map = torch.zeros(size, dtype=torch.long, device=masks.device)
        for j in reversed(range(len(sounding))):  # ascending score: the highest-scoring mask is painted last
            label_map[masks[j]] = int(instances.labels[sounding[j]]) + 1
        ys, xs = (label_map > 0).nonzero(as_tuple=True)
        logits[label_map[ys, xs], ys, xs] = PAINT_LOGIT
        return logits

    def predict(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('predict needs data samples (clip length, shapes)')
        metas = metas_of(data_samples)
        feats = self.extract_feat(inputs, metas)  # audio = the tag confidences; PSOSHead does not read them
        probs = feats.audio
        if probs.dim() != 2 or probs.shape[1] != len(self.label_mids):
            raise ValueError(f'BAVSSegmentor: the tagger returned {list(probs.shape)}, expected [N, '
                             f'{len(self.label_mids)}] (one confidence per label_mids entry)')
        head = self.decode_head
        all_cls_scores, all_mask_preds = head.forward(feats)
        instances = head.instances_by_feat(all_cls_scores, all_mask_preds, metas)
        size = padded_input_size(metas)
        padded = frame_flags(metas, 'is_padded')
        sounding = []
        for n, inst in enumerate(instances):
            if padded[n]:
                sounding.append(torch.zeros(0, dtype=torch.long))
            else:
                sounding.append(self.integrator.integrate_instances(inst, probs[n], self.label_mids).cpu())
        if self.mode == 'top1':
            seg_logits = head.predict_by_feat(all_cls_scores, all_mask_preds, metas)
        else:
            seg_logits = torch.stack([self.paint(inst, s.to(inst.masks.device), size)
                                      for inst, s in zip(instances, sounding)])
        if padded.any():
            seg_logits = seg_logits.clone()
            background = torch.full_like(seg_logits[0], -PAINT_LOGIT)
            background[0] = 0.0
            seg_logits[padded.to(seg_logits.device)] = background
        results = self.postprocess_result(seg_logits, data_samples)
        for n, (sample, meta, inst) in enumerate(zip(results, metas, instances)):
            pred = self.instances_at_ori_shape(inst, meta)
            flags = torch.zeros(len(inst), dtype=torch.bool)
            flags[sounding[n]] = True
            if meta.get('is_padded', False):
                flags = flags[:0]
            pred.sounding = flags.to(pred.labels.device)
            sample.pred_instances = pred
            sample.set_field(probs[n].detach(), 'pred_tag_probs')
        return results
