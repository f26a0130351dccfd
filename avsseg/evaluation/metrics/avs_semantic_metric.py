"""AVSBench-semantic (AVSS) scores: mIoU and F as the official code computes them."""
import math
from collections import OrderedDict
from typing import Any, Dict, List, Optional

import numpy as np
from torch import Tensor

from avsseg.registry import METRICS
from ..functional import average_class_scores, frame_class_scores
from .base_clip_metric import BaseClipMetric


@METRICS.register_module()
class AVSSemanticMetric(BaseClipMetric):
    """Semantic AVS scores (AVSS; ground truth 0..num_classes-1, 0 = background), as ``_batch_miou_fscore`` +
    ``test.py`` of the official code.

    Frames are chosen and grouped by clip as :class:`BaseClipMetric` describes. Per scored frame, the prediction
    is ``pred_sem_seg`` (argmax; ``seg_logits`` argmax when absent), and
    :func:`~avsseg.evaluation.functional.frame_class_scores` gives each class's IoU and F; both are summed over
    frames and each class counts the frames where it was predicted or present.

    - ``mIoU`` / ``F``: mean over all ``num_classes`` classes of ``sum / count``
      (:func:`~avsseg.evaluation.functional.average_class_scores`; a class never predicted nor present scores 0,
      as in the official code). The numbers do not depend on how clips are batched.
    - ``mIoU_present`` / ``F_present``: the same mean over the classes with a non-zero count only.
    - ``empty_frac``: fraction of scored, non-padded frames predicted all background (class 0).
    - ``num_frames_scored``, ``num_classes_present``, ``num_clips``.

    The official AVSBench / AVSegFormer numbers score the zero-padded frames (``score_padded_frames=True``),
    COMBO does not (default). All scores are fractions in [0, 1].

    The class count is the evaluated dataset's (``len(dataset_meta['classes'])``, set by the runner): a dataset of
    9 classes is scored over 9, not over AVSS's 71, which would divide every mean by 71/9. A ``num_classes`` given
    explicitly must agree with the dataset, and a prediction whose ``seg_logits`` has another number of channels
    (a head built for another class count) is an error.

    Args:
        num_classes: number of classes including background 0; None (default) takes the dataset's. Needed
            explicitly only when the metric is used without a runner (no ``dataset_meta``).
        **kwargs: ``beta2``, ``score_padded_frames``, ``ignore_index``, ``collect_device``, ``prefix``,
            ``collect_dir`` of :class:`BaseClipMetric`.
    """

    def __init__(self, num_classes: Optional[int] = None, **kwargs) -> None:
        if num_classes is not None and (int(num_classes) != num_classes or num_classes < 2):
            raise ValueError(f'{type(self).__name__}: num_classes must be an integer >= 2, got {num_classes!r}')
        self._num_classes = None if num_classes is None else int(num_classes)
        super().__init__(**kwargs)

    @property
    def num_classes(self) -> int:
        """The number of classes scored: ``num_classes`` if given, else the dataset's."""
        if self._num_classes is not None:
            return self._num_classes
        if self.dataset_meta is None:
            raise ValueError(f'{self.name} has no class count: pass num_classes or run it with a dataset (the runner '
                             'sets dataset_meta from the dataset\'s metainfo)')
        return len(self.dataset_classes(self.dataset_meta))

    def check_dataset_meta(self, dataset_meta: dict) -> None:
        """An explicit ``num_classes`` must equal the number of the dataset's classes."""
        classes = self.dataset_classes(dataset_meta)
        if self._num_classes is not None and self._num_classes != len(classes):
            raise ValueError(f'{self.name} was given num_classes={self._num_classes} but the dataset has '
                             f'{len(classes)} classes ({", ".join(classes[:5])}{", ..." if len(classes) > 5 else ""}); '
                             'leave num_classes out of the evaluator to take the dataset\'s')

    def prediction(self, sample: dict, where: str) -> Tensor:
        """The frame's predicted class map ``[H, W]`` long, from ``pred_sem_seg`` or the argmax of ``seg_logits``.

        When ``seg_logits`` is there its channels must be :attr:`num_classes`: a head built for another class count
        is an error here rather than a score averaged over the wrong classes."""
        logits = sample['seg_logits']['data'] if 'seg_logits' in sample else None
        # One channel is no class-score map (tools store a hard mask there); it says nothing of the head.
        if logits is not None and logits.dim() == 3 and logits.shape[0] > 1 and logits.shape[0] != self.num_classes:
            expected = (f'the dataset has {self.num_classes}' if self._num_classes is None else
                        f'num_classes={self.num_classes}')
            raise ValueError(f'{self.name}: {where}: the model predicts {logits.shape[0]} classes (seg_logits) but '
                             f'{expected}; the head\'s num_classes must match the dataset\'s classes')
        if 'pred_sem_seg' in sample:
            pred = sample['pred_sem_seg']['data']
            if pred.dim() == 3:
                if pred.shape[0] != 1:
                    raise ValueError(f'{self.name}: {where}: pred_sem_seg must be [1, H, W], '
                                     f'got {tuple(pred.shape)}')
                pred = pred[0]
        elif 'seg_logits' in sample:
            logits = sample['seg_logits']['data']
            if logits.dim() != 3 or logits.shape[0] != self.num_classes:
                raise ValueError(f'{self.name}: {where}: seg_logits must be [{self.num_classes}, H, W], '
                                 f'got {tuple(logits.shape)}')
            pred = logits.argmax(0)
        else:
            raise KeyError(f'{self.name}: {where}: the data sample has neither pred_sem_seg nor seg_logits')
        pred = pred.long()
        if pred.numel() and (pred.min() < 0 or pred.max() >= self.num_classes):
            raise ValueError(f'{self.name}: {where}: predicted classes must lie in [0, {self.num_classes}), '
                             f'found {pred.min().item()}..{pred.max().item()}')
        return pred

    def clip_entry(self, clip: List[dict]) -> dict:
        """Per-class IoU and F sums and counts over the clip's scored frames; scored, real, predicted-empty counts."""
        iou_sum = np.zeros(self.num_classes, dtype=np.float64)
        f_sum = np.zeros(self.num_classes, dtype=np.float64)
        cls_count = np.zeros(self.num_classes, dtype=np.int64)
        num_scored = num_real = num_pred_empty = 0
        for sample in clip:
            where = self.describe_frame(sample)
            pred = self.prediction(sample, where)
            gt = self.ground_truth(sample, tuple(pred.shape), where)
            if gt is None:
                continue
            gt = gt.to(pred.device)
            valid = self.check_classes(gt, self.num_classes, where)
            iou, fscore, counted = frame_class_scores(pred, gt, self.num_classes, valid, self.beta2)
            iou_sum += iou
            f_sum += fscore
            cls_count += counted
            num_scored += 1
            if not bool(self.meta(sample, 'is_padded', where)):
                num_real += 1
                num_pred_empty += int(not bool((pred[valid] != 0).any()))
        return dict(iou_sum=iou_sum, f_sum=f_sum, cls_count=cls_count,
                    num_scored=num_scored, num_real=num_real, num_pred_empty=num_pred_empty)

    def aggregate(self, results: List[dict]) -> Dict[str, Any]:
        """``mIoU`` and ``F`` over all classes and over the present ones, ``empty_frac`` and counts."""
        num_scored = sum(r['num_scored'] for r in results)
        if num_scored == 0:
            raise ValueError(f'{self.name}: no frame to score (no labelled frame with ground truth in the '
                             f'evaluated clips)')
        count = np.sum([r['cls_count'] for r in results], axis=0)
        present = count > 0
        iou_pc = average_class_scores(np.sum([r['iou_sum'] for r in results], axis=0), count)
        f_pc = average_class_scores(np.sum([r['f_sum'] for r in results], axis=0), count)
        num_real = sum(r['num_real'] for r in results)
        metrics: Dict[str, Any] = OrderedDict()
        metrics['mIoU'] = float(iou_pc.mean())
        metrics['F'] = float(f_pc.mean())
        metrics['mIoU_present'] = float(iou_pc[present].mean())
        metrics['F_present'] = float(f_pc[present].mean())
        metrics['empty_frac'] = (sum(r['num_pred_empty'] for r in results) / num_real) if num_real else math.nan
        metrics['num_frames_scored'] = int(num_scored)
        metrics['num_classes_present'] = int(present.sum())
        metrics['num_clips'] = len(results)
        return metrics

    def summary(self) -> str:
        return (f'{self.name} ({self.num_classes} classes): padded frames '
                f'{"scored" if self.score_padded_frames else "not scored"}')
