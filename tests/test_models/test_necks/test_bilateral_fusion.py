import pytest
import torch
import torch.nn.functional as F

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures

C, D, H, W, N = 16, 8, 3, 4, 2


def _build(mode='bilateral', **kwargs):
    cfg = dict(type='BilateralFusion', in_channels=C, audio_channels=D, embed_dims=16, num_heads=4, mode=mode)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(N, C, H, W, generator=g), ), torch.randn(N, D, generator=g)


def _bundle(visual, audio, num_frames=1, **kwargs):
    return AVFeatures(visual, audio=audio, num_frames=num_frames, **kwargs)


@pytest.mark.parametrize('mode', ['none', 'visual', 'audio', 'bilateral'])
def test_each_mode_changes_exactly_its_side(mode):
    bfm = _build(mode).eval()
    with torch.no_grad():  # larger layer scale so every update is visible
        for p in bfm.parameters():
            if p.dim() == 1 and torch.all(p == 1e-4):
                p.fill_(1.0)
    visual, audio = _inputs()
    out = bfm(_bundle(visual, audio, 2))
    assert isinstance(out, AVFeatures)
    assert out[0].shape == visual[0].shape and out.audio.shape == audio.shape
    assert (out[0] is visual[0]) == (mode in ('none', 'audio'))
    assert (out.audio is audio) == (mode in ('none', 'visual'))
    if mode in ('visual', 'bilateral'):
        assert not torch.allclose(out[0], visual[0])
    if mode in ('audio', 'bilateral'):
        assert not torch.allclose(out.audio, audio)


def test_bundle_fields_other_than_visual_and_audio_are_carried():
    bfm = _build().eval()
    visual, audio = _inputs()
    mask = torch.tensor([1., 0.])
    feats = _bundle(visual, audio, 2, frame_mask=mask, extras=dict(tpavi_audio=(None, )))
    out = bfm(feats)
    assert out.num_frames == 2 and out.frame_mask is mask and out.extras == feats.extras
    assert feats[0] is visual[0] and feats.audio is audio  # the input bundle is not modified


def test_modes_build_only_what_they_use():
    assert len(list(_build('none').parameters())) == 0
    visual_only, audio_only, both = _build('visual'), _build('audio'), _build('bilateral')
    assert not hasattr(visual_only, 'gamma_a') and not hasattr(visual_only.attentions[0], 'audio_out_proj')
    assert len(audio_only.gamma_v) == 0 and not hasattr(audio_only.attentions[0], 'visual_out_proj')
    for module in (visual_only, audio_only, both):  # every parameter gets a gradient (DDP-safe)
        module.train()
        visual, audio = _inputs()
        visual = (visual[0].requires_grad_(), )
        out = module(_bundle(visual, audio.requires_grad_()))
        (out[0].sum() + out.audio.sum()).backward()
        assert all(p.grad is not None for p in module.parameters())


def test_layer_scale_init_and_residual_on_normalised_inputs():
    bfm = _build(layer_scale_init=1e-4).eval()
    assert torch.all(bfm.gamma_v[0] == 1e-4) and bfm.gamma_v[0].shape == (C, )
    assert torch.all(bfm.gamma_a == 1e-4) and bfm.gamma_a.shape == (D, )
    assert bfm.attentions[0].num_heads == 4
    with torch.no_grad():
        bfm.gamma_v[0].zero_()
        bfm.gamma_a.zero_()
    visual, audio = _inputs()
    out = bfm(_bundle(visual, audio))
    tokens = (visual[0] + bfm.level_embeds[0].view(1, -1, 1, 1)).flatten(2).transpose(1, 2)
    expected_v = F.layer_norm(tokens, (C, ), bfm.visual_norms[0].weight, bfm.visual_norms[0].bias)
    torch.testing.assert_close(out[0], expected_v.transpose(1, 2).reshape(N, C, H, W))
    torch.testing.assert_close(out.audio, F.layer_norm(audio, (D, ), bfm.audio_norms[0].weight,
                                                       bfm.audio_norms[0].bias))


def test_logits_computed_once_and_both_updates_match_hand_computation():
    bfm = _build().eval()
    attn = bfm.attentions[0]
    calls = []
    original = attn.attention_logits

    def counting(*args):
        calls.append(1)
        return original(*args)

    attn.attention_logits = counting
    visual, audio = _inputs(3)
    with torch.no_grad():
        bfm.gamma_v[0].fill_(1.0)
        bfm.gamma_a.fill_(1.0)
        out = bfm(_bundle(visual, audio))
    out_v, out_a = out.visual, out.audio
    assert len(calls) == 1

    # by hand: heads of 4 dims, logits over the HW positions and the single audio token
    heads, hd = 4, 4
    v = F.layer_norm((visual[0] + bfm.level_embeds[0].view(1, -1, 1, 1)).flatten(2).transpose(1, 2), (C, ),
                     bfm.visual_norms[0].weight, bfm.visual_norms[0].bias)  # [N, HW, C]
    a = F.layer_norm(audio[:, None], (D, ), bfm.audio_norms[0].weight, bfm.audio_norms[0].bias)  # [N, 1, D]
    mask = torch.zeros(N, H, W, dtype=torch.bool)
    pos = bfm.positional_encodings[0](mask).flatten(2).transpose(1, 2)
    q = attn.query_proj(v + pos).view(N, H * W, heads, hd)
    k = attn.key_proj(a + bfm.audio_pos.weight[None]).view(N, 1, heads, hd)
    logits = torch.einsum('nphd,nlhd->nhpl', q, k) / hd**0.5  # [N, heads, HW, 1]
    probs = logits.softmax(dim=2)  # over the visual positions, shared by both directions
    value_a = attn.audio_value_proj(a).view(N, 1, heads, hd)
    value_v = attn.visual_value_proj(v).view(N, H * W, heads, hd)
    delta_v = attn.visual_out_proj(torch.einsum('nhpl,nlhd->nphd', probs, value_a).reshape(N, H * W, C))
    delta_a = attn.audio_out_proj(torch.einsum('nhpl,nphd->nlhd', probs, value_v).reshape(N, 1, 16))
    torch.testing.assert_close(out_v[0], (v + delta_v).transpose(1, 2).reshape(N, C, H, W), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out_a, (a + delta_a)[:, 0], rtol=1e-4, atol=1e-5)


def test_frames_are_fused_independently():
    """Frame n's output depends on frame n's features and audio only (num_frames is not used)."""
    bfm = _build().eval()
    with torch.no_grad():
        bfm.gamma_v[0].fill_(1.0)
        bfm.gamma_a.fill_(1.0)
    visual, audio = _inputs()
    out = bfm(_bundle(visual, audio, 2))
    audio2 = audio.clone()
    audio2[1] = torch.randn(D)  # a shift would vanish in the audio LayerNorm
    out2 = bfm(_bundle(visual, audio2, 1))
    torch.testing.assert_close(out[0][0], out2[0][0])
    torch.testing.assert_close(out.audio[0], out2.audio[0])
    assert not torch.allclose(out[0][1], out2[0][1])


def test_several_levels_and_untouched_levels():
    bfm = MODELS.build(
        dict(type='BilateralFusion', in_channels=[C, 2 * C], in_index=[0, 2], audio_channels=D, embed_dims=16,
             num_heads=4))
    feats = (torch.randn(N, C, H, W), torch.randn(N, 5, 2, 2), torch.randn(N, 2 * C, 2, 3))
    out = bfm(_bundle(feats, torch.randn(N, D)))
    assert out[1] is feats[1]
    assert [f.shape for f in out] == [f.shape for f in feats] and out.audio.shape == (N, D)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='mode must be one of'):
        _build('both')
    bfm = _build()
    visual, audio = _inputs()
    with pytest.raises(ValueError, match='audio_feats must be'):
        bfm(_bundle(visual, audio[:, None]))
    with pytest.raises(ValueError, match='carries no audio'):
        bfm(_bundle(visual, None))
    with pytest.raises(ValueError, match='visual level 0'):
        bfm(_bundle((torch.randn(N, C + 2, H, W), ), audio))
    with pytest.raises(ValueError, match='visual level 0'):
        bfm(_bundle((torch.randn(N + 1, C, H, W), ), audio))
    with pytest.raises(ValueError, match='in_channels .* and in_index'):
        _build(in_index=[0, 1])
    with pytest.raises(ValueError, match='divisible by num_heads'):
        _build(embed_dims=18)
    with pytest.raises(ValueError, match='must be even'):
        _build(in_channels=15, embed_dims=16)
