import pytest
import torch

from avsseg.models.losses import SilentObjectAwareLoss
from avsseg.registry import MODELS

BIG = 30.0  # sigmoid(30) = 1 and sigmoid(-30) = 0 to float32 precision


def hand_case():
    """One 4x4 frame: GT foreground = the left half (8 px); three queries.

    q0 covers the GT exactly (IoU 1), q1 covers the top-left quarter (4 px inside the GT, IoU 4/8), q2 covers the
    right half (IoU 0).
    """
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    gt[0, :, :2] = 1
    logits = torch.full((1, 3, 4, 4), -BIG)
    logits[0, 0, :, :2] = BIG
    logits[0, 1, :2, :2] = BIG
    logits[0, 2, :, 2:] = BIG
    return logits, gt


def test_hand_case_value_is_sum_of_soft_iou_over_no_object_queries():
    loss = SilentObjectAwareLoss()
    logits, gt = hand_case()
    torch.testing.assert_close(loss.soft_iou(logits, gt), torch.tensor([[1.0, 0.5, 0.0]]), atol=1e-5, rtol=0)
    # q0 is the matched query: it counts for nothing, whatever it overlaps
    value = loss(logits, gt, torch.tensor([[False, True, True]]))
    torch.testing.assert_close(value, torch.tensor(0.5), atol=1e-5, rtol=0)
    torch.testing.assert_close(loss(logits, gt, torch.tensor([[True, True, True]])), torch.tensor(1.5), atol=1e-5,
                               rtol=0)
    weighted = SilentObjectAwareLoss(loss_weight=2.0)(logits, gt, torch.tensor([[False, True, True]]))
    torch.testing.assert_close(weighted, torch.tensor(1.0), atol=1e-5, rtol=0)


def test_soft_iou_formula_on_soft_probabilities():
    gt = torch.tensor([[[1, 0], [0, 255]]])
    logits = torch.tensor([[[[0.0, 1.0], [-1.0, 50.0]]]])  # the ignored pixel's 50 must not count
    p = torch.sigmoid(torch.tensor([0.0, 1.0, -1.0]))
    g = torch.tensor([1.0, 0.0, 0.0])
    expected = (p * g).sum() / ((p + g - p * g).sum() + 1e-6)
    value = SilentObjectAwareLoss()(logits, gt, torch.tensor([[True]]))
    torch.testing.assert_close(value, expected)


def test_sum_over_queries_mean_over_frames():
    loss = SilentObjectAwareLoss()
    logits, gt = hand_case()
    one = loss(logits[:, 1:2], gt, torch.tensor([[True]]))
    doubled = loss(logits[:, [1, 1]], gt, torch.tensor([[True, True]]))
    torch.testing.assert_close(doubled, 2 * one)  # a sum over queries, not a mean
    # a second frame with empty GT halves the mean over frames
    two_frames = loss(torch.cat([logits[:, 1:2], logits[:, 1:2]]), torch.cat([gt, torch.zeros_like(gt)]),
                      torch.ones(2, 1, dtype=torch.bool))
    torch.testing.assert_close(two_frames, one / 2)


def test_gradient_only_for_no_object_queries():
    logits, gt = hand_case()
    logits = (logits / BIG).requires_grad_()  # soft masks, so the gradient is not saturated
    SilentObjectAwareLoss()(logits, gt, torch.tensor([[False, True, True]])).backward()
    assert logits.grad[0, 0].abs().sum() == 0
    assert logits.grad[0, 1].abs().sum() > 0 and logits.grad[0, 2].abs().sum() > 0


def test_empty_ground_truth_gives_zero_without_nan():
    loss = SilentObjectAwareLoss()
    logits = torch.full((2, 3, 4, 4), -BIG, requires_grad=True)  # both masks empty too
    gt = torch.zeros(2, 4, 4, dtype=torch.long)
    value = loss(logits, gt, torch.ones(2, 3, dtype=torch.bool))
    assert value.item() == 0.0
    value.backward()
    assert torch.isfinite(logits.grad).all()
    # no frame at all: an exact zero still connected to the graph
    empty = torch.zeros(0, 3, 4, 4, requires_grad=True)
    value = loss(empty, torch.zeros(0, 4, 4, dtype=torch.long), torch.zeros(0, 3, dtype=torch.bool))
    assert value.item() == 0.0 and value.requires_grad


def test_ignore_pixels_do_not_count():
    loss = SilentObjectAwareLoss()
    logits, gt = hand_case()
    ignored = gt.clone()
    ignored[0, 2:, :] = 255  # bottom half ignored: q1 (top-left) now covers the whole remaining GT
    torch.testing.assert_close(loss.soft_iou(logits, ignored)[0, 1], torch.tensor(1.0), atol=1e-5, rtol=0)
    # predictions under ignore pixels change nothing
    moved = logits.clone()
    moved[0, 2, 2:, :] = BIG
    torch.testing.assert_close(loss.soft_iou(moved, ignored), loss.soft_iou(logits, ignored))


def test_resolutions_and_errors():
    logits, gt = hand_case()
    big_gt = gt.repeat_interleave(2, 1).repeat_interleave(2, 2)  # 8x8
    by_pred = SilentObjectAwareLoss(resize='pred').soft_iou(logits, big_gt)
    by_gt = SilentObjectAwareLoss(resize='gt').soft_iou(logits, big_gt)
    torch.testing.assert_close(by_gt, torch.tensor([[1.0, 0.5, 0.0]]), atol=1e-5, rtol=0)
    assert by_pred.shape == (1, 3) and by_pred[0, 0] > 0.7 and by_pred[0, 2] < 0.2
    with pytest.raises(ValueError, match='0, 1 or 255'):
        SilentObjectAwareLoss().soft_iou(logits, gt * 2)
    with pytest.raises(ValueError, match='no_object'):
        SilentObjectAwareLoss()(logits, gt, torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match='resize'):
        SilentObjectAwareLoss(resize='nearest')
    assert isinstance(MODELS.build(dict(type='SilentObjectAwareLoss')), SilentObjectAwareLoss)
