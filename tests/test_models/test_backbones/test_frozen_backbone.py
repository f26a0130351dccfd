import pytest
import torch
import torch.nn as nn

from avsseg.models.backbones import FrozenBackbone
from avsseg.registry import MODELS

RESNET = dict(type='mmseg.ResNetV1c', depth=18, base_channels=8, stem_channels=8, in_channels=3,
              norm_cfg=dict(type='BN', requires_grad=True))
PVT = dict(type='PVTv2', embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], mlp_ratios=[2, 2, 2, 2],
           drop_rate=0.5, drop_path_rate=0.5)


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_optimizer_step_leaves_backbone_bit_identical():
    # spec test 8: parameters and BN buffers unchanged after a training step with weight decay
    torch.manual_seed(0)
    frozen = MODELS.build(dict(type='FrozenBackbone', backbone=RESNET))
    head = nn.Conv2d(64, 1, 1)
    model = nn.ModuleDict(dict(backbone=frozen, head=head)).train()
    assert frozen.training and not frozen.backbone.training
    before = _snapshot(frozen)
    optim = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.5)
    head_before = head.weight.detach().clone()
    for _ in range(2):
        feats = frozen(torch.randn(2, 3, 32, 32))
        assert len(feats) == 4 and not any(f.requires_grad for f in feats)
        loss = head(feats[-1]).square().mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
    after = _snapshot(frozen)
    assert before.keys() == after.keys()
    assert any('running_mean' in k for k in before) and any('num_batches_tracked' in k for k in before)
    for key in before:
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(head_before, head.weight)  # the trainable part did move
    assert not any(p.requires_grad for p in frozen.parameters())


def test_unfrozen_backbone_would_change_buffers():
    # the control of the test above: the same step on the bare backbone updates its BN statistics
    torch.manual_seed(0)
    bare = MODELS.build(RESNET)
    bare.train()  # mmseg's ResNet.train returns None
    before = _snapshot(bare)
    bare(torch.randn(2, 3, 32, 32))
    key = next(k for k in before if k.endswith('running_mean'))
    assert not torch.equal(before[key], bare.state_dict()[key])


def test_drop_path_off_in_train_mode():
    torch.manual_seed(0)
    frozen = FrozenBackbone(backbone=PVT).train()
    x = torch.randn(1, 3, 32, 32)
    first, second = frozen(x), frozen(x)
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    # the bare PVT-v2 with these drop rates is stochastic in train mode
    frozen.backbone.train()
    assert not torch.equal(frozen.backbone(x)[-1], frozen.backbone(x)[-1])
    # ... and the wrapper puts it back into eval mode before its own forward
    assert torch.equal(frozen(x)[-1], first[-1]) and not frozen.backbone.training


def test_init_cfg_reaches_inner_backbone(tmp_path):
    torch.manual_seed(1)
    source = MODELS.build(RESNET)
    ckpt = tmp_path / 'resnet.pth'
    torch.save(dict(state_dict=source.state_dict()), ckpt)
    frozen = FrozenBackbone(backbone=RESNET, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    assert frozen.init_cfg is None and frozen.backbone.init_cfg['checkpoint'] == str(ckpt)
    frozen.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(frozen.backbone.state_dict()[key], value), key
    assert not any(p.requires_grad for p in frozen.parameters())


def test_bad_config():
    with pytest.raises(TypeError, match='backbone must be a config dict'):
        FrozenBackbone(backbone='ResNet')
