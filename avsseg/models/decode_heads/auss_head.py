"""AUSS's head (Ling et al., "Hear to Segment: Unmixing the Audio to Guide the Semantic Segmentation")."""
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from mmseg.utils import OptConfigType, SampleList
from torch import Tensor, nn

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, frame_flags, padded_input_size
from .audio_query_mask2former_head import AudioQueryMask2FormerHead

SOUND, SILENT = 0, 1  # the class predictor's two outputs (Eq. 11); silent is Mask2Former's no-object
MASK_HEADS = ('linear', 'mlp')
INFERENCE_MODES = ('sound', 'eq20')
DEFAULT_LOSS_CLS = dict(type='SoftmaxFocalLoss', gamma=2.0, class_weight=[1.0, 1.0], loss_weight=5.0)


@MODELS.register_module()
class AUSSHead(AudioQueryMask2FormerHead):
    """:class:`AudioQueryMask2FormerHead` with AUSS's unmixed audio queries, classes and losses.

    What AUSS adds to the shared decoder (the base class's hooks; the decoder loop is the base class's):

    - :meth:`init_queries`: A2U (``unmixing``, :class:`~avsseg.models.layers.AudioUnmixing`) turns each clip's
      ``T`` audio features ``[T, e0]`` into ``N = num_queries`` queries ``[N, e]``, repeated over the clip's ``T``
      frames (every frame is decoded on its own with its clip's queries, ``[B*T, N, e]``); no learnable query
      features, the learnable query positions of Mask2Former are kept. ``unmixing=None`` gives plain Mask2Former
      learnable queries without audio (Table 3 "w/o audio");
    - classes: the class predictor has the paper's K = 2 outputs ``{sound, silent}`` (Eq. 11), silent being
      Mask2Former's no-object. ``num_classes`` stays 2 (background, sounding) as the datasets and every AVS head
      count, so the class check of ``tools/test.py`` holds; :meth:`gt_instances` makes one ``sound`` instance of all
      sounding pixels of a labelled frame (none for an empty mask);
    - Eq. 12 mask head (``mask_head='linear'``): a single linear ``g3`` on the queries times a 1x1 conv ``h`` on the
      per-pixel embedding (``fuse_pixel_features`` applies ``h`` once); ``'mlp'`` keeps Mask2Former's 3-layer MLP;
    - :meth:`extra_losses`: AQDL (``loss_aqdl`` on the last decoder layer's queries ``extras['query_feats'][-1]``)
      and AQML (``loss_aqml`` on the last layer's mask probabilities) over all real frames (S4: the 4 unlabelled
      frames too), selected by ``p(sound) > delta``; ``delta`` is set every iteration by ``DeltaScheduleHook``
      (Eq. 22) and logged;
    - :meth:`predict_by_feat`: Eq. 20-21 as two channels (see there and ``inference``).

    The Mask2Former losses (class: softmax focal loss on {sound, silent}; dice on the matched query's mask) stay
    on the labelled frames; mask BCE is computed by mmdet's loss but left out of the loss dict unless
    ``use_mask_loss`` (the paper lists only focal and dice).

    Args:
        num_classes: 2 (background, sounding): AUSS is defined for the binary subsets S4 and MS3.
        audio_channels: ``e0``, the per-frame audio feature size (VGGish 128).
        unmixing: config of the A2U module (``AudioUnmixing``); ``in_channels``, ``embed_dims`` and
            ``num_queries`` are filled in from the head; None for learnable queries without audio.
        mask_head: ``'linear'`` (Eq. 12) or ``'mlp'`` (Mask2Former).
        loss_aqdl: ``AudioQueryDistanceLoss`` config (lambda_1 = 2 as its ``loss_weight``) or None.
        loss_aqml: ``AudioQueryMaskLoss`` config (lambda_2 = 2) or None.
        loss_cls (in kwargs): the class loss, built from avsseg's registry (default: softmax focal, gamma 2,
            weight lambda_3 = 5, ``class_weight`` [sound, silent]).
        delta: initial delta_1 = delta_2 (0.55), before the schedule hook sets it.
        use_mask_loss: keep Mask2Former's mask BCE in the loss dict.
        score_scale: ``k`` of the inference scores ``k * [s_bg, s_fg]``; only spreads the soft map over the F
            thresholds, the hard mask does not depend on it.
        inference: ``'sound'`` (default): Eq. 20 among the queries classified *sound* only, a pixel foreground
            where the winning query's mask is > 0.5, as Mask2Former's inference leaves no-object queries out;
            ``'eq20'``: the spec sheet's literal reading [REC B19], silent queries competing for pixels with
            ``p(silent) * m``. Silent is Mask2Former's no-object, whose masks get no loss, so under ``'eq20'``
            they outbid the sounding query on most object pixels: the tiny S4 model (docs/auss.md) scored mJ
            0.239 with ``'eq20'`` (73% of the ground-truth pixels that the sounding query's mask covered went to
            silent queries) and 0.589 with ``'sound'``.
        **kwargs: arguments of :class:`AudioQueryMask2FormerHead` and mmseg's ``Mask2FormerHead``.
    """

    def __init__(self,
                 num_classes: int = 2,
                 audio_channels: int = 128,
                 unmixing: OptConfigType = dict(type='AudioUnmixing'),
                 mask_head: str = 'linear',
                 loss_aqdl: OptConfigType = dict(type='AudioQueryDistanceLoss', d0=25.6, loss_weight=2.0),
                 loss_aqml: OptConfigType = dict(type='AudioQueryMaskLoss', loss_weight=2.0),
                 delta: float = 0.55,
                 use_mask_loss: bool = False,
                 score_scale: float = 1.0,
                 inference: str = 'sound',
                 **kwargs):
        if num_classes != 2:
            raise ValueError(f'AUSSHead: AUSS segments sounding objects of the binary subsets (num_classes=2: '
                             f'background, sounding), got num_classes={num_classes}')
        if inference not in INFERENCE_MODES:
            raise ValueError(f'AUSSHead: inference must be one of {INFERENCE_MODES}, got {inference!r}')
        if mask_head not in MASK_HEADS:
            raise ValueError(f'AUSSHead: mask_head must be one of {MASK_HEADS}, got {mask_head!r}')
        # mmdet builds the class loss from its own registry, which does not reach avsseg's (SoftmaxFocalLoss): it
        # gets a stand-in, replaced below by the configured loss built from avsseg's registry
        loss_cls = ConfigDict(kwargs.pop('loss_cls', DEFAULT_LOSS_CLS))
        class_weight = list(loss_cls.get('class_weight') or [1.0, 1.0])
        super().__init__(num_classes=num_classes, audio_channels=audio_channels if unmixing else None,
                         loss_cls=ConfigDict(type='mmdet.CrossEntropyLoss', class_weight=class_weight), **kwargs)
        self.loss_cls = MODELS.build(loss_cls)
        self.class_weight = class_weight
        feat_channels = kwargs['feat_channels']
        out_channels = kwargs['out_channels']
        if len(self.class_weight) != 2:
            raise ValueError(f'AUSSHead: loss_cls.class_weight must have 2 entries (sound, silent), got '
                             f'{class_weight}')
        self.cls_embed = nn.Linear(feat_channels, 2)
        self.mask_head = mask_head
        self.mask_proj = None
        if mask_head == 'linear':
            self.mask_embed = nn.Linear(feat_channels, feat_channels)
            self.mask_proj = nn.Conv2d(out_channels, feat_channels, kernel_size=1)

        self.unmixing = None
        if unmixing is not None:
            unmixing = dict(unmixing)
            unmixing.setdefault('in_channels', audio_channels)
            unmixing.setdefault('embed_dims', feat_channels)
            unmixing.setdefault('num_queries', self.num_queries)
            self.unmixing = MODELS.build(unmixing)
            if (self.unmixing.num_queries, self.unmixing.embed_dims) != (self.num_queries, feat_channels):
                raise ValueError(f'AUSSHead: the unmixing gives {self.unmixing.num_queries} queries of '
                                 f'{self.unmixing.embed_dims} channels, the decoder takes num_queries='
                                 f'{self.num_queries} of feat_channels={feat_channels}')
            # the audio queries replace the learnable query features (which would get no gradient)
            del self.query_feat
        self.loss_aqdl = MODELS.build(loss_aqdl) if loss_aqdl is not None else None
        self.loss_aqml = MODELS.build(loss_aqml) if loss_aqml is not None else None
        self.delta = float(delta)
        self.use_mask_loss = use_mask_loss
        self.score_scale = float(score_scale)
        self.inference = inference

    # ---------------------------------------------------------------- hooks
    def fuse_pixel_features(self, mask_features: Tensor, multi_scale_memorys: List[Tensor],
                            inputs: AVFeatures) -> Tuple[Tensor, List[Tensor], AVFeatures]:
        """Eq. 12's ``h``: a 1x1 conv on the per-pixel embedding ``[N, C, H/4, W/4]`` (``mask_head='linear'``)."""
        if self.mask_proj is not None:
            mask_features = self.mask_proj(mask_features)
        return mask_features, multi_scale_memorys, inputs

    def init_queries(self, inputs: AVFeatures, batch_size: int) -> Tuple[Tensor, Tensor]:
        """Unmixed audio queries of each clip repeated over its frames: ``[B*T, N, e]``, with the positions."""
        if self.unmixing is None:
            return super().init_queries(inputs, batch_size)
        num_frames = inputs.num_frames
        if batch_size % num_frames:
            raise ValueError(f'AUSSHead: {batch_size} frames are not whole clips of num_frames={num_frames}')
        audio = inputs.audio.view(batch_size // num_frames, num_frames, -1)  # [B, T, e0]
        query_feat = self.unmixing(audio).repeat_interleave(num_frames, dim=0)
        query_embed = self.query_embed.weight.unsqueeze(0).repeat((batch_size, 1, 1))
        return query_feat, query_embed

    def gt_instances(self, data_samples: SampleList) -> Tuple[list, List[dict]]:
        """One ``sound`` instance (all pixels labelled 1) per frame with a sounding object, none otherwise.

        Pixels at ``ignore_index`` belong to no instance (as in mmseg's conversion). Labels other than 0, 1 and
        ``ignore_index`` are an error naming the frame.
        """
        batch_gt_instances, batch_img_metas = [], []
        for sample in data_samples:
            gt = sample.gt_sem_seg.data
            bad = (gt != 0) & (gt != 1) & (gt != self.ignore_index)
            if bad.any():
                raise ValueError(f'AUSSHead: ground truth of {sample.metainfo.get("img_path", "a frame")} has labels '
                                 f'{torch.unique(gt[bad]).tolist()}; binary masks must be 0/1 (ignore_index='
                                 f'{self.ignore_index})')
            sounding = (gt == 1).view(1, *gt.shape[-2:]).long()
            if sounding.any():
                instances = InstanceData(labels=gt.new_tensor([SOUND], dtype=torch.long), masks=sounding)
            else:
                instances = InstanceData(labels=gt.new_zeros((0, ), dtype=torch.long), masks=sounding[:0])
            batch_gt_instances.append(instances)
            batch_img_metas.append(sample.metainfo)
        return batch_gt_instances, batch_img_metas

    def _get_targets_single(self, cls_score: Tensor, mask_pred: Tensor, gt_instances: InstanceData,
                            img_meta: dict) -> tuple:
        """mmdet's targets, with its no-object label (``num_classes``) mapped to the predictor's ``silent``."""
        targets = super()._get_targets_single(cls_score, mask_pred, gt_instances, img_meta)
        labels = targets[0].masked_fill(targets[0] == self.num_classes, SILENT)
        return (labels, ) + tuple(targets[1:])

    def loss_by_feat(self, *args, **kwargs) -> Dict[str, Tensor]:
        """mmdet's Mask2Former losses; the mask BCE terms are dropped unless ``use_mask_loss``."""
        losses = super().loss_by_feat(*args, **kwargs)
        if not self.use_mask_loss:
            losses = {k: v for k, v in losses.items() if not k.endswith('loss_mask')}
        return losses

    def extra_losses(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor], inputs: AVFeatures,
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """``loss_aqdl`` and ``loss_aqml`` on the last layer over all real frames, and the ``delta`` used."""
        if self.loss_aqdl is None and self.loss_aqml is None:
            return {}
        sound_prob = F.softmax(all_cls_scores[-1].float(), dim=-1)[..., SOUND]
        real = ~frame_flags(data_samples, 'is_padded', sound_prob.device)
        losses = {}
        if self.loss_aqdl is not None:
            queries = inputs.extras['query_feats'][-1]
            losses[self.loss_aqdl.loss_name] = self.loss_aqdl(queries, sound_prob, self.delta, real)
        if self.loss_aqml is not None:
            losses[self.loss_aqml.loss_name] = self.loss_aqml(all_mask_preds[-1].sigmoid(), sound_prob, self.delta,
                                                              real)
        losses['delta'] = sound_prob.new_tensor(self.delta)
        return losses

    def assign_pixels(self, cls_score: Tensor, mask_pred: Tensor,
                      size: Tuple[int, int]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Which query each pixel goes to and the two scores of Eq. 20-21 (see ``inference`` in the class doc).

        Args:
            cls_score: class logits of one decoder layer ``[N, Q, 2]`` (``[sound, silent]``).
            mask_pred: mask logits ``[N, Q, h, w]``, upsampled to ``size`` (the padded input size) first.
            size: ``(H, W)``.

        Returns:
            ``is_sound [N, Q]`` (bool, ``argmax p_i = sound``), ``owner [N, H, W]`` (the query each pixel goes to),
            ``s_bg`` and ``s_fg`` ``[N, H, W]``; a pixel is foreground exactly when ``s_fg > s_bg``.
        """
        mask_prob = F.interpolate(mask_pred, size=size, mode='bilinear', align_corners=False).sigmoid()
        conf, cls = F.softmax(cls_score, dim=-1).max(dim=-1)  # [N, Q]
        is_sound = cls == SOUND
        scores = conf[..., None, None] * mask_prob  # [N, Q, H, W]
        sound_mask = is_sound[..., None, None]
        if self.inference == 'eq20':
            owner = scores.argmax(dim=1)
            s_fg = torch.where(sound_mask, scores, torch.zeros_like(scores)).amax(dim=1)
            s_bg = torch.where(sound_mask, torch.zeros_like(scores), scores).amax(dim=1)
            return is_sound, owner, s_bg, s_fg
        # 'sound': Eq. 20's argmax over the sounding queries only; the winner's mask decides the pixel
        owner = torch.where(sound_mask, scores, torch.full_like(scores, -1.0)).argmax(dim=1)
        s_fg = mask_prob.gather(1, owner[:, None]).squeeze(1) * is_sound.any(dim=1)[:, None, None]
        return is_sound, owner, 1.0 - s_fg, s_fg

    def predict_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor],
                        batch_img_metas: List[dict]) -> Tensor:
        """Eq. 20-21 as two channels ``[N, 2, H_pad, W_pad]``: ``score_scale * [s_bg, s_fg]``.

        Each query takes its class ``c_i = argmax p_i`` and scores ``p_i(c_i) * m_i(x, y)`` (masks upsampled to the
        padded input size first). ``inference='sound'`` (default): a pixel goes to the best-scoring *sound* query
        and is foreground where that query's mask ``m > 0.5`` (``s_fg = m``, ``s_bg = 1 - m``; 0 / 1 when no
        query sounds). ``'eq20'``: ``s_fg`` is the best score of the sound queries, ``s_bg`` of the silent ones (0
        when there are none), so a pixel is foreground when Eq. 20's best query overall is a sound one. Either
        way the pixel is foreground exactly when ``softmax([s_bg, s_fg])[1] > 0.5`` (the metric's foreground
        probability) or the argmax the segmentor takes is channel 1; the soft values feed M_F.
        """
        _, _, s_bg, s_fg = self.assign_pixels(all_cls_scores[-1], all_mask_preds[-1],
                                              padded_input_size(batch_img_metas))
        return self.score_scale * torch.stack([s_bg, s_fg], dim=1)
