"""Segmentor for audio-visual clips: frames and audio of each clip in, one mask per frame out."""
import inspect
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor

from avsseg.registry import MODELS


def clip_num_frames(data_samples: Sequence) -> int:
    """The clip length ``T`` shared by a batch (every sample's metainfo carries ``num_frames``)."""
    if not data_samples:
        raise ValueError('data samples are needed to know the clip length')
    lengths = {s.metainfo['num_frames'] for s in data_samples}
    if len(lengths) != 1:
        raise ValueError(f'clips of one batch must have one length, got {sorted(lengths)}')
    return lengths.pop()


def frame_flags(data_samples: Sequence, key: str, device=None) -> Tensor:
    """Per-frame boolean flag ``[B*T]`` from data-sample metainfo (``is_labeled`` / ``is_padded``)."""
    return torch.tensor([bool(s.metainfo.get(key, False)) for s in data_samples], device=device)


@MODELS.register_module()
class AudioVisualSegmentor(BaseSegmentor):
    """Audio-visual segmentor.

    Data flow for a batch of B clips of T frames (frame ``t`` of clip ``b`` is row ``b*T + t``):

    - ``audio_backbone(audio [B*T, ...]) -> [B*T, D]``; features of padded frames are zeroed (as the
      official AVSBench code multiplies them by the temporal flag);
    - ``backbone(frames [B*T, 3, H, W]) -> tuple of [B*T, C_i, H_i, W_i]``;
    - ``neck(visual_feats, audio_feats, num_frames[, frame_mask]) -> (visual_feats, audio_feats)``
      (optional; fusion such as TPAVI). Necks whose ``forward`` takes ``frame_mask`` get ``[B*T]`` (1 real,
      0 padded) when a batch holds padded frames;
    - ``decode_head.loss(visual_feats, audio_feats, data_samples, train_cfg)`` /
      ``decode_head.predict(visual_feats, audio_feats, batch_img_metas, test_cfg) -> [B*T, C, H, W]``.

    Heads read ``num_frames``, ``is_labeled`` and ``is_padded`` from the data samples, so losses skip
    unlabelled frames. At prediction, padded frames are set to background.

    Args:
        backbone: visual backbone config.
        decode_head: head config (an avsseg head taking visual and audio features).
        audio_backbone: audio backbone config, or None when the audio input is already a feature vector.
        neck: audio-visual fusion neck config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 audio_backbone: OptConfigType = None,
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.audio_backbone = MODELS.build(audio_backbone) if audio_backbone is not None else None
        if neck is not None:
            self.neck = MODELS.build(neck)
        self._neck_takes_frame_mask = neck is not None and \
            'frame_mask' in inspect.signature(self.neck.forward).parameters
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = getattr(self.decode_head, 'align_corners', False)
        self.num_classes = self.decode_head.num_classes
        self.out_channels = getattr(self.decode_head, 'out_channels', self.num_classes)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    # ---------------------------------------------------------------- features
    def extract_audio_feat(self, audio: Tensor, data_samples: Optional[Sequence] = None) -> Tensor:
        """``[B*T, ...] -> [B*T, D]`` with padded frames zeroed."""
        feats = self.audio_backbone(audio) if self.audio_backbone is not None else audio
        if data_samples is not None:
            padded = frame_flags(data_samples, 'is_padded', feats.device)
            if padded.any():
                feats = feats * (~padded).to(feats.dtype).view(-1, *([1] * (feats.dim() - 1)))
        return feats

    def extract_visual_feat(self, inputs: Dict[str, Tensor]) -> Tuple[Tensor]:
        """``frames [B*T, 3, H, W] -> tuple of [B*T, C_i, H_i, W_i]``."""
        return tuple(self.backbone(inputs['frames']))

    def extract_feat(self, inputs: Dict[str, Tensor], data_samples: Optional[Sequence] = None):
        """Returns ``(visual_feats, audio_feats)`` after the optional fusion neck."""
        num_frames = clip_num_frames(data_samples) if data_samples is not None else None
        audio_feats = self.extract_audio_feat(inputs['audio'], data_samples)
        visual_feats = self.extract_visual_feat(inputs)
        if self.with_neck:
            if num_frames is None:
                raise ValueError('the fusion neck needs data samples carrying num_frames')
            kwargs = {}
            if self._neck_takes_frame_mask:
                # Temporal fusion must not let zero-padded frames (AVSS clips padded to 10) leak into real ones.
                padded = frame_flags(data_samples, 'is_padded', audio_feats.device)
                if padded.any():
                    kwargs['frame_mask'] = (~padded).float()
            visual_feats, audio_feats = self.neck(visual_feats, audio_feats, num_frames, **kwargs)
        return visual_feats, audio_feats

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        visual_feats, audio_feats = self.extract_feat(inputs, data_samples)
        return self.decode_head.loss(visual_feats, audio_feats, data_samples, self.train_cfg)

    def encode_decode(self, inputs: Dict[str, Tensor], batch_img_metas: List[dict]) -> Tensor:
        """Logits ``[B*T, C, H, W]`` at the (padded) input size."""
        samples = [_MetaOnly(m) for m in batch_img_metas]
        visual_feats, audio_feats = self.extract_feat(inputs, samples)
        seg_logits = self.decode_head.predict(visual_feats, audio_feats, batch_img_metas, self.test_cfg)
        padded = frame_flags(samples, 'is_padded', seg_logits.device)
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
        batch_img_metas = [s.metainfo for s in data_samples]
        seg_logits = self.encode_decode(inputs, batch_img_metas)
        return self.postprocess_result(seg_logits, data_samples)

    def _forward(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None):
        visual_feats, audio_feats = self.extract_feat(inputs, data_samples)
        num_frames = clip_num_frames(data_samples) if data_samples is not None else inputs['frames'].shape[0]
        return self.decode_head.forward(visual_feats, audio_feats, num_frames)


class _MetaOnly:
    """Adapter so image metas can be read like data samples (``.metainfo``)."""

    def __init__(self, meta: dict):
        self.metainfo = meta
