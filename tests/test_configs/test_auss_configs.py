"""Every AUSS config parses, the family differs where it should, each ablation changes exactly its switch, and the
tiny model builds and the MS3 curriculum loads an S4 checkpoint key for key."""
import glob
import os.path as osp

import pytest
import torch
from config_diff import differing_keys
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'auss')
HOOK = 'custom_hooks.3.'
FIXED = {HOOK + 'mode', HOOK + 'interval', HOOK + 'fixed'}
HEAD = 'model.decode_head.'
ABLATIONS = {
    'a2u-only': {HEAD + 'loss_aqdl', HEAD + 'loss_aqml'},
    'aqdl-rising': {HEAD + 'loss_aqml'},
    'aqml-rising': {HEAD + 'loss_aqdl'},
    'aqdl-fixed': {HEAD + 'loss_aqml'} | FIXED,
    'aqml-fixed': {HEAD + 'loss_aqdl'} | FIXED,
    'delta-fixed': FIXED,
    'unmix-dim': {HEAD + 'num_queries', HEAD + 'unmixing.use_number_proj', HEAD + 'unmixing.num_layers'},
    'unmix-dim-num100': {HEAD + 'num_queries', HEAD + 'unmixing.num_layers'},
    'unmix-dim-num200': {HEAD + 'num_queries', HEAD + 'unmixing.num_layers'},
    'unmix-dim-num300': {HEAD + 'unmixing.num_layers'},
    'unmix-full-n500': {HEAD + 'num_queries'},
    'unmix-full-n700': {HEAD + 'num_queries'},
    'noaudio-q100': {HEAD + 'num_queries', HEAD + 'unmixing'},
    'noaudio-q200': {HEAD + 'num_queries', HEAD + 'unmixing'},
    'noaudio-q300': {HEAD + 'unmixing'},
}
init_default_scope('avsseg')


def _load(name):
    return Config.fromfile(osp.join(ROOT, f'{name}.py'))


def _diff(a, b):
    """Differing paths; a part switched off (its dict replaced by None in ``b``) counts as its one path."""
    off = [f'{HEAD}{k}' for k in ('unmixing', 'loss_aqdl', 'loss_aqml') if b.model.decode_head.get(k) is None]
    keys = set()
    for key in differing_keys(a.to_dict(), b.to_dict()):
        keys.add(next((p for p in off if key == p or key.startswith(p + '.')), key))
    return keys


def test_every_config_file_is_checked():
    names = {osp.relpath(p, ROOT)[:-3] for p in glob.glob(osp.join(ROOT, '**', '*.py'), recursive=True)}
    ablations = {f'ablations/auss_r101_s4_{k}' for k in ABLATIONS}
    tops = {f'auss_{b}_{s}' for b in ('r50', 'r101', 'pvt') for s in ('s4', 'ms3')}
    tops |= {f'auss_{b}_ms3_{c}' for b in ('r50', 'r101', 'pvt') for c in ('from-s4', 'scratch')}
    assert names == ablations | tops | {'auss_tiny_synthetic_s4', 'auss_tiny_synthetic_ms3'}


def test_paper_recipe():
    cfg = _load('auss_r50_s4')
    head = cfg.model.decode_head
    assert head.num_queries == 300 and head.transformer_decoder.num_layers == 6 and head.unmixing.num_layers == 6
    assert (head.loss_aqdl.loss_weight, head.loss_aqml.loss_weight, head.loss_cls.loss_weight,
            head.loss_dice.loss_weight) == (2.0, 2.0, 5.0, 5.0)
    assert cfg.custom_hooks[-1] == dict(type='DeltaScheduleHook', mode='rising', interval=5000)
    assert cfg.train_cfg.max_iters == 90000 and cfg.total_batch_size == 8
    assert cfg.optim_wrapper.optimizer.lr == 1e-4 and cfg.optim_wrapper.clip_grad.max_norm == 0.01
    assert cfg.model.audio_backbone.freeze


@pytest.mark.parametrize('backbone', ['r101', 'pvt'])
@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_backbone_variants_change_only_the_backbone(backbone, subset):
    keys = _diff(_load(f'auss_r50_{subset}'), _load(f'auss_{backbone}_{subset}'))
    allowed = ('model.backbone.', HEAD + 'in_channels', 'pvt_v2_b5')  # pvt_v2_b5*: the shared definition's variables
    assert keys and all(k.startswith(allowed) for k in keys), keys


@pytest.mark.parametrize('backbone', ['r50', 'r101', 'pvt'])
def test_ms3_family(backbone):
    s4, ms3 = _load(f'auss_{backbone}_s4'), _load(f'auss_{backbone}_ms3')
    assert ms3.train_dataloader.dataset.type == 'AVSBenchMS3Dataset'
    assert all(k.startswith(('train_dataloader.dataset.', 'val_dataloader.dataset.', 'test_dataloader.dataset.',
                             'train_cfg.val_interval', 'dataset_type', 'data_root')) for k in _diff(s4, ms3))
    assert _diff(ms3, _load(f'auss_{backbone}_ms3_from-s4')) == {'load_from'}
    assert _load(f'auss_{backbone}_ms3_from-s4').load_from == f'work_dirs/auss_{backbone}_s4/iter_90000.pth'
    assert _load(f'auss_{backbone}_ms3_scratch').load_from is None


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_ablation_changes_exactly_its_switch(name):
    assert _diff(_load('auss_r101_s4'), _load(f'ablations/auss_r101_s4_{name}')) == ABLATIONS[name]


def _tiny_model(name):
    cfg = _load(name)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_tiny_curriculum_loads_the_s4_weights_key_for_key():
    cfg, model = _tiny_model('auss_tiny_synthetic_s4')
    assert model.decode_head.unmixing.number_proj.shape == (16, 5)
    ms3_cfg, ms3_model = _tiny_model('auss_tiny_synthetic_ms3')
    assert ms3_cfg.load_from == 'work_dirs/auss_tiny_synthetic_s4/iter_1200.pth'
    result = ms3_model.load_state_dict(model.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ms3_model.state_dict()[key], value)
