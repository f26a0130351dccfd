"""The TPAVI configs carry the official recipes and build."""
import os.path as osp

import pytest
import torch
from config_diff import differing_keys
from mmengine.config import Config
from mmengine.registry import init_default_scope

import avsseg  # noqa: F401
from avsseg.registry import MODELS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'tpavi')


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


@pytest.mark.parametrize('backbone', ['r50', 'pvt'])
def test_official_recipes(backbone):
    s4, ms3, avss = (load(f'tpavi_{backbone}_{subset}.py') for subset in ('s4', 'ms3', 'avss'))
    for cfg, epochs in ((s4, 15), (ms3, 30), (avss, 60)):
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, weight_decay=0.0)
        assert cfg.train_dataloader.batch_size == 4
        assert cfg.model.neck.tpavi_stages == (0, 1, 2, 3)
    # S4 / MS3 train on the plain 224x224 frames; AVSS on short side 224 + centre crop.
    for cfg in (s4, ms3):
        assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline][-2] == 'ClipResize'
        assert cfg.model.decode_head.out_channels == 1
    assert s4.model.decode_head.loss_avm is None
    assert ms3.model.decode_head.loss_avm.loss_weight == 0.5
    assert ms3.model.decode_head.loss_avm.frame_reduction == 'sum'
    assert avss.model.decode_head.num_classes == avss.model.decode_head.out_channels == 71
    assert avss.model.decode_head.loss_avm.frame_reduction == 'mean'
    assert avss.model.neck.align_bias is False
    assert avss.test_evaluator.type == 'AVSSemanticMetric'


@pytest.mark.parametrize('subset', ['s4', 'ms3', 'avss'])
def test_pvt_config_is_the_r50_config_with_the_backbone_swapped(subset):
    """tpavi_pvt_<subset> inherits tpavi_r50_<subset> and changes the backbone and the neck's stage widths only."""
    pvt_cfg = load(f'tpavi_pvt_{subset}.py')
    allowed = ('model.backbone.', 'model.neck.in_channels', 'pvt_v2_b5')
    diff = differing_keys(load(f'tpavi_r50_{subset}.py').to_dict(), pvt_cfg.to_dict())
    assert all(k.startswith(allowed) for k in diff), sorted(diff)
    assert all(any(k.startswith(a) for k in diff) for a in allowed), sorted(diff)
    model_base = Config.fromfile(osp.join(CONFIG_DIR, '..', '_base_', 'models', 'tpavi_pvt.py')).model
    assert pvt_cfg.model.backbone == model_base.backbone and pvt_cfg.model.backbone.type == 'PVTv2'
    assert pvt_cfg.model.neck.in_channels == [64, 128, 320, 512]


def test_r50_ms3_model_builds_and_runs():
    init_default_scope('avsseg')
    cfg = load('tpavi_r50_ms3.py')
    cfg.model.audio_backbone.pretrained = None
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    # 69.34M without VGGish, the official model minus its two unused ResNet branches (docs/tpavi.md)
    visual = sum(p.numel() for n, p in model.named_parameters() if not n.startswith('audio_backbone.'))
    assert abs(visual / 1e6 - 69.34) < 0.005
    frames = torch.randn(5, 3, 64, 64)
    audio = torch.randn(5, 1, 96, 64)
    with torch.no_grad():
        feats = model.extract_feat(dict(frames=frames, audio=audio), [_Sample(num_frames=5)] * 5)
    assert [f.shape[1] for f in feats] == [256] * 4
    assert len(feats.extras['tpavi_audio']) == 4 and feats.audio.shape == (5, 128)


class _Sample:

    def __init__(self, **meta):
        self.metainfo = dict(is_padded=False, **meta)
