"""Every COMBO config parses, follows the official recipe, builds (shrunk), and each ablation changes exactly
the switch it is named after."""
import glob
import os.path as osp

import pytest
from config_diff import differing_keys
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import tiny_model_cfg

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'combo')
TOP = {
    # name: (iterations, amp, num_classes, lambda_ada)
    'combo_r50_s4': (90000, False, 2, 10.0),
    'combo_r50_ms3': (20000, False, 2, 10.0),
    'combo_r50_avss': (90000, True, 71, 5.0),
    'combo_pvt_s4': (90000, False, 2, 10.0),
    'combo_pvt_ms3': (20000, False, 2, 10.0),
    'combo_pvt_avss': (90000, True, 71, 5.0),
}
PIPELINES = ('train_dataloader.dataset.pipeline', 'val_dataloader.dataset.pipeline',
             'test_dataloader.dataset.pipeline')
# ablation suffix: (paths allowed and required to differ from the parent, check on the built model)
ABLATIONS = {
    'wo-sem': (('model.backbone.use_maskige', ) + PIPELINES, lambda m: m.backbone.maskige_encoder is None),
    'shared-sem': (('model.backbone.share_weights', ),
                   lambda m: m.backbone.maskige_encoder is m.backbone.image_encoder),
    'fusion-none': (('model.decode_head.fusion.mode', ), lambda m: m.decode_head.fusion.mode == 'none'),
    'fusion-visual': (('model.decode_head.fusion.mode', ), lambda m: m.decode_head.fusion.mode == 'visual'),
    'fusion-audio': (('model.decode_head.fusion.mode', ), lambda m: m.decode_head.fusion.mode == 'audio'),
    'queries-all': (('model.decode_head.query_fuse', ), lambda m: not hasattr(m.decode_head, 'query_feat')),
    'ada-0': (('model.decode_head.loss_ada', ), lambda m: m.decode_head.loss_ada is None),
    'ada-5': (('model.decode_head.loss_ada.loss_weight', ), lambda m: m.decode_head.loss_ada.loss_weight == 5),
    'ada-10': (('model.decode_head.loss_ada.loss_weight', ), lambda m: m.decode_head.loss_ada.loss_weight == 10),
    'ada-20': (('model.decode_head.loss_ada.loss_weight', ), lambda m: m.decode_head.loss_ada.loss_weight == 20),
}
# models build their data preprocessor through the default scope
init_default_scope('avsseg')


def _load(name):
    sub = 'ablations' if name.count('_') > 2 and 'synthetic' not in name else ''
    return Config.fromfile(osp.join(ROOT, sub, f'{name}.py'))


def test_every_combo_config_is_covered():
    found = {osp.splitext(osp.basename(p))[0] for p in glob.glob(osp.join(ROOT, '**', '*.py'), recursive=True)}
    expected = set(TOP) | {'combo_tiny_synthetic_s4', 'combo_tiny_synthetic_s4_wo-sem'}
    for subset, default in (('s4', 'ada-10'), ('avss', 'ada-5')):
        expected |= {f'combo_r50_{subset}_{a}' for a in ABLATIONS if a != default}
    assert found == expected


@pytest.mark.parametrize('name', sorted(TOP))
def test_top_level_configs_follow_the_official_recipe(name):
    iters, amp, num_classes, lambda_ada = TOP[name]
    cfg = _load(name)
    assert cfg.train_cfg.max_iters == iters and cfg.param_scheduler[0].end == iters
    assert cfg.param_scheduler[0].type == 'PolyLR' and cfg.param_scheduler[0].power == 0.9
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper' if amp else 'OptimWrapper')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 0.05)
    assert cfg.optim_wrapper.clip_grad.max_norm == 0.01
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert keys.backbone.lr_mult == 0.1 and keys['backbone.gates'].lr_mult == 1.0
    assert keys.query_feat.decay_mult == keys.level_embed.decay_mult == keys.audio_pos.decay_mult == 0
    assert cfg.train_dataloader.batch_size == 8
    for path in PIPELINES:
        types = [t['type'] for t in _flatten_get(cfg, path)]
        assert types[types.index('LoadClipFrames') + 1] == 'LoadClipMaskige', (path, types)
    head = cfg.model.decode_head
    assert head.num_classes == num_classes and len(head.loss_cls.class_weight) == num_classes + 1
    assert head.loss_cls.class_weight[-1] == 0.1 and head.loss_ada.loss_weight == lambda_ada
    assert (head.loss_cls.loss_weight, head.loss_mask.loss_weight, head.loss_dice.loss_weight) == (2.0, 5.0, 5.0)

    model = MODELS.build(tiny_model_cfg(cfg.model))
    assert type(model).__name__ == 'AudioVisualSegmentor' and model.backbone_extra_inputs == ('maskige', )
    assert model.decode_head.num_classes == num_classes
    assert model.backbone.maskige_encoder is not model.backbone.image_encoder


def _flatten_get(cfg, path):
    node = cfg
    for key in path.split('.'):
        node = node[key]
    return node


@pytest.mark.parametrize('subset,ablation', [(s, a) for s in ('s4', 'avss') for a in ABLATIONS
                                             if (s, a) not in (('s4', 'ada-10'), ('avss', 'ada-5'))])
def test_ablation_changes_exactly_its_switch(subset, ablation):
    child_cfg = _load(f'combo_r50_{subset}_{ablation}')
    allowed, check = ABLATIONS[ablation]
    diff = differing_keys(_load(f'combo_r50_{subset}').to_dict(), child_cfg.to_dict())
    assert diff, 'the ablation changes nothing'
    assert all(any(k.startswith(a) for a in allowed) for k in diff), sorted(diff)
    assert all(any(k.startswith(a) for k in diff) for a in allowed), (allowed, sorted(diff))
    if ablation == 'wo-sem':
        for path in PIPELINES:
            types = [t['type'] for t in _flatten_get(child_cfg, path)]
            assert 'LoadClipMaskige' not in types and 'LoadClipFrames' in types
    assert check(MODELS.build(tiny_model_cfg(child_cfg.model)))


PVT_KEYS = ('model.backbone.backbone.', 'model.backbone.in_channels', 'model.decode_head.in_channels', 'pvt_v2_b5')


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_pvt_config_is_the_r50_config_with_the_backbone_swapped(subset):
    """combo_pvt_<subset> inherits combo_r50_<subset>: the official PVT recipe differs only in the encoders."""
    pvt_cfg = _load(f'combo_pvt_{subset}')
    diff = differing_keys(_load(f'combo_r50_{subset}').to_dict(), pvt_cfg.to_dict())
    assert all(k.startswith(PVT_KEYS) for k in diff), sorted(diff)
    assert all(any(k.startswith(a) for k in diff) for a in PVT_KEYS), sorted(diff)
    model_base = Config.fromfile(osp.join(ROOT, '..', '_base_', 'models', 'combo_pvt.py')).model
    assert pvt_cfg.model.backbone == model_base.backbone and pvt_cfg.model.backbone.backbone.type == 'PVTv2'
    assert pvt_cfg.model.decode_head.in_channels == [64, 128, 320, 512]


def test_param_groups_of_the_official_recipe():
    from mmengine.optim import build_optim_wrapper
    cfg = _load('combo_r50_s4')
    model = MODELS.build(tiny_model_cfg(cfg.model))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = {}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            groups[id(p)] = (group['lr'], group['weight_decay'])
    named = dict(model.named_parameters())

    def lr_wd(name):
        return groups[id(named[name])]

    assert lr_wd('backbone.image_encoder.conv1.weight') == (1e-5, 0.05)  # backbone lr x0.1
    assert lr_wd('backbone.separate_maskige_encoder.layer1.0.conv1.weight') == (1e-5, 0.05)
    assert lr_wd('backbone.gates.0.se.conv1.conv.weight') == (1e-4, 0.05)  # official gates sit outside it
    for name in ('decode_head.query_feat.weight', 'decode_head.query_embed.weight', 'decode_head.level_embed.weight',
                 'decode_head.fusion.level_embeds.0', 'decode_head.fusion.audio_pos.weight',
                 'decode_head.fusion.visual_norms.0.weight'):
        assert lr_wd(name) == (1e-4, 0.0), name
    assert lr_wd('decode_head.fusion.gamma_v.0') == (1e-4, 0.05)
    assert lr_wd('decode_head.audio_mlp.layers.0.weight') == (1e-4, 0.05)


def test_quickstart_config_keeps_the_combo_structure():
    """The small COMBO of the README quickstart: smaller sizes, the paper's parts and loss weights."""
    cfg = _load('combo_tiny_synthetic_s4')
    head = cfg.model.decode_head
    assert (head.loss_cls.loss_weight, head.loss_mask.loss_weight, head.loss_dice.loss_weight) == (2.0, 5.0, 5.0)
    assert head.loss_cls.class_weight == [1.0, 1.0, 0.1] and head.loss_ada.loss_weight == 10.0
    assert head.pixel_decoder.type == 'mmdet.MSDeformAttnPixelDecoder'
    for path in PIPELINES:
        types = [t['type'] for t in _flatten_get(cfg, path)]
        assert types[types.index('LoadClipFrames') + 1] == 'LoadClipMaskige', (path, types)
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'AudioVisualSegmentor' and model.backbone_extra_inputs == ('maskige', )
    assert model.backbone.maskige_encoder is not model.backbone.image_encoder
    assert model.backbone.gates[0].gate_type == 'se' and model.decode_head.fusion.mode == 'bilateral'
    assert model.decode_head.query_fuse == 'add' and hasattr(model.decode_head, 'query_feat')
    assert len(model.decode_head.transformer_decoder.layers) == 3
    assert sum(p.numel() for p in model.parameters()) < 2e6


def test_quickstart_wo_sem_changes_exactly_the_siam_encoder():
    """The quickstart without Siam-Encoder differs from the quickstart config only in the Maskige switch and
    the Maskige loading, like the paper-size wo-sem ablations."""
    child_cfg = _load('combo_tiny_synthetic_s4_wo-sem')
    allowed, check = ABLATIONS['wo-sem']
    diff = differing_keys(_load('combo_tiny_synthetic_s4').to_dict(), child_cfg.to_dict())
    assert diff and all(any(k.startswith(a) for a in allowed) for k in diff), sorted(diff)
    for path in PIPELINES:
        types = [t['type'] for t in _flatten_get(child_cfg, path)]
        assert 'LoadClipMaskige' not in types and 'LoadClipFrames' in types
    assert check(MODELS.build(child_cfg.model))


# --------------------------------------------------------------------------- official augmentation (issue 9)
def _transforms(cfg, path, type_name):
    return [t for t in _flatten_get(cfg, path) if t['type'] == type_name]


@pytest.mark.parametrize('name', sorted(TOP))
def test_colour_jitter_is_drawn_per_frame_and_per_maskige_as_official(name):
    cfg = _load(name)
    jitters = _transforms(cfg, 'train_dataloader.dataset.pipeline', 'ClipPhotoMetricDistortion')
    assert len(jitters) == 1
    assert jitters[0].get('per_frame') is True and tuple(jitters[0].get('aux_image_keys', ())) == ('maskige', )


@pytest.mark.parametrize('name', ['combo_r50_avss', 'combo_pvt_avss'])
def test_avss_maskiges_are_resized_nearest_and_frames_antialiased(name):
    cfg = _load(name)
    for path, type_name in (('train_dataloader.dataset.pipeline', 'ClipRandomResize'),
                            ('test_dataloader.dataset.pipeline', 'ClipResize'),
                            ('val_dataloader.dataset.pipeline', 'ClipResize')):
        (resize, ) = _transforms(cfg, path, type_name)
        assert dict(resize.aux_interpolation) == {'maskige': 'nearest'} and resize.backend == 'pillow', path


def test_wo_sem_jitters_no_maskige():
    for subset in ('s4', 'avss'):
        (jitter, ) = _transforms(_load(f'combo_r50_{subset}_wo-sem'), 'train_dataloader.dataset.pipeline',
                                 'ClipPhotoMetricDistortion')
        assert jitter.per_frame is True and tuple(jitter.aux_image_keys) == ()


@pytest.mark.parametrize('name', sorted(TOP))
def test_official_model_selection(name):
    """Best checkpoint on val (S4/MS3: mJ, AVSS: mIoU), validated every 5000 iterations (MS3: 400)."""
    cfg = _load(name)
    assert cfg.default_hooks.checkpoint.save_best == ('mIoU' if 'avss' in name else 'mJ')
    assert cfg.default_hooks.checkpoint.rule == 'greater'
    assert cfg.train_cfg.val_interval == (400 if 'ms3' in name else 5000)
