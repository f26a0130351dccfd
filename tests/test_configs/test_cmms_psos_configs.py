"""CMMS stage-1 (PSOS) configs: the recipe of seed001.md §3 / §6.3, so a silent drift in a base config fails."""
import glob
import os.path as osp

from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import get_config

init_default_scope('avsseg')
ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'cmms')
CHECKED = {
    'cmms_psos_r50-in1k_s4_stage1', 'cmms_psos_pvt-in1k_s4_stage1', 'cmms_psos_r50-in1k_s4_stage1_wo-soas',
    'cmms_psos_r50-in1k_ms3_stage1', 'cmms_psos_pvt-in1k_ms3_stage1', 'cmms_psos_r50-in1k_ms3_stage1_wo-soas',
    'cmms_psos_tiny_synthetic_s4_stage1', 'cmms_psos_swin-b-coco_s4_stage1', 'cmms_psos_swin-b-coco_ms3_stage1'
}


def test_every_psos_config_is_checked():
    found = {osp.basename(p)[:-3] for p in glob.glob(osp.join(ROOT, 'cmms_psos_*.py'))}
    assert found == CHECKED


def test_stage1_configs():
    """Recipe values of seed001.md §3 / §6.3 (a drift in a base config fails here)."""
    cfg = get_config('cmms/cmms_psos_r50-in1k_s4_stage1.py')
    head = cfg.model.decode_head
    assert cfg.model.type == 'PSOSSegmentor' and cfg.model.audio_backbone is None
    assert head.num_classes == 23 and head.num_queries == 100 and head.transformer_decoder.num_layers == 9
    assert head.loss_cls.loss_weight == 1.0 and head.loss_cls.class_weight == [1.0] * 23 + [0.1]
    assert head.loss_mask.type == 'mmdet.FocalLoss' and head.loss_mask.loss_weight == 20.0
    assert head.loss_dice.loss_weight == 1.0 and head.loss_soas.loss_weight == 1.0
    assert [c.weight for c in head.train_cfg.assigner.match_costs] == [1.0, 20.0, 1.0]
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, weight_decay=0.0)
    assert cfg.train_dataloader.batch_size == cfg.total_batch_size == 32
    steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert steps.index('ClipSelectLabelledFrames') < steps.index('ClipCategoryToLabel')
    for subset in ('s4', 'ms3'):
        ablation = get_config(f'cmms/cmms_psos_r50-in1k_{subset}_stage1_wo-soas.py')
        full = get_config(f'cmms/cmms_psos_r50-in1k_{subset}_stage1.py')
        assert ablation.model.decode_head.loss_soas is None
        ablation.model.decode_head.loss_soas = full.model.decode_head.loss_soas
        assert ablation.to_dict() == full.to_dict()  # the switch is the only difference
    pvt = get_config('cmms/cmms_psos_pvt-in1k_s4_stage1.py').model
    assert pvt.backbone.type == 'PVTv2' and pvt.decode_head.in_channels == [64, 128, 320, 512]
    ms3 = get_config('cmms/cmms_psos_r50-in1k_ms3_stage1.py')
    assert ms3.train_dataloader.dataset.type == 'AVSBenchMS3ClassIndexDataset'
    assert ms3.val_dataloader.dataset.type == 'AVSBenchMS3Dataset' and ms3.train_dataloader.batch_size == 6
    assert ms3.model.decode_head.num_classes == 70 and ms3.model.decode_head.loss_cls.class_weight[-1] == 0.1
    assert len(ms3.model.decode_head.loss_cls.class_weight) == 71
    assert get_config('cmms/cmms_psos_pvt-in1k_ms3_stage1.py').model.backbone.type == 'PVTv2'


def test_param_count_r50_is_near_table5():
    """Sanity check, not parity: PSOS-R50 with K = 23 has about 45.52M parameters (Table 5, audio excluded)."""
    cfg = get_config('cmms/cmms_psos_r50-in1k_s4_stage1.py').model
    cfg.backbone.init_cfg = None
    n = sum(p.numel() for p in MODELS.build(cfg).parameters()) / 1e6
    assert abs(n - 45.52) / 45.52 < 0.1, n


def test_tiny_config_keeps_the_structure():
    cfg = get_config('cmms/cmms_psos_tiny_synthetic_s4_stage1.py')
    head = cfg.model.decode_head
    assert head.type == 'PSOSHead' and head.num_classes == 8 and head.num_queries == 16
    assert head.loss_soas.loss_weight == 1.0 and head.loss_mask.loss_weight == 20.0
    assert head.transformer_decoder.num_layers == 3 and head.pixel_decoder.encoder.num_layers == 1
    steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert steps[3:5] == ['ClipSelectLabelledFrames', 'ClipCategoryToLabel']
    assert [m['type'] for m in cfg.val_evaluator] == ['AVSBinaryMetric', 'PotentialInstanceMetric']


def test_swin_b_base_is_near_table5():
    """Sanity check, not parity: PSOS-Swin-B has about 101.80M parameters (Table 5 / BAVS Table IV)."""
    cfg = get_config('_base_/models/psos_swin-b.py').model
    assert cfg.backbone.type == 'mmdet.SwinTransformer' and cfg.decode_head.in_channels == [128, 256, 512, 1024]
    cfg.backbone.init_cfg = None
    n = sum(p.numel() for p in MODELS.build(cfg).parameters()) / 1e6
    assert abs(n - 101.80) / 101.80 < 0.1, n


def test_tiny_config_starts_from_the_bavs_tiny_psos():
    """The tiny stage 1 starts from a trained PSOS (the stand-in for COCO): the BAVS tiny w/o-SOAO stage 1 must be the
    same network, key for key and shape for shape, so that load_from fills every weight."""
    cfg = get_config('cmms/cmms_psos_tiny_synthetic_s4_stage1.py')
    assert cfg.load_from == 'work_dirs/bavs_psos_tiny_synthetic_avss_stage1_wo-soao/iter_900.pth'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4 and cfg.train_cfg.max_iters == 300
    source = get_config('bavs/bavs_psos_tiny_synthetic_avss_stage1_wo-soao.py').model
    ours = MODELS.build(cfg.model).state_dict()
    theirs = MODELS.build(source).state_dict()
    assert ours.keys() == theirs.keys()
    assert all(ours[k].shape == theirs[k].shape for k in ours)
