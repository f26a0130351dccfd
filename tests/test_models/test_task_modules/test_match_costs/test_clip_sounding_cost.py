import math

import pytest
import torch
from mmengine.structures import InstanceData

from avsseg.models.task_modules import ClipSoundingCost


def focal_class_cost(logit, alpha=0.25, gamma=2.0):
    p = 1 / (1 + math.exp(-logit))
    return alpha * (1 - p)**gamma * -math.log(p) - (1 - alpha) * p**gamma * -math.log(1 - p)


def test_mean_over_sounding_frames_only():
    scores = torch.tensor([[0.0, 3.0, -1.0], [2.0, -2.0, 0.5]])  # [Q=2, T=3]
    gt = InstanceData(labels=torch.zeros(1, dtype=torch.long),
                      sounding_frames=torch.tensor([[True, False, True]]))
    cost = ClipSoundingCost(weight=2.0)(InstanceData(scores=scores), gt)
    assert cost.shape == (2, 1)
    for q in range(2):
        expected = 2.0 * (focal_class_cost(scores[q, 0].item()) + focal_class_cost(scores[q, 2].item())) / 2
        assert cost[q, 0].item() == pytest.approx(expected, abs=1e-6)


def test_silent_clip_costs_nothing():
    gt = InstanceData(labels=torch.zeros(1, dtype=torch.long), sounding_frames=torch.zeros(1, 2, dtype=torch.bool))
    cost = ClipSoundingCost()(InstanceData(scores=torch.randn(4, 2)), gt)
    assert torch.equal(cost, torch.zeros(4, 1))


def test_shape_mismatch_is_an_error():
    gt = InstanceData(labels=torch.zeros(1, dtype=torch.long), sounding_frames=torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r'\[Q, T\]'):
        ClipSoundingCost()(InstanceData(scores=torch.randn(4, 2)), gt)
