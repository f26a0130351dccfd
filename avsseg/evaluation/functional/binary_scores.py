"""Scores of one binary (sounding object / background) frame, as the official AVSBench code defines them.

The official code (``avs_s4/utils/utility.py``: ``mask_iou``, ``_eval_pr``, ``Eval_Fmeasure``) scores whole test
batches; these kernels compute the per-frame parts, so a metric can group frames into batches itself. Every mask
argument is a bool tensor of one shape (``[H, W]`` or any other); ``valid`` (bool, same shape, default all True)
leaves pixels out of every count (the ``ignore_index`` pixels of a ground truth).
"""
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from .utils import select_valid

# Constants of the official code.
J_EPS = 1e-7               # mask_iou: iou = inter / (union + eps)
F_EPS = 1e-20              # _eval_pr: precision = tp / (#pred + eps), recall = tp / (#gt + eps)
THRESHOLD_TOP = 1 - 1e-10  # thresholds = linspace(0, 1 - 1e-10, 255) in float32 (the top one rounds to 1.0)


def frame_jaccard(pred: Tensor, gt: Tensor, valid: Optional[Tensor] = None) -> float:
    """The official per-frame Jaccard index (M_J averages it).

    ``J = |P & G| / (|P | G| + 1e-7)``; when the ground truth is empty, ``J`` is the fraction of (valid) pixels
    predicted background, ``|~P| / (#valid + 1e-7)`` (an empty prediction then scores almost 1).

    Args:
        pred: bool prediction (the official code binarises ``sigmoid(logit) > 0.5``).
        gt: bool ground truth, same shape.
        valid: bool, same shape: pixels that count (default all).

    Returns:
        J as a Python float.
    """
    pred, gt = select_valid(valid, pred, gt)
    if gt.any():
        inter = (pred & gt).sum().item()
        union = (pred | gt).sum().item()
        return inter / (union + J_EPS)
    return (~pred).sum().item() / (pred.numel() + J_EPS)


def frame_fscore(pred: Tensor, gt: Tensor, valid: Optional[Tensor] = None, beta2: float = 0.3) -> float:
    """F-measure of one binary prediction: ``(1 + beta2) P R / (beta2 P + R)`` with ``P = tp / #pred``,
    ``R = tp / #gt``; 0 when there is no true positive (also when the ground truth is empty, a frame the official
    F skips).

    Args:
        pred: bool prediction.
        gt: bool ground truth, same shape.
        valid: bool, same shape: pixels that count (default all).
        beta2: beta squared (official 0.3).

    Returns:
        F as a Python float.
    """
    pred, gt = select_valid(valid, pred, gt)
    inter = (pred & gt).sum().item()
    if not inter:
        return 0.0
    precision = inter / pred.sum().item()
    recall = inter / gt.sum().item()
    return (1 + beta2) * precision * recall / (beta2 * precision + recall)


def fscore_thresholds(num_thresholds: int = 255) -> Tensor:
    """The official thresholds of the F curve: ``linspace(0, 1 - 1e-10, num_thresholds)`` in float32, ``[K]``."""
    if int(num_thresholds) != num_thresholds or num_thresholds < 2:
        raise ValueError(f'num_thresholds must be an integer >= 2, got {num_thresholds!r}')
    return torch.linspace(0, THRESHOLD_TOP, int(num_thresholds), dtype=torch.float32)


def frame_fscore_curve(prob: Tensor,
                       gt: Tensor,
                       thresholds: Tensor,
                       valid: Optional[Tensor] = None,
                       beta2: float = 0.3) -> Tensor:
    """The official F curve of one frame: F at every threshold of a foreground probability map.

    At threshold ``thr`` the prediction is ``prob >= thr``; ``P = tp / (#pred + 1e-20)``,
    ``R = tp / (#gt + 1e-20)``, ``F = (1 + beta2) P R / (beta2 P + R)``, NaN -> 0 (all in float32, as the
    official per-threshold loop). Computed in closed form: the number of thresholds ``<= p`` tells for how many
    thresholds a pixel is predicted foreground, so the predicted and true positives per threshold are reversed
    cumulative histograms. An empty ground truth gives a curve of zeros (the official F skips such frames).

    Args:
        prob: float foreground probability (float32 compares as the official code does).
        gt: bool ground truth, same shape.
        thresholds: ``[K]`` increasing float32 thresholds (:func:`fscore_thresholds`).
        valid: bool, same shape as ``prob``: pixels that count (default all).
        beta2: beta squared (official 0.3).

    Returns:
        ``[K]`` float32 on ``prob``'s device.
    """
    prob, gt = select_valid(valid, prob, gt)
    thresholds = thresholds.to(prob.device)
    num = thresholds.numel()
    above = torch.searchsorted(thresholds, prob.contiguous(), right=True)  # number of thresholds <= p, 0..K
    hist_pred = torch.bincount(above, minlength=num + 1)
    hist_tp = torch.bincount(above[gt], minlength=num + 1)
    # predicted positives at threshold i: pixels with more than i thresholds below or at p
    pred_pos = hist_pred.flip(0).cumsum(0).flip(0)[1:].float()
    tp = hist_tp.flip(0).cumsum(0).flip(0)[1:].float()
    num_gt = gt.sum().float()
    precision = tp / (pred_pos + F_EPS)
    recall = tp / (num_gt + F_EPS)
    f = (1 + beta2) * precision * recall / (beta2 * precision + recall)
    f[torch.isnan(f)] = 0
    return f


def batch_max_fscore(curves: Union[Tensor, np.ndarray]) -> float:
    """The official M_F of one test batch: the maximum over thresholds of the frames' mean F curve.

    The curves are summed in float32 one frame at a time, in order, as the official loop accumulates them.

    Args:
        curves: ``[M, K]`` F curves (:func:`frame_fscore_curve`) of the batch's frames with a non-empty ground
            truth.

    Returns:
        The score as a Python float; 0.0 when ``M == 0`` (a batch whose ground truths are all empty; the
        official code still counts it in the mean over batches).
    """
    curves = torch.as_tensor(curves, dtype=torch.float32)
    if curves.dim() != 2:
        raise ValueError(f'curves must be [M, K], got {tuple(curves.shape)}')
    if len(curves) == 0:
        return 0.0
    total = torch.zeros(curves.shape[1], dtype=torch.float32, device=curves.device)
    for curve in curves:
        total = total + curve
    return (total / len(curves)).max().item()
