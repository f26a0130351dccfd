import pytest
import torch
import torch.nn.functional as F

from avsseg.models.layers import TPAVIBlock
from avsseg.models.necks import TPAVINeck
from avsseg.structures import AVFeatures

IN_CHANNELS = [4, 6, 8, 10]
SIZES = [(8, 8), (4, 4), (2, 2), (1, 1)]


def _visual(num_rows, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(num_rows, c, h, w, generator=g) for c, (h, w) in zip(IN_CHANNELS, SIZES)]


def _bundle(visual, audio, num_frames, frame_mask=None, extras=None):
    return AVFeatures(visual, audio=audio, num_frames=num_frames, frame_mask=frame_mask, extras=extras)


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
    out = neck(_bundle(_visual(rows), torch.randn(rows, 5), num_frames))
    assert isinstance(out, AVFeatures)
    audio_out = out.extras['tpavi_audio']
    assert len(out) == 4 and isinstance(audio_out, tuple) and len(audio_out) == 4
    for f, (h, w) in zip(out, SIZES):
        assert f.shape == (rows, 12, h, w)
    for a in audio_out:
        assert a.shape == (rows, 12)


def test_bundle_fields_are_carried_and_audio_is_unchanged():
    torch.manual_seed(0)
    neck = _neck()
    audio = torch.randn(6, 5)
    mask = torch.tensor([1., 1., 1., 1., 1., 0.])
    feats = _bundle(_visual(6), audio, 3, frame_mask=mask, extras=dict(prior='kept'))
    out = neck(feats)
    assert out.audio is audio and out.num_frames == 3 and out.frame_mask is mask
    assert out.extras['prior'] == 'kept' and set(out.extras) == {'prior', 'tpavi_audio'}
    assert 'tpavi_audio' not in feats.extras  # the input bundle is not modified


def test_audio_out_is_projected_audio_in_frame_order():
    torch.manual_seed(0)
    neck = _neck()
    audio = torch.randn(6, 5)
    audio_out = neck(_bundle(_visual(6), audio, 3)).extras['tpavi_audio']
    block = neck.tpavi_blocks['2']
    torch.testing.assert_close(audio_out[2], block.audio_proj(audio))


def test_zero_init_wz_block_is_layernorm_of_reduction():
    torch.manual_seed(0)
    neck = _neck().eval()
    feats = _visual(6)
    fused = neck(_bundle(feats, torch.randn(6, 5), 3))
    for i, feat in enumerate(feats):
        reduced = sum(branch(feat) for branch in neck.reduce_layers[i])
        block = neck.tpavi_blocks[str(i)]
        expected = F.layer_norm(reduced.permute(0, 2, 3, 1), (12, ), block.norm.weight, block.norm.bias)
        torch.testing.assert_close(fused[i], expected.permute(0, 3, 1, 2), rtol=1e-5, atol=1e-5)
    # with W_z at zero the audio cannot matter
    fused2 = neck(_bundle(feats, torch.randn(6, 5), 3))
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


def test_temporal_mixing_after_wz_perturbation():
    torch.manual_seed(0)
    neck = _neck().eval()
    _perturb_wz(neck)
    feats = _visual(6)
    audio = torch.randn(6, 5)
    fused = neck(_bundle(feats, audio, 3))
    audio2 = audio.clone()
    audio2[0] += 3.0  # frame 0 of clip 0
    fused2 = neck(_bundle(feats, audio2, 3))
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
    out = neck(_bundle(feats, audio, 3))
    target = [torch.randn_like(f) for f in out]
    loss = sum((f * t).sum() for f, t in zip(out, target)) + sum(a.pow(2).sum() for a in out.extras['tpavi_audio'])
    loss.backward()
    assert audio.grad is not None and audio.grad.abs().sum() > 0
    assert all(f.grad.abs().sum() > 0 for f in feats)
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_gradient_reaches_wz_norm_at_init():
    torch.manual_seed(0)
    neck = _neck()
    fused = neck(_bundle(_visual(6), torch.randn(6, 5), 3))
    sum((f * torch.randn_like(f)).sum() for f in fused).backward()
    for block in neck.tpavi_blocks.values():
        assert block.out_norm.weight.grad.abs().sum() > 0


def test_partial_stages_and_vv_mode():
    torch.manual_seed(0)
    neck = _neck(tpavi_stages=(1, 3))
    audio_out = neck(_bundle(_visual(6), torch.randn(6, 5), 3)).extras['tpavi_audio']
    assert set(neck.tpavi_blocks.keys()) == {'1', '3'}
    assert audio_out[0] is None and audio_out[2] is None
    assert audio_out[1].shape == (6, 12)

    vv = _neck(tpavi_va_flag=False, tpavi_vv_flag=True).eval()
    _perturb_wz(vv)
    feats = _visual(6)
    out1 = vv(_bundle(feats, None, 3))
    assert all(a is None for a in out1.extras['tpavi_audio'])
    out2 = vv(_bundle(feats, torch.randn(6, 5), 3))  # audio is not used in visual self-attention
    torch.testing.assert_close(out1[0], out2[0])

    both = _neck(tpavi_vv_flag=True).eval()
    _perturb_wz(both)
    audio = torch.randn(6, 5)
    fb = both(_bundle(feats, audio, 3))
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
    fused = neck(_bundle(feats, audio, 3, frame_mask=mask))
    assert all(f[2].abs().sum() == 0 and f[5].abs().sum() == 0 for f in fused)
    changed = [f.clone() for f in feats]
    for f in changed:
        f[2] = torch.randn_like(f[2]) * 5
    fused2 = neck(_bundle(changed, audio, 3, frame_mask=mask))
    for a, b in zip(fused, fused2):
        torch.testing.assert_close(a, b)


def test_bad_inputs_raise():
    neck = _neck()
    with pytest.raises(ValueError, match='multiple of num_frames'):
        neck(_bundle(_visual(7), torch.randn(7, 5), 3))
    with pytest.raises(ValueError, match='audio features'):
        neck(_bundle(_visual(6), torch.randn(6, 4), 3))
    with pytest.raises(ValueError, match='audio features'):
        neck(_bundle(_visual(6), None, 3))
    with pytest.raises(ValueError, match='visual stages'):
        neck(_bundle(_visual(6)[:3], torch.randn(6, 5), 3))
    with pytest.raises(ValueError, match='num_frames must be a positive int'):
        neck(_bundle(_visual(6), torch.randn(6, 5), None))
    with pytest.raises(ValueError, match='frame_mask must be'):
        neck(_bundle(_visual(6), torch.randn(6, 5), 3, frame_mask=torch.ones(5)))
    with pytest.raises(ValueError, match='tpavi_va_flag'):
        _neck(tpavi_va_flag=False, tpavi_vv_flag=False)
    with pytest.raises(ValueError, match='tpavi_stages'):
        _neck(tpavi_stages=(4, ))
