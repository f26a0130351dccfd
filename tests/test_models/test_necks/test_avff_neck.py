import pytest
import torch
import torch.nn.functional as F

from avsseg.models.necks import AVFFNeck
from avsseg.registry import MODELS
from avsseg.structures import AVFeatures

IN_CHANNELS = [3, 5, 6, 7]
SIZES = [(16, 16), (8, 8), (4, 4), (2, 2)]
C_AV, D_AUDIO = 8, 6


def _bundle(num_frames=2, clips=2, seed=0, frame_mask=None):
    g = torch.Generator().manual_seed(seed)
    n = num_frames * clips
    visual = [torch.randn(n, c, h, w, generator=g) for c, (h, w) in zip(IN_CHANNELS, SIZES)]
    audio = torch.randn(n, D_AUDIO, generator=g)
    return AVFeatures(visual, audio=audio, num_frames=num_frames, frame_mask=frame_mask)


def _neck(**kwargs):
    cfg = dict(type='AVFFNeck', in_channels=IN_CHANNELS, audio_channels=D_AUDIO, channels=C_AV, num_heads=2,
               norm_cfg=dict(type='GN', num_groups=4))
    cfg.update(kwargs)
    neck = MODELS.build(cfg)
    neck.init_weights()
    return neck.eval()


def test_shapes_and_audio():
    torch.manual_seed(0)
    feats = _bundle()
    out = _neck()(feats)
    assert isinstance(out, AVFeatures) and len(out) == 4
    assert out[0] is feats[0]
    assert [tuple(x.shape) for x in out[1:]] == [(4, C_AV, 8, 8), (4, C_AV, 4, 4), (4, C_AV, 2, 2)]
    assert out.audio.shape == (4, C_AV) and out.extras['audio_raw'] is feats.audio
    assert out.num_frames == 2


@pytest.mark.parametrize('fuse', ['mul', 'add'])
@pytest.mark.parametrize('share_attn', [True, False])
def test_one_audio_token_is_a_channel_gate(fuse, share_attn):
    # spec test 1: AVFF(v, a) == v * (W_o (W_v a + b_v) + b_o); W_q and W_k do not matter
    torch.manual_seed(0)
    neck = _neck(fuse=fuse, share_attn=share_attn)
    feats = _bundle()
    out = neck(feats)
    a = neck.project_audio(feats.audio)
    torch.testing.assert_close(a, F.layer_norm(neck.audio_mlp(feats.audio), (C_AV, ), eps=1e-12))
    for level in range(3):
        attn = neck.attns[0 if share_attn else level]
        w_v, b_v = attn.in_proj_weight[2 * C_AV:], attn.in_proj_bias[2 * C_AV:]
        gate = F.linear(F.linear(a, w_v, b_v), attn.out_proj.weight, attn.out_proj.bias)[:, :, None, None]
        v = neck.input_projs[level](feats[level + 1])
        expected = v * gate if fuse == 'mul' else v + gate
        torch.testing.assert_close(out[level + 1], expected, rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        for attn in neck.attns:
            attn.in_proj_weight[:2 * C_AV].normal_()
            attn.in_proj_bias[:2 * C_AV].normal_()
    out2 = neck(feats)
    for level in range(1, 4):
        torch.testing.assert_close(out2[level], out[level], rtol=1e-6, atol=1e-6)


def test_audio_drives_the_output():
    neck = _neck()
    feats = _bundle()
    out = neck(feats)
    other = feats.replace(audio=feats.audio.flip(0))
    assert not torch.allclose(neck(other)[1], out[1])


def test_frame_tokens_do_not_mix_frames():
    neck = _neck()
    feats = _bundle(num_frames=3, clips=1)
    out = neck(feats)
    audio = feats.audio.clone()
    audio[2] += 5.0
    out2 = neck(feats.replace(audio=audio))
    for level in range(1, 4):
        torch.testing.assert_close(out2[level][:2], out[level][:2])
        assert not torch.allclose(out2[level][2], out[level][2])


def test_clip_tokens_mix_real_frames_not_padded_ones():
    torch.manual_seed(0)
    neck = _neck(audio_tokens='clip')
    frame_mask = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])  # clip 0: frame 2 padded
    feats = _bundle(num_frames=3, clips=2, frame_mask=frame_mask)
    out = neck(feats)
    # the padded frame's audio does not reach any frame
    audio = feats.audio.clone()
    audio[2] += 7.0
    out_pad = neck(feats.replace(audio=audio))
    for level in range(1, 4):
        torch.testing.assert_close(out_pad[level], out[level])
    # a real frame's audio reaches the other frames of its clip, not the other clip
    audio = feats.audio.clone()
    audio[1] += 7.0
    out_real = neck(feats.replace(audio=audio))
    assert not torch.allclose(out_real[1][0], out[1][0])
    torch.testing.assert_close(out_real[1][3:], out[1][3:])
    # without the frame mask the padded frame's audio would leak
    unmasked = feats.replace(frame_mask=None)
    audio = feats.audio.clone()
    audio[2] += 7.0
    assert not torch.allclose(neck(unmasked.replace(audio=audio))[1][0], neck(unmasked)[1][0])


def test_clip_tokens_with_one_frame_equal_frame_tokens():
    torch.manual_seed(0)
    frame, clip = _neck(), _neck(audio_tokens='clip')
    clip.load_state_dict(frame.state_dict())
    feats = _bundle(num_frames=1, clips=3)
    for a, b in zip(frame(feats)[1:], clip(feats)[1:]):
        torch.testing.assert_close(a, b)


def test_errors():
    with pytest.raises(ValueError, match='fuse must be one of'):
        AVFFNeck(IN_CHANNELS, fuse='concat')
    with pytest.raises(ValueError, match='audio_tokens must be one of'):
        AVFFNeck(IN_CHANNELS, audio_tokens='all')
    with pytest.raises(ValueError, match='4 backbone stages'):
        AVFFNeck(IN_CHANNELS[1:])
    neck = _neck()
    feats = _bundle()
    with pytest.raises(ValueError, match='audio must be'):
        neck(feats.replace(audio=None))
    with pytest.raises(ValueError, match='visual stage 2 must be'):
        neck(feats.replace(visual=[feats[0], feats[2], feats[2], feats[3]]))
    with pytest.raises(ValueError, match='num_frames must be'):
        neck(feats.replace(num_frames=3))
    clip_neck = _neck(audio_tokens='clip')
    with pytest.raises(ValueError, match='no real frame'):
        clip_neck(feats.replace(frame_mask=torch.tensor([1.0, 1.0, 0.0, 0.0])))
