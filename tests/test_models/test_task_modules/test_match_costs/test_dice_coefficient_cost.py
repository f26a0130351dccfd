import pytest
import torch
from mmdet.models.task_modules.assigners import DiceCost
from mmengine.structures import InstanceData

from avsseg.models.task_modules import DiceCoefficientCost


def test_negative_dice_coefficient():
    logits = torch.tensor([[4.0, -4.0, -4.0, -4.0], [0.0, 0.0, 0.0, 0.0]])
    target = torch.tensor([[1, 0, 0, 0]])
    cost = DiceCoefficientCost(weight=1.0)(InstanceData(masks=logits), InstanceData(masks=target))
    p = logits.sigmoid()
    expected = -(2 * (p * target).sum(1) + 1) / (p.sum(1) + target.sum() + 1)
    assert torch.allclose(cost[:, 0], expected, atol=1e-6)
    assert cost[1, 0].item() == pytest.approx(-0.5, abs=1e-6)


def test_mmdet_dice_cost_minus_weight():
    logits, target = torch.randn(3, 10), (torch.rand(2, 10) > 0.5).long()
    pred, gt = InstanceData(masks=logits), InstanceData(masks=target)
    ours = DiceCoefficientCost(weight=3.0)(pred, gt)
    mmdet = DiceCost(weight=3.0, pred_act=True, eps=1.0, naive_dice=True)(pred, gt)
    assert torch.allclose(ours, mmdet - 3.0)
