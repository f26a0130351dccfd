"""Decoder of the AVSBench baseline (TPAVI): FPN-like fusion of the four fused stages, one mask per frame."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, labeled_index, padded_input_size


class _ResidualConvUnit(nn.Module):
    """Residual unit of the official decoder: ``relu(x) + conv2(relu(conv1(relu(x))))`` with biased 3x3 convs.

    The official ``ResidualConvUnit`` applies ``nn.ReLU(inplace=True)`` to its input first and adds the input
    afterwards, so the residual it adds is the ReLU'd input, not the input.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(x)
        return x + self.conv2(F.relu(self.conv1(x)))


class _FeatureFusionBlock(nn.Module):
    """``upsample_x2(out_unit(x + lateral_unit(skip)))``, or without the skip term on the coarsest level.

    The coarsest block of the official decoder (``path4``) is built with a lateral unit that its forward never
    calls; ``has_lateral=False`` keeps that unit (so official checkpoints load and the parameter count matches
    the official model) but freezes it, so distributed training does not wait for gradients that never come.
    """

    def __init__(self, channels: int, has_lateral: bool = True):
        super().__init__()
        self.has_lateral = has_lateral
        self.lateral_unit = _ResidualConvUnit(channels)
        self.out_unit = _ResidualConvUnit(channels)
        if not has_lateral:
            self.lateral_unit.requires_grad_(False)

    def forward(self, x: Tensor, skip: Optional[Tensor] = None) -> Tensor:
        if skip is not None:
            if not self.has_lateral:
                raise RuntimeError('the coarsest fusion block takes no skip input')
            if x.shape[-2:] != skip.shape[-2:]:
                # Inputs whose sides are not multiples of 32 give odd sizes; the official 224 input never does.
                x = resize(x, size=skip.shape[-2:], mode='bilinear', align_corners=True)
            x = x + self.lateral_unit(skip)
        x = self.out_unit(x)
        return F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)


@MODELS.register_module()
class AVSBenchHead(BaseDecodeHead):
    """Decoder of the AVSBench baseline (``Pred_endecoder`` after TPAVI).

    Input: the neck's :class:`~avsseg.structures.AVFeatures`: ``num_levels`` fused maps ``[B*T, in_channels, H/4,
    W/4] ... [B*T, in_channels, H/32, W/32]`` (finest first); the optional AVM loss also reads
    ``extras['tpavi_audio']`` (the per-stage projected audio of :class:`TPAVINeck`).

    Decoding: feature-fusion blocks (two residual conv units + x2 bilinear upsampling, ``align_corners=True``)
    go 1/32 -> 1/16 -> 1/8 -> 1/4 -> 1/2; then ``Conv3x3(in_channels -> mid_channels)``, x2 bilinear,
    ``Conv3x3(mid_channels -> channels)``, ReLU and ``conv_seg`` = ``Conv1x1(channels -> out_channels)`` give
    logits ``[B*T, out_channels, H, W]``. Official widths: 256 -> 128 -> 32; ``out_channels`` 1 for S4/MS3
    (sigmoid, ``threshold`` 0.5) and 71 for AVSBench-semantic (softmax/argmax, background 0). All layers keep
    PyTorch's default initialisation, as in the official code.

    Losses (on frames whose metainfo has ``is_labeled``; pixels equal to ``ignore_index`` are ignored):

    - each loss in ``loss_decode`` (mmseg losses called with ``reduction_override='none'``, e.g.
      ``CrossEntropyLoss(use_sigmoid=True)`` for the official binary BCE or ``CrossEntropyLoss()`` for the
      AVSS CE) is averaged over the valid pixels of each frame, then over the labelled frames (official AVSS
      per-frame CE; for the official S4/MS3 BCE, whose frames have equal size and no ignored pixels, this is
      the same number as ``nn.BCELoss()`` over all pixels);
    - ``loss_avm`` (optional, :class:`AudioVisualMatchingLoss`, official MS3/AVSS with ``lambda_1=0.5``) on
      the labelled frames, from the predicted logits, the ReLU'd fused maps (what the official decoder's
      in-place ReLUs leave in the map list its loss reads) and the projected audio.

    Args:
        in_channels: channels of every fused level (the neck's ``channels``; official 256).
        channels: channels before ``conv_seg`` (official 32).
        mid_channels: channels after the first output conv (official 128).
        num_levels: number of input levels (official 4).
        loss_avm: config of the audio-visual matching loss, or None.
        dropout_ratio: dropout before ``conv_seg`` (official: none).
        init_cfg: mmengine init config (None keeps PyTorch's defaults, as official).
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``, ``out_channels``, ``threshold``,
            ``loss_decode``, ``ignore_index``, ``align_corners``).
    """

    def __init__(self,
                 in_channels: int = 256,
                 channels: int = 32,
                 mid_channels: int = 128,
                 num_levels: int = 4,
                 loss_avm: OptConfigType = None,
                 dropout_ratio: float = 0.0,
                 init_cfg: OptConfigType = None,
                 **kwargs):
        if not isinstance(in_channels, int):
            raise TypeError(f'AVSBenchHead: in_channels must be one int (all levels share the neck width), '
                            f'got {in_channels!r}')
        super().__init__(
            in_channels=in_channels, channels=channels, dropout_ratio=dropout_ratio, init_cfg=init_cfg, **kwargs)
        if num_levels < 1:
            raise ValueError(f'AVSBenchHead: num_levels must be >= 1, got {num_levels}')
        self.num_levels = num_levels
        self.mid_channels = mid_channels
        # fusion_blocks[i] consumes level i (official path{i+1}); the coarsest has no skip input.
        self.fusion_blocks = nn.ModuleList(
            _FeatureFusionBlock(in_channels, has_lateral=i != num_levels - 1) for i in range(num_levels))
        self.out_conv1 = nn.Conv2d(in_channels, mid_channels, 3, padding=1)
        self.out_conv2 = nn.Conv2d(mid_channels, channels, 3, padding=1)
        self.loss_avm = MODELS.build(loss_avm) if loss_avm is not None else None

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Decode.

        Args:
            inputs: ``num_levels`` maps ``[B*T, in_channels, H_i, W_i]``, finest first (an ``AVFeatures``; the
                audio is not used, TPAVI already fused it; every frame is decoded on its own).

        Returns:
            Logits ``[B*T, out_channels, H, W]`` (input resolution when the input sides are multiples of 32).
        """
        visual_feats = inputs
        if len(visual_feats) != self.num_levels:
            raise ValueError(f'AVSBenchHead: expected {self.num_levels} visual levels, got {len(visual_feats)}')
        for i, feat in enumerate(visual_feats):
            if feat.dim() != 4 or feat.shape[1] != self.in_channels:
                raise ValueError(f'AVSBenchHead: level {i} must be [N, {self.in_channels}, H, W], got '
                                 f'{tuple(feat.shape)}')
        x = self.fusion_blocks[-1](visual_feats[-1])
        for i in range(self.num_levels - 2, -1, -1):
            x = self.fusion_blocks[i](x, visual_feats[i])
        x = self.out_conv1(x)
        x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        x = F.relu(self.out_conv2(x))
        return self.cls_seg(x)

    # ------------------------------------------------------------------ train
    def loss(self, inputs: AVFeatures, batch_data_samples: SampleList,
             train_cfg: ConfigType = None) -> Dict[str, Tensor]:
        """Forward and losses on the labelled frames; see the class docstring."""
        seg_logits = self.forward(inputs)
        return self.loss_by_feat(seg_logits, batch_data_samples, inputs=inputs)

    def _per_frame_mean(self, pixel_loss: Tensor, valid: Tensor) -> Tensor:
        """``[N, H, W]`` masked pixel losses -> ``[N]`` mean over each frame's valid pixels."""
        counts = valid.flatten(1).sum(1)
        return (pixel_loss * valid).flatten(1).sum(1) / counts.clamp(min=1)

    def loss_by_feat(self,
                     seg_logits: Tensor,
                     batch_data_samples: SampleList,
                     inputs: Optional[AVFeatures] = None) -> Dict[str, Tensor]:
        """Losses from the logits ``[B*T, out_channels, H', W']`` and the per-frame data samples; ``inputs`` (the
        head's feature bundle) is needed by the AVM loss only."""
        if len(batch_data_samples) != seg_logits.shape[0]:
            raise ValueError(f'AVSBenchHead: {seg_logits.shape[0]} predicted frames but '
                             f'{len(batch_data_samples)} data samples')
        idx = labeled_index(batch_data_samples, seg_logits.device)
        for sample in batch_data_samples:
            if sample.metainfo.get('is_labeled') and 'gt_sem_seg' not in sample:
                raise ValueError(f'AVSBenchHead: frame {sample.metainfo.get("frame_idx")} of clip '
                                 f'{sample.metainfo.get("clip_id")} is labelled but has no gt_sem_seg')
        seg_label = torch.stack([batch_data_samples[i].gt_sem_seg.data for i in idx.tolist()]).squeeze(1)
        logits = seg_logits[idx]
        if logits.shape[-2:] != seg_label.shape[-2:]:
            logits = resize(logits, size=seg_label.shape[-2:], mode='bilinear', align_corners=self.align_corners)
        valid = seg_label != self.ignore_index
        if self.out_channels == 1:
            bad = valid & (seg_label > 1)
        else:
            bad = valid & ((seg_label < 0) | (seg_label >= self.out_channels))
        if bad.any():
            raise ValueError(f'AVSBenchHead: ground truth values {sorted(seg_label[bad].unique().tolist())} are '
                             f'out of range for {self.out_channels} output channel(s) (ignore_index='
                             f'{self.ignore_index})')
        valid_f = valid.to(logits.dtype)
        has_valid = valid.flatten(1).any(1).to(logits.dtype)  # frames made only of ignored pixels weigh 0
        num_counted = has_valid.sum().clamp(min=1)

        losses: Dict[str, Tensor] = {}
        loss_modules = self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [self.loss_decode]
        # mmseg's BCE asserts on the label maximum, which fails on an all-ignored batch; feed it zeros there.
        safe_label = torch.where(valid, seg_label, torch.zeros_like(seg_label))
        for loss_module in loss_modules:
            pixel = loss_module(
                logits, safe_label if self.out_channels == 1 else seg_label,
                weight=None, ignore_index=self.ignore_index, reduction_override='none')
            if pixel.dim() == 4 and pixel.shape[1] == 1:
                pixel = pixel.squeeze(1)
            if pixel.shape == seg_label.shape:
                frame_loss = self._per_frame_mean(pixel, valid_f)
            elif pixel.shape == (logits.shape[0], ):
                frame_loss = pixel
            else:
                raise ValueError(f'AVSBenchHead: {type(loss_module).__name__} returned {tuple(pixel.shape)} with '
                                 "reduction_override='none'; expected per-pixel [N, H, W] or per-frame [N]")
            value = (frame_loss * has_valid).sum() / num_counted
            name = loss_module.loss_name
            losses[name] = losses[name] + value if name in losses else value

        with torch.no_grad():
            if self.out_channels == 1:
                pred = (logits.sigmoid().squeeze(1) > self.threshold).long()
                correct = ((pred == seg_label) & valid).sum()
                losses['acc_seg'] = correct.float() * 100.0 / valid.sum().clamp(min=1)
            else:
                losses['acc_seg'] = accuracy(logits, seg_label, ignore_index=self.ignore_index)

        if self.loss_avm is not None:
            stage_audio = getattr(inputs, 'extras', {}).get('tpavi_audio')
            if stage_audio is None:
                raise ValueError("AVSBenchHead: loss_avm needs the fused maps and extras['tpavi_audio'] (the "
                                 'per-stage projected audio) of TPAVINeck')
            labeled = torch.zeros(seg_logits.shape[0], dtype=seg_logits.dtype, device=seg_logits.device)
            labeled[idx] = 1
            # The official decoder's in-place ReLUs rewrite every fused map before its AVM loss reads them
            # (each map passes through a residual unit's ReLU(inplace=True)), so the loss sees relu(map).
            losses[self.loss_avm.loss_name] = self.loss_avm(
                seg_logits, [F.relu(v) for v in inputs.visual], stage_audio, frame_weight=labeled)
        return losses

    # ------------------------------------------------------------------ test
    def predict(self, inputs: AVFeatures, batch_img_metas: List[dict], test_cfg: ConfigType = None) -> Tensor:
        """Logits ``[B*T, out_channels, H_pad, W_pad]`` at the padded input size."""
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def predict_by_feat(self, seg_logits: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Resize logits to the padded batch size (see :func:`~avsseg.structures.padded_input_size`)."""
        size = padded_input_size(batch_img_metas)
        if tuple(seg_logits.shape[-2:]) == size:
            return seg_logits
        return resize(seg_logits, size=size, mode='bilinear', align_corners=self.align_corners)
