"""Mask2Former for audio-visual clips: the decoder loop once, with hooks for what each AVS method adds."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads import Mask2FormerHead
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, labeled_index, metas_of, padded_input_size
from ..utils import checkpoint_call


@MODELS.register_module()
class AudioQueryMask2FormerHead(Mask2FormerHead):
    """mmseg's Mask2Former head taking an :class:`~avsseg.structures.AVFeatures` bundle, with method hooks.

    One forward pass for ``N = B*T`` frames (frames are decoded independently unless a hook mixes them):

    1. ``pixel_decoder`` (mmdet's ``MSDeformAttnPixelDecoder``) on the visual levels -> mask features
       ``[N, C, H/4, W/4]`` and ``num_transformer_feat_level`` multi-scale memories;
    2. hook :meth:`fuse_pixel_features` (default: identity) may fuse them with the audio and update the bundle
       (COMBO's bilateral fusion);
    3. hook :meth:`init_queries` (default: the learnable query features and positions of Mask2Former) builds the
       object queries ``[N, Q, C]`` and their positions (COMBO: audio added to them; AuTR: audio-aware queries;
       AUSS: unmixed audio queries);
    4. the transformer decoder, round robin over the memory levels, one hook call per layer
       (:meth:`decoder_layer_forward`, default Mask2Former's masked attention), with the prediction hook
       ``_forward_head`` (mmdet's: class logits ``[N, Q, num_classes + 1]``, masks ``[N, Q, H/4, W/4]`` and the
       next attention mask; AuTR overrides it with dynamic convolution) before the first layer and after each;
    5. losses: mmdet's ``loss_by_feat`` (Hungarian matching, class CE, mask BCE and dice on sampled points, deep
       supervision) on the frames marked ``is_labeled``, ground truth from :meth:`gt_instances`; plus hook
       :meth:`extra_losses` (default: none) over all frames (COMBO's inter-frame loss, AUSS's AQDL/AQML);
    6. prediction: hook :meth:`predict_by_feat` (default: Mask2Former's semantic post-processing
       ``einsum(softmax(cls)[..., :-1], sigmoid(mask))`` on the last layer, at the padded input size).

    ``with_cp`` checkpoints the pixel decoder and each decoder layer (gradient checkpointing, training only);
    ``fp32_pixel_decoder`` runs the pixel decoder in float32 under autocast (mixed precision), as official COMBO
    does (its multi-scale deformable attention is kept out of fp16).

    Ground truth: ``gt_sem_seg`` with class indices (binary subsets: 0 background, 1 object; AVSS 0..70) and
    ``ignore_index`` for unlabelled pixels; mmseg's ``_seg_data_to_instance_data`` turns each present class into
    one mask (``num_classes`` includes background).

    Args:
        num_classes: classes including background (2 for S4/MS3, 71 for AVSS).
        audio_channels: size of the per-frame audio feature the hooks expect (checked), or None when the head
            does not read the audio.
        with_cp: gradient checkpointing of the pixel decoder and of each transformer decoder layer.
        fp32_pixel_decoder: run the pixel decoder with autocast disabled, on float32 inputs.
        **kwargs: arguments of mmseg's ``Mask2FormerHead`` (``in_channels``, ``feat_channels``, ``out_channels``,
            ``num_queries``, ``pixel_decoder``, ``transformer_decoder``, losses, ``train_cfg``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 audio_channels: Optional[int] = None,
                 with_cp: bool = False,
                 fp32_pixel_decoder: bool = False,
                 **kwargs):
        super().__init__(num_classes=num_classes, **kwargs)
        self.audio_channels = audio_channels
        self.with_cp = with_cp
        self.fp32_pixel_decoder = fp32_pixel_decoder

    # ---------------------------------------------------------------- hooks
    def fuse_pixel_features(self, mask_features: Tensor, multi_scale_memorys: List[Tensor],
                            inputs: AVFeatures) -> Tuple[Tensor, List[Tensor], AVFeatures]:
        """Fuse the pixel decoder outputs with the audio. Default: nothing.

        Args:
            mask_features: ``[N, C, H/4, W/4]``.
            multi_scale_memorys: ``num_transformer_feat_level`` maps ``[N, C, H_l, W_l]``, coarsest first.
            inputs: the head's feature bundle.

        Returns:
            ``(mask_features, multi_scale_memorys, inputs)``, any of them updated (e.g. the fused audio).
        """
        return mask_features, multi_scale_memorys, inputs

    def init_queries(self, inputs: AVFeatures, batch_size: int) -> Tuple[Tensor, Tensor]:
        """Object queries and their positional embeddings, both ``[N, Q, feat_channels]``.

        Default: Mask2Former's learnable ``query_feat`` and ``query_embed``, the same for every frame.
        """
        query_feat = self.query_feat.weight.unsqueeze(0).repeat((batch_size, 1, 1))
        query_embed = self.query_embed.weight.unsqueeze(0).repeat((batch_size, 1, 1))
        return query_feat, query_embed

    def decoder_layer_forward(self, index: int, query_feat: Tensor, query_embed: Tensor, memory: Tensor,
                              memory_pos: Tensor, attn_mask: Tensor) -> Tensor:
        """One decoder layer: ``[N, Q, C]`` queries attend to one memory level ``[N, H_l*W_l, C]``.

        Default: Mask2Former's masked attention (``attn_mask`` ``[N*heads, Q, H_l*W_l]``, True = blocked, from the
        previous prediction), self-attention and FFN; a query whose mask covers nothing attends everywhere.
        """
        attn_mask = attn_mask & (attn_mask.sum(-1) != attn_mask.shape[-1]).unsqueeze(-1)
        return checkpoint_call(
            self.transformer_decoder.layers[index],
            query_feat,
            enabled=self.with_cp,
            training=self.training,
            key=memory,
            value=memory,
            query_pos=query_embed,
            key_pos=memory_pos,
            cross_attn_mask=attn_mask,
            query_key_padding_mask=None,
            key_padding_mask=None)

    def extra_losses(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor], inputs: AVFeatures,
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses a method adds, on every frame of the batch (labelled or not). Default: none.

        Args:
            all_cls_scores: ``num_layers + 1`` tensors ``[N, Q, num_classes + 1]``.
            all_mask_preds: ``num_layers + 1`` tensors ``[N, Q, H/4, W/4]``.
            inputs: the bundle after :meth:`fuse_pixel_features`, with ``extras['query_feats']``: the queries
                ``[N, Q, feat_channels]`` before the first decoder layer and after each (AUSS's AQDL reads the last).
            data_samples: the ``N`` data samples (flags, ground truth).
        """
        return {}

    def gt_instances(self, data_samples: SampleList) -> Tuple[list, List[dict]]:
        """Ground-truth instances (one per present class) of the given frames, with their label range checked."""
        batch_gt_instances, batch_img_metas = self._seg_data_to_instance_data(data_samples)
        for gt, meta in zip(batch_gt_instances, batch_img_metas):
            if gt.labels.numel() and (gt.labels.min() < 0 or gt.labels.max() >= self.num_classes):
                raise ValueError(
                    f'{type(self).__name__}: ground truth of {meta.get("img_path", "a frame")} has labels '
                    f'{gt.labels.tolist()}, outside [0, {self.num_classes}) (ignore_index={self.ignore_index}); '
                    'binary masks must be 0/1')
        return batch_gt_instances, batch_img_metas

    # ---------------------------------------------------------------- forward
    def run_pixel_decoder(self, feats: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        """``pixel_decoder(feats)``, in float32 with autocast off when ``fp32_pixel_decoder`` and autocast is on."""
        device_type = feats[0].device.type
        if self.fp32_pixel_decoder and torch.is_autocast_enabled(device_type):
            with torch.autocast(device_type=device_type, enabled=False):
                return self.pixel_decoder([f.float() for f in feats])
        return self.pixel_decoder(feats)

    def check_audio(self, inputs: AVFeatures) -> None:
        """The per-frame audio must be ``[N, audio_channels]`` when the head reads it."""
        if self.audio_channels is None:
            return
        batch_size = inputs[0].shape[0]
        audio = inputs.audio
        if audio is None or audio.dim() != 2 or audio.shape != (batch_size, self.audio_channels):
            shape = None if audio is None else list(audio.shape)
            raise ValueError(f'{type(self).__name__}: the audio must be [{batch_size}, {self.audio_channels}] (one '
                             f'feature per frame), got {shape}')

    def forward(self, inputs: AVFeatures) -> Tuple[List[Tensor], List[Tensor]]:
        """Class and mask predictions of every frame at every decoder layer.

        Args:
            inputs: visual levels ``[N, C_i, H_i, W_i]`` (``N = B*T``) with audio and clip information.

        Returns:
            ``(cls_pred_list, mask_pred_list)``: ``num_layers + 1`` tensors each, ``[N, Q, num_classes + 1]`` and
            ``[N, Q, H/4, W/4]``.
        """
        all_cls_scores, all_mask_preds, _ = self.decode(inputs)
        return all_cls_scores, all_mask_preds

    def decode(self, inputs: AVFeatures) -> Tuple[List[Tensor], List[Tensor], AVFeatures]:
        """:meth:`forward` plus the bundle as :meth:`fuse_pixel_features` left it (for :meth:`extra_losses`)."""
        self.check_audio(inputs)
        batch_size = inputs[0].shape[0]
        mask_features, multi_scale_memorys = checkpoint_call(
            self.run_pixel_decoder, list(inputs), enabled=self.with_cp, training=self.training)
        mask_features, multi_scale_memorys, inputs = self.fuse_pixel_features(mask_features, multi_scale_memorys,
                                                                              inputs)
        query_feat, query_embed = self.init_queries(inputs, batch_size)

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

        cls_pred_list = []
        mask_pred_list = []
        query_feat_list = [query_feat]
        cls_pred, mask_pred, attn_mask = self._forward_head(query_feat, mask_features,
                                                            multi_scale_memorys[0].shape[-2:])
        cls_pred_list.append(cls_pred)
        mask_pred_list.append(mask_pred)
        for i in range(self.num_transformer_decoder_layers):
            level_idx = i % self.num_transformer_feat_level
            query_feat = self.decoder_layer_forward(i, query_feat, query_embed, decoder_inputs[level_idx],
                                                    decoder_positional_encodings[level_idx], attn_mask)
            query_feat_list.append(query_feat)
            cls_pred, mask_pred, attn_mask = self._forward_head(
                query_feat, mask_features, multi_scale_memorys[(i + 1) % self.num_transformer_feat_level].shape[-2:])
            cls_pred_list.append(cls_pred)
            mask_pred_list.append(mask_pred)
        inputs = inputs.replace(extras={**inputs.extras, 'query_feats': query_feat_list})
        return cls_pred_list, mask_pred_list, inputs

    # ---------------------------------------------------------------- loss
    def loss(self, inputs: AVFeatures, data_samples: SampleList, train_cfg: ConfigType = None) -> Dict[str, Tensor]:
        """Mask2Former losses on the labelled frames plus :meth:`extra_losses`.

        Args:
            inputs: the feature bundle of ``N = B*T`` frames.
            data_samples: ``N`` ``SegDataSample`` with ``gt_sem_seg`` and metainfo ``num_frames``, ``is_labeled``,
                ``is_padded``.
            train_cfg: segmentor train config (unused; the head's own ``train_cfg`` holds the assigner).

        Returns:
            ``loss_cls``/``loss_mask``/``loss_dice`` (last layer), ``d{i}.loss_*`` (earlier predictions) and the
            extra losses.
        """
        all_cls_scores, all_mask_preds, fused_inputs = self.decode(inputs)
        index = labeled_index(data_samples, all_mask_preds[0].device)
        labeled_samples = [data_samples[i] for i in index.tolist()]
        batch_gt_instances, batch_img_metas = self.gt_instances(labeled_samples)
        losses = self.loss_by_feat([c[index] for c in all_cls_scores], [m[index] for m in all_mask_preds],
                                   batch_gt_instances, batch_img_metas)
        losses.update(self.extra_losses(all_cls_scores, all_mask_preds, fused_inputs, data_samples))
        return losses

    # ---------------------------------------------------------------- predict
    def predict(self, inputs: AVFeatures, batch_img_metas: List[dict], test_cfg: ConfigType = None) -> Tensor:
        """Segmentation scores ``[N, num_classes, H_pad, W_pad]`` at the padded input size."""
        all_cls_scores, all_mask_preds = self.forward(inputs)
        return self.predict_by_feat(all_cls_scores, all_mask_preds, metas_of(batch_img_metas))

    def predict_by_feat(self, all_cls_scores: List[Tensor], all_mask_preds: List[Tensor],
                        batch_img_metas: List[dict]) -> Tensor:
        """Mask2Former semantic post-processing of the last layer: ``[N, num_classes, H_pad, W_pad]``.

        Binary subsets give 2 channels; the foreground probability is channel 1 (``softmax(.)[1]``-weighted
        masks), as the official COMBO evaluator uses.
        """
        size = padded_input_size(batch_img_metas)
        mask_pred = F.interpolate(all_mask_preds[-1], size=size, mode='bilinear', align_corners=False)
        cls_score = F.softmax(all_cls_scores[-1], dim=-1)[..., :-1]
        return torch.einsum('bqc,bqhw->bchw', cls_score, mask_pred.sigmoid())
