"""PVTv2: mmdet's PVT-v2 with the official LayerNorm epsilons."""
import pytest
import torch
from mmdet.models.backbones.pvt import PyramidVisionTransformerV2
from mmengine.config import Config
from torch import nn

from avsseg.models.backbones import PVTv2

SMALL = dict(embed_dims=8, num_layers=[1, 1, 2, 1], num_heads=[1, 1, 1, 1], sr_ratios=[8, 4, 2, 1],
             norm_cfg=dict(type='LN', eps=1e-6))


def _eps(model):
    return {name: m.eps for name, m in model.named_modules() if isinstance(m, nn.LayerNorm)}


def test_patch_embed_and_sr_norms_get_official_eps():
    eps = _eps(PVTv2(**SMALL))
    official = {name for name, value in eps.items() if value == 1e-5}
    # 4 patch embeddings + one SR norm per block of the stages with sr_ratio > 1 (1 + 1 + 2)
    assert official == {'layers.0.0.norm', 'layers.1.0.norm', 'layers.2.0.norm', 'layers.3.0.norm',
                        'layers.0.1.0.attn.norm', 'layers.1.1.0.attn.norm', 'layers.2.1.0.attn.norm',
                        'layers.2.1.1.attn.norm'}
    assert all(value == 1e-6 for name, value in eps.items() if name not in official)


def test_same_parameters_and_keys_as_mmdet():
    torch.manual_seed(0)
    ours = PVTv2(**SMALL)
    torch.manual_seed(0)
    theirs = PyramidVisionTransformerV2(**SMALL)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, 3, 64, 64)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        diff = [(a - b).abs().max() for a, b in zip(ours(x), theirs(x))]
    # only the epsilons differ: outputs are close but not equal
    assert all(d < 1e-3 for d in diff) and any(d > 0 for d in diff)


@pytest.mark.parametrize('config', ['configs/combo/combo_pvt_s4.py', 'configs/tpavi/tpavi_pvt_s4.py'])
def test_pvt_configs_use_it_with_53_official_norms(config):
    cfg = Config.fromfile(config)
    backbone = cfg.model.backbone
    backbone = backbone.get('backbone', backbone)  # COMBO wraps it in the Siam-Encoder
    assert backbone.type == 'PVTv2'
    args = {k: v for k, v in backbone.items() if k not in ('type', 'init_cfg')}
    # b5 depths: 4 patch-embedding norms + 3 + 6 + 40 SR norms = 53 at eps 1e-5, built with narrow stages
    args.update(embed_dims=8, num_heads=[1, 1, 1, 1])
    eps = _eps(PVTv2(**args))
    assert sum(value == 1e-5 for value in eps.values()) == 53


def test_rejects_non_layernorm():
    with pytest.raises(Exception):
        PVTv2(**{**SMALL, 'norm_cfg': dict(type='BN')})
