import pytest
import torch
import torch.nn.functional as F

from avsseg.models.decode_heads import CrossModalFPN
from avsseg.models.decode_heads.cross_modal_fpn import AudioVisionBlock, _from_clip_tokens, _to_clip_tokens
from avsseg.registry import MODELS

C1, C_AV, C, C_M = 5, 8, 8, 6


def _inputs(num_frames=2, clips=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = num_frames * clips
    memories = [torch.randn(n, C_AV, size // s, size // s, generator=g) for s in (8, 16, 32)]
    stage1 = torch.randn(n, C1, size // 4, size // 4, generator=g)
    audio = torch.randn(n, C_AV, generator=g)
    return memories, stage1, audio


def _fpn(**kwargs):
    cfg = dict(type='CrossModalFPN', stage1_channels=C1, in_channels=C_AV, channels=C, mask_channels=C_M,
               num_heads=2, feedforward_channels=16, norm_cfg=dict(type='GN', num_groups=2), sr_ratios=(2, 2, 1, 1))
    cfg.update(kwargs)
    fpn = MODELS.build(cfg)
    fpn.init_weights()
    return fpn.eval()


def test_shapes_and_token_layout():
    memories, stage1, audio = _inputs(size=32)
    out = _fpn()(memories, stage1, audio, num_frames=2)
    assert out.shape == (4, C_M, 8, 8)
    x = torch.randn(6, 3, 2, 4)
    tokens = _to_clip_tokens(x, 3)
    assert tokens.shape == (3 * 2 * 4, 2, 3)
    torch.testing.assert_close(tokens[1 * 8 + 1 * 4 + 2, 1], x[1 * 3 + 1, :, 1, 2])  # (t=1, h=1, w=2), clip 1
    torch.testing.assert_close(_from_clip_tokens(tokens, 3, 2, 4), x)


def test_self_attention_mixes_frames_of_a_clip_only():
    torch.manual_seed(0)
    fpn = _fpn()
    memories, stage1, audio = _inputs(num_frames=3, clips=2)
    out = fpn(memories, stage1, audio, num_frames=3)
    memories2 = [m.clone() for m in memories]
    memories2[1][1] += 3.0  # clip 0, frame 1
    out2 = fpn(memories2, stage1, audio, num_frames=3)
    assert not torch.allclose(out2[0], out[0])  # reaches the other frames of its clip
    torch.testing.assert_close(out2[3:], out[3:])  # not the other clip
    # with T = 1 per "clip" the frames are independent
    out_single = fpn(memories, stage1, audio, num_frames=1)
    out_single2 = fpn(memories2, stage1, audio, num_frames=1)
    torch.testing.assert_close(out_single2[[0, 2, 3, 4, 5]], out_single[[0, 2, 3, 4, 5]])


def test_frame_audio_reaches_its_frame_only_and_clip_audio_the_clip():
    torch.manual_seed(0)
    memories, stage1, audio = _inputs(num_frames=2, clips=2)
    audio2 = audio.clone()
    audio2[1] += 3.0  # clip 0, frame 1
    fpn = _fpn()
    out, out2 = fpn(memories, stage1, audio, 2), fpn(memories, stage1, audio2, 2)
    # per-frame tokens: the cross-attention follows the self-attention within a level, so a frame's audio stays in
    # that frame's pixels
    torch.testing.assert_close(out2[[0, 2, 3]], out[[0, 2, 3]])
    assert not torch.allclose(out2[1], out[1])
    clip_fpn = _fpn(audio_tokens='clip')
    out, out2 = clip_fpn(memories, stage1, audio, 2), clip_fpn(memories, stage1, audio2, 2)
    assert not torch.allclose(out2[0], out[0]) and not torch.allclose(out2[1], out[1])
    torch.testing.assert_close(out2[2:], out[2:])


@pytest.mark.parametrize('audio_tokens', ['frame', 'clip'])
def test_padded_frames_do_not_leak(audio_tokens):
    torch.manual_seed(0)
    fpn = _fpn(audio_tokens=audio_tokens)
    memories, stage1, audio = _inputs(num_frames=3, clips=1)
    frame_mask = torch.tensor([1.0, 1.0, 0.0])
    out = fpn(memories, stage1, audio, 3, frame_mask)
    memories2 = [m.clone() for m in memories]
    for m in memories2:
        m[2] = torch.randn_like(m[2])
    stage1b, audio2 = stage1.clone(), audio.clone()
    stage1b[2] += 5.0
    audio2[2] += 5.0
    out2 = fpn(memories2, stage1b, audio2, 3, frame_mask)
    torch.testing.assert_close(out2[:2], out[:2])
    # control: without the mask, the padded frame reaches the real ones
    assert not torch.allclose(fpn(memories2, stage1b, audio2, 3)[:2], fpn(memories, stage1, audio, 3)[:2])


def test_block_is_referformer_post_norm_with_spatial_reduction():
    torch.manual_seed(0)
    block = AudioVisionBlock(C, 2, 16, dropout=0.0, sr_ratio=2).eval()
    t, b, h, w = 2, 1, 4, 4
    x, pos = torch.randn(t * h * w, b, C), torch.randn(t * h * w, b, C)
    audio, audio_pos = torch.randn(1, b * t, C), torch.randn(1, b * t, C)
    out = block(x, pos, t, (h, w), None, audio, audio_pos, None)

    def down(z):
        return _to_clip_tokens(F.interpolate(_from_clip_tokens(z, t, h, w), size=(2, 2), mode='nearest'), t)

    q = down(x + pos)
    sa = block.self_attn(q, q, down(x))[0]
    sa = _to_clip_tokens(F.interpolate(_from_clip_tokens(sa, t, 2, 2), size=(h, w), mode='bilinear'), t)
    y = block.norms[0](x + sa)
    # per-frame audio: frame t's pixels see token t only
    ca = torch.cat([block.cross_attn((y + pos)[i * h * w:(i + 1) * h * w], (audio + audio_pos)[:, i:i + 1],
                                     audio[:, i:i + 1])[0] for i in range(t)])
    y = block.norms[1](y + ca)
    ffn = block.ffn.layers
    y = block.norms[2](y + ffn(y))
    torch.testing.assert_close(out, y)


def test_gradients_and_errors():
    fpn = _fpn().train()
    memories, stage1, audio = _inputs()
    audio.requires_grad_(True)
    fpn(memories, stage1, audio, 2).square().mean().backward()
    assert audio.grad.abs().sum() > 0
    assert all(p.grad is not None for p in fpn.parameters())
    with pytest.raises(ValueError, match='num_frames must be'):
        fpn(memories, stage1, audio, 3)
    with pytest.raises(ValueError, match='expected 3 encoder memories'):
        fpn(memories[:2], stage1, audio, 2)
    with pytest.raises(ValueError, match='memory 1'):
        fpn([memories[0], memories[0], memories[2]], stage1, audio, 2)
    with pytest.raises(ValueError, match='audio must be'):
        fpn(memories, stage1, audio[:, :4], 2)
    with pytest.raises(ValueError, match='no real frame'):
        fpn(memories, stage1, audio, 2, torch.tensor([1.0, 1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match='audio_tokens must be'):
        CrossModalFPN(C1, audio_tokens='word')
