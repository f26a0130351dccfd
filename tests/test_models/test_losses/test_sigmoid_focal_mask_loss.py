import math

import pytest
import torch
import torch.nn.functional as F

from avsseg.models.losses import SigmoidFocalMaskLoss
from avsseg.registry import MODELS


def _referformer(inputs, targets, num_boxes, alpha=0.25, gamma=2.0):
    # ReferFormer's sigmoid_focal_loss (models/segmentation.py), written out independently of mmdet
    prob = inputs.sigmoid()
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_t)**gamma * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss.mean(1).sum() / num_boxes


def test_hand_case():
    # one clip of two pixels: logits [2, 0], target [1, 0]; alpha 0.25, gamma 2
    loss_fn = MODELS.build(dict(type='SigmoidFocalMaskLoss'))
    p = 1 / (1 + math.exp(-2))
    pos = 0.25 * (1 - p)**2 * -math.log(p)  # 0.000450732
    neg = 0.75 * 0.5**2 * math.log(2)  # 0.129965
    loss = loss_fn(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx((pos + neg) / 2, rel=1e-6)
    assert loss.item() == pytest.approx(0.0652079, rel=1e-5)
    # a second clip (all pixels at logit 0, all background) with num_boxes = 3 labelled frames: rows summed / 3
    two = loss_fn(torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 0.0]]), avg_factor=3)
    assert two.item() == pytest.approx(((pos + neg) / 2 + neg) / 3, rel=1e-6)


def test_equals_referformer_and_weights_a_clip_not_its_pixels():
    torch.manual_seed(0)
    logits = torch.randn(3, 2, 5, 6)  # 3 clips x 2 labelled frames x 5 x 6
    target = (torch.rand(3, 2, 5, 6) > 0.7).float()
    loss = SigmoidFocalMaskLoss(loss_weight=2.0)(logits, target, avg_factor=6)
    torch.testing.assert_close(loss, 2.0 * _referformer(logits.flatten(1), target.flatten(1), 6))
    rows = SigmoidFocalMaskLoss(reduction='none')(logits, target)
    assert rows.shape == (3, )
    # mmdet's FocalLoss averages every element: different from the per-clip mean when rows differ in size
    valid = torch.ones_like(target, dtype=torch.bool)
    valid[0, 1] = False  # the first clip has one labelled frame only
    masked = SigmoidFocalMaskLoss(reduction='none')(logits, target, valid=valid)
    torch.testing.assert_close(masked[0], _referformer(logits[0, :1].reshape(1, -1), target[0, :1].reshape(1, -1), 1))
    torch.testing.assert_close(masked[1:], rows[1:])


def test_gradient_and_errors():
    logits = torch.tensor([[1.0, -1.0]], requires_grad=True)
    SigmoidFocalMaskLoss()(logits, torch.tensor([[0.0, 1.0]])).backward()
    assert logits.grad[0, 0] > 0 > logits.grad[0, 1]
    with pytest.raises(ValueError, match='targets must be 0 or 1'):
        SigmoidFocalMaskLoss()(torch.zeros(1, 2), torch.tensor([[0.0, 255.0]]))
    with pytest.raises(ValueError, match='target of its shape'):
        SigmoidFocalMaskLoss()(torch.zeros(1, 2), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="reduction must be"):
        SigmoidFocalMaskLoss(reduction='avg')
