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


def test_stage1_is_invariant_to_the_audio():
    model = tiny_model().eval()
    data = batch(model, False)
    with torch.no_grad():
        first = model(**data, mode='predict')
        data['inputs']['audio'] = torch.randn_like(data['inputs']['audio'])
        second = model(**data, mode='predict')
    for a, b in zip(first, second):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)
