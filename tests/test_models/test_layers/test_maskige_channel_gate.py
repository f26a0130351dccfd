import pytest
import torch

from avsseg.models.layers import GATE_TYPES, MaskigeChannelGate

C = 32


def _feat(seed=0):
    return torch.randn(2, C, 3, 4, generator=torch.Generator().manual_seed(seed))


def test_gate_types():
    assert GATE_TYPES == ('se', 'linear', 'none')


def test_se_gate_is_the_official_channel_weighted_block():
    gate = MaskigeChannelGate(C, 'se', ratio=16).eval()
    x = _feat()
    se = gate.se
    assert se.conv1.conv.weight.shape == (C // 16, C, 1, 1) and se.conv2.conv.weight.shape == (C, C // 16, 1, 1)
    hidden = torch.relu(x.mean((2, 3)) @ se.conv1.conv.weight.flatten(1).T + se.conv1.conv.bias)
    weight = torch.sigmoid(hidden @ se.conv2.conv.weight.flatten(1).T + se.conv2.conv.bias)
    torch.testing.assert_close(gate(x), x * weight[:, :, None, None])


def test_linear_gate_is_paper_eq_3():
    gate = MaskigeChannelGate(C, 'linear')
    x = _feat(1)
    weight = gate.fc(x.mean((2, 3)))  # GAP(F_m) W, no activation
    torch.testing.assert_close(gate(x), x * weight[:, :, None, None])
    assert sum(p.numel() for p in gate.parameters()) == C * C + C


def test_none_gate_is_the_identity_without_parameters():
    gate = MaskigeChannelGate(C, 'none')
    x = _feat(2)
    assert gate(x) is x and len(list(gate.parameters())) == 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='gate_type must be one of'):
        MaskigeChannelGate(C, 'mlp')
    with pytest.raises(ValueError, match='too small for ratio=16'):
        MaskigeChannelGate(8, 'se')
