"""Writes the predicted mask of every real test frame as a PNG (``tools/test.py --out``)."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmengine.hooks import Hook
from mmseg.structures import SegDataSample

from avsseg.registry import HOOKS


@HOOKS.register_module()
class AVSPredictionWriterHook(Hook):
    """Saves ``pred_sem_seg`` of each real (not padded) frame as ``{out_dir}/{clip_id}_{frame_idx}.png``.

    The counterpart of mmseg's ``IoUMetric(output_dir=...)`` for clips (the AVS metrics keep no files):
    single-channel uint8 PNGs at the frame's original size. Binary subsets (two classes) are written 0/255 like
    the AVSBench S4/MS3 ground truth; semantic predictions are written as class indices (0..C-1, AVSS
    ``labels_semantic`` style). Every rank writes the clips it predicted. A ``/`` in a clip id makes a
    sub-folder.

    Args:
        out_dir (str): output folder.
        binary_value (int): value written for the object class of a two-class prediction. Defaults to 255.
        on_val (bool): also write during validation. Defaults to False (test only).
    """
    priority = 'LOW'

    def __init__(self, out_dir: str, binary_value: int = 255, on_val: bool = False):
        if not out_dir:
            raise ValueError('AVSPredictionWriterHook: out_dir must be a folder path')
        if not 0 < binary_value <= 255:
            raise ValueError(f'AVSPredictionWriterHook: binary_value must be in 1..255, got {binary_value}')
        self.out_dir = out_dir
        self.binary_value = int(binary_value)
        self.on_val = on_val

    def write(self, sample: SegDataSample, num_classes: Optional[int]) -> Optional[str]:
        """Writes one frame; returns the file path (None for a padded frame, which has no image)."""
        meta = sample.metainfo
        if meta.get('is_padded', False):
            return None
        for key in ('clip_id', 'frame_idx'):
            if key not in meta:
                raise KeyError(f'AVSPredictionWriterHook: data sample metainfo lacks {key!r} (PackAVSInputs '
                               f'sets it)')
        if 'pred_sem_seg' not in sample:
            raise ValueError(f'AVSPredictionWriterHook: the output for clip {meta["clip_id"]} frame '
                             f'{meta["frame_idx"]} has no pred_sem_seg')
        pred = sample.pred_sem_seg.data[0].cpu().numpy()
        if pred.size and (pred.min() < 0 or pred.max() > 255):
            raise ValueError(f'AVSPredictionWriterHook: class indices {pred.min()}..{pred.max()} do not fit a '
                             f'uint8 PNG')
        pred = pred.astype(np.uint8)
        if num_classes == 2:
            pred = pred * np.uint8(self.binary_value)
        path = osp.join(self.out_dir, f'{meta["clip_id"]}_{meta["frame_idx"]}.png')
        mmcv.imwrite(pred, path)
        return path

    def _write_all(self, loop, outputs: Sequence[SegDataSample]) -> None:
        metainfo = getattr(loop.dataloader.dataset, 'metainfo', None) or {}
        classes = metainfo.get('classes')
        num_classes = len(classes) if classes is not None else None
        for sample in outputs:
            self.write(sample, num_classes)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._write_all(runner.test_loop, outputs)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.on_val:
            self._write_all(runner.val_loop, outputs)
