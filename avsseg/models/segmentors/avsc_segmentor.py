"""Seed 001's two-stage segmentor: a frozen PSOS stage 1 and the trainable audio branch + AVSC head of stage 2."""
import hashlib
import os
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.structures import InstanceData
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList, add_prefix
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures, clip_length, frame_flags, metas_of, padded_input_size
from .audio_visual_segmentor import AudioVisualSegmentor

INSTANCE_SOURCES = ('online', 'cache')
STAGE1_PREFIXES = ('backbone.', 'decode_head.')


def file_sha256(path: str) -> str:
    """Hex sha256 of a file (the identity of a stage-1 checkpoint in caches)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def load_stage1_state(path: str) -> Dict[str, Tensor]:
    """The ``backbone.*`` / ``decode_head.*`` weights of a stage-1 (or stage-2) checkpoint, prefixes kept."""
    if not isinstance(path, (str, os.PathLike)) or '://' in str(path):
        raise ValueError(f'AVSCSegmentor: stage1_checkpoint must be a local file, got {path!r}')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'AVSCSegmentor: stage1_checkpoint {path} does not exist; train stage 1 first '
                                '(configs/cmms/cmms_psos_*_stage1.py) and point stage1_checkpoint at its best '
                                'checkpoint')
    ckpt = CheckpointLoader.load_checkpoint(os.fspath(path), map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'AVSCSegmentor: {path} holds no state dict')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    picked = {k: v for k, v in state.items() if k.startswith(STAGE1_PREFIXES)}
    if not picked:
        raise ValueError(f'AVSCSegmentor: {path} has no backbone.* / decode_head.* weights (is it a PSOS '
                         'stage-1 checkpoint?)')
    return picked


@MODELS.register_module()
class AVSCSegmentor(AudioVisualSegmentor):
    """Seed 001 ("CMMS"): frozen PSOS (stage 1) -> potential instance sets; audio -> ``AVSCHead`` (stage 2).

    Data flow for ``N = B*T`` frames (row ``b*T + t``):

    - stage 1, frozen (``requires_grad=False``, always in ``eval()`` mode, run under ``torch.no_grad()``):
      ``backbone(frames [N, 3, H, W])`` -> ``decode_head`` (a ``PSOSHead``) ``.predict_instances`` -> per frame
      ``InstanceData(labels [N_p], masks bool [N_p, H_pad, W_pad], ...)`` after the head's instance filter
      (seed 001: at most one per category). With ``instance_source='cache'`` the sets come instead from each data
      sample's ``proposals`` field (``LoadClipInstanceSet``, written by ``tools/analysis_tools/cache_stage1.py``)
      and the visual stage is not run;
    - audio: ``audio_front_end`` (optional, e.g. ``KaldiFbank``: waveforms ``[N, L]`` -> ``[N, frames, mels]``,
      given a channel axis ``[N, 1, frames, mels]``) -> ``audio_backbone`` -> ``[N, D]`` (padded frames zeroed);
      trainable unless ``freeze_audio_backbone`` (BEATs in the paper's setting, A9);
    - ``avsc_head`` (:class:`~avsseg.models.decode_heads.AVSCHead`): ``P_a [N, K]``, ``S`` (Eq. 1), ``loss_avc``;
      prediction ``logit(S)`` ``[N, 1, H_pad, W_pad]`` (padded frames forced to background).

    The stage-1 modules keep the attribute names of ``PSOSSegmentor`` (``backbone``, ``decode_head``), so a
    stage-1 checkpoint's keys load unchanged, and a stage-2 checkpoint holds every weight: ``tools/test.py``
    needs nothing else (``stage1_checkpoint`` is a weight file that ``drop_missing_weight_files`` drops).
    ``stage1_checkpoint`` is loaded in ``__init__`` and again in :meth:`init_weights` (a parent ``init_cfg`` would
    otherwise re-initialise it at training; MMEngine runs no ``init_weights`` at test time). Every stage-1
    parameter and buffer must be in the file, and nothing else under those prefixes.

    Args:
        backbone: visual backbone config of stage 1.
        decode_head: ``PSOSHead`` config of stage 1 (its ``instance_filter`` makes the potential instance set).
        avsc_head: ``AVSCHead`` config (``num_classes`` must equal the PSOS head's).
        audio_backbone: audio encoder config (``[N, ...] -> [N, D]``).
        audio_front_end: optional parameter-free front end applied first (``KaldiFbank``).
        stage1_checkpoint: stage-1 checkpoint file, or None (weights then come from a stage-2 checkpoint).
        instance_source: ``'online'`` (default) or ``'cache'``.
        freeze_audio_backbone: keep the audio backbone frozen and in eval mode (pretrained BEATs / VGGish).
        train_cfg / test_cfg / data_preprocessor / init_cfg: as :class:`AudioVisualSegmentor`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 avsc_head: ConfigType,
                 audio_backbone: OptConfigType = None,
                 audio_front_end: OptConfigType = None,
                 stage1_checkpoint: Optional[str] = None,
                 instance_source: str = 'online',
                 freeze_audio_backbone: bool = False,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if instance_source not in INSTANCE_SOURCES:
            raise ValueError(f'AVSCSegmentor: instance_source must be one of {INSTANCE_SOURCES}, got '
                             f'{instance_source!r}')
        super().__init__(backbone=backbone, decode_head=decode_head, audio_backbone=audio_backbone,
                         train_cfg=train_cfg, test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not hasattr(self.decode_head, 'predict_instances'):
            raise TypeError(f'AVSCSegmentor: the decode head {type(self.decode_head).__name__} has no '
                            'predict_instances(); use PSOSHead')
        self.avsc_head = MODELS.build(avsc_head)
        if self.avsc_head.num_classes != self.decode_head.num_classes:
            raise ValueError(f'AVSCSegmentor: avsc_head.num_classes = {self.avsc_head.num_classes} but the PSOS '
                             f'head has {self.decode_head.num_classes} categories')
        self.audio_front_end = MODELS.build(audio_front_end) if audio_front_end is not None else None
        self.stage1_checkpoint = stage1_checkpoint
        self.instance_source = instance_source
        self.freeze_audio_backbone = bool(freeze_audio_backbone)
        self.num_classes = 2  # the prediction is binary (sounding or not), scored by AVSBinaryMetric
        self.out_channels = 1
        if self.stage1_checkpoint is not None:
            self.load_stage1()
        for module in self.frozen_modules():
            module.requires_grad_(False)
        self.train(self.training)

    def frozen_modules(self) -> List[torch.nn.Module]:
        modules = [self.backbone, self.decode_head]
        if self.freeze_audio_backbone and self.audio_backbone is not None:
            modules.append(self.audio_backbone)
        return modules

    def load_stage1(self) -> None:
        """Copies ``backbone.*`` / ``decode_head.*`` from ``stage1_checkpoint``, every key checked."""
        state = load_stage1_state(self.stage1_checkpoint)
        own = {k: v for k, v in self.state_dict().items() if k.startswith(STAGE1_PREFIXES)}
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f'AVSCSegmentor: stage1_checkpoint {self.stage1_checkpoint} does not match the stage-1 '
                             f'model of this config: missing {missing[:8]}{" ..." if len(missing) > 8 else ""}, '
                             f'unexpected {unexpected[:8]}{" ..." if len(unexpected) > 8 else ""}')
        for key, value in state.items():
            if tuple(value.shape) != tuple(own[key].shape):
                raise ValueError(f'AVSCSegmentor: {key} has shape {tuple(value.shape)} in {self.stage1_checkpoint}, '
                                 f'{tuple(own[key].shape)} in the config (another K or model size?)')
        with torch.no_grad():
            self.load_state_dict(state, strict=False)

    def init_weights(self) -> None:
        super().init_weights()
        if self.stage1_checkpoint is not None:
            self.load_stage1()

    def train(self, mode: bool = True) -> 'AVSCSegmentor':
        """Frozen parts stay in eval mode (BatchNorm statistics, drop-path) whatever ``mode``."""
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    # ---------------------------------------------------------------- stage 1
    def potential_instances(self, inputs: Dict[str, Tensor], data_samples: Sequence) -> List[InstanceData]:
        """Each frame's potential instance set (masks at the padded input size)."""
        metas = metas_of(data_samples)
        if self.instance_source == 'cache':
            sets = []
            for sample, meta in zip(data_samples, metas):
                if getattr(sample, 'proposals', None) is None:
                    raise KeyError(f'AVSCSegmentor: instance_source="cache" but {meta.get("img_path", "a frame")} '
                                   'has no proposals; add LoadClipInstanceSet to the pipeline')
                sets.append(sample.proposals)
            size = padded_input_size(metas)
            for meta, inst in zip(metas, sets):
                if tuple(inst.masks.shape[-2:]) != tuple(size):
                    raise ValueError(f'AVSCSegmentor: the cached masks of {meta.get("img_path", "a frame")} are '
                                     f'{tuple(inst.masks.shape[-2:])}, the input is {tuple(size)} after padding; '
                                     'write the cache at a size the data preprocessor does not pad')
            return sets
        with torch.no_grad():
            feats = AVFeatures(self.extract_visual_feat(inputs), audio=None, num_frames=clip_length(metas))
            return self.decode_head.predict_instances(feats, metas)

    def extract_audio_feat(self, audio: Tensor, metas: Optional[Sequence] = None) -> Tensor:
        """``[N, ...] -> [N, D]``, through ``audio_front_end`` first when there is one."""
        if self.audio_front_end is not None:
            audio = self.audio_front_end(audio)[:, None]
        if self.freeze_audio_backbone:
            with torch.no_grad():
                return super().extract_audio_feat(audio, metas)
        return super().extract_audio_feat(audio, metas)

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        instances = self.potential_instances(inputs, data_samples)
        audio = self.extract_audio_feat(inputs['audio'], data_samples)
        return add_prefix(self.avsc_head.loss(audio, instances, data_samples), 'avsc')

    def encode_decode(self, inputs: Dict[str, Tensor], batch_img_metas: List[dict]) -> Tensor:
        """``logit(S)`` ``[N, 1, H_pad, W_pad]`` from metainfo dicts (``instance_source='online'`` only: the
        cached sets travel in the data samples)."""
        return self.stage2_logits(inputs, batch_img_metas)

    def stage2_logits(self, inputs: Dict[str, Tensor], data_samples: Sequence) -> Tensor:
        """``logit(S)`` ``[N, 1, H_pad, W_pad]``; padded frames are background."""
        instances = self.potential_instances(inputs, data_samples)
        audio = self.extract_audio_feat(inputs['audio'], data_samples)
        logits = self.avsc_head.predict(audio, instances)
        padded = frame_flags(data_samples, 'is_padded', logits.device)
        if padded.any():
            logits = logits.masked_fill(padded[:, None, None, None], -1e4)
        return logits

    def predict(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('predict needs data samples (clip length, shapes)')
        return self.postprocess_result(self.stage2_logits(inputs, data_samples), data_samples)

    def postprocess_result(self, seg_logits: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """mmseg's, with ``pred_sem_seg = S > avsc_head.threshold`` (mmseg reads the threshold of the frozen
        ``decode_head``, which is the PSOS head here)."""
        with self._binarisation_threshold(self.avsc_head.threshold):
            return super().postprocess_result(seg_logits, data_samples)

    @contextmanager
    def _binarisation_threshold(self, threshold: float):
        head = self.decode_head
        had, old = hasattr(head, 'threshold'), getattr(head, 'threshold', None)
        head.threshold = threshold
        try:
            yield
        finally:
            if had:
                head.threshold = old
            else:
                del head.threshold

    def _forward(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None) -> Tensor:
        """``logit(S)`` ``[N, 1, H_pad, W_pad]`` (``mode='tensor'``)."""
        if not data_samples:
            raise ValueError('AVSCSegmentor: mode="tensor" needs the data samples (clip length)')
        return self.stage2_logits(inputs, data_samples)
