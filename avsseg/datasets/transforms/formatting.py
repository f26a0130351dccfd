"""Packing a clip into model inputs and per-frame ``SegDataSample``s."""
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from avsseg.registry import FUNCTIONS, TRANSFORMS
from .aux_images import aux_image_keys

# Per-frame metainfo copied into every SegDataSample (when present in results).
DEFAULT_FRAME_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
                           'flip', 'flip_direction', 'reduce_zero_label', 'silent_labels')
# Clip-level metainfo, the same for every frame of the clip.
DEFAULT_CLIP_META_KEYS = ('clip_id', 'num_frames', 'subset', 'category', 'audio_path', 'audio_perturbation')


@TRANSFORMS.register_module()
class PackAVSInputs(BaseTransform):
    """Pack a clip for :class:`AudioVisualSegmentor`.

    Required keys:
        - ``imgs``: list of T ``np.uint8`` arrays ``[H, W, 3]`` (RGB, as loaded; all the same size).
        - ``audio``: ``np.ndarray`` or tensor ``[T, ...]`` (VGGish log-mel: ``[T, 1, 96, 64]``).
        - ``frame_flags``: dict of per-frame boolean lists: ``is_labeled`` (frame carries supervision) and
          ``is_padded`` (frame was added to reach a fixed clip length; no real image).
    Optional keys:
        - ``gt_seg_maps``: list of T ``np.ndarray`` ``[H, W]`` (``ignore_index`` where there is no label;
          frames without any label are all ``ignore_index``).
        - ``aux_image_keys`` and, for each listed key, ``results[key]``: list of T ``[H, W, C]`` auxiliary images
          of the frames' size (COMBO's ``maskige``, ...; see :mod:`avsseg.datasets.transforms.aux_images`).
        - ``img_paths``: list of T paths; per-frame meta ``img_path``.
        - ``instance_sets``: list of T dicts of arrays (``LoadClipInstanceSet``); each becomes the frame's
          ``proposals`` ``InstanceData``.

    Output:
        ``dict(inputs=dict(frames=uint8 Tensor[T, 3, H, W], audio=Tensor[T, ...], **{key: Tensor[T, C, H, W]
        for each auxiliary key} (dtype as loaded)), data_samples=list of T SegDataSample)``. Each sample's
        metainfo holds the frame keys, the clip keys, ``frame_idx``, ``is_labeled`` and ``is_padded``; a frame
        key whose value is a list of T (metadata drawn per frame) gives each frame its entry.
    """

    def __init__(self,
                 frame_meta_keys: Sequence[str] = DEFAULT_FRAME_META_KEYS,
                 clip_meta_keys: Sequence[str] = DEFAULT_CLIP_META_KEYS):
        self.frame_meta_keys = tuple(frame_meta_keys)
        self.clip_meta_keys = tuple(clip_meta_keys)

    @staticmethod
    def _stack_images(images: List[np.ndarray], name: str, clip_id) -> torch.Tensor:
        shapes = {img.shape for img in images}
        if len(shapes) != 1:
            raise ValueError(f'PackAVSInputs: all {name} of clip {clip_id} must have one shape, got {sorted(shapes)}')
        if len(next(iter(shapes))) != 3:
            raise ValueError(f'PackAVSInputs: {name} of clip {clip_id} must be [H, W, C] arrays, got shape '
                             f'{shapes.pop()}')
        arr = np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))
        return torch.from_numpy(arr)

    def transform(self, results: Dict) -> Dict:
        imgs = results['imgs']
        num_frames = len(imgs)
        clip_id = results.get('clip_id')
        inputs = dict(frames=self._stack_images(imgs, 'frames', clip_id))
        audio = results['audio']
        audio = audio if isinstance(audio, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(audio))
        if audio.shape[0] != num_frames:
            raise ValueError(f'PackAVSInputs: clip {results.get("clip_id")} has {num_frames} frames but '
                             f'{audio.shape[0]} audio segments')
        inputs['audio'] = audio.float()
        for key in aux_image_keys(results, 'PackAVSInputs'):
            inputs[key] = self._stack_images(results[key], f'auxiliary images {key!r}', clip_id)
            if inputs[key].shape[-2:] != inputs['frames'].shape[-2:]:
                raise ValueError(f'PackAVSInputs: auxiliary images {key!r} of clip {clip_id} are '
                                 f'{tuple(inputs[key].shape[-2:])} but its frames {tuple(inputs["frames"].shape[-2:])}'
                                 ' (HxW); every clip transform must move them with the frames')

        flags = results['frame_flags']
        gt_maps = results.get('gt_seg_maps')
        clip_meta = {k: results[k] for k in self.clip_meta_keys if k in results}
        clip_meta['num_frames'] = num_frames
        samples = []
        for t in range(num_frames):
            sample = SegDataSample()
            if gt_maps is not None:
                gt = torch.from_numpy(np.ascontiguousarray(gt_maps[t]).astype(np.int64))[None]
                sample.gt_sem_seg = PixelData(data=gt)
            if results.get('instance_sets') is not None:  # LoadClipInstanceSet (cached stage-1 instance sets)
                sample.proposals = InstanceData(**{k: torch.from_numpy(np.asarray(v))
                                                   for k, v in results['instance_sets'][t].items()})
            meta = dict(clip_meta)
            for key in self.frame_meta_keys:
                if key in results:
                    value = results[key]
                    meta[key] = value[t] if isinstance(value, list) and len(value) == num_frames else value
            if 'img_paths' in results:
                meta['img_path'] = results['img_paths'][t]
            if 'img_shape' not in meta:
                meta['img_shape'] = tuple(imgs[t].shape[:2])
            meta.setdefault('ori_shape', meta['img_shape'])
            meta.setdefault('pad_shape', meta['img_shape'])
            meta['frame_idx'] = t
            meta['is_labeled'] = bool(flags['is_labeled'][t])
            meta['is_padded'] = bool(flags['is_padded'][t])
            sample.set_metainfo(meta)
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(frame_meta_keys={self.frame_meta_keys})'


@FUNCTIONS.register_module()
def avs_collate(data_batch: Sequence[Dict]) -> Dict:
    """Collate packed clips without stacking.

    Returns ``dict(inputs=dict(key=list of B tensors [T, ...]), data_samples=flat list of B*T SegDataSample)``
    in clip-major order; :class:`AVSDataPreprocessor` stacks and normalises. (mmengine's ``pseudo_collate``
    would transpose the per-clip sample lists into per-frame lists.)
    """
    inputs = {}
    data_samples = []
    for item in data_batch:
        for key, value in item['inputs'].items():
            inputs.setdefault(key, []).append(value)
        data_samples.extend(item['data_samples'])
    keys = [set(item['inputs']) for item in data_batch]
    if any(k != keys[0] for k in keys):
        raise ValueError(f'avs_collate: clips in one batch carry different inputs: {keys}')
    return dict(inputs=inputs, data_samples=data_samples)
