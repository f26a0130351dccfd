"""AuTR's head (Liu et al., "Annotation-free Audio-Visual Segmentation", arXiv v1, seed 002)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops import MultiScaleDeformableAttention
from mmdet.models.dense_heads import AnchorFreeHead
from mmdet.models.layers import SinePositionalEncoding
from mmdet.models.layers.transformer import DeformableDetrTransformerDecoder, DeformableDetrTransformerEncoder
from mmdet.utils import reduce_mean
from mmengine.model import BaseModule, bias_init_with_prob
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor, nn

from avsseg.registry import MODELS, TASK_UTILS
from avsseg.structures import AVFeatures, clip_length, frame_flags, padded_input_size
from ..utils import checkpoint_call
from .audio_query_mask2former_head import AudioQueryMask2FormerHead

SELECT_MODES = ('clip', 'frame')

DEFAULT_ENCODER = dict(
    num_layers=4,
    layer_cfg=dict(
        self_attn_cfg=dict(num_heads=8, num_points=4, dropout=0.1),
        ffn_cfg=dict(feedforward_channels=2048, ffn_drop=0.1)))
DEFAULT_DECODER = dict(
    num_layers=4,
    layer_cfg=dict(
        self_attn_cfg=dict(num_heads=8, dropout=0.1),
        cross_attn_cfg=dict(num_heads=8, num_points=4, dropout=0.1),
        ffn_cfg=dict(feedforward_channels=2048, ffn_drop=0.1)))
DEFAULT_PIXEL_DECODER = dict(type='CrossModalFPN')
DEFAULT_MASK_HEAD = dict(type='DynamicMaskHead', channels=8, num_layers=3, controller_layers=2, rel_coord=True)
DEFAULT_LOSS_SOUND = dict(
    type='mmdet.FocalLoss', use_sigmoid=True, alpha=0.25, gamma=2.0, reduction='mean', loss_weight=2.0)
DEFAULT_LOSS_MASK = dict(type='SigmoidFocalMaskLoss', alpha=0.25, gamma=2.0, loss_weight=1.0)
DEFAULT_LOSS_DICE = dict(
    type='mmdet.DiceLoss', use_sigmoid=True, activate=False, naive_dice=True, eps=1.0, reduction='mean',
    loss_weight=1.0)
DEFAULT_TRAIN_CFG = dict(
    assigner=dict(
        type='mmdet.HungarianAssigner',
        match_costs=[
            dict(type='ClipSoundingCost', alpha=0.25, gamma=2.0, weight=2.0),
            dict(type='mmdet.FocalLossCost', alpha=0.25, gamma=2.0, binary_input=True, weight=1.0),
            dict(type='DiceCoefficientCost', eps=1.0, weight=1.0),
        ]))


def _attn_layer_cfg(cfg: ConfigType, embed_dims: int, num_levels: int, cross: bool) -> dict:
    """An mmdet Deformable-DETR encoder/decoder config with the widths, level count and batch-first filled in."""
    cfg = copy.deepcopy(dict(cfg))
    layer = dict(cfg.get('layer_cfg', {}))
    deform_key = 'cross_attn_cfg' if cross else 'self_attn_cfg'
    deform = dict(layer.get(deform_key, {}))
    deform.update(embed_dims=embed_dims, num_levels=num_levels, batch_first=True)
    layer[deform_key] = deform
    if cross:
        self_attn = dict(layer.get('self_attn_cfg', {}))
        self_attn.update(embed_dims=embed_dims, batch_first=True)
        layer['self_attn_cfg'] = self_attn
    ffn = dict(layer.get('ffn_cfg', {}))
    ffn['embed_dims'] = embed_dims
    layer['ffn_cfg'] = ffn
    cfg['layer_cfg'] = layer
    return cfg


def clip_groups(batch_img_metas: Sequence[dict]) -> List[List[int]]:
    """Rows of the same clip among clip-major frames: a new clip starts when ``clip_id`` changes or ``frame_idx``
    does not increase (the same clip drawn twice in a batch stays two clips).

    Args:
        batch_img_metas: per-frame metainfo with ``clip_id`` and ``frame_idx`` (written by ``PackAVSInputs``).

    Returns:
        Lists of row indices, one list per clip, in order.
    """
    groups: List[List[int]] = []
    previous = None
    for row, meta in enumerate(batch_img_metas):
        if 'clip_id' not in meta or 'frame_idx' not in meta:
            raise ValueError(f'AuTRHead: clip-level matching needs clip_id and frame_idx in every frame\'s metainfo '
                             f'(written by PackAVSInputs); frame {row} ({meta.get("img_path", "unknown image")}) '
                             f'has {sorted(k for k in ("clip_id", "frame_idx") if k in meta)}')
        key = (meta['clip_id'], int(meta['frame_idx']))
        if previous is None or key[0] != previous[0] or key[1] <= previous[1]:
            groups.append([])
        groups[-1].append(row)
        previous = key
    return groups


@MODELS.register_module()
class AuTRHead(AudioQueryMask2FormerHead):
    """AuTR's multi-modal transformer, audio-aware query decoder, mask and sounding-score heads, matching and losses.

    Input: the :class:`~avsseg.structures.AVFeatures` of ``AVFFNeck``: levels ``(stage1 [N, C1, H/4, W/4],
    f_1 [N, C, H/8, W/8], f_2 [N, C, H/16, W/16], f_3 [N, C, H/32, W/32])`` (``f_l`` audio-visual fused, ``C`` =
    ``feat_channels`` = C_av) and ``audio`` ``[N, C]`` (the neck's audio MLP output, shared by the queries and the
    pixel decoder as ReferFormer shares its ``resizer``). ``N = B*T`` frames, clip-major.

    Forward (paper §3.3, Fig. 2; tags: [P] paper, [RF] ReferFormer, which AuTR follows with text replaced by audio,
    [REC] the spec sheet's recommendation):

    1. multi-modal transformer encoder [P §3.3.3, §4.3 "Deformable Transformer"]: mmdet's
       ``DeformableDetrTransformerEncoder`` (mmcv ``MultiScaleDeformableAttention``) over the tokens of the three
       fused levels of each frame, with a fixed 2-D sine positional encoding per frame (mmdet
       ``SinePositionalEncoding``, normalised) plus a learnable level embedding [RF, A6]; 4 layers, 8 heads,
       4 points, FFN 2048, dropout 0.1, post-norm [RF defaults];
    2. audio-aware queries (:meth:`init_queries`): ``N_q`` queries per frame, content = the frame's projected
       audio repeated ``N_q`` times [P "computed from F_a"; per frame, A7], positions = learnable embeddings
       [P] shared by all frames, so slot ``i`` is the same instance in every frame of a clip [RF]; ``N_q = 5``
       [REC/RF, A1];
    3. audio-aware decoder [P §3.3.3, §4.3]: mmdet's ``DeformableDetrTransformerDecoder`` (self-attention, deformable
       cross-attention over all three encoder levels, FFN; 4 layers, all returned [RF]); reference points
       ``sigmoid(Linear(query_pos))``, constant over the layers: the one-stage Deformable DETR without box
       refinement, AuTR has no box branch [RF, A8];
    4. pixel decoder [P §3.3.4 "FPN ... cross-attention and pooling"]: ``CrossModalFPN`` (encoder memories of
       strides 8/16/32, backbone stage 1, audio) -> mask features ``[N, C_m, H/4, W/4]`` [RF
       ``CrossModalFPNDecoder``];
    5. per decoder layer (:meth:`_forward_head`): the sounding score ``Linear(C, 1)`` [P §3.3.5], bias prior 0.01
       [RF], and the masks of ``DynamicMaskHead`` (two-layer MLP -> dynamic 1x1 convs with relative coordinates of
       the reference point in input pixels [P Eqs. 1-2, RF]) ``[N, N_q, H/4, W/4]``; score and mask heads are shared
       by the layers [RF without box refinement].

    Training (:meth:`loss_by_feat`, on the labelled frames only, as the base class selects them):

    - matching [P Eqs. 3-4]: one query index ``i*`` for all labelled frames of a clip (instance-sequence matching
      [RF]) by mmdet's ``HungarianAssigner`` (one ground truth per clip, so it is the argmin) with the costs
      ``2 * C_sound + 1 * C_focal + 1 * C_dice`` (weights [RF opts], A2): ``ClipSoundingCost`` (focal class cost
      averaged over the clip's labelled frames with sounding pixels), mmdet ``FocalLossCost(binary_input=True)``
      (mean over the clip's labelled, non-ignored pixels) and ``DiceCoefficientCost`` (``-dice``, smoothing 1);
    - losses (weights 2 / 1 / 1 [RF], A2): ``loss_sound``, sigmoid focal on every (labelled frame, query) logit,
      target 1 at ``(t, i*)`` when frame ``t`` has sounding pixels; ``loss_focal`` (``SigmoidFocalMaskLoss``) and
      ``loss_dice`` (mmdet ``DiceLoss``, naive, smoothing 1) on ``i*``'s masks over each clip's labelled frames
      flattened together; all divided by ``num_boxes`` = the number of labelled frames in the batch (averaged over
      processes) [REC: AVSBench frames with an empty mask count too];
    - ground truth is taken at the mask stride without interpolation, ``y[s/2::s, s/2::s]`` [RF]; ignored pixels
      (``ignore_index``: the preprocessor's padding) are left out of costs and losses;
    - deep supervision: every decoder layer's prediction has its own matching and losses [RF ``aux_loss``, A10]
      (``d{i}.loss_*`` for layer ``i``, the last layer without prefix); no box losses (the paper lists none).

    Prediction (:meth:`predict_by_feat`) [P §3.3.6]: the query with the highest sounding score, ``select='clip'``
    (mean sigmoid score over the clip's real frames, one index per clip [REC/RF, A9]) or ``'frame'`` (per frame);
    its mask logits bilinearly upsampled to the padded input size, one channel (sigmoid by mmseg's
    ``postprocess_result``, ``threshold`` 0.5).

    Not the Mask2Former loop: AuTR has an encoder before the decoder, decodes with deformable attention over all
    levels at once with reference points, and builds the mask features from the encoder output. The base class's
    ``decode`` (pixel decoder, then one memory level per masked-attention layer) cannot express that, so
    :meth:`decode` is overridden (encoder, queries, mmdet's deformable decoder, pixel decoder, heads); for the same
    reason the constructor does not build Mask2Former's pixel decoder and masked-attention decoder (it initialises
    the module as mmdet's heads do, ``super(AnchorFreeHead, self).__init__``). The base class's ``forward`` /
    ``loss`` (labelled frames, :meth:`gt_instances`, :meth:`loss_by_feat`, ``extra_losses``) / ``predict`` are used
    as they are. Padding: all positions are attended (as the shared Mask2Former head; ReferFormer masks the padded
    margin of each image, which AVSBench's fixed 224x224 inputs do not have).

    Args:
        in_channels: widths of the four input levels ``[C1, C, C, C]``.
        feat_channels: ``C`` = C_av = transformer width (256).
        num_classes: 2 (background, sounding), the class count of the binary datasets; the sounding-score head
            has one logit.
        num_queries: ``N_q`` per frame.
        audio_channels: width of ``inputs.audio`` (default ``feat_channels``: the neck's projected audio).
        encoder: mmdet ``DeformableDetrTransformerEncoder`` config; ``embed_dims``, ``num_levels`` (3) and
            ``batch_first`` are filled in.
        decoder: mmdet ``DeformableDetrTransformerDecoder`` config (``return_intermediate`` is forced on); widths
            filled in likewise.
        positional_encoding: mmdet ``SinePositionalEncoding`` arguments (default ``num_feats=C/2``,
            ``normalize=True``, ``offset=-0.5``: Deformable DETR's, which ReferFormer uses).
        pixel_decoder: ``CrossModalFPN`` config (avsseg registry); ``stage1_channels``, ``in_channels`` and
            ``audio_channels`` are filled in when absent.
        mask_head: ``DynamicMaskHead`` config; ``in_channels`` (``feat_channels``) and ``mask_channels`` (the pixel
            decoder's) are filled in when absent.
        select: ``'clip'`` or ``'frame'`` query selection at inference.
        loss_sound: sounding-score loss (mmdet ``FocalLoss``, sigmoid, ``loss_weight`` = lambda_sound 2).
        loss_mask: mask focal loss (``SigmoidFocalMaskLoss``, lambda_focal 1).
        loss_dice: mask dice loss (mmdet ``DiceLoss`` on probabilities, ``activate=False``, lambda_dice 1).
        train_cfg: ``dict(assigner=...)``, the matcher (costs built in avsseg's scope: ``ClipSoundingCost``,
            ``DiceCoefficientCost``, ``mmdet.*``).
        test_cfg: unused (kept for the segmentor's interface).
        threshold: foreground threshold on the sigmoid for ``pred_sem_seg``.
        ignore_index: unlabelled pixels in ``gt_sem_seg``.
        align_corners: of the final upsampling (False, as ReferFormer).
        with_cp: gradient checkpointing of the encoder and the pixel decoder (training only).
        fp32_pixel_decoder: run the encoder (deformable attention) in float32 under autocast.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 feat_channels: int = 256,
                 num_classes: int = 2,
                 num_queries: int = 5,
                 audio_channels: Optional[int] = None,
                 encoder: ConfigType = DEFAULT_ENCODER,
                 decoder: ConfigType = DEFAULT_DECODER,
                 positional_encoding: OptConfigType = None,
                 pixel_decoder: ConfigType = DEFAULT_PIXEL_DECODER,
                 mask_head: ConfigType = DEFAULT_MASK_HEAD,
                 select: str = 'clip',
                 loss_sound: ConfigType = DEFAULT_LOSS_SOUND,
                 loss_mask: ConfigType = DEFAULT_LOSS_MASK,
                 loss_dice: ConfigType = DEFAULT_LOSS_DICE,
                 train_cfg: OptConfigType = DEFAULT_TRAIN_CFG,
                 test_cfg: OptConfigType = None,
                 threshold: float = 0.5,
                 ignore_index: int = 255,
                 align_corners: bool = False,
                 with_cp: bool = False,
                 fp32_pixel_decoder: bool = False,
                 init_cfg: OptConfigType = None):
        # Mask2Former's constructor builds its pixel decoder and masked-attention decoder, which AuTR replaces:
        # initialise the module as mmdet's Mask2FormerHead itself does and build AuTR's parts below.
        super(AnchorFreeHead, self).__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if num_classes != 2:
            raise ValueError(f'AuTRHead: AuTR segments sounding objects in binary masks (num_classes=2: background, '
                             f'sounding), got num_classes={num_classes}')
        if len(in_channels) != 4 or any(c != feat_channels for c in in_channels[1:]):
            raise ValueError(f'AuTRHead: in_channels must be [C1, C, C, C] (backbone stage 1 and the three fused '
                             f'levels of width feat_channels={feat_channels}), got {in_channels}')
        if select not in SELECT_MODES:
            raise ValueError(f'AuTRHead: select must be one of {SELECT_MODES}, got {select!r}')
        if num_queries < 1:
            raise ValueError(f'AuTRHead: num_queries must be >= 1, got {num_queries}')
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.num_classes = num_classes
        self.out_channels = 1
        self.threshold = threshold
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        self.num_queries = num_queries
        self.audio_channels = feat_channels if audio_channels is None else audio_channels
        self.with_cp = with_cp
        self.fp32_pixel_decoder = fp32_pixel_decoder
        self.select = select
        self.num_levels = 3
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        self.positional_encoding = SinePositionalEncoding(
            **(positional_encoding or dict(num_feats=feat_channels // 2, normalize=True, offset=-0.5)))
        self.level_embed = nn.Parameter(torch.empty(self.num_levels, feat_channels))
        self.encoder = DeformableDetrTransformerEncoder(
            **_attn_layer_cfg(encoder, feat_channels, self.num_levels, cross=False))
        decoder = _attn_layer_cfg(decoder, feat_channels, self.num_levels, cross=True)
        decoder['return_intermediate'] = True
        decoder.setdefault('post_norm_cfg', None)  # Deformable DETR's decoder has no final norm
        self.decoder = DeformableDetrTransformerDecoder(**decoder)
        self.num_transformer_decoder_layers = self.decoder.num_layers
        self.query_embed = nn.Embedding(num_queries, feat_channels)
        self.reference_points = nn.Linear(feat_channels, 2)
        pixel_decoder = dict(pixel_decoder)
        pixel_decoder.setdefault('stage1_channels', in_channels[0])
        pixel_decoder.setdefault('in_channels', feat_channels)
        pixel_decoder.setdefault('audio_channels', self.audio_channels)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        mask_head = dict(mask_head)
        mask_head.setdefault('in_channels', feat_channels)
        mask_head.setdefault('mask_channels', self.pixel_decoder.mask_channels)
        self.mask_head = MODELS.build(mask_head)
        self.sound_embed = nn.Linear(feat_channels, 1)

        self.loss_sound = MODELS.build(loss_sound)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        if train_cfg:
            # the costs live in avsseg's registry; mmdet's assigner builds them in the current default scope
            with DefaultScope.overwrite_default_scope('avsseg'):
                self.assigner = TASK_UTILS.build(train_cfg['assigner'])
        self._reset_parameters()

    def init_weights(self) -> None:
        """The parts' own initialisation, then (without an ``init_cfg``) :meth:`_reset_parameters` again, since
        mmengine's defaults of the children (e.g. the attention's) run in between."""
        BaseModule.init_weights(self)
        if self.init_cfg is None:
            self._reset_parameters()

    def _reset_parameters(self) -> None:
        """ReferFormer's initialisation: xavier-uniform transformer weights, deformable attention's own init,
        normal level embeddings, xavier reference-point layer with zero bias, sounding-score bias prior 0.01."""
        for module in (self.encoder, self.decoder):
            for p in module.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
            for m in module.modules():
                if isinstance(m, MultiScaleDeformableAttention):
                    m.init_weights()
        nn.init.normal_(self.level_embed)
        nn.init.xavier_uniform_(self.reference_points.weight, gain=1.0)
        nn.init.zeros_(self.reference_points.bias)
        nn.init.constant_(self.sound_embed.bias, bias_init_with_prob(0.01))

    # ---------------------------------------------------------------- hooks
    def init_queries(self, inputs: AVFeatures, batch_size: int) -> Tuple[Tensor, Tensor]:
        """Audio-aware queries: the frame's audio ``[N, C]`` repeated ``N_q`` times, and the learnable slot
        positions shared by all frames; both ``[N, N_q, C]``."""
        query = inputs.audio.unsqueeze(1).expand(-1, self.num_queries, -1)
        query_pos = self.query_embed.weight.unsqueeze(0).expand(batch_size, -1, -1)
        return query, query_pos

    def _forward_head(self, decoder_out: Tensor, mask_features: Tensor,
                      reference_points: Tensor) -> Tuple[Tensor, Tensor, None]:
        """Sounding logits and dynamic-convolution masks of one decoder layer's queries.

        Args:
            decoder_out: ``[N, Q, C]``.
            mask_features: ``[N, C_m, H/4, W/4]``.
            reference_points: ``[N, Q, 2]`` (x, y) in input pixels.

        Returns:
            ``(scores [N, Q, 1], masks [N, Q, H/4, W/4], None)``: AuTR's cross-attention is not masked, so the
            third element of the base class's hook (the next attention mask) is None.
        """
        return self.sound_embed(decoder_out), self.mask_head(decoder_out, mask_features, reference_points), None

    # ---------------------------------------------------------------- forward
    def encode(self, levels: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """The multi-modal deformable encoder over the three fused levels of each frame.

        Args:
            levels: ``[N, C, H_l, W_l]`` for strides 8, 16, 32.

        Returns:
            ``(memory [N, sum H_l W_l, C], spatial_shapes [3, 2], level_start_index [3])``.
        """
        tokens, positions = [], []
        for i, level in enumerate(levels):
            n, _, h, w = level.shape
            no_padding = level.new_zeros((n, h, w), dtype=torch.bool)
            pos = self.positional_encoding(no_padding).to(level.dtype)
            tokens.append(level.flatten(2).transpose(1, 2))
            positions.append(pos.flatten(2).transpose(1, 2) + self.level_embed[i].view(1, 1, -1))
        spatial_shapes = torch.tensor([lv.shape[-2:] for lv in levels], dtype=torch.long, device=levels[0].device)
        level_start_index = torch.cat((spatial_shapes.new_zeros(1), spatial_shapes.prod(1).cumsum(0)[:-1]))
        valid_ratios = levels[0].new_ones(levels[0].shape[0], self.num_levels, 2)
        memory = self.encoder(
            query=torch.cat(tokens, 1),
            query_pos=torch.cat(positions, 1),
            key_padding_mask=None,
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=valid_ratios)
        return memory, spatial_shapes, level_start_index

    def run_encoder(self, levels: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`encode`, in float32 with autocast off when ``fp32_pixel_decoder`` and autocast is on."""
        device_type = levels[0].device.type
        if self.fp32_pixel_decoder and torch.is_autocast_enabled(device_type):
            with torch.autocast(device_type=device_type, enabled=False):
                return self.encode([lv.float() for lv in levels])
        return self.encode(levels)

    def decode(self, inputs: AVFeatures) -> Tuple[List[Tensor], List[Tensor], AVFeatures]:
        """Sounding logits and masks of every decoder layer.

        Args:
            inputs: the neck's bundle (see the class docstring).

        Returns:
            ``(scores, masks, inputs)``: ``num_layers`` tensors ``[N, Q, 1]`` and ``[N, Q, H/4, W/4]``, and the bundle
            with ``extras['query_feats']`` (the decoder's queries ``[N, Q, C]`` after each layer) and
            ``extras['reference_points']`` (``[N, Q, 2]`` in input pixels).
        """
        self.check_audio(inputs)
        if len(inputs) != 4:
            raise ValueError(f'AuTRHead: expects 4 levels (backbone stage 1 and the three fused levels of AVFFNeck), '
                             f'got {len(inputs)}')
        stage1, levels = inputs[0], list(inputs[1:])
        batch_size = stage1.shape[0]
        memory, spatial_shapes, level_start_index = checkpoint_call(
            self.run_encoder, levels, enabled=self.with_cp, training=self.training)

        query, query_pos = self.init_queries(inputs, batch_size)
        reference_points = self.reference_points(query_pos).sigmoid()
        hidden, _ = self.decoder(
            query=query,
            query_pos=query_pos,
            value=memory,
            key_padding_mask=None,
            reference_points=reference_points,
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=memory.new_ones(batch_size, self.num_levels, 2))

        memories = [
            m.transpose(1, 2).reshape(batch_size, -1, *shape)
            for m, shape in zip(memory.split(spatial_shapes.prod(1).tolist(), dim=1), spatial_shapes.tolist())
        ]
        mask_features = checkpoint_call(
            self.pixel_decoder,
            memories,
            stage1,
            inputs.audio,
            enabled=self.with_cp,
            training=self.training,
            num_frames=inputs.num_frames,
            frame_mask=inputs.frame_mask)
        stride = self.mask_head.mask_stride
        size = mask_features.new_tensor([mask_features.shape[-1] * stride, mask_features.shape[-2] * stride])
        reference_pixels = reference_points * size

        scores, masks = [], []
        for layer_out in hidden:
            score, mask, _ = self._forward_head(layer_out, mask_features, reference_pixels)
            scores.append(score)
            masks.append(mask)
        inputs = inputs.replace(
            extras={**inputs.extras, 'query_feats': list(hidden), 'reference_points': reference_pixels})
        return scores, masks, inputs

    # ---------------------------------------------------------------- loss
    def gt_instances(self, data_samples: SampleList) -> Tuple[List[InstanceData], List[dict]]:
        """One ground truth per labelled frame: the sounding pixels and the labelled (non-ignored) pixels.

        Returns:
            ``(instances, metas)``: per frame ``InstanceData(labels=[0], masks [1, H, W] bool, valid [1, H, W]
            bool)`` at the padded input size, and the frames' metainfo.
        """
        instances, metas = [], []
        for sample in data_samples:
            gt = sample.gt_sem_seg.data
            valid = gt != self.ignore_index
            bad = valid & (gt != 0) & (gt != 1)
            if bad.any():
                meta = sample.metainfo
                name = meta.get('seg_map_path') or meta.get('img_path') or 'a frame'
                raise ValueError(f'AuTRHead: ground truth of {name} has values {sorted(gt[bad].unique().tolist())}; '
                                 f'binary masks must be 0/1 (ignore_index={self.ignore_index})')
            instances.append(
                InstanceData(labels=gt.new_zeros(1, dtype=torch.long), masks=gt == 1, valid=valid))
            metas.append(sample.metainfo)
        return instances, metas

    def _targets_at_mask_stride(self, batch_gt_instances: List[InstanceData], size: Tuple[int, int]):
        """Ground truth ``[L, h, w]`` (sounding, valid) sampled at the mask features' pixel centres."""
        masks = torch.cat([gt.masks for gt in batch_gt_instances])
        valid = torch.cat([gt.valid for gt in batch_gt_instances])
        stride_h, stride_w = masks.shape[-2] // size[0], masks.shape[-1] // size[1]
        masks = masks[:, stride_h // 2::stride_h, stride_w // 2::stride_w]
        valid = valid[:, stride_h // 2::stride_h, stride_w // 2::stride_w]
        if tuple(masks.shape[-2:]) != tuple(size):
            full = tuple(batch_gt_instances[0].masks.shape[-2:])
            raise ValueError(f'AuTRHead: ground truth of size {full} does not sample to the mask size {tuple(size)}; '
                             'pad inputs to a multiple of 32')
        return masks, valid

    def match(self, scores: Tensor, masks: Tensor, gt_masks: Tensor, valid: Tensor) -> int:
        """The query index matched to one clip (Eqs. 3-4).

        Args:
            scores: ``[T, Q]`` sounding logits of the clip's labelled frames.
            masks: ``[T, Q, h, w]`` mask logits.
            gt_masks: ``[T, h, w]`` bool, sounding pixels.
            valid: ``[T, h, w]`` bool, labelled pixels.
        """
        pred, gt = self.match_instances(scores, masks, gt_masks, valid)
        result = self.assigner.assign(pred, gt)
        return int((result.gt_inds == 1).nonzero()[0, 0])

    @torch.no_grad()
    def match_instances(self, scores: Tensor, masks: Tensor, gt_masks: Tensor,
                        valid: Tensor) -> Tuple[InstanceData, InstanceData]:
        """The assigner's inputs for one clip: predictions ``scores [Q, T]``, ``masks [Q, P]`` and the ground truth
        ``labels [1]``, ``masks [1, P]``, ``sounding_frames [1, T]`` (``P``: the clip's labelled pixels)."""
        pred_masks = masks.detach().transpose(0, 1)[:, valid]
        target = gt_masks[valid]
        if target.numel() == 0:  # no labelled pixel: mask costs equal for every query
            pred_masks = pred_masks.new_zeros(pred_masks.shape[0], 1)
            target = target.new_zeros(1)
        pred = InstanceData(scores=scores.detach().t(), masks=pred_masks)
        gt = InstanceData(labels=scores.new_zeros(1, dtype=torch.long), masks=target[None],
                          sounding_frames=(gt_masks & valid).flatten(1).any(1)[None])
        return pred, gt

    def loss_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor],
                     batch_gt_instances: List[InstanceData], batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """AuTR's losses on the labelled frames, every decoder layer with its own matching.

        Args:
            all_cls_scores: per layer ``[L, Q, 1]`` sounding logits of the ``L`` labelled frames (clip-major).
            all_mask_preds: per layer ``[L, Q, h, w]`` mask logits.
            batch_gt_instances: :meth:`gt_instances` of the labelled frames.
            batch_img_metas: their metainfo (``clip_id``, ``frame_idx`` group them into clips).

        Returns:
            ``loss_sound`` / ``loss_focal`` / ``loss_dice`` of the last layer and ``d{i}.loss_*`` of layer ``i``.
        """
        if not hasattr(self, 'assigner'):
            raise ValueError('AuTRHead: training needs train_cfg=dict(assigner=...) (the matcher); the head was built '
                             'with train_cfg=None')
        groups = clip_groups(batch_img_metas)
        gt_masks, valid = self._targets_at_mask_stride(batch_gt_instances, all_mask_preds[0].shape[-2:])
        sounding = (gt_masks & valid).flatten(1).any(1)
        num_boxes = reduce_mean(all_mask_preds[0].new_tensor(float(len(batch_img_metas)))).clamp(min=1).item()
        losses = {}
        last = len(all_cls_scores) - 1
        for layer, (scores, masks) in enumerate(zip(all_cls_scores, all_mask_preds)):
            layer_losses = self._layer_losses(scores[..., 0], masks, gt_masks, valid, sounding, groups, num_boxes)
            prefix = '' if layer == last else f'd{layer}.'
            losses.update({prefix + k: v for k, v in layer_losses.items()})
        return losses

    def _layer_losses(self, scores: Tensor, masks: Tensor, gt_masks: Tensor, valid: Tensor, sounding: Tensor,
                      groups: List[List[int]], num_boxes: float) -> Dict[str, Tensor]:
        """Matching and the three losses of one decoder layer (shapes as in :meth:`loss_by_feat`, ``scores``
        ``[L, Q]``)."""
        # one-hot targets (1 = sounding): mmdet's FocalLoss then takes its PyTorch path on any device, also with an
        # mmcv built without CUDA ops (whose sigmoid_focal_loss kernel it would call for class-index targets)
        sound_target = torch.zeros_like(scores)
        loss_focal = masks.sum() * 0
        loss_dice = masks.sum() * 0
        for rows in groups:
            index = torch.tensor(rows, device=scores.device)
            matched = self.match(scores[index], masks[index], gt_masks[index], valid[index])
            sound_target[index, matched] = sounding[index].to(scores.dtype)
            clip_valid = valid[index]
            if not clip_valid.any():
                continue
            pred = masks[index, matched][clip_valid][None]  # [1, P], the clip's labelled pixels together
            target = gt_masks[index][clip_valid][None].to(pred.dtype)
            loss_focal = loss_focal + self.loss_mask(pred, target, avg_factor=num_boxes)
            loss_dice = loss_dice + self.loss_dice(pred.sigmoid(), target, avg_factor=num_boxes)
        loss_sound = self.loss_sound(scores.reshape(-1, 1), sound_target.reshape(-1, 1), avg_factor=num_boxes)
        return dict(loss_sound=loss_sound, loss_focal=loss_focal, loss_dice=loss_dice)

    # ---------------------------------------------------------------- predict
    def select_queries(self, scores: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Index ``[N]`` of the query kept for each frame.

        Args:
            scores: ``[N, Q]`` sounding probabilities.
            batch_img_metas: per-frame metainfo (``num_frames``, ``is_padded``).
        """
        if self.select == 'frame':
            return scores.argmax(-1)
        num_frames = clip_length(batch_img_metas)
        real = (~frame_flags(batch_img_metas, 'is_padded', scores.device)).to(scores.dtype).view(-1, num_frames, 1)
        per_clip = scores.view(-1, num_frames, scores.shape[-1])
        mean = (per_clip * real).sum(1) / real.sum(1).clamp(min=1)
        return mean.argmax(-1).repeat_interleave(num_frames)

    def predict_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor],
                        batch_img_metas: List[dict]) -> Tensor:
        """Mask logits ``[N, 1, H_pad, W_pad]`` of the selected query of the last layer (bilinear upsampling)."""
        scores = all_cls_scores[-1][..., 0].sigmoid()
        index = self.select_queries(scores, batch_img_metas)
        masks = all_mask_preds[-1]
        selected = masks[torch.arange(masks.shape[0], device=masks.device), index].unsqueeze(1)
        return F.interpolate(selected, size=padded_input_size(batch_img_metas), mode='bilinear',
                             align_corners=self.align_corners)
