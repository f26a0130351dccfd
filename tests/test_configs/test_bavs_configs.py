"""BAVS configs: the recipe of bavs.md §3 / §6.3 (stage 1, Table V ablations, stage 2, Table VI), so a drift fails."""
import glob
import os.path as osp

from mmengine.registry import init_default_scope

from avsseg.models.utils.av_tree import AudioVisualTree
from avsseg.testing import get_config

init_default_scope('avsseg')
ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'bavs')
SUBSETS = ('s4', 'ms3', 'avss')
BACKBONES = {'swin-b': 'mmdet.SwinTransformer', 'pvt': 'PVTv2', 'r50': 'ResNet'}
ABLATIONS = {'wo-soao': (False, False), 'cls-only': (True, False), 'ins-only': (False, True)}


def test_every_config_loads_and_is_checked():
    names = {osp.basename(p)[:-3] for p in glob.glob(osp.join(ROOT, 'bavs_*.py'))}
    expected = {f'bavs_psos_{b}_{s}_stage1' for b in BACKBONES for s in SUBSETS}
    expected |= {f'bavs_psos_swin-b_{s}_stage1_{a}' for s in SUBSETS for a in ABLATIONS}
    expected |= {f'bavs_avis_beats_{b}_{s}' for b in BACKBONES for s in SUBSETS}
    expected |= {f'bavs_wo-avis_swin-b_{s}' for s in SUBSETS}
    expected |= {'bavs_tagger_tiny_synthetic_avss', 'bavs_psos_tiny_synthetic_avss_stage1',
                 'bavs_psos_tiny_synthetic_avss_stage1_wo-soao', 'bavs_avis_tiny_synthetic_avss',
                 'bavs_wo-avis_tiny_synthetic_avss'}
    assert names == expected
    for name in names:
        get_config(f'bavs/{name}.py')


def test_stage1_recipe():
    for subset in SUBSETS:
        for backbone, backbone_type in BACKBONES.items():
            cfg = get_config(f'bavs/bavs_psos_{backbone}_{subset}_stage1.py')
            head = cfg.model.decode_head
            assert cfg.model.type == 'PSOSSegmentor' and cfg.model.audio_backbone is None
            assert cfg.model.backbone.type == backbone_type
            assert cfg.model.backbone.init_cfg.type == 'Pretrained'  # ImageNet [P]
            assert head.num_classes == 70 and len(cfg.avss_classes) == 70 and head.num_queries == 100
            assert head.loss_cls.class_weight == [1.0] * 70 + [0.1]
            assert (head.loss_mask.loss_weight, head.loss_dice.loss_weight, head.loss_cls.loss_weight,
                    head.loss_soas.loss_weight) == (20.0, 1.0, 1.0, 1.0)  # A3
            assert head.silent_exclusion and head.instance_filter == 'two_phase' and head.iou_thr == 0.5
            assert head.output == ('semantic' if subset == 'avss' else 'binary')
            assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4, weight_decay=0.0)
            steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
            assert 'LoadSilentObjectLabels' in steps
            resize = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'ClipResize'][0]
            assert tuple(resize['scale']) == (224, 224)
            frames = {'s4': 1, 'ms3': 5, 'avss': 2}[subset]  # labelled frames per clip in a batch
            assert cfg.train_dataloader.batch_size * frames == 20  # batch 20 [P]
        for name, (cls, ins) in ABLATIONS.items():
            head = get_config(f'bavs/bavs_psos_swin-b_{subset}_stage1_{name}.py').model.decode_head
            assert head.silent_exclusion == cls and (head.loss_soas is not None) == ins


def test_stage2_configs():
    tree = AudioVisualTree(osp.join(ROOT, 'trees', 'synthetic_av_tree.json'))
    for subset in SUBSETS:
        for backbone, backbone_type in BACKBONES.items():
            cfg = get_config(f'bavs/bavs_avis_beats_{backbone}_{subset}.py')
            model = cfg.model
            assert model.type == 'BAVSSegmentor' and model.mode == 'avis'
            assert model.backbone.type == backbone_type and cfg.train_dataloader is None
            assert model.audio_backbone.type == 'BEATs' and model.audio_backbone.output == 'probs'
            assert model.audio_backbone.freeze
            integ = model.integrator
            assert integ.tree == 'configs/bavs/trees/avss_av_tree.json' and integ.classes == cfg.avss_classes
            assert (integ.tag_thr, integ.topk, integ.agg, integ.iou_thr) == (0.1, None, 'sum', 0.5)  # A2, A4
            assert integ.fallback_after_direct and integ.consume_on_fallback  # A5
            assert integ.iou_thr == model.decode_head.iou_thr
            steps = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
            assert 'LoadClipWaveform' in steps and cfg.test_dataloader.dataset.audio_source == 'wav'
        assert get_config(f'bavs/bavs_wo-avis_swin-b_{subset}.py').model.mode == 'top1'
    tiny = get_config('bavs/bavs_avis_tiny_synthetic_avss.py')
    assert list(tiny.model.integrator.classes) == list(tree.visual_classes)
    assert get_config('bavs/bavs_wo-avis_tiny_synthetic_avss.py').model.mode == 'top1'
    tiny1 = get_config('bavs/bavs_psos_tiny_synthetic_avss_stage1.py').model.decode_head
    assert tiny1.silent_exclusion and tiny1.loss_soas.loss_weight == 1.0 and tiny1.instance_filter == 'two_phase'
    plain = get_config('bavs/bavs_psos_tiny_synthetic_avss_stage1_wo-soao.py').model.decode_head
    assert not plain.silent_exclusion and plain.loss_soas is None
