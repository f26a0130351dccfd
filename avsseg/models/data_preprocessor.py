"""Batches clips: frames ``[B*T, 3, H, W]`` normalised, audio ``[B*T, ...]``, one data sample per frame."""
from numbers import Number
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from mmseg.utils import stack_batch

from avsseg.registry import MODELS


@MODELS.register_module()
class AVSDataPreprocessor(BaseDataPreprocessor):
    """Data preprocessor for audio-visual clips (the counterpart of mmseg's ``SegDataPreProcessor``).

    Input (from :func:`avs_collate`): ``dict(inputs=dict(frames=list of B uint8 [T, 3, H, W], audio=list of B
    [T, ...], **{key: list of B [T, C, H, W] for each auxiliary image key}), data_samples=list of B*T
    SegDataSample)``.

    Output: ``dict(inputs=dict(frames=float [B*T, 3, H', W'], audio=float [B*T, ...], **{key: float
    [B*T, C, H', W']}), data_samples=...)`` where frames are normalised with ``mean``/``std`` and padded to a
    common size (``size``/``size_divisor``) with ``pad_val``, and each auxiliary image key listed in
    ``aux_image_keys`` likewise (COMBO: ``inputs['maskige']``); ground truth is padded with ``seg_pad_val``.
    Frame order is clip-major: frame ``t`` of clip ``b`` is row ``b * T + t``.

    Args:
        mean, std: per-channel statistics in the 0-255 range (ImageNet by default).
        bgr_to_rgb / rgb_to_bgr: swap channels before normalising. Frames are loaded as RGB.
        size, size_divisor, pad_val, seg_pad_val: as in mmseg's ``SegDataPreProcessor``.
        aux_image_keys: the auxiliary image inputs this model takes (packed by :class:`PackAVSInputs` from the
            pipeline's auxiliary images, e.g. ``('maskige', )``). A sequence: each is treated exactly like the
            frames (channel swap, ``mean``/``std``, padding). A mapping ``{key: None | dict(mean=..., std=...)}``
            gives a key statistics of its own (one per channel, no channel swap), e.g. for a 1-channel depth map.
            A listed key a batch does not carry is left out (the model says if it needs it); an input key not
            listed is an error.
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
                 aux_image_keys: Union[Sequence[str], Mapping[str, Optional[dict]]] = (),
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
        if not isinstance(aux_image_keys, Mapping):
            aux_image_keys = {key: None for key in aux_image_keys}
        self.aux_image_keys = tuple(aux_image_keys)
        # statistics of their own are buffers, so they follow .to(device) like mean/std
        self._aux_stats = {}
        for i, (key, stats) in enumerate(aux_image_keys.items()):
            if key in ('frames', 'audio'):
                raise ValueError(f'AVSDataPreprocessor: {key!r} cannot be an auxiliary image key')
            if stats is None:
                continue
            if set(stats) != {'mean', 'std'} or len(stats['mean']) != len(stats['std']):
                raise ValueError(f'AVSDataPreprocessor: aux_image_keys[{key!r}] must be None or dict(mean=[...], '
                                 f'std=[...]) with one value per channel, got {stats!r}')
            self.register_buffer(f'aux_mean_{i}', torch.tensor(stats['mean'], dtype=torch.float32).view(-1, 1, 1),
                                 False)
            self.register_buffer(f'aux_std_{i}', torch.tensor(stats['std'], dtype=torch.float32).view(-1, 1, 1),
                                 False)
            self._aux_stats[key] = i

    def _normalise(self, clips: Sequence[torch.Tensor], key: str = 'frames') -> list:
        if key in self._aux_stats:
            i = self._aux_stats[key]
            mean, std, swap = getattr(self, f'aux_mean_{i}'), getattr(self, f'aux_std_{i}'), False
        else:
            mean, std, swap = self.mean, self.std, self.swap_channels
        frames = []
        for clip in clips:
            clip = clip.float()
            if clip.shape[1] != mean.shape[0]:
                raise ValueError(f'AVSDataPreprocessor: inputs[{key!r}] has {clip.shape[1]} channels but '
                                 f'{mean.shape[0]} mean/std values; give the key statistics of its own in '
                                 'aux_image_keys')
            if swap:
                clip = clip[:, [2, 1, 0]]
            frames.extend((clip - mean) / std)
        return frames

    def forward(self, data: Dict[str, Any], training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)
        inputs = data['inputs']
        data_samples = data.get('data_samples')
        unknown = sorted(set(inputs) - {'frames', 'audio', *self.aux_image_keys})
        if unknown:
            raise ValueError(f'AVSDataPreprocessor: inputs {unknown} are not among its aux_image_keys '
                             f'{list(self.aux_image_keys)}; list them in data_preprocessor.aux_image_keys (or '
                             'drop their loader from the pipeline)')
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
        for key in self.aux_image_keys:
            if key not in inputs:
                continue
            for b, (aux, frames_b) in enumerate(zip(inputs[key], inputs['frames'])):
                if aux.shape[0] != frames_b.shape[0] or aux.shape[-2:] != frames_b.shape[-2:]:
                    raise ValueError(f'AVSDataPreprocessor: clip {b} of the batch has inputs[{key!r}] '
                                     f'{tuple(aux.shape)} for frames {tuple(frames_b.shape)}; auxiliary images must '
                                     'match the frames in number and size')
            out[key], _ = stack_batch(self._normalise(inputs[key], key), None, pad_val=self.pad_val, **pad_cfg)
        out['audio'] = torch.cat([a.float() for a in inputs['audio']], dim=0)
        if out['audio'].shape[0] != out['frames'].shape[0]:
            raise ValueError(f'AVSDataPreprocessor: {out["frames"].shape[0]} frames but '
                             f'{out["audio"].shape[0]} audio segments')
        if data_samples is not None:
            batch_input_shape = tuple(out['frames'].shape[-2:])
            for sample in data_samples:
                sample.set_metainfo(dict(batch_input_shape=batch_input_shape))
        return dict(inputs=out, data_samples=data_samples)
