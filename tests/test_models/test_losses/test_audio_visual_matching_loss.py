import math

import pytest
import torch

from avsseg.models.losses import AudioVisualMatchingLoss


def _softmax(values):
    exps = [math.exp(v) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def _kl(p_target, p_input):
    return sum(t * (math.log(t) - math.log(i)) for t, i in zip(p_target, p_input))


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_binary_value_by_hand():
    # one stage, 2 frames, C=2 channels on a 1x2 map; logits 2x4 pooled to 1x2 by 2x2 averages
    logits = torch.tensor([[[[0., 2., -1., -1.], [2., 0., -1., -3.]]],
                           [[[1., 1., 1., 1.], [1., 1., 1., 1.]]]])
    v_map = torch.tensor([[[[1., 2.]], [[3., -1.]]],
                          [[[0.5, 0.5]], [[-2., 4.]]]])
    audio = torch.tensor([[0.3, -0.2], [1.0, 2.0]])
    loss = AudioVisualMatchingLoss(stages=(0, ), loss_weight=1.0, frame_reduction='sum')
    value = loss(logits, [v_map], [audio])

    expected = 0.0
    pooled = [[_sigmoid(1.0), _sigmoid(-1.5)], [_sigmoid(1.0), _sigmoid(1.0)]]
    v = v_map.tolist()
    for n in range(2):
        masked = [(v[n][c][0][0] * pooled[n][0] + v[n][c][0][1] * pooled[n][1]) / 2 for c in range(2)]
        expected += _kl(_softmax(audio[n].tolist()), _softmax(masked))
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_weight_stage_average_mean_reduction_and_frame_weight():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 8)
    v = [torch.randn(3, 4, 4, 4), torch.randn(3, 4, 2, 2)]
    a = [torch.randn(3, 4), torch.randn(3, 4)]
    single = [AudioVisualMatchingLoss(stages=(s, ), loss_weight=1.0)(logits, v, a) for s in (0, 1)]
    both = AudioVisualMatchingLoss(stages=(0, 1), loss_weight=0.5)(logits, v, a)
    torch.testing.assert_close(both, 0.5 * (single[0] + single[1]) / 2)

    weight = torch.tensor([1., 0., 1.])
    summed = AudioVisualMatchingLoss(stages=(0, ), loss_weight=1.0)(logits, v, a, weight)
    per_frame = [AudioVisualMatchingLoss(stages=(0, ), loss_weight=1.0)(logits[i:i + 1], [v[0][i:i + 1]],
                                                                        [a[0][i:i + 1]]) for i in range(3)]
    torch.testing.assert_close(summed, per_frame[0] + per_frame[2])
    mean = AudioVisualMatchingLoss(stages=(0, ), loss_weight=1.0, frame_reduction='mean')(logits, v, a, weight)
    torch.testing.assert_close(mean, (per_frame[0] + per_frame[2]) / 2)


def test_multiclass_binarises_argmax_against_background():
    # 3 classes, background 0; frame: left half predicts class 2, right half background
    logits = torch.zeros(1, 3, 2, 4)
    logits[0, 2, :, :2] = 5.0
    logits[0, 0, :, 2:] = 5.0
    v_map = torch.tensor([[[[1., 2.]], [[3., -1.]]]])  # [1, 2, 1, 2]
    audio = torch.tensor([[0.5, -0.5]])
    value = AudioVisualMatchingLoss(stages=(0, ), loss_weight=1.0)(logits, [v_map], [audio])
    masked = [1. * 1 / 2, 3. * 1 / 2]  # mask 1 on the left pooled cell, 0 on the right, no sigmoid
    assert value.item() == pytest.approx(_kl(_softmax([0.5, -0.5]), _softmax(masked)), rel=1e-5)


def test_max_pooling_and_gradients():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 4, 4, requires_grad=True)
    v = [torch.randn(2, 3, 2, 2, requires_grad=True)]
    a = [torch.randn(2, 3, requires_grad=True)]
    avg = AudioVisualMatchingLoss(stages=(0, ))(logits, v, a)
    mx = AudioVisualMatchingLoss(stages=(0, ), mask_pooling='max')(logits, v, a)
    assert not torch.allclose(avg, mx)
    avg.backward()
    assert logits.grad.abs().sum() > 0 and v[0].grad.abs().sum() > 0 and a[0].grad.abs().sum() > 0


def test_errors():
    logits = torch.randn(2, 1, 4, 4)
    with pytest.raises(ValueError, match='stage 1 has no projected audio'):
        AudioVisualMatchingLoss(stages=(1, ))(logits, [torch.randn(2, 3, 2, 2)] * 2, [torch.randn(2, 3), None])
    with pytest.raises(ValueError, match='do not match'):
        AudioVisualMatchingLoss(stages=(0, ))(logits, [torch.randn(2, 3, 2, 2)], [torch.randn(2, 4)])
    with pytest.raises(ValueError, match='frame_reduction'):
        AudioVisualMatchingLoss(frame_reduction='none')
