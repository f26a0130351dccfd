"""Per-class scores of semantic (AVSS) frames, as the official AVSBench-semantic code defines them.

The official code (``avss/utils/compute_color_metrics.py``: ``_batch_miou_fscore``, and ``avss/test.py``) scores
each frame per class, sums the scores over frames, counts for each class the frames where it was predicted or
present, and divides. :func:`frame_class_scores` is the per-frame part, :func:`average_class_scores` the division.
"""
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .utils import select_valid

IOU_EPS = 2.220446049250313e-16  # _batch_miou_fscore: iou = inter / (eps + union)


def frame_class_scores(pred: Tensor,
                       gt: Tensor,
                       num_classes: int,
                       valid: Optional[Tensor] = None,
                       beta2: float = 0.3) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU and F of every class in one frame.

    From the areas of intersection, prediction and label of class ``c``: ``IoU_c = inter / (2.22e-16 + union)``
    and ``F_c = (1 + beta2) P R / (beta2 P + R)`` with ``P = inter / pred``, ``R = inter / label``, NaN -> 0. A
    class neither predicted nor present has IoU 0 and F 0, and is not ``counted``.

    Args:
        pred: int class map (argmax of the logits), values in ``[0, num_classes)``.
        gt: int ground truth, same shape, values in ``[0, num_classes)`` where ``valid``.
        num_classes: number of classes ``C``, background included.
        valid: bool, same shape: pixels that count (default all).
        beta2: beta squared (official 0.3).

    Returns:
        ``(iou, fscore, counted)``: ``[C]`` float64, ``[C]`` float64 and ``[C]`` bool (union > 0).
    """
    pred, gt = select_valid(valid, pred, gt)
    areas = []
    for values in (pred[pred == gt], pred, gt):
        area = torch.bincount(values.long(), minlength=num_classes)
        if area.numel() != num_classes:
            raise ValueError(f'class {area.numel() - 1} found with num_classes={num_classes}')
        areas.append(area.double().cpu().numpy())
    area_inter, area_pred, area_label = areas
    area_union = area_pred + area_label - area_inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = area_inter / (IOU_EPS + area_union)
        precision = area_inter / area_pred
        recall = area_inter / area_label
        fscore = (1 + beta2) * precision * recall / (beta2 * precision + recall)
    fscore[np.isnan(fscore)] = 0.0
    return iou, fscore, area_union > 0


def average_class_scores(score_sum: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per-class mean over the frames that count for the class: ``score_sum / count``, 0 where ``count == 0``.

    The official mIoU (or F) is the mean of the result over all ``C`` classes.

    Args:
        score_sum: ``[C]`` per-class scores (:func:`frame_class_scores`) summed over frames.
        count: ``[C]`` per-class number of frames where the class was counted.

    Returns:
        ``[C]`` float64.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.nan_to_num(np.asarray(score_sum, dtype=np.float64) / count, nan=0.0)
