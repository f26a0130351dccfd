import pytest
import torch
import torch.nn.functional as F

from avsseg.models.layers import TPAVIBlock
from avsseg.registry import MODELS


def _perturb_wz(block):
    """Give the W_z branch a non-zero norm so the block is no longer an identity."""
    torch.nn.init.constant_(block.out_norm.weight, 1.0)
    torch.nn.init.constant_(block.out_norm.bias, 0.1)


def _explicit_tpavi(block, x, audio):
    """Reference TPAVI with the full (T*H*W)^2 attention map, written from the formula."""
    b, c, t, h, w = x.shape
    n = t * h * w
    a = block.audio_proj(audio)  # [B, T, C]
    a_map = a.permute(0, 2, 1)[..., None, None].repeat(1, 1, 1, h, w)
    theta = block.theta(x).reshape(b, -1, n)
    phi = block.phi(a_map).reshape(b, -1, n)
    g = block.g(x).reshape(b, -1, n)
    f = theta.transpose(1, 2) @ phi / n  # [B, N, N]
    y = (f @ g.transpose(1, 2)).transpose(1, 2).reshape(b, -1, t, h, w)
    z = block.out_norm(block.out_conv(y)) + x
    return F.layer_norm(z.permute(0, 2, 3, 4, 1), (c, ), block.norm.weight, block.norm.bias).permute(0, 4, 1, 2, 3)


def test_dot_mode_matches_explicit_attention():
    torch.manual_seed(0)
    block = TPAVIBlock(in_channels=6, audio_channels=5).eval()
    _perturb_wz(block)
    block.out_norm.running_mean.uniform_(-0.5, 0.5)
    block.out_norm.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 6, 3, 4, 5)
    audio = torch.randn(2, 3, 5)
    z, a = block(x, audio)
    torch.testing.assert_close(z, _explicit_tpavi(block, x, audio), rtol=1e-4, atol=1e-5)
    assert a.shape == (2, 3, 6)
    torch.testing.assert_close(a, block.audio_proj(audio))
    assert block.inter_channels == 3


def test_zero_init_wz_is_layernorm_of_input_and_vv_mode_has_no_audio():
    torch.manual_seed(0)
    block = TPAVIBlock(in_channels=6, audio_channels=5).eval()
    x = torch.randn(2, 6, 3, 2, 2)
    z, _ = block(x, torch.randn(2, 3, 5))
    expected = F.layer_norm(x.permute(0, 2, 3, 4, 1), (6, ), block.norm.weight, block.norm.bias)
    torch.testing.assert_close(z, expected.permute(0, 4, 1, 2, 3))
    block.init_weights()  # re-initialisation keeps W_z at zero
    assert block.out_norm.weight.abs().sum() == 0 and block.out_norm.bias.abs().sum() == 0
    _, audio_out = block(x)
    assert audio_out is None


def test_still_registered_and_state_dict_keys_kept():
    block = MODELS.build(dict(type='TPAVIBlock', in_channels=4, audio_channels=3, align_bias=False))
    assert isinstance(block, TPAVIBlock) and block.audio_proj.bias is None
    # official checkpoints are converted to these names (tools/model_converters/avsbench2avsseg.py)
    assert {'audio_proj.weight', 'g.weight', 'theta.weight', 'phi.weight', 'out_conv.weight', 'bn_out.weight',
            'bn_out.running_var', 'norm.weight'} <= set(block.state_dict())


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='mode'):
        TPAVIBlock(in_channels=4, mode='gaussian')
    with pytest.raises(ValueError, match='must be positive'):
        TPAVIBlock(in_channels=0)
    block = TPAVIBlock(in_channels=4, audio_channels=3)
    with pytest.raises(ValueError, match=r'expected visual features \[B, 4, T, H, W\]'):
        block(torch.randn(2, 4, 3, 3))
