"""Segmentor for audio-visual clips: frames and audio of each clip in, one mask per frame out."""
from typing import Dict, List, Optional, Sequence

import torch
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList, add_prefix
from torch import Tensor, nn

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, clip_length, frame_flags, metas_of, padded_input_size, real_frame_mask


@MODELS.register_module()
class AudioVisualSegmentor(BaseSegmentor):
    """Audio-visual segmentor (mmseg's ``EncoderDecoder`` with a second modality).

    Data flow for a batch of B clips of T frames (frame ``t`` of clip ``b`` is row ``b*T + t``):

    - ``audio_backbone(audio [B*T, ...]) -> [B*T, D]``; features of padded frames are zeroed (as the
      official AVSBench code multiplies them by the temporal flag);
    - ``backbone(frames [B*T, 3, H, W][, **extra inputs]) -> tuple of [B*T, C_i, H_i, W_i]``; the input keys
      named in ``backbone_extra_inputs`` (e.g. COMBO's ``maskige``) are passed as keyword arguments;
    - the features travel as one :class:`~avsseg.structures.AVFeatures` bundle (visual levels + ``audio`` +
      ``num_frames`` + ``frame_mask`` + ``extras``): ``neck(bundle) -> bundle`` (optional; fusion such as TPAVI);
    - ``decode_head.loss(bundle, data_samples, train_cfg)`` /
      ``decode_head.predict(bundle, batch_img_metas, test_cfg) -> [B*T, C, H, W]``, the signatures of mmseg's
      ``BaseDecodeHead``. The bundle is the tuple of visual levels, so a stock mmseg head works after a fusion
      neck; audio-aware heads read its attributes. Losses are prefixed ``decode.`` (``aux.`` for the optional
      ``auxiliary_head``, as in ``EncoderDecoder``).

    Heads read ``num_frames``, ``is_labeled`` and ``is_padded`` from the data samples, so losses skip
    unlabelled frames. At prediction, padded frames are set to background.

    Args:
        backbone: visual backbone config.
        decode_head: head config.
        audio_backbone: audio backbone config, or None when the audio input is already a feature vector.
        neck: audio-visual fusion neck config (takes and returns an ``AVFeatures``).
        auxiliary_head: optional auxiliary head config(s) (training only).
        backbone_extra_inputs: names of further per-frame inputs the backbone takes as keyword arguments
            (COMBO's Siam-Encoder: ``('maskige', )``); a name absent from a batch is passed as None, so the
            backbone decides whether it is required.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 audio_backbone: OptConfigType = None,
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 backbone_extra_inputs: Sequence[str] = (),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.audio_backbone = MODELS.build(audio_backbone) if audio_backbone is not None else None
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.backbone_extra_inputs = tuple(backbone_extra_inputs)
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = getattr(self.decode_head, 'align_corners', False)
        self.num_classes = self.decode_head.num_classes
        self.out_channels = getattr(self.decode_head, 'out_channels', self.num_classes)
        if auxiliary_head is not None:
            if isinstance(auxiliary_head, list):
                self.auxiliary_head = nn.ModuleList(MODELS.build(cfg) for cfg in auxiliary_head)
            else:
                self.auxiliary_head = MODELS.build(auxiliary_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    # ---------------------------------------------------------------- features
    def extract_audio_feat(self, audio: Tensor, metas: Optional[Sequence] = None) -> Tensor:
        """``[B*T, ...] -> [B*T, D]`` with padded frames zeroed."""
        feats = self.audio_backbone(audio) if self.audio_backbone is not None else audio
        if metas is not None:
            padded = frame_flags(metas, 'is_padded', feats.device)
            if padded.any():
                feats = feats * (~padded).to(feats.dtype).view(-1, *([1] * (feats.dim() - 1)))
        return feats

    def extract_visual_feat(self, inputs: Dict[str, Tensor]) -> tuple:
        """``frames [B*T, 3, H, W]`` (+ the extra inputs) ``-> tuple of [B*T, C_i, H_i, W_i]``."""
        extra = {name: inputs.get(name) for name in self.backbone_extra_inputs}
        return tuple(self.backbone(inputs['frames'], **extra))

    def extract_feat(self, inputs: Dict[str, Tensor], data_samples: Sequence) -> AVFeatures:
        """The feature bundle after the optional fusion neck.

        Args:
            inputs: ``frames`` ``[B*T, 3, H, W]``, ``audio`` ``[B*T, ...]`` and any extra inputs.
            data_samples: the ``B*T`` data samples or their metainfo dicts (clip length, padded frames).
        """
        if not data_samples:
            raise ValueError('AudioVisualSegmentor needs the data samples (or metainfo) of the batch: the clip '
                             'length and the padded frames come from them')
        metas = metas_of(data_samples)
        audio_feats = self.extract_audio_feat(inputs['audio'], metas)
        feats = AVFeatures(
            self.extract_visual_feat(inputs),
            audio=audio_feats,
            num_frames=clip_length(metas),
            frame_mask=real_frame_mask(metas, audio_feats.device))
        if self.with_neck:
            feats = self.neck(feats)
        return feats

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        feats = self.extract_feat(inputs, data_samples)
        losses = add_prefix(self.decode_head.loss(feats, data_samples, self.train_cfg), 'decode')
        if self.with_auxiliary_head:
            heads = self.auxiliary_head if isinstance(self.auxiliary_head, nn.ModuleList) else [self.auxiliary_head]
            for i, head in enumerate(heads):
                prefix = f'aux_{i}' if len(heads) > 1 else 'aux'
                losses.update(add_prefix(head.loss(feats, data_samples, self.train_cfg), prefix))
        return losses

    def encode_decode(self, inputs: Dict[str, Tensor], batch_img_metas: List[dict]) -> Tensor:
        """Logits ``[B*T, C, H, W]`` at the padded input size; padded frames are set to background."""
        feats = self.extract_feat(inputs, batch_img_metas)
        seg_logits = self.decode_head.predict(feats, batch_img_metas, self.test_cfg)
        size = padded_input_size(batch_img_metas)
        if tuple(seg_logits.shape[-2:]) != size:
            # postprocess_result crops the padding from logits at the padded size; anything else would be
            # cropped wrongly (mmseg's stock predict_by_feat resizes to the unpadded img_shape).
            raise ValueError(f'{type(self.decode_head).__name__}.predict returned logits of size '
                             f'{tuple(seg_logits.shape[-2:])}, expected the padded input size {size}; with a stock '
                             'mmseg head, give test inputs that need no padding (sides multiple of size_divisor)')
        padded = frame_flags(batch_img_metas, 'is_padded', seg_logits.device)
        if padded.any():
            seg_logits = seg_logits.clone()
            background = torch.zeros_like(seg_logits[0])
            if background.shape[0] == 1:
                background.fill_(-1e4)  # sigmoid -> 0
            else:
                background[0] = 1.0  # argmax -> background (index 0)
            seg_logits[padded] = background
        return seg_logits

    def predict(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('predict needs data samples (clip length, shapes)')
        seg_logits = self.encode_decode(inputs, [s.metainfo for s in data_samples])
        return self.postprocess_result(seg_logits, data_samples)

    def _forward(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None):
        """The decode head's raw ``forward`` output (``mode='tensor'``)."""
        if not data_samples:
            raise ValueError('AudioVisualSegmentor: mode="tensor" needs the data samples (clip length)')
        return self.decode_head.forward(self.extract_feat(inputs, data_samples))
