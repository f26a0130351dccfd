import math

import pytest
import torch

from avsseg.models.losses import AdaptiveInterFrameLoss
from avsseg.registry import MODELS


def _pair_term(a, b):
    """exp(S - 1) * (1 - S) with S the cosine similarity of the flattened predictions (paper eq. 6-7)."""
    a, b = a.flatten().double(), b.flatten().double()
    s = float(a @ b / (a.norm() * b.norm()))
    return math.exp(s - 1) * (1 - s)


def test_matches_hand_computation():
    torch.manual_seed(0)
    batch, frames = 2, 4
    preds = torch.randn(batch * frames, 3, 5, 5)
    loss_fn = MODELS.build(dict(type='AdaptiveInterFrameLoss', loss_weight=2.5))
    terms = [_pair_term(preds[b * frames + t], preds[b * frames + t + 1]) for b in range(batch) for t in range(3)]
    expected = 2.5 * sum(terms) / (batch * (frames - 1))  # official: sum over pairs / bs / (T - 1)
    assert loss_fn(preds, frames).item() == pytest.approx(expected, rel=1e-5)


def test_identical_frames_give_zero_and_opposite_frames_are_down_weighted():
    loss_fn = AdaptiveInterFrameLoss(loss_weight=1.0)
    x = torch.randn(1, 2, 4, 4)
    assert loss_fn(x.repeat(3, 1, 1, 1), 3).item() == pytest.approx(0.0, abs=1e-6)
    # S = -1: l = 2, weighted 2 * exp(-2) < 1 - S = 2
    assert loss_fn(torch.cat([x, -x]), 2).item() == pytest.approx(2 * math.exp(-2), rel=1e-5)


def test_padded_frames_take_part_in_no_pair():
    torch.manual_seed(1)
    preds = torch.randn(2 * 4, 2, 3, 3)
    valid = torch.tensor([True, True, True, False, True, True, True, True])
    loss_fn = AdaptiveInterFrameLoss(loss_weight=1.0)
    pairs = [(0, 1), (1, 2), (4, 5), (5, 6), (6, 7)]
    expected = sum(_pair_term(preds[i], preds[j]) for i, j in pairs) / len(pairs)
    assert loss_fn(preds, 4, valid).item() == pytest.approx(expected, rel=1e-5)
    changed = preds.clone()
    changed[3] = torch.randn(2, 3, 3)
    assert loss_fn(changed, 4, valid).item() == pytest.approx(expected, rel=1e-5)


def test_adaptive_weight_is_not_detached():
    torch.manual_seed(2)
    preds = torch.randn(2, 6, requires_grad=True)
    AdaptiveInterFrameLoss(loss_weight=1.0)(preds, 2).backward()

    def reference(x, detach):
        s = torch.nn.functional.cosine_similarity(x[0], x[1], dim=0, eps=1e-12)
        dissim = 1 - s
        weight = torch.exp(-dissim)
        return dissim * (weight.detach() if detach else weight)

    grads = {}
    for detach in (False, True):
        x = preds.detach().clone().requires_grad_(True)
        reference(x, detach).backward()
        grads[detach] = x.grad
    torch.testing.assert_close(preds.grad, grads[False], rtol=1e-4, atol=1e-6)
    assert not torch.allclose(preds.grad, grads[True], rtol=1e-3, atol=1e-6)


def test_no_pairs_gives_connected_zero_and_half_inputs_are_promoted():
    loss_fn = AdaptiveInterFrameLoss()
    x = torch.randn(3, 2, 2, requires_grad=True)
    loss = loss_fn(x, 1)
    assert loss.item() == 0.0
    loss.backward()
    assert x.grad is not None and torch.count_nonzero(x.grad) == 0
    assert loss_fn(torch.randn(4, 8).half(), 2).dtype == torch.float32


def test_bad_inputs_raise():
    loss_fn = AdaptiveInterFrameLoss()
    with pytest.raises(ValueError, match='multiple of num_frames'):
        loss_fn(torch.randn(5, 3), 2)
    with pytest.raises(ValueError, match='valid must have shape'):
        loss_fn(torch.randn(4, 3), 2, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match='num_frames must be'):
        loss_fn(torch.randn(4, 3), 0)
