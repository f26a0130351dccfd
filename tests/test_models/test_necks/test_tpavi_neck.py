import pytest
import torch
import torch.nn.functional as F

from avsseg.models.necks import TPAVIBlock, TPAVINeck

IN_CHANNELS = [4, 6, 8, 10]
SIZES = [(8, 8), (4, 4), (2, 2), (1, 1)]


def _visual(num_rows, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(num_rows, c, h, w, generator=g) for c, (h, w) in zip(IN_CHANNELS, SIZES)]


def _neck(**kwargs):
    cfg = dict(in_channels=IN_CHANNELS, channels=12, audio_channels=5)
    cfg.update(kwargs)
    return TPAVINeck(**cfg)


def _perturb_wz(module):
    """Give every TPAVI W_z branch a non-zero norm so the block is no longer an identity."""
    for m in module.modules():
        if isinstance(m, TPAVIBlock):
            torch.nn.init.constant_(m.out_norm.weight, 1.0)
            torch.nn.init.constant_(m.out_norm.bias, 0.1)


@pytest.mark.parametrize('num_frames', [3, 5])
def test_neck_shapes(num_frames):
    torch.manual_seed(0)
    neck = _neck()
    rows = 2 * num_frames
    fused, audio_out = neck(_visual(rows), torch.randn(rows, 5), num_frames)
    assert len(fused) == 4 and len(audio_out) == 4
    for f, (h, w) in zip(fused, SIZES):
        assert f.shape == (rows, 12, h, w)
    for a in audio_out:
        assert a.shape == (rows, 12)


def test_audio_out_is_projected_audio_in_frame_order():
    torch.manual_seed(0)
    neck = _neck()
    audio = torch.randn(6, 5)
    _, audio_out = neck(_visual(6), audio, 3)
    block = neck.tpavi_blocks['2']
    torch.testing.assert_close(audio_out[2], block.audio_proj(audio))


def test_zero_init_wz_block_is_layernorm_of_reduction():
    torch.manual_seed(0)
    neck = _neck().eval()
    feats = _visual(6)
    fused, _ = neck(feats, torch.randn(6, 5), 3)
    for i, feat in enumerate(feats):
        reduced = sum(branch(feat) for branch in neck.reduce_layers[i])
        block = neck.tpavi_blocks[str(i)]
        expected = F.layer_norm(reduced.permute(0, 2, 3, 1), (12, ), block.norm.weight, block.norm.bias)
        torch.testing.assert_close(fused[i], expected.permute(0, 3, 1, 2), rtol=1e-5, atol=1e-5)
    # with W_z at zero the audio cannot matter
    fused2, _ = neck(feats, torch.randn(6, 5), 3)
    for a, b in zip(fused, fused2):
        torch.testing.assert_close(a, b)


def test_reduction_is_sum_of_four_dilated_convs():
    neck = _neck()
    dilations = [branch.conv.dilation[0] for branch in neck.reduce_layers[0]]
    assert dilations == [3, 6, 12, 18]
    assert all(branch.conv.kernel_size == (3, 3) for branch in neck.reduce_layers[0])
    assert all(branch.conv.padding[0] == d for branch, d in zip(neck.reduce_layers[0], dilations))
    # official init: weights N(0, 0.01)
    w = torch.cat([b.conv.weight.flatten() for r in neck.reduce_layers for b in r])
    assert 0.005 < w.std().item() < 0.015


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
    assert block.inter_channels == 3


def test_temporal_mixing_after_wz_perturbation():
    torch.manual_seed(0)
    neck = _neck().eval()
    _perturb_wz(neck)
    feats = _visual(6)
    audio = torch.randn(6, 5)
    fused, _ = neck(feats, audio, 3)
    audio2 = audio.clone()
    audio2[0] += 3.0  # frame 0 of clip 0
    fused2, _ = neck(feats, audio2, 3)
    for level in range(4):
        # other frames of clip 0 change (attention spans all T frames) ...
        assert not torch.allclose(fused[level][1:3], fused2[level][1:3])
        # ... the other clip does not
        torch.testing.assert_close(fused[level][3:], fused2[level][3:])


def test_gradients_flow():
    torch.manual_seed(0)
    neck = _neck()
    _perturb_wz(neck)
    feats = [f.requires_grad_() for f in _visual(6)]
    audio = torch.randn(6, 5, requires_grad=True)
    fused, audio_out = neck(feats, audio, 3)
    target = [torch.randn_like(f) for f in fused]
    loss = sum((f * t).sum() for f, t in zip(fused, target)) + sum(a.pow(2).sum() for a in audio_out)
    loss.backward()
    assert audio.grad is not None and audio.grad.abs().sum() > 0
    assert all(f.grad.abs().sum() > 0 for f in feats)
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_gradient_reaches_wz_norm_at_init():
    torch.manual_seed(0)
    neck = _neck()
    fused, _ = neck(_visual(6), torch.randn(6, 5), 3)
    sum((f * torch.randn_like(f)).sum() for f in fused).backward()
    for block in neck.tpavi_blocks.values():
        assert block.out_norm.weight.grad.abs().sum() > 0


def test_partial_stages_and_vv_mode():
    torch.manual_seed(0)
    neck = _neck(tpavi_stages=(1, 3))
    fused, audio_out = neck(_visual(6), torch.randn(6, 5), 3)
    assert set(neck.tpavi_blocks.keys()) == {'1', '3'}
    assert audio_out[0] is None and audio_out[2] is None
    assert audio_out[1].shape == (6, 12)

    vv = _neck(tpavi_va_flag=False, tpavi_vv_flag=True).eval()
    _perturb_wz(vv)
    feats = _visual(6)
    f1, a1 = vv(feats, None, 3)
    assert all(a is None for a in a1)
    f2, _ = vv(feats, torch.randn(6, 5), 3)  # audio is not used in visual self-attention
    torch.testing.assert_close(f1[0], f2[0])

    both = _neck(tpavi_vv_flag=True).eval()
    _perturb_wz(both)
    audio = torch.randn(6, 5)
    fb, _ = both(feats, audio, 3)
    block = both.tpavi_blocks['0']
    reduced = sum(branch(feats[0]) for branch in both.reduce_layers[0])
    clips = TPAVINeck._to_clips(reduced, 3)
    expected = (TPAVINeck._to_frames(block(clips)[0]) +
                TPAVINeck._to_frames(block(clips, audio.view(2, 3, 5))[0])) / 2
    torch.testing.assert_close(fb[0], expected)


def test_frame_mask_isolates_padded_frames():
    torch.manual_seed(0)
    neck = _neck().eval()
    _perturb_wz(neck)
    feats = _visual(6)
    audio = torch.randn(6, 5)
    mask = torch.tensor([1., 1., 0., 1., 1., 0.])
    fused, _ = neck(feats, audio, 3, frame_mask=mask)
    assert all(f[2].abs().sum() == 0 and f[5].abs().sum() == 0 for f in fused)
    changed = [f.clone() for f in feats]
    for f in changed:
        f[2] = torch.randn_like(f[2]) * 5
    fused2, _ = neck(changed, audio, 3, frame_mask=mask)
    for a, b in zip(fused, fused2):
        torch.testing.assert_close(a, b)


def test_bad_inputs_raise():
    neck = _neck()
    with pytest.raises(ValueError, match='multiple of num_frames'):
        neck(_visual(7), torch.randn(7, 5), 3)
    with pytest.raises(ValueError, match='audio features'):
        neck(_visual(6), torch.randn(6, 4), 3)
    with pytest.raises(ValueError, match='visual stages'):
        neck(_visual(6)[:3], torch.randn(6, 5), 3)
    with pytest.raises(ValueError, match='tpavi_va_flag'):
        _neck(tpavi_va_flag=False, tpavi_vv_flag=False)
    with pytest.raises(ValueError, match='tpavi_stages'):
        _neck(tpavi_stages=(4, ))
    with pytest.raises(ValueError, match='mode'):
        TPAVIBlock(in_channels=4, mode='gaussian')
