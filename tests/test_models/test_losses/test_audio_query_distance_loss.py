import pytest
import torch

from avsseg.models.losses import AudioQueryDistanceLoss
from avsseg.registry import MODELS

# spec sheet test 4: four 2-d queries, d0 = 1
QUERIES = [[0.0, 0.0], [0.5, 0.0], [0.0, 2.0], [0.1, 0.1]]
SOUND = [0.9, 0.7, 0.6, 0.2]


def _inputs():
    return torch.tensor([QUERIES], requires_grad=True), torch.tensor([SOUND])


def test_hand_values_at_both_deltas():
    loss_fn = MODELS.build(dict(type='AudioQueryDistanceLoss', d0=1.0))
    a, p = _inputs()
    # delta 0.65: S1 = {1, 2}, one pair at squared distance 0.25 -> 2/(2*3) * 4
    assert loss_fn(a, p, 0.65).item() == pytest.approx(4 / 3, rel=1e-6)
    # delta 0.55: S1 = {1, 2, 3}; squared distances 0.25, 4, 4.25 -> only the first is below d0
    assert loss_fn(a, p, 0.55).item() == pytest.approx(2 / 12 * 4, rel=1e-6)


def test_hand_gradient():
    a, p = _inputs()
    AudioQueryDistanceLoss(d0=1.0)(a, p, 0.65).backward()
    expected = torch.tensor([[[16 / 3, 0.0], [-16 / 3, 0.0], [0.0, 0.0], [0.0, 0.0]]])
    torch.testing.assert_close(a.grad, expected, rtol=1e-5, atol=1e-5)


def test_threshold_is_strict_and_uses_the_sound_probability():
    a, _ = _inputs()
    # p exactly delta does not count: only query 1 is confident -> n1 = 1 -> exactly 0
    p = torch.tensor([[0.9, 0.65, 0.6, 0.2]])
    loss = AudioQueryDistanceLoss(d0=1.0)(a, p, 0.65)
    assert loss.item() == 0.0
    loss.backward()  # still connected to the graph
    assert a.grad.abs().sum() == 0


def test_pairs_at_or_beyond_d0_give_zero_and_loss_weight_scales():
    a, p = _inputs()
    assert AudioQueryDistanceLoss(d0=0.25)(a, p, 0.65).item() == 0.0  # 0.25 is not < 0.25
    assert AudioQueryDistanceLoss(d0=1.0, loss_weight=2.0)(a, p, 0.65).item() == pytest.approx(8 / 3, rel=1e-6)


def test_pair_mean_normalises_by_the_pair_count():
    a, p = _inputs()
    assert AudioQueryDistanceLoss(d0=1.0, pair_mean=True)(a, p, 0.55).item() == pytest.approx(4 / 3, rel=1e-6)


def test_mean_over_valid_frames_only():
    a, p = _inputs()
    a3 = torch.cat([a, a, a + 5]).detach()
    p3 = torch.cat([p, torch.zeros_like(p), p])  # frame 2: nothing confident -> 0
    loss_fn = AudioQueryDistanceLoss(d0=1.0)
    assert loss_fn(a3, p3, 0.65).item() == pytest.approx((4 / 3 + 0 + 4 / 3) / 3, rel=1e-6)
    valid = torch.tensor([True, False, True])
    assert loss_fn(a3, p3, 0.65, valid).item() == pytest.approx(4 / 3, rel=1e-6)
    # a padded frame's queries do not count even when confident
    assert loss_fn(a3, p3, 0.65, torch.tensor([True, False, False])).item() == pytest.approx(4 / 3, rel=1e-6)


def test_bad_shapes_and_arguments():
    with pytest.raises(ValueError, match='queries must be'):
        AudioQueryDistanceLoss()(torch.zeros(4, 2), torch.zeros(4), 0.5)
    with pytest.raises(ValueError, match='d0'):
        AudioQueryDistanceLoss(d0=0)
