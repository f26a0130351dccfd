import pytest
import torch

from avsseg.models.layers import AudioUnmixing  # noqa: F401  (registers the type built below)
from avsseg.registry import MODELS


def _a2u(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='AudioUnmixing', in_channels=16, embed_dims=32, num_frames=5, num_queries=12, num_layers=2,
               num_heads=4, feedforward_channels=64)
    cfg.update(kwargs)
    a2u = MODELS.build(cfg)
    a2u.init_weights()
    return a2u.eval()


def test_shapes_and_no_bias():
    a2u = _a2u()
    assert a2u(torch.randn(3, 5, 16)).shape == (3, 12, 32)
    assert a2u.number_proj.shape == (12, 5) and a2u.dim_proj.bias is None
    with pytest.raises(ValueError, match=r'audio must be \[B, 5, 16\]'):
        a2u(torch.randn(15, 16))


def test_space_projector_rank_is_at_most_t_and_the_encoder_lifts_it():
    """Spec test 1: W1 A W2 is 12 x 32 but of rank <= T = 5; after the encoder it is not."""
    a2u = _a2u()
    audio = torch.randn(1, 5, 16, dtype=torch.float64)
    a2u.double()
    projected = a2u.project(audio)[0]
    assert torch.linalg.matrix_rank(projected, atol=1e-5).item() <= 5
    assert torch.linalg.matrix_rank(a2u(audio)[0], atol=1e-5).item() > 5


def test_space_projector_algebra():
    """Spec test 2: linear in the audio; permuting the seconds equals permuting W1's columns."""
    a2u = _a2u()
    audio = torch.randn(2, 5, 16)
    torch.testing.assert_close(a2u.project(2 * audio), 2 * a2u.project(audio))
    perm = torch.tensor([3, 0, 4, 1, 2])
    permuted = a2u.project(audio[:, perm])
    w1 = a2u.number_proj.data.clone()
    a2u.number_proj.data = w1[:, perm.argsort()]
    torch.testing.assert_close(permuted, a2u.project(audio))


def test_dependency_catcher_is_permutation_equivariant():
    """Spec test 3: no positional encoding, so permuting the N tokens permutes the output."""
    a2u = _a2u()
    tokens = a2u.project(torch.randn(2, 5, 16))
    perm = torch.randperm(12)
    out = tokens
    out_perm = tokens[:, perm]
    for layer in a2u.layers:
        out, out_perm = layer(out), layer(out_perm)
    torch.testing.assert_close(out[:, perm], out_perm, rtol=1e-5, atol=1e-5)


def test_table4_variants():
    dim_only = _a2u(use_number_proj=False, num_queries=5, num_layers=0)
    assert dim_only.number_proj is None and len(dim_only.layers) == 0
    audio = torch.randn(2, 5, 16)
    torch.testing.assert_close(dim_only(audio), dim_only.dim_proj(audio))
    no_encoder = _a2u(num_layers=0)
    torch.testing.assert_close(no_encoder(audio), no_encoder.project(audio))
    with pytest.raises(ValueError, match='without the number projector'):
        _a2u(use_number_proj=False, num_queries=12)


def test_second_norm_switch_and_gradients():
    literal = _a2u(second_norm=False).train()
    assert not hasattr(literal.layers[0], 'norm2') and hasattr(_a2u().layers[0], 'norm2')
    audio = torch.randn(2, 5, 16, requires_grad=True)
    literal(audio).sum().backward()
    assert literal.number_proj.grad.abs().sum() > 0 and audio.grad.abs().sum() > 0
    literal.eval()
    x = torch.randn(2, 12, 32)
    layer = literal.layers[0]
    expected = layer.norm1(x + layer.self_attn(x, x, x, need_weights=False)[0])
    expected = expected + layer.linear2(torch.relu(layer.linear1(expected)))  # Eq. 3: no LN after the MLP
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)
