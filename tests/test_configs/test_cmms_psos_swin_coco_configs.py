"""CMMS stage-1 Swin-B configs with the COCO Mask2Former initialisation (seed001.md §1.1, §3): the R50 recipe with
one switch (the backbone and its widths, plus load_from), and a model the converted file fits."""
import pytest
from config_diff import differing_keys
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import get_config

init_default_scope('avsseg')
COCO_INIT = 'pretrained/mask2former_swin-b_coco_psos.pth'
SWITCH = {'model.backbone', 'model.decode_head.in_channels', 'load_from', 'swin_b_mask2former', 'swin_b_channels'}


def _switched(keys):
    return {k for k in keys if not any(k == s or k.startswith(s + '.') for s in SWITCH)}


@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_one_switch_from_the_r50_recipe(subset):
    swin = get_config(f'cmms/cmms_psos_swin-b-coco_{subset}_stage1.py')
    r50 = get_config(f'cmms/cmms_psos_r50-in1k_{subset}_stage1.py')
    assert _switched(differing_keys(swin.to_dict(), r50.to_dict())) == set()
    assert swin.load_from == COCO_INIT and r50.load_from is None
    assert swin.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, weight_decay=0.0)
    head = swin.model.decode_head
    assert head.num_queries == 100 and head.in_channels == [128, 256, 512, 1024]
    assert head.num_classes == (23 if subset == 's4' else 70)
    # the Swin-B of psos_swin-b.py (mmdet's COCO Mask2Former Swin-B), without the ImageNet-22k file
    base = dict(get_config('_base_/models/psos_swin-b.py').model.backbone)
    backbone = dict(swin.model.backbone)
    assert backbone.pop('init_cfg') is None and backbone.pop('convert_weights') is False
    base.pop('init_cfg'), base.pop('convert_weights')
    assert backbone == base
    if subset == 's4':
        steps = [t['type'] for t in swin.train_dataloader.dataset.pipeline]
        assert steps.index('ClipSelectLabelledFrames') < steps.index('ClipCategoryToLabel')
        assert swin.train_dataloader.batch_size == 32


def test_stage2_configs_point_to_these_stage1_runs():
    """The stage-2 Swin-B configs freeze these stage-1 runs: the default checkpoint name and the same backbone."""
    for subset in ('s4', 'ms3'):
        stage1 = get_config(f'cmms/cmms_psos_swin-b-coco_{subset}_stage1.py').model
        stage2 = get_config(f'cmms/cmms_avsc_beats_swin-b_{subset}_stage2.py').model
        assert stage2.stage1_checkpoint == f'checkpoints/cmms_psos_swin-b-coco_{subset}_stage1.pth'
        assert stage2.backbone == stage1.backbone
        assert stage2.decode_head.num_classes == stage1.decode_head.num_classes
        assert get_config(f'cmms/cmms_wo-avsc_swin-b_{subset}.py').model.backbone == stage1.backbone


def _state_shapes(cfg_model):
    cfg_model.backbone.init_cfg = None  # psos_swin-b.py's ImageNet file is not read by building, but be explicit
    return {k: tuple(v.shape) for k, v in MODELS.build(cfg_model).state_dict().items()}


def test_models_build_and_the_converter_target_fits_both():
    """The converter checks against psos_swin-b.py (K = 23); the S4 and MS3 models must have the same keys and
    shapes apart from the class head, so one converted file serves both."""
    target = _state_shapes(get_config('_base_/models/psos_swin-b.py').model)
    for subset, k in (('s4', 23), ('ms3', 70)):
        shapes = _state_shapes(get_config(f'cmms/cmms_psos_swin-b-coco_{subset}_stage1.py').model)
        assert shapes['decode_head.cls_embed.weight'] == (k + 1, 256)
        assert set(shapes) == set(target)
        assert {n for n in shapes if shapes[n] != target[n]} == ({'decode_head.cls_embed.weight',
                                                                  'decode_head.cls_embed.bias'} if k != 23 else set())
