import pytest
import torch
from torch import nn

import avsseg.models.utils.checkpoint as checkpoint_module
from avsseg.models.utils import checkpoint_call


class _Block(nn.Module):
    """Two layers with a keyword argument, as the decoder layers are called."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x, scale=1.0, bias=None):
        y = self.fc2(torch.relu(self.fc1(x))) * scale
        return y if bias is None else y + bias


@pytest.fixture
def spy(monkeypatch):
    calls = []
    original = checkpoint_module.checkpoint

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, 'checkpoint', counting)
    return calls


def _grads(enabled, spy):
    torch.manual_seed(0)
    block = _Block()
    x = torch.randn(3, 4, requires_grad=True)
    bias = torch.randn(4)  # an input without gradient, passed by keyword
    out = checkpoint_call(block, x, enabled=enabled, training=True, scale=2.0, bias=bias)
    out.square().sum().backward()
    return out.detach(), x.grad, [p.grad for p in block.parameters()]


def test_same_outputs_and_gradients_with_and_without_checkpointing(spy):
    plain = _grads(False, spy)
    assert spy == []
    ckpt = _grads(True, spy)
    assert len(spy) == 1 and spy[0]['use_reentrant'] is False
    torch.testing.assert_close(plain[0], ckpt[0])
    torch.testing.assert_close(plain[1], ckpt[1])
    for a, b in zip(plain[2], ckpt[2]):
        assert a is not None and a.abs().sum() > 0
        torch.testing.assert_close(a, b)


def test_evaluation_and_no_grad_do_not_checkpoint(spy):
    block = _Block()
    x = torch.randn(3, 4, requires_grad=True)
    expected = block(x, scale=0.5)
    out = checkpoint_call(block, x, enabled=True, training=False, scale=0.5)
    torch.testing.assert_close(out, expected)
    with torch.no_grad():
        out = checkpoint_call(block, x, enabled=True, training=True, scale=0.5)
    torch.testing.assert_close(out, expected)
    assert spy == []
    checkpoint_call(block, x, enabled=True, scale=0.5)  # training is the default
    assert len(spy) == 1


def test_multiple_outputs_pass_through(spy):
    def pair(x, y):
        return x * 2, (x + y).sum()

    x, y = torch.randn(2, requires_grad=True), torch.randn(2)
    out = checkpoint_call(pair, x, y, enabled=True, training=True)
    assert len(spy) == 1 and isinstance(out, tuple) and len(out) == 2
    (out[0].sum() + out[1]).backward()
    torch.testing.assert_close(x.grad, torch.full((2, ), 3.0))
