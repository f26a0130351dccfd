"""NormDecayOptimWrapperConstructor: norm_decay_mult reaches norms that a custom key matched."""
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import nn

from avsseg.registry import MODELS

init_default_scope('avsseg')

NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


class _Toy(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
        self.head = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))


def _groups(model, constructor):
    cfg = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
               paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'backbone': dict(lr_mult=0.1)}))
    if constructor:
        cfg['constructor'] = constructor
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g for g in build_optim_wrapper(model, cfg).optimizer.param_groups}


def test_backbone_norms_get_no_decay_and_keep_lr_mult():
    groups = _groups(_Toy(), 'NormDecayOptimWrapperConstructor')
    for name in ('backbone.1.weight', 'backbone.1.bias', 'head.1.weight', 'head.1.bias'):
        assert groups[name]['weight_decay'] == 0.0, name
    assert groups['backbone.1.weight']['lr'] == groups['backbone.0.weight']['lr'] == 1e-5
    assert groups['backbone.0.weight']['weight_decay'] == 0.05 and groups['head.0.weight']['weight_decay'] == 0.05


def test_mmengine_default_would_decay_them():
    # the behaviour this constructor exists for: mmengine skips the norm rule once a custom key matched
    groups = _groups(_Toy(), None)
    assert groups['backbone.1.weight']['weight_decay'] == 0.05
    assert groups['head.1.weight']['weight_decay'] == 0.0


def test_combo_pvt_s4_every_norm_has_no_weight_decay():
    cfg = Config.fromfile('configs/combo/combo_pvt_s4.py')
    model_cfg = cfg.model
    pvt = model_cfg.backbone.backbone
    pvt.update(num_layers=[1, 1, 1, 1], init_cfg=None)  # b5's layout, one block per stage: fast to build
    model_cfg.audio_backbone.pretrained = None
    model = MODELS.build(model_cfg)
    names = {id(p): n for n, p in model.named_parameters()}
    norm_params = {names[id(p)] for m in model.modules() if isinstance(m, NORMS)
                   for p in m.parameters(recurse=False) if p.requires_grad}
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    groups = {names[id(g['params'][0])]: g for g in optimizer.param_groups}
    assert any(n.startswith('backbone.image_encoder.layers.0.2') for n in norm_params)  # PVT stage norm
    assert any(n.startswith('backbone.separate_maskige_encoder') for n in norm_params)
    decayed = sorted(n for n in norm_params if groups[n]['weight_decay'] != 0)
    assert not decayed, decayed[:5]
    # the backbone keeps its lr multiplier
    assert groups['backbone.image_encoder.layers.0.2.weight']['lr'] == 1e-5
