import pytest
import torch

from avsseg.registry import MODELS

CHANNELS = [16, 32, 64, 128]
TINY_RESNET = dict(
    type='ResNet', depth=18, stem_channels=16, base_channels=16, out_indices=(0, 1, 2, 3), style='pytorch',
    init_cfg=None)


def _build(**kwargs):
    cfg = dict(type='SiamEncoder', backbone=TINY_RESNET, in_channels=CHANNELS)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _inputs():
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, 32, 32, generator=g), torch.randn(2, 3, 32, 32, generator=g)


def test_separate_and_shared_parameter_counts():
    separate, shared, plain = _build(), _build(share_weights=True), _build(use_maskige=False)
    backbone = _count(MODELS.build(TINY_RESNET))
    # SE gate: C -> C/16 -> C with biases (official channel_weighted_block)
    gates = sum(2 * c * (c // 16) + c // 16 + c for c in CHANNELS)
    assert _count(plain) == backbone
    assert _count(shared) == backbone + gates
    assert _count(separate) == 2 * backbone + gates
    assert shared.maskige_encoder is shared.image_encoder
    assert separate.maskige_encoder is not separate.image_encoder
    assert not any(k.startswith('separate_maskige_encoder') for k in shared.state_dict())


@pytest.mark.parametrize('gate_type', ['se', 'linear', 'none'])
def test_fusion_is_image_features_plus_gated_maskige_features(gate_type):
    enc = _build(gate_type=gate_type).eval()
    frames, maskige = _inputs()
    with torch.no_grad():
        out = enc(frames, maskige)
        img = enc.image_encoder(frames)
        msk = enc.maskige_encoder(maskige)
    assert len(out) == 4
    for i, (o, f, m) in enumerate(zip(out, img, msk)):
        gap = m.mean(dim=(2, 3))
        if gate_type == 'se':
            se = enc.gates[i].se
            hidden = torch.relu(gap @ se.conv1.conv.weight.flatten(1).T + se.conv1.conv.bias)
            weight = torch.sigmoid(hidden @ se.conv2.conv.weight.flatten(1).T + se.conv2.conv.bias)
        elif gate_type == 'linear':  # paper eq. 3: GAP(F_m) W, no activation
            weight = enc.gates[i].fc(gap)
        else:
            weight = torch.ones_like(gap)
        torch.testing.assert_close(o, f + m * weight[:, :, None, None], rtol=1e-5, atol=1e-5)


def test_shared_weights_use_one_encoder_for_both_inputs():
    enc = _build(share_weights=True, gate_type='none').eval()
    frames, maskige = _inputs()
    with torch.no_grad():
        out = enc(frames, maskige)
        expected = [a + b for a, b in zip(enc.image_encoder(frames), enc.image_encoder(maskige))]
    for o, e in zip(out, expected):
        torch.testing.assert_close(o, e)


def test_without_sem_is_the_plain_backbone():
    enc = _build(use_maskige=False).eval()
    frames, maskige = _inputs()
    with torch.no_grad():
        out = enc(frames, maskige)
        ref = enc.image_encoder(frames)
    assert enc.maskige_encoder is None and not hasattr(enc, 'gates')
    for o, r in zip(out, ref):
        torch.testing.assert_close(o, r)


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = _build()
    ckpt = _build(with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    frames, maskige = _inputs()
    grads = []
    for enc in (plain, ckpt):
        enc.train()
        sum(o.square().mean() for o in enc(frames, maskige)).backward()
        grads.append(torch.cat([p.grad.flatten() for p in enc.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_bad_inputs_raise():
    enc = _build()
    frames, maskige = _inputs()
    with pytest.raises(ValueError, match="inputs\\['maskige'\\]"):
        enc(frames)
    with pytest.raises(ValueError, match='must match frames'):
        enc(frames, maskige[:, :, :16])
    with pytest.raises(ValueError, match='in_channels has'):
        _build(in_channels=CHANNELS[:3])(frames, maskige)
    with pytest.raises(ValueError, match='gate_type'):
        _build(gate_type='mlp')
    with pytest.raises(ValueError, match='share_weights=True needs use_maskige'):
        _build(use_maskige=False, share_weights=True)
