"""Segmentor of the potential-sounding-object stage: the top-1 prediction plus each frame's potential instances."""
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from avsseg.registry import MODELS
from .audio_visual_segmentor import AudioVisualSegmentor


@MODELS.register_module()
class PSOSSegmentor(AudioVisualSegmentor):
    """:class:`AudioVisualSegmentor` whose ``decode_head`` is a ``PSOSHead``; predictions carry ``pred_instances``.

    Training and the ``seg_logits`` / ``pred_sem_seg`` of :meth:`predict` are the base class's (the head's top-1
    prediction). :meth:`predict` also puts the frame's potential instance set, from the same forward pass
    (``PSOSHead.keep_outputs`` + ``instances_by_feat``), into each data sample as ``pred_instances``
    (``InstanceData``: ``labels`` ``[N_p]`` in ``0..K-1``, ``scores`` ``[N_p]``, ``cls_probs`` ``[N_p, K + 1]``,
    ``masks`` bool ``[N_p, H, W]`` at ``ori_shape``), which ``PotentialInstanceMetric`` counts (the papers' "I").
    The masks are brought to ``ori_shape`` as mmseg's ``postprocess_result`` brings the logits (padding cropped,
    flip undone, bilinear resize of the mask logits, then ``> 0``), so they line up with the top-1 map. Padded
    frames get an empty set.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ('keep_outputs', 'instances_by_feat'):
            if not hasattr(self.decode_head, name):
                raise TypeError(f'PSOSSegmentor: the decode head {type(self.decode_head).__name__} has no {name}(); '
                                'use PSOSHead (or a subclass)')

    def predict(self, inputs: Dict[str, Tensor], data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('predict needs data samples (clip length, shapes)')
        metas = [s.metainfo for s in data_samples]
        with self.decode_head.keep_outputs() as kept:
            results = super().predict(inputs, data_samples)
        instances = self.decode_head.instances_by_feat([kept['cls']], [kept['masks']], metas)
        for sample, meta, inst in zip(results, metas, instances):
            sample.pred_instances = self.instances_at_ori_shape(inst, meta)
        return results

    def instances_at_ori_shape(self, instances: InstanceData, meta: dict) -> InstanceData:
        """One frame's instances with masks at ``ori_shape`` (from ``mask_logits`` at the padded input size)."""
        h, w = meta['ori_shape'][:2]
        keep = torch.zeros(len(instances), dtype=torch.bool)
        if not meta.get('is_padded', False):
            keep[:] = True
        logits: Tensor = instances.mask_logits[keep]
        if logits.shape[0]:
            logits = self._undo_padding_and_flip(logits[None], meta)
            logits = F.interpolate(logits, size=(h, w), mode='bilinear', align_corners=self.align_corners)[0]
        else:
            logits = logits.new_zeros((0, h, w))
        return InstanceData(labels=instances.labels[keep], scores=instances.scores[keep],
                            cls_probs=instances.cls_probs[keep], masks=logits > 0)

    @staticmethod
    def _undo_padding_and_flip(x: Tensor, meta: dict) -> Tensor:
        """mmseg's ``postprocess_result`` steps before the resize, on ``[1, C, H_pad, W_pad]``."""
        padding: List[int] = meta.get('img_padding_size', meta.get('padding_size', [0] * 4))
        left, right, top, bottom = padding
        height, width = x.shape[-2:]
        x = x[:, :, top:height - bottom, left:width - right]
        if meta.get('flip', None):
            direction = meta.get('flip_direction', None)
            if direction not in ('horizontal', 'vertical'):
                raise ValueError(f'PSOSSegmentor: flip_direction {direction!r} of {meta.get("img_path")}')
            x = x.flip(dims=(3, ) if direction == 'horizontal' else (2, ))
        return x
