"""Kernels of the binary AVS scores, on hand-computed frames and against the official per-threshold loop."""
import numpy as np
import pytest
import torch

from avsseg.evaluation.functional import (batch_max_fscore, frame_fscore, frame_fscore_curve, frame_jaccard,
                                          fscore_thresholds)


def frame_a():
    """4x4 frame: 4 ground-truth pixels, 6 predicted, 3 of them right (J = 3/7, P = 3/6, R = 3/4)."""
    gt = torch.zeros(4, 4, dtype=torch.bool)
    gt[:2, :2] = True
    pred = gt.clone()
    pred[1, 1] = False
    pred[3, :3] = True
    return pred, gt


def test_frame_jaccard_hand_computed():
    pred, gt = frame_a()
    assert frame_jaccard(pred, gt) == 3 / (7 + 1e-7)
    # empty ground truth: the fraction of pixels predicted background (4 of 16 predicted)
    empty = torch.zeros(4, 4, dtype=torch.bool)
    last_row = empty.clone()
    last_row[3] = True
    assert frame_jaccard(last_row, empty) == 12 / (16 + 1e-7)
    assert frame_jaccard(empty, empty) == 16 / (16 + 1e-7)
    # two of the false positives left out: J = 3 / 5; with an empty ground truth, 12 of 14 valid pixels free
    valid = torch.ones(4, 4, dtype=torch.bool)
    valid[3, :2] = False
    assert frame_jaccard(pred, gt, valid) == 3 / (5 + 1e-7)
    assert frame_jaccard(last_row, empty, valid) == 12 / (14 + 1e-7)
    with pytest.raises(ValueError, match='one shape'):
        frame_jaccard(pred, gt[:3])


def test_frame_fscore_hand_computed():
    pred, gt = frame_a()
    precision, recall = 3 / 6, 3 / 4
    assert frame_fscore(pred, gt) == pytest.approx(1.3 * precision * recall / (0.3 * precision + recall), abs=1e-12)
    assert frame_fscore(pred, gt, beta2=1.0) == pytest.approx(2 * precision * recall / (precision + recall))
    assert frame_fscore(~pred & ~gt, gt) == 0.0                           # no true positive
    assert frame_fscore(pred, torch.zeros_like(gt)) == 0.0               # empty ground truth
    valid = torch.ones(4, 4, dtype=torch.bool)
    valid[3] = False                                                     # the 3 false positives left out
    assert frame_fscore(pred, gt, valid) == pytest.approx(1.3 * 0.75 / (0.3 + 0.75), abs=1e-12)


def test_fscore_thresholds_are_the_official_float32_linspace():
    thr = fscore_thresholds()
    assert thr.dtype == torch.float32 and thr.shape == (255, )
    assert thr[0] == 0 and thr[-1] == 1.0                                 # 1 - 1e-10 rounds to 1 in float32
    assert torch.equal(fscore_thresholds(5), torch.tensor([0, 0.25, 0.5, 0.75, 1.0]))
    with pytest.raises(ValueError, match='num_thresholds'):
        fscore_thresholds(1)


def test_frame_fscore_curve_hand_computed():
    prob = torch.tensor([0.1, 0.3, 0.6, 0.9])
    gt = torch.tensor([False, True, True, False])
    curve = frame_fscore_curve(prob, gt, fscore_thresholds(5))
    # thr 0: 4 predicted, 2 right (P 1/2, R 1); 0.25: 3 predicted (P 2/3, R 1); 0.5: P = R = 1/2; 0.75: no true
    # positive; 1.0: nothing predicted (0/0 -> 0)
    expected = [1.3 * 0.5 / (0.15 + 1), 1.3 * (2 / 3) / (0.2 + 1), 0.5, 0.0, 0.0]
    assert curve.dtype == torch.float32
    assert curve.tolist() == pytest.approx(expected, abs=1e-6)
    # the same frame as 2x2, with a fifth pixel left out by the valid mask
    prob5 = torch.tensor([[0.1, 0.3, 0.95], [0.6, 0.9, 0.95]])
    gt5 = torch.tensor([[False, True, True], [True, False, True]])
    valid5 = torch.tensor([[True, True, False], [True, True, False]])
    assert torch.equal(frame_fscore_curve(prob5, gt5, fscore_thresholds(5), valid5), curve)
    assert frame_fscore_curve(prob, torch.zeros_like(gt), fscore_thresholds(5)).tolist() == [0.0] * 5
    with pytest.raises(ValueError, match='one shape'):
        frame_fscore_curve(prob, gt[:3], fscore_thresholds(5))


def official_curve(prob, gt, num=255, beta2=0.3):
    """AVSBench _eval_pr: one threshold at a time, in float32."""
    gt = gt.float()
    thresholds = torch.linspace(0, 1 - 1e-10, num)
    prec, rec = torch.zeros(num), torch.zeros(num)
    for k in range(num):
        binar = (prob >= thresholds[k]).float()
        tp = (binar * gt).sum()
        prec[k] = tp / (binar.sum() + 1e-20)
        rec[k] = tp / (gt.sum() + 1e-20)
    f = (1 + beta2) * prec * rec / (beta2 * prec + rec)
    f[f != f] = 0
    return f


def test_frame_fscore_curve_equals_the_official_loop():
    gen = torch.Generator().manual_seed(0)
    gt = torch.rand(8, 8, generator=gen) < 0.4
    prob = torch.sigmoid(torch.randn(8, 8, generator=gen) * 3 + 2 * (gt.float() * 2 - 1))
    prob[0, :4] = torch.tensor([0.0, 1.0, 0.5, 0.25])                    # values on thresholds
    assert torch.equal(frame_fscore_curve(prob, gt, fscore_thresholds()), official_curve(prob, gt))


def test_batch_max_fscore_hand_computed():
    curves = np.array([[0.2, 0.6, 0.1], [0.4, 0.2, 0.3]], dtype=np.float32)   # mean [0.3, 0.4, 0.2]
    assert batch_max_fscore(curves) == pytest.approx(0.4, abs=1e-7)
    assert batch_max_fscore(torch.from_numpy(curves[:1])) == pytest.approx(0.6, abs=1e-7)
    # float32 sum in frame order, then the division, as the official loop
    expected = ((torch.tensor(curves[0]) + torch.tensor(curves[1])) / 2).max().item()
    assert batch_max_fscore(curves) == expected
    assert batch_max_fscore(np.zeros((0, 3), np.float32)) == 0.0        # all ground truths empty
    with pytest.raises(ValueError, match=r'\[M, K\]'):
        batch_max_fscore(curves[0])
