"""CMMS stage-2 (AVSC) and "w/o AVSC" configs: the paper's recipe values (seed001.md §3, §6.3, §7 test 12)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import get_config

init_default_scope('avsseg')
CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs', 'cmms')
STAGE2 = sorted(glob.glob(osp.join(CONFIGS, 'cmms_avsc_*_stage2.py')))
FULL_STAGE2 = [c for c in STAGE2 if 'tiny' not in c]


def test_every_table_has_its_stage2_config():
    names = {osp.basename(c) for c in STAGE2}
    for backbone in ('beats_swin-b', 'vggish_r50', 'vggish_pvt'):
        for subset in ('s4', 'ms3'):
            assert f'cmms_avsc_{backbone}_{subset}_stage2.py' in names
    for subset in ('s4', 'ms3'):
        assert osp.exists(osp.join(CONFIGS, f'cmms_wo-avsc_swin-b_{subset}.py'))


@pytest.mark.parametrize('path', FULL_STAGE2, ids=osp.basename)
def test_stage2_recipe(path):
    cfg = Config.fromfile(path)
    model = cfg.model
    assert model.type == 'AVSCSegmentor' and model.instance_source == 'online'
    assert model.stage1_checkpoint and model.backbone.init_cfg is None  # stage 1 comes from its checkpoint only
    assert cfg.optim_wrapper.optimizer.type == 'Adam' and cfg.optim_wrapper.optimizer.lr == 1e-3
    head = model.avsc_head
    assert head.type == 'AVSCHead' and head.activation == 'sigmoid' and head.compose == 'sum'
    assert head.num_classes == model.decode_head.num_classes == (23 if '_s4_' in path else 70)
    assert tuple(head.hidden_channels) == (512, ) and head.loss_weight == 1.0
    assert model.freeze_audio_backbone
    frames = cfg.train_dataloader.batch_size * (1 if '_s4_' in path else 5)
    transforms = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert not {'ClipRandomResize', 'ClipRandomCrop', 'RandomFlip', 'ClipCategoryToLabel'} & set(transforms)
    if 'beats' in path:
        assert model.audio_backbone.type == 'BEATs' and model.audio_backbone.output == 'embedding'
        assert head.in_channels == 768 and 'LoadClipWaveform' in transforms
        assert frames in (64, 65)  # batch 64 [P]; 13 MS3 clips x 5 frames
    else:
        assert model.audio_backbone.type == 'VGGish' and head.in_channels == 128 and 'LoadClipAudio' in transforms
        assert frames == 20  # Tables 7/8 batch 20 [P]
    if '_s4_' in path:
        assert 'ClipSelectLabelledFrames' in transforms
    else:
        assert cfg.train_dataloader.dataset.type == 'AVSBenchMS3Dataset'  # binary masks for L_avc


@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_wo_avsc_is_the_stage1_model_of_the_main_setting(subset):
    wo = Config.fromfile(osp.join(CONFIGS, f'cmms_wo-avsc_swin-b_{subset}.py'))
    main = Config.fromfile(osp.join(CONFIGS, f'cmms_avsc_beats_swin-b_{subset}_stage2.py'))
    assert wo.model.type == 'PSOSSegmentor' and wo.model.audio_backbone is None
    assert wo.model.backbone.to_dict() == main.model.backbone.to_dict()
    assert wo.model.decode_head.to_dict() == main.model.decode_head.to_dict()
    assert wo.train_dataloader is None and wo.val_dataloader is None


def test_tiny_stage2_builds_and_matches_stage1():
    stage1 = get_config('cmms/cmms_psos_tiny_synthetic_s4_stage1.py').model
    cfg = get_config('cmms/cmms_avsc_tiny_synthetic_s4_stage2.py').model
    assert cfg.backbone.to_dict() == stage1.backbone.to_dict()
    assert cfg.decode_head.to_dict() == stage1.decode_head.to_dict()
    cfg.stage1_checkpoint = None
    model = MODELS.build(cfg)
    assert model.avsc_head.num_classes == model.decode_head.num_classes == 8


def test_tiny_tagger_variant_freezes_the_pretrained_tagger(tmp_path):
    """One switch from the from-scratch tiny stage 2: the audio model is the BAVS stand-in tagger, loaded from its
    checkpoint at init, frozen, giving its 128-d embedding; only the AVSC MLP trains."""
    base = get_config('cmms/cmms_avsc_tiny_synthetic_s4_stage2.py')
    cfg = get_config('cmms/cmms_avsc-tagger_tiny_synthetic_s4_stage2.py')
    assert cfg.model.audio_backbone.type == 'LogMelTagger' and cfg.model.audio_backbone.output == 'embedding'
    assert cfg.model.audio_front_end is None and cfg.model.freeze_audio_backbone
    for key in ('backbone', 'decode_head', 'avsc_head', 'stage1_checkpoint'):
        assert cfg.model[key] == base.model[key], key
    assert cfg.train_dataloader == base.train_dataloader and cfg.optim_wrapper == base.optim_wrapper
    cfg.model.stage1_checkpoint = None
    tagger = MODELS.build(cfg.model).audio_backbone  # a random tagger stands in for the trained one
    ckpt = tmp_path / 'tagger.pth'
    torch.save(dict(state_dict={f'audio_backbone.{k}': v for k, v in tagger.state_dict().items()}), ckpt)
    cfg.model.audio_backbone.init_cfg.checkpoint = str(ckpt)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert all(torch.equal(v, tagger.state_dict()[k]) for k, v in model.audio_backbone.state_dict().items())
    trainable = {n.split('.')[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'avsc_head'}
    model.train()
    assert not model.audio_backbone.training
    assert model.extract_audio_feat(torch.randn(3, 16000)).shape == (3, 128)
