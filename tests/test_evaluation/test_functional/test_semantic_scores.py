"""Kernels of the semantic (AVSS) scores, on a hand-computed frame."""
import numpy as np
import pytest
import torch

from avsseg.evaluation.functional import average_class_scores, frame_class_scores


def hand_frame():
    """4x4, 4 classes: ground truth left half class 1, right half class 0; one error in each half."""
    gt = torch.zeros(4, 4, dtype=torch.long)
    gt[:, :2] = 1
    pred = gt.clone()
    pred[0, 0] = 2          # a class-1 pixel predicted as class 2
    pred[0, 3] = 1          # a background pixel predicted as class 1
    return pred, gt


def test_frame_class_scores_hand_computed():
    pred, gt = hand_frame()
    iou, fscore, counted = frame_class_scores(pred, gt, 4)
    # class 0: inter 7, pred 7, label 8; class 1: inter 7, pred 8, label 8 (union 9); class 2: predicted once,
    # never present (IoU 0, F 0, counted); class 3: absent (not counted)
    assert iou == pytest.approx([7 / 8, 7 / 9, 0, 0], abs=1e-12)
    assert fscore == pytest.approx([1.3 * 7 / 8 / (0.3 + 7 / 8), 7 / 8, 0, 0], abs=1e-12)
    assert counted.tolist() == [True, True, True, False]
    assert iou.dtype == fscore.dtype == np.float64
    # beta2 = 1 is the harmonic mean
    assert frame_class_scores(pred, gt, 4, beta2=1.0)[1][0] == pytest.approx(2 * 7 / 8 / (1 + 7 / 8))


def test_frame_class_scores_valid_mask_and_errors():
    pred, gt = hand_frame()
    valid = torch.ones(4, 4, dtype=torch.bool)
    valid[0, 0] = False                                  # the class-2 error left out
    iou, _, counted = frame_class_scores(pred, gt, 4, valid)
    assert iou == pytest.approx([7 / 8, 7 / 8, 0, 0], abs=1e-12)
    assert counted.tolist() == [True, True, False, False]
    with pytest.raises(ValueError, match='num_classes=2'):
        frame_class_scores(pred, gt, 2)
    with pytest.raises(ValueError, match='one shape'):
        frame_class_scores(pred, gt[:2], 4)


def test_average_class_scores():
    means = average_class_scores(np.array([1.5, 0.7, 0.0]), np.array([2, 1, 0]))
    assert means.tolist() == [0.75, 0.7, 0.0]            # a class never counted scores 0, not NaN
