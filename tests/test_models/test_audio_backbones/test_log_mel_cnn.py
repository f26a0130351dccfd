import pytest
import torch

from avsseg.models.audio_backbones import LogMelCNN
from avsseg.registry import MODELS


def test_shapes_and_registry():
    model = MODELS.build(dict(type='LogMelCNN'))
    assert isinstance(model, LogMelCNN)
    assert model(torch.randn(4, 1, 96, 64)).shape == (4, 128)
    small = LogMelCNN(channels=(8, 16), out_channels=32)
    assert small(torch.randn(3, 1, 96, 64)).shape == (3, 32)
    assert small(torch.randn(2, 1, 48, 20)).shape == (2, 32)  # global pooling: any size >= 4x4
    # Three stages of conv(+BN) and one linear layer.
    assert len(model.stages) == 3 and sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 3


def test_bad_input_raises():
    model = LogMelCNN(channels=(8, 16, 32))
    with pytest.raises(ValueError, match='LogMelCNN expects'):
        model(torch.randn(2, 96, 64))
    with pytest.raises(ValueError, match='H, W >= 8'):
        model(torch.randn(2, 1, 96, 4))
    with pytest.raises(ValueError, match='at least one stage'):
        LogMelCNN(channels=())


def test_trains_on_synthetic_log_mel():
    torch.manual_seed(0)
    model = LogMelCNN(channels=(8, 16), out_channels=2)
    # Two synthetic "sounds": energy in the low vs the high mel bands.
    x = torch.randn(8, 1, 16, 32) * 0.1
    y = torch.arange(8) % 2
    x[y == 0, :, :, :8] += 2.0
    x[y == 1, :, :, 24:] += 2.0
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optim.zero_grad()
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() == 1.0
