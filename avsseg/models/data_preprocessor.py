"""Batches clips: frames ``[B*T, 3, H, W]`` normalised, audio ``[B*T, ...]``, one data sample per frame."""
from numbers import Number
from typing import Any, Dict, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmseg.utils import stack_batch

from avsseg.registry import MODELS


@MODELS.register_module()
class AVSDataPreprocessor(BaseDataPreprocessor):
    """Data preprocessor for audio-visual clips (the counterpart of mmseg's ``SegDataPreProcessor``).

    Input (from :func:`avs_collate`): ``dict(inputs=dict(frames=list of B uint8 [T, 3, H, W], audio=list of B
    [T, ...][, maskige=list of B uint8 [T, 3, H, W]]), data_samples=list of B*T SegDataSample)``.

    Output: ``dict(inputs=dict(frames=float [B*T, 3, H', W'], audio=float [B*T, ...][, maskige=float
    [B*T, 3, H', W']]), data_samples=...)`` where frames and Maskige are normalised with ``mean``/``std`` and
    padded to a common size (``size``/``size_divisor``) with ``pad_val``; ground truth is padded with
    ``seg_pad_val``. Frame order is clip-major: frame ``t`` of clip ``b`` is row ``b * T + t``.

    Args:
        mean, std: per-channel statistics in the 0-255 range (ImageNet by default).
        bgr_to_rgb / rgb_to_bgr: swap channels before normalising. Frames are loaded as RGB.
        size, size_divisor, pad_val, seg_pad_val: as in mmseg's ``SegDataPreProcessor``.
        test_cfg: optional ``dict(size=..., size_divisor=...)`` used for padding at test time.
    """

    def __init__(self,
                 mean: Sequence[Number] = (123.675, 116.28, 103.53),
                 std: Sequence[Number] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False,
                 size: Optional[tuple] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Number = 0,
                 seg_pad_val: Number = 255,
                 test_cfg: Optional[dict] = None):
        super().__init__()
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('bgr_to_rgb and rgb_to_bgr cannot both be True')
        self.swap_channels = bgr_to_rgb or rgb_to_bgr
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self.size = size
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.test_cfg = test_cfg

    def _normalise(self, clips: Sequence[torch.Tensor]) -> list:
        frames = []
        for clip in clips:
            clip = clip.float()
            if self.swap_channels:
                clip = clip[:, [2, 1, 0]]
            frames.extend((clip - self.mean) / self.std)
        return frames

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        inputs = data['inputs']
        data_samples = data.get('data_samples')
        frames = self._normalise(inputs['frames'])
        if data_samples is not None and len(data_samples) != len(frames):
            raise ValueError(f'AVSDataPreprocessor: {len(frames)} frames but {len(data_samples)} data samples')
        pad_cfg = dict(size=self.size, size_divisor=self.size_divisor)
        if not training and self.test_cfg is not None:
            pad_cfg = dict(size=self.test_cfg.get('size'), size_divisor=self.test_cfg.get('size_divisor'))
        if pad_cfg['size'] is None and pad_cfg['size_divisor'] is None:
            # mmseg's stack_batch needs one of the two; divisor 1 pads only to the largest frame of the batch.
            pad_cfg['size_divisor'] = 1
        out = {}
        out['frames'], data_samples = stack_batch(
            frames, data_samples, pad_val=self.pad_val, seg_pad_val=self.seg_pad_val, **pad_cfg)
        if 'maskige' in inputs:
            out['maskige'], _ = stack_batch(
                self._normalise(inputs['maskige']), None, pad_val=self.pad_val, **pad_cfg)
        out['audio'] = torch.cat([a.float() for a in inputs['audio']], dim=0)
        if out['audio'].shape[0] != out['frames'].shape[0]:
            raise ValueError(f'AVSDataPreprocessor: {out["frames"].shape[0]} frames but '
                             f'{out["audio"].shape[0]} audio segments')
        if data_samples is not None:
            batch_input_shape = tuple(out['frames'].shape[-2:])
            for sample in data_samples:
                sample.set_metainfo(dict(batch_input_shape=batch_input_shape))
        return dict(inputs=out, data_samples=data_samples)
