"""COMBO's segmentation head: Mask2Former with bilateral fusion, audio queries and the inter-frame loss."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.layers.transformer.utils import MLP
from mmseg.models.decode_heads import Mask2FormerHead
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from avsseg.registry import MODELS
from ..segmentors.audio_visual_segmentor import clip_num_frames, frame_flags

QUERY_FUSE_TYPES = ('add', 'all')


@MODELS.register_module()
class COMBOHead(Mask2FormerHead):
    """Head of COMBO (Yang et al., CVPR 2024): mmseg's Mask2Former head plus what the paper adds.

    Data flow for ``N = B*T`` frames (frames are decoded independently; clip structure is only used by the
    inter-frame loss):

    1. mmdet's ``MSDeformAttnPixelDecoder`` on the (Siam-encoder) features -> 256-channel stride-4 mask features
       and three multi-scale memories;
    2. the Bilateral-Fusion Module (``fusion``, :class:`BilateralFusion`) on the mask features and the per-frame
       audio feature (official ``FUSION_STEP: late``, ``FUSED_BACKBONE: [res2]``);
    3. the fused audio goes through an MLP into query space (official ``128 -> 4096 -> 4096 -> 256``, ReLU;
       mmdet's ``MLP``) and becomes the object queries: ``'add'`` (default) adds it to the learnable query
       features of every query, ``'all'`` uses it alone for all queries (paper Table 6; ``query_feat`` is then not
       built). The learnable query positional embedding is used in both modes;
    4. mmdet's ``Mask2FormerTransformerDecoder`` (masked attention, round robin over the three scales), with a
       class / mask prediction before the first layer and after each layer (deep supervision);
    5. losses (mmdet's ``loss_by_feat``: Hungarian matching with class / mask-BCE / dice costs on sampled points,
       class CE with the no-object weight, mask BCE and dice on importance-sampled points) on the frames whose
       data sample says ``is_labeled`` only (S4 training: frame 1), plus the adaptive inter-frame consistency loss
       (``loss_ada``, :class:`AdaptiveInterFrameLoss`) on the mask predictions of the layers in
       ``ada_loss_layers`` over all real (not ``is_padded``) frames of each clip.

    Ground truth: ``gt_sem_seg`` with class indices (binary subsets: 0 background, 1 object; AVSS 0..70) and
    ``ignore_index`` (255) for unlabelled pixels; mmseg's ``_seg_data_to_instance_data`` turns each present class
    into one mask (semantic setting: ``num_classes`` includes background).

    Inference (``predict``): Mask2Former semantic post-processing on the last layer,
    ``einsum(softmax(cls)[..., :-1], sigmoid(mask))`` at the padded input size: ``[N, num_classes, H, W]``
    (binary subsets: 2 channels, foreground probability ``softmax(.)[1]`` as in the official evaluator).

    Args:
        num_classes: classes including background (2 for S4/MS3, 71 for AVSS).
        audio_channels: size of the audio feature (VGGish: 128).
        audio_mlp_channels: hidden width of the audio MLP (4096).
        audio_mlp_layers: number of linear layers of the audio MLP (3).
        fusion: BFM config; ``in_channels`` (the mask-feature channels ``out_channels``) and ``audio_channels``
            are filled in. ``None`` or ``mode='none'``: no fusion (the audio MLP and audio queries remain, as in
            the official ``MHA-None``).
        query_fuse: ``'add'`` or ``'all'``.
        loss_ada: config of the inter-frame loss (``AdaptiveInterFrameLoss``) or None to disable it.
        ada_loss_layers: indices into the ``num_layers + 1`` predictions (0 = from the initial queries) on which
            ``loss_ada`` is computed. Default (None): every prediction except the last, as the official code
            ("only in the intermediate transformer decoder layer"): 0..8 for 9 decoder layers.
        with_cp: gradient checkpointing of the pixel decoder and of each transformer decoder layer.
        **kwargs: arguments of mmseg's ``Mask2FormerHead`` (``in_channels``, ``feat_channels``, ``out_channels``,
            ``num_queries``, ``pixel_decoder``, ``transformer_decoder``, losses, ``train_cfg``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 audio_channels: int = 128,
                 audio_mlp_channels: int = 4096,
                 audio_mlp_layers: int = 3,
                 fusion: OptConfigType = dict(type='BilateralFusion'),
                 query_fuse: str = 'add',
                 loss_ada: OptConfigType = dict(type='AdaptiveInterFrameLoss', loss_weight=10.0),
                 ada_loss_layers: Optional[Sequence[int]] = None,
                 with_cp: bool = False,
                 **kwargs):
        super().__init__(num_classes=num_classes, **kwargs)
        if query_fuse not in QUERY_FUSE_TYPES:
            raise ValueError(f'COMBOHead: query_fuse must be one of {QUERY_FUSE_TYPES}, got {query_fuse!r}')
        self.audio_channels = audio_channels
        self.query_fuse = query_fuse
        self.with_cp = with_cp
        feat_channels = kwargs['feat_channels']
        out_channels = kwargs['out_channels']

        self.fusion = None
        if fusion is not None:
            fusion = dict(fusion)
            fusion.setdefault('in_channels', out_channels)
            fusion.setdefault('audio_channels', audio_channels)
            self.fusion = MODELS.build(fusion)
        self.audio_mlp = MLP(audio_channels, audio_mlp_channels, feat_channels, audio_mlp_layers)
        if query_fuse == 'all':
            # queries come from the audio only; a learnable query feature would get no gradient
            del self.query_feat

        num_predictions = self.num_transformer_decoder_layers + 1
        if ada_loss_layers is None:
            ada_loss_layers = list(range(num_predictions - 1))
        ada_loss_layers = [int(i) for i in ada_loss_layers]
        bad = [i for i in ada_loss_layers if not 0 <= i < num_predictions]
        if bad or len(set(ada_loss_layers)) != len(ada_loss_layers):
            raise ValueError(f'COMBOHead: ada_loss_layers must be distinct indices in [0, {num_predictions}), got '
                             f'{ada_loss_layers}')
        self.ada_loss_layers = ada_loss_layers
        self.loss_ada = MODELS.build(loss_ada) if loss_ada is not None else None

    # ---------------------------------------------------------------- forward
    def _decode_layer(self, layer, query_feat: Tensor, **kwargs) -> Tensor:
        if self.with_cp and self.training and torch.is_grad_enabled():
            return checkpoint(layer, query_feat, use_reentrant=False, **kwargs)
        return layer(query=query_feat, **kwargs)

    def forward(self,
                visual_feats: Sequence[Tensor],
                audio_feats: Tensor,
                num_frames: Optional[int] = None) -> Tuple[List[Tensor], List[Tensor]]:
        """Predict classes and masks for every frame at every decoder layer.

        Args:
            visual_feats: multi-level features, each ``[N, C_i, H_i, W_i]`` (``N = B*T``).
            audio_feats: per-frame audio features ``[N, audio_channels]``.
            num_frames: clip length ``T`` (passed to the fusion module).

        Returns:
            ``(cls_pred_list, mask_pred_list)``: ``num_layers + 1`` tensors each, ``[N, Q, num_classes + 1]`` and
            ``[N, Q, H/4, W/4]``.
        """
        visual_feats = list(visual_feats)
        batch_size = visual_feats[0].shape[0]
        if audio_feats.dim() != 2 or audio_feats.shape != (batch_size, self.audio_channels):
            raise ValueError(f'COMBOHead: audio_feats must be [{batch_size}, {self.audio_channels}] (one feature per '
                             f'frame), got {list(audio_feats.shape)}')
        if self.with_cp and self.training and torch.is_grad_enabled():
            mask_features, multi_scale_memorys = checkpoint(self.pixel_decoder, visual_feats, use_reentrant=False)
        else:
            mask_features, multi_scale_memorys = self.pixel_decoder(visual_feats)

        audio = audio_feats
        if self.fusion is not None:
            (mask_features, ), audio = self.fusion((mask_features, ), audio_feats, num_frames)
        audio_query = self.audio_mlp(audio)  # [N, feat_channels]

        decoder_inputs = []
        decoder_positional_encodings = []
        for i in range(self.num_transformer_feat_level):
            decoder_input = self.decoder_input_projs[i](multi_scale_memorys[i])
            decoder_input = decoder_input.flatten(2).permute(0, 2, 1)
            decoder_input = decoder_input + self.level_embed.weight[i].view(1, 1, -1)
            mask = decoder_input.new_zeros((batch_size, ) + multi_scale_memorys[i].shape[-2:], dtype=torch.bool)
            pos = self.decoder_positional_encoding(mask).flatten(2).permute(0, 2, 1)
            decoder_inputs.append(decoder_input)
            decoder_positional_encodings.append(pos.to(decoder_input.dtype))

        query_embed = self.query_embed.weight.unsqueeze(0).repeat((batch_size, 1, 1))
        if self.query_fuse == 'add':
            query_feat = self.query_feat.weight.unsqueeze(0) + audio_query.unsqueeze(1)
        else:
            query_feat = audio_query.unsqueeze(1).repeat((1, self.num_queries, 1))

        cls_pred_list = []
        mask_pred_list = []
        cls_pred, mask_pred, attn_mask = self._forward_head(query_feat, mask_features,
                                                            multi_scale_memorys[0].shape[-2:])
        cls_pred_list.append(cls_pred)
        mask_pred_list.append(mask_pred)
        for i in range(self.num_transformer_decoder_layers):
            level_idx = i % self.num_transformer_feat_level
            # a query whose mask covers nothing attends everywhere (as in Mask2Former)
            attn_mask = attn_mask & (attn_mask.sum(-1) != attn_mask.shape[-1]).unsqueeze(-1)
            query_feat = self._decode_layer(
                self.transformer_decoder.layers[i],
                query_feat,
                key=decoder_inputs[level_idx],
                value=decoder_inputs[level_idx],
                query_pos=query_embed,
                key_pos=decoder_positional_encodings[level_idx],
                cross_attn_mask=attn_mask,
                query_key_padding_mask=None,
                key_padding_mask=None)
            cls_pred, mask_pred, attn_mask = self._forward_head(
                query_feat, mask_features, multi_scale_memorys[(i + 1) % self.num_transformer_feat_level].shape[-2:])
            cls_pred_list.append(cls_pred)
            mask_pred_list.append(mask_pred)
        return cls_pred_list, mask_pred_list

    # ---------------------------------------------------------------- loss
    def _check_gt_labels(self, batch_gt_instances: list, samples: list) -> None:
        for gt, sample in zip(batch_gt_instances, samples):
            if gt.labels.numel() and (gt.labels.min() < 0 or gt.labels.max() >= self.num_classes):
                raise ValueError(
                    f'COMBOHead: ground truth of {sample.metainfo.get("img_path", "a frame")} has labels '
                    f'{gt.labels.tolist()}, outside [0, {self.num_classes}) (ignore_index={self.ignore_index}); '
                    'binary masks must be 0/1')

    def loss(self, visual_feats: Sequence[Tensor], audio_feats: Tensor, data_samples: SampleList,
             train_cfg: ConfigType) -> Dict[str, Tensor]:
        """Losses: Mask2Former losses on labelled frames, ``loss_ada`` on all real frames.

        Args:
            visual_feats: multi-level features ``[B*T, C_i, H_i, W_i]``.
            audio_feats: ``[B*T, audio_channels]``.
            data_samples: ``B*T`` ``SegDataSample`` with ``gt_sem_seg`` and metainfo ``num_frames``,
                ``is_labeled``, ``is_padded``.
            train_cfg: segmentor train config (unused; the head's own ``train_cfg`` holds the assigner).

        Returns:
            ``loss_cls``/``loss_mask``/``loss_dice`` (last layer), ``d{i}.loss_*`` (earlier predictions) and
            ``d{i}.loss_ada`` for the layers in ``ada_loss_layers`` (``loss_ada`` if it includes the last).
        """
        num_frames = clip_num_frames(data_samples)
        all_cls_scores, all_mask_preds = self.forward(visual_feats, audio_feats, num_frames)
        device = all_mask_preds[0].device
        labeled = frame_flags(data_samples, 'is_labeled', device)
        if not labeled.any():
            raise ValueError('COMBOHead: no frame of the batch is labelled (is_labeled is False everywhere); '
                             'the supervised losses need at least one labelled frame')
        index = labeled.nonzero(as_tuple=True)[0]
        labeled_samples = [data_samples[i] for i in index.tolist()]
        batch_gt_instances, batch_img_metas = self._seg_data_to_instance_data(labeled_samples)
        self._check_gt_labels(batch_gt_instances, labeled_samples)
        losses = self.loss_by_feat([c[index] for c in all_cls_scores], [m[index] for m in all_mask_preds],
                                   batch_gt_instances, batch_img_metas)

        if self.loss_ada is not None:
            real = ~frame_flags(data_samples, 'is_padded', device)
            last = len(all_mask_preds) - 1
            for i in self.ada_loss_layers:
                name = self.loss_ada.loss_name if i == last else f'd{i}.{self.loss_ada.loss_name}'
                losses[name] = self.loss_ada(all_mask_preds[i], num_frames, real)
        return losses

    # ---------------------------------------------------------------- predict
    def predict(self, visual_feats: Sequence[Tensor], audio_feats: Tensor, batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Semantic logits ``[B*T, num_classes, H, W]`` at the padded input size (Mask2Former post-processing)."""
        lengths = {meta['num_frames'] for meta in batch_img_metas}
        if len(lengths) != 1:
            raise ValueError(f'COMBOHead: clips of one batch must have one length, got {sorted(lengths)}')
        all_cls_scores, all_mask_preds = self.forward(visual_feats, audio_feats, lengths.pop())
        meta = batch_img_metas[0]
        size = meta.get('batch_input_shape', meta.get('pad_shape', meta.get('img_shape')))
        mask_pred = F.interpolate(all_mask_preds[-1], size=tuple(size[:2]), mode='bilinear', align_corners=False)
        cls_score = F.softmax(all_cls_scores[-1], dim=-1)[..., :-1]
        return torch.einsum('bqc,bqhw->bchw', cls_score, mask_pred.sigmoid())
