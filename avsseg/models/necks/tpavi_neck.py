"""Neck of the AVSBench baseline: per-stage channel reduction, then TPAVI audio-visual fusion."""
from typing import List, Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.models.decode_heads.aspp_head import ASPPModule
from torch import Tensor

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures


@MODELS.register_module()
class TPAVINeck(BaseModule):
    """Channel reduction + TPAVI fusion of the AVSBench baseline (``Pred_endecoder`` up to the decoder).

    For each backbone stage ``i`` the ``C_i``-channel map is reduced to ``channels`` by the sum of four 3x3
    convolutions with dilations 3/6/12/18 (the official ``Classifier_Module``; here mmseg's ``ASPPModule``
    without norm/activation, summed). On the stages in ``tpavi_stages`` a :class:`TPAVIBlock` then fuses the
    clip's ``T`` frames with their audio: features are reshaped ``[B*T, C, H, W] -> [B, C, T, H, W]`` using
    ``num_frames``. With both ``tpavi_va_flag`` (audio-visual attention, the standard TPAVI) and
    ``tpavi_vv_flag`` (visual self-attention through the same block) the two outputs are averaged, as in the
    official code.

    Official configuration: PVT-v2-b5 ``in_channels=[64, 128, 320, 512]`` or ResNet-50 ``[256, 512, 1024,
    2048]``, ``channels=256``, ``tpavi_stages=(0, 1, 2, 3)``, audio-visual mode, audio alignment with bias
    (S4/MS3) or without (AVSS).

    Complexity: a TPAVI block attends over all ``T*H*W`` positions of a clip; see :class:`TPAVIBlock` for how
    "dot" mode avoids materialising the ``(T*H*W)^2`` map.

    Args:
        in_channels: channels of each backbone stage.
        channels: output channels of every stage (official 256; e.g. 32 for a CPU-sized model).
        dilations: dilations of the summed 3x3 reduction convolutions.
        tpavi_stages: indices of the stages that get a TPAVI block.
        tpavi_va_flag: audio-visual attention (keys from the audio).
        tpavi_vv_flag: visual self-attention (keys from the visual features).
        audio_channels: dimension of the audio feature vector per frame (VGGish: 128).
        align_bias: bias of the TPAVI audio alignment Linear (True S4/MS3, False AVSS).
        tpavi_mode: ``'dot'`` (official) or ``'embedded'``.
        norm_cfg: norm of the TPAVI ``W_z`` branch.
        reduce_init_std: std of the normal init of the reduction convs (official 0.01; biases start at 0).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 dilations: Sequence[int] = (3, 6, 12, 18),
                 tpavi_stages: Sequence[int] = (0, 1, 2, 3),
                 tpavi_va_flag: bool = True,
                 tpavi_vv_flag: bool = False,
                 audio_channels: int = 128,
                 align_bias: bool = True,
                 tpavi_mode: str = 'dot',
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 reduce_init_std: float = 0.01,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.num_stages = len(self.in_channels)
        self.channels = channels
        self.tpavi_stages = tuple(sorted(set(int(s) for s in tpavi_stages)))
        for stage in self.tpavi_stages:
            if not 0 <= stage < self.num_stages:
                raise ValueError(f'TPAVINeck: tpavi_stages {tuple(tpavi_stages)} must index the '
                                 f'{self.num_stages} backbone stages')
        if self.tpavi_stages and not (tpavi_va_flag or tpavi_vv_flag):
            raise ValueError('TPAVINeck: with tpavi_stages set, tpavi_va_flag (audio-visual attention) and/or '
                             'tpavi_vv_flag (visual self-attention) must be True')
        if any(d < 1 for d in dilations):
            raise ValueError(f'TPAVINeck: dilations must be >= 1, got {tuple(dilations)}')
        self.tpavi_va_flag = tpavi_va_flag
        self.tpavi_vv_flag = tpavi_vv_flag
        self.audio_channels = audio_channels
        self.reduce_init_std = reduce_init_std

        # Dilation 1 would make ASPPModule use a 1x1 conv; the official module is 3x3 for every branch.
        if 1 in dilations:
            raise ValueError('TPAVINeck: dilation 1 is not supported (the reduction convs are all 3x3 dilated)')
        self.reduce_layers = nn.ModuleList(
            ASPPModule(tuple(dilations), c, channels, conv_cfg=None, norm_cfg=None, act_cfg=None)
            for c in self.in_channels)
        self.tpavi_blocks = nn.ModuleDict({
            str(stage): MODELS.build(
                dict(
                    type='TPAVIBlock',
                    in_channels=channels,
                    audio_channels=audio_channels,
                    align_bias=align_bias,
                    mode=tpavi_mode,
                    norm_cfg=norm_cfg))
            for stage in self.tpavi_stages
        })
        self._init_reduce_layers()

    def _init_reduce_layers(self) -> None:
        for aspp in self.reduce_layers:
            for branch in aspp:
                nn.init.normal_(branch.conv.weight, 0, self.reduce_init_std)
                nn.init.zeros_(branch.conv.bias)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            self._init_reduce_layers()

    @staticmethod
    def _to_clips(x: Tensor, num_frames: int) -> Tensor:
        """``[B*T, C, H, W] -> [B, C, T, H, W]``."""
        bt, c, h, w = x.shape
        return x.reshape(bt // num_frames, num_frames, c, h, w).permute(0, 2, 1, 3, 4)

    @staticmethod
    def _to_frames(x: Tensor) -> Tensor:
        """``[B, C, T, H, W] -> [B*T, C, H, W]``."""
        b, c, t, h, w = x.shape
        return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)

    def forward(self, feats: AVFeatures) -> AVFeatures:
        """Reduce and fuse.

        Args:
            feats: ``num_stages`` maps ``[B*T, C_i, H_i, W_i]`` (row ``b*T + t`` = frame t of clip b) with
                ``audio`` ``[B*T, audio_channels]`` (padded frames already zeroed by the segmentor),
                ``num_frames`` ``T`` and ``frame_mask`` (``[B*T]``, 1 real / 0 padded, or None). With a frame mask
                the reduced maps and the TPAVI outputs of padded frames are zeroed before fusion (official AVSS
                ``vid_temporal_mask_flag``), so padding does not leak into real frames through attention.

        Returns:
            The bundle with ``num_stages`` fused maps ``[B*T, channels, H_i, W_i]`` and
            ``extras['tpavi_audio']``: a tuple of ``num_stages`` entries, the TPAVI-projected audio
            ``[B*T, channels]`` of each audio-visual TPAVI stage and None elsewhere (input of the audio-visual
            matching loss). The audio is passed on unchanged.
        """
        visual_feats, audio_feats, num_frames, frame_mask = feats, feats.audio, feats.num_frames, feats.frame_mask
        if len(visual_feats) != self.num_stages:
            raise ValueError(f'TPAVINeck: expected {self.num_stages} visual stages, got {len(visual_feats)}')
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f'TPAVINeck: num_frames must be a positive int, got {num_frames!r}')
        num_rows = visual_feats[0].shape[0]
        if num_rows % num_frames:
            raise ValueError(f'TPAVINeck: {num_rows} frames in the batch is not a multiple of num_frames='
                             f'{num_frames}')
        for i, (feat, c) in enumerate(zip(visual_feats, self.in_channels)):
            if feat.dim() != 4 or feat.shape[0] != num_rows or feat.shape[1] != c:
                raise ValueError(f'TPAVINeck: visual stage {i} must be [{num_rows}, {c}, H, W], '
                                 f'got {tuple(feat.shape)}')
        audio = None
        if self.tpavi_va_flag and self.tpavi_stages:
            if audio_feats is None or audio_feats.shape != (num_rows, self.audio_channels):
                shape = None if audio_feats is None else tuple(audio_feats.shape)
                raise ValueError(f'TPAVINeck: audio features must be [{num_rows}, {self.audio_channels}] '
                                 f'(one vector per frame), got {shape}')
            audio = audio_feats.reshape(num_rows // num_frames, num_frames, self.audio_channels)
        mask = None
        if frame_mask is not None:
            if frame_mask.shape != (num_rows, ):
                raise ValueError(f'TPAVINeck: frame_mask must be [{num_rows}], got {tuple(frame_mask.shape)}')
            mask = frame_mask.to(visual_feats[0].dtype).view(-1, 1, 1, 1)

        fused: List[Tensor] = []
        audio_out: List[Optional[Tensor]] = [None] * self.num_stages
        for i, (feat, reduce) in enumerate(zip(visual_feats, self.reduce_layers)):
            branches = reduce(feat)
            x = branches[0]
            for branch in branches[1:]:
                x = x + branch
            if mask is not None:
                x = x * mask
            if i in self.tpavi_stages:
                block = self.tpavi_blocks[str(i)]
                clips = self._to_clips(x, num_frames)
                outs = []
                if self.tpavi_vv_flag:
                    outs.append(self._to_frames(block(clips)[0]))
                if self.tpavi_va_flag:
                    z, a = block(clips, audio)
                    outs.append(self._to_frames(z))
                    audio_out[i] = a.reshape(num_rows, self.channels)
                x = outs[0] if len(outs) == 1 else (outs[0] + outs[1]) / 2
                if mask is not None:
                    x = x * mask
            fused.append(x)
        return feats.replace(visual=fused, extras={**feats.extras, 'tpavi_audio': tuple(audio_out)})
