import pytest
import torch

from avsseg.models.losses import AudioQueryMaskLoss
from avsseg.registry import MODELS

# spec sheet test 5
M1 = [[0.9, 0.8], [0.2, 0.1]]
M2 = [[0.6, 0.3], [0.7, 0.4]]


def _inputs():
    return torch.tensor([[M1, M2]], requires_grad=True), torch.tensor([[0.9, 0.8]])


def test_hand_value():
    m, p = _inputs()
    loss_fn = MODELS.build(dict(type='AudioQueryMaskLoss'))
    # I = (0.9 + 1.1) / 8 = 0.25; L = 2 / (2 * 3) * 0.25
    assert loss_fn(m, p, 0.65).item() == pytest.approx(1 / 12, rel=1e-6)


def test_hand_gradient_binarised_factor_is_detached():
    m, p = _inputs()
    AudioQueryMaskLoss()(m, p, 0.65).backward()
    torch.testing.assert_close(m.grad[0, 0], torch.tensor([[1 / 24, 0.0], [1 / 24, 0.0]]))  # Bin(m2) / 24
    torch.testing.assert_close(m.grad[0, 1], torch.tensor([[1 / 24, 1 / 24], [0.0, 0.0]]))  # Bin(m1) / 24


def test_non_confident_queries_take_no_part():
    m, _ = _inputs()
    loss = AudioQueryMaskLoss(loss_weight=2.0)(m, torch.tensor([[0.9, 0.6]]), 0.65)
    assert loss.item() == 0.0
    loss.backward()
    assert m.grad.abs().sum() == 0
    m2, p = _inputs()
    assert AudioQueryMaskLoss(loss_weight=2.0)(m2, p, 0.65).item() == pytest.approx(2 / 12, rel=1e-6)


def test_valid_frames_and_pair_mean():
    m, p = _inputs()
    m2 = torch.cat([m, m]).detach()
    p2 = torch.cat([p, p])
    assert AudioQueryMaskLoss()(m2, p2, 0.65, torch.tensor([True, False])).item() == pytest.approx(1 / 12)
    assert AudioQueryMaskLoss(pair_mean=True)(m2, p2, 0.65).item() == pytest.approx(0.25)


def test_bad_shapes():
    with pytest.raises(ValueError, match='mask_prob must be'):
        AudioQueryMaskLoss()(torch.zeros(2, 2, 2), torch.zeros(2, 2), 0.5)
