import pytest
import torch

from avsseg.models.layers import BilateralAttention

N, L_V, C, D = 2, 6, 16, 8


def _attention(**kwargs):
    cfg = dict(visual_channels=C, audio_channels=D, embed_dims=16, num_heads=4, dropout=0.0)
    cfg.update(kwargs)
    return BilateralAttention(**cfg).eval()


def _tokens(seed=0, audio_tokens=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, L_V, C, generator=g), torch.randn(N, audio_tokens, D, generator=g)


def test_logits_are_scaled_dot_products_per_head():
    attn = _attention()
    v, a = _tokens()
    logits = attn.attention_logits(v, a)
    assert logits.shape == (N * 4, L_V, 1)
    q = attn.query_proj(v).view(N, L_V, 4, 4).transpose(1, 2).reshape(N * 4, L_V, 4)
    k = attn.key_proj(a).view(N, 1, 4, 4).transpose(1, 2).reshape(N * 4, 1, 4)
    torch.testing.assert_close(logits, q @ k.transpose(1, 2) / 2.0)
    with torch.no_grad():  # clamped to the fp16 range
        attn.query_proj.weight.fill_(1e4)
        attn.key_proj.weight.fill_(1e4)
    assert attn.attention_logits(v.abs(), a.abs()).max() == 5e4


def test_spatial_softmax_is_shared_by_both_directions():
    attn = _attention()
    v, a = _tokens(1, audio_tokens=2)
    delta_v, delta_a = attn(v, a)
    assert delta_v.shape == (N, L_V, C) and delta_a.shape == (N, 2, D)
    probs = attn.attention_logits(v, a).softmax(dim=1)  # over the visual positions
    split = lambda x: x.view(N, x.shape[1], 4, 4).transpose(1, 2).reshape(N * 4, x.shape[1], 4)  # noqa: E731
    merge = lambda x: x.view(N, 4, x.shape[1], 4).transpose(1, 2).reshape(N, x.shape[1], 16)  # noqa: E731
    expected_v = attn.visual_out_proj(merge(probs @ split(attn.audio_value_proj(a))))
    expected_a = attn.audio_out_proj(merge(probs.transpose(1, 2) @ split(attn.visual_value_proj(v))))
    torch.testing.assert_close(delta_v, expected_v)
    torch.testing.assert_close(delta_a, expected_a)


def test_token_softmax_broadcasts_the_single_audio_token():
    attn = _attention(update_audio=False, visual_softmax='token')
    v, a = _tokens()
    delta_v, delta_a = attn(v, a)
    assert delta_a is None
    expected = attn.visual_out_proj(attn.audio_value_proj(a)).expand(N, L_V, C)
    torch.testing.assert_close(delta_v, expected)


def test_one_direction_builds_and_returns_only_that_direction():
    audio_only = _attention(update_visual=False)
    assert not hasattr(audio_only, 'audio_value_proj') and not hasattr(audio_only, 'visual_out_proj')
    delta_v, delta_a = audio_only(*_tokens())
    assert delta_v is None and delta_a.shape == (N, 1, D)


def test_positions_enter_queries_and_keys_only():
    attn = _attention()
    v, a = _tokens()
    pos_v, pos_a = torch.randn(N, L_V, C), torch.randn(1, 1, D)
    with_pos = attn(v, a, pos_v, pos_a)
    without = attn(v, a)
    assert not torch.allclose(with_pos[0], without[0])
    # one audio token: the spatial softmax over positions changes, but a token softmax has a single weight of 1
    token = _attention(visual_softmax='token', update_audio=False)
    torch.testing.assert_close(token(v, a, pos_v, pos_a)[0], token(v, a)[0])


def test_xavier_weights_and_zero_biases():
    attn = _attention()
    for name, p in attn.named_parameters():
        if name.endswith('bias'):
            assert p.abs().sum() == 0, name


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='not divisible by num_heads'):
        _attention(embed_dims=18)
    with pytest.raises(ValueError, match='visual_softmax'):
        _attention(visual_softmax='channel')
    with pytest.raises(ValueError, match='at least one of update_visual / update_audio'):
        _attention(update_visual=False, update_audio=False)
