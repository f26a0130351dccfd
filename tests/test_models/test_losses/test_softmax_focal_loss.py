import math

import pytest
import torch

from avsseg.models.losses import SoftmaxFocalLoss
from avsseg.registry import MODELS


def test_hand_value():
    # spec sheet test 9: logits [2, 0], target class 0, gamma 2 -> (1 - p)^2 * -log p with p = sigmoid(2)
    loss_fn = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0))
    p = 1 / (1 + math.exp(-2))
    expected = (1 - p)**2 * -math.log(p)
    assert loss_fn(torch.tensor([[2.0, 0.0]]), torch.tensor([0])).item() == pytest.approx(expected, rel=1e-5)
    assert loss_fn(torch.tensor([[2.0, 0.0]]), torch.tensor([0])).item() == pytest.approx(0.0018036, rel=1e-4)


def test_gamma_zero_is_cross_entropy_and_weights_avg_factor():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 1])
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction='none')
    weight = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.5, 1.0])
    loss = SoftmaxFocalLoss(gamma=0.0, class_weight=[1.0, 0.1], loss_weight=5.0)(logits, labels, weight, avg_factor=3.0)
    expected = 5.0 * (ce * torch.tensor([1.0, 0.1])[labels] * weight).sum() / 3.0
    torch.testing.assert_close(loss, expected)


def test_gradient_flows_and_bad_labels():
    logits = torch.tensor([[0.3, -0.2]], requires_grad=True)
    SoftmaxFocalLoss()(logits, torch.tensor([1])).backward()
    assert logits.grad[0, 1] < 0 < logits.grad[0, 0]
    with pytest.raises(ValueError, match='labels must lie in'):
        SoftmaxFocalLoss()(torch.zeros(2, 2), torch.tensor([0, 2]))
