"""PSOSSegmentor: the tiny CMMS stage-1 config end to end (loss, top-1 prediction, pred_instances at ori_shape)."""
import pytest
import torch
from mmengine.registry import init_default_scope

from avsseg.evaluation import check_model_classes
from avsseg.models.segmentors import PSOSSegmentor
from avsseg.registry import MODELS
from avsseg.testing import demo_clip_inputs, get_config

init_default_scope('avsseg')
K = 8
SIZE = 40  # padded to 64 by the size_divisor, so the padding is cropped


def tiny_model():
    cfg = get_config('cmms/cmms_psos_tiny_synthetic_s4_stage1.py').model
    cfg.decode_head.update(num_queries=6, train_cfg=dict(num_points=256))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(model, training, labeled=None, padded=None, num_classes=2):
    return demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=training, num_clips=2, num_frames=2,
                            size=SIZE, num_classes=num_classes, labeled=labeled, padded=padded, seed=0)


def test_loss_on_class_index_ground_truth():
    model = tiny_model()
    assert isinstance(model, PSOSSegmentor) and model.audio_backbone is None
    torch.manual_seed(0)
    losses = model(**batch(model, True, labeled=[True, False], num_classes=K + 1), mode='loss')
    assert {'decode.loss_soas', 'decode.d0.loss_soas', 'decode.loss_cls', 'decode.loss_mask'} <= set(losses)
    sum(losses.values()).backward()


def test_predict_carries_the_instances_of_the_same_pass():
    model = tiny_model().eval()
    data = batch(model, False, padded=[False, True])
    with torch.no_grad():
        results = model(**data, mode='predict')
        feats = model.extract_feat(data['inputs'], data['data_samples'])
        metas = [s.metainfo for s in data['data_samples']]
        direct = model.decode_head.predict_instances(feats, metas)
    assert len(results) == 4
    for t, (sample, inst) in enumerate(zip(results, direct)):
        assert sample.seg_logits.data.shape == (2, SIZE, SIZE)
        pred = sample.pred_instances
        assert set(pred.keys()) == {'labels', 'scores', 'cls_probs', 'masks'}
        if t % 2 == 1:  # padded frame: background, no instance
            assert len(pred) == 0 and sample.pred_sem_seg.data.eq(0).all()
            continue
        assert torch.equal(pred.labels, inst.labels) and torch.equal(pred.scores, inst.scores)
        assert pred.masks.shape == (len(inst), SIZE, SIZE) and pred.masks.dtype == torch.bool
        # the top-1 map is the first instance's mask (same logits, same resize)
        top1 = pred.masks[0] if len(pred) else torch.zeros(SIZE, SIZE, dtype=torch.bool)
        assert torch.equal(sample.pred_sem_seg.data[0].bool(), top1)


def test_class_count_is_the_predicted_maps():
    model = tiny_model()
    assert model.decode_head.num_classes == K
    check_model_classes(model, dict(classes=('background', 'object')))
    with pytest.raises(ValueError, match='eval_num_classes|num_classes'):
        check_model_classes(model, dict(classes=('background', ) + tuple('abcdefgh')))
    with pytest.raises(TypeError, match='PSOSHead'):
        cfg = get_config('_base_/models/combo_r50.py').model
        cfg.type = 'PSOSSegmentor'
        cfg.audio_backbone = None
        cfg.backbone.backbone.init_cfg = None
        MODELS.build(cfg)


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
    assert get_config('cmms/cmms_psos_r50-in1k_s4_stage1_wo-soas.py').model.decode_head.loss_soas is None
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
