"""BAVSSegmentor (BAVS stage 2): frozen, loss raises, AVIS painting, top-1 = stage 1, masks invariant to the audio."""
import pytest
import torch
from mmengine.registry import init_default_scope

from avsseg.models.segmentors import BAVSSegmentor, PSOSSegmentor
from avsseg.registry import MODELS
from avsseg.testing import demo_clip_inputs, get_config

init_default_scope('avsseg')
K = 8
L = 9  # synthetic tags: 8 categories + noise
SIZE = 64  # a multiple of the size divisor: no padding, so masks at ori_shape are the painted masks


def stage2_cfg(output='semantic', mode='avis'):
    cfg = get_config('bavs/bavs_avis_tiny_synthetic_avss.py').model
    cfg.decode_head.update(num_queries=8, output=output, train_cfg=dict(num_points=256))
    cfg.mode = mode
    return cfg


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def batch(model, padded=None):
    return demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=False, num_clips=2, num_frames=2,
                            size=SIZE, num_classes=K + 1, padded=padded, audio_shape=(16000, ), seed=0)


def fix_tags(model, probs):
    """Replace the tagger's output by ``probs`` ``[L]`` for every frame."""
    model.audio_backbone.forward = lambda wave: probs.expand(wave.shape[0], -1).clone()


def reference_map(model, inst, probs):
    """Label map painted from integrate_instances' sounding masks, the highest score winning overlaps."""
    sounding = model.integrator.integrate_instances(inst, probs, model.label_mids).tolist()
    label_map = torch.zeros(SIZE, SIZE, dtype=torch.long)
    for j in sorted(sounding, key=lambda i: float(inst.scores[i])):
        label_map[inst.masks[j]] = int(inst.labels[j]) + 1
    return label_map, sounding


def test_frozen_and_loss_raises():
    model = build(stage2_cfg())
    assert isinstance(model, BAVSSegmentor)
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training and not model.audio_backbone.training and not model.backbone.training
    data = batch(model)
    with pytest.raises(RuntimeError, match='training-free'):
        model(**data, mode='loss')


def test_avis_paints_the_sounding_masks_and_silence_empties():
    model = build(stage2_cfg())
    data = batch(model, padded=[False, True])
    tags = torch.zeros(L)
    tags[[0, 2, 5]] = 0.9  # disc, triangle, star heard
    fix_tags(model, tags)
    with torch.no_grad():
        results = model(**data, mode='predict')
        feats = model.extract_feat(data['inputs'], data['data_samples'])
        direct = model.decode_head.predict_instances(feats, [s.metainfo for s in data['data_samples']])
    heard = 0
    for t, (sample, inst) in enumerate(zip(results, direct)):
        pred = sample.pred_instances
        if t % 2 == 1:  # padded frame
            assert len(pred) == 0 and sample.pred_sem_seg.data.eq(0).all()
            continue
        expected, sounding = reference_map(model, inst, tags)
        heard += len(sounding)
        assert torch.equal(sample.pred_sem_seg.data[0].long(), expected)
        assert torch.equal(pred.sounding.nonzero(as_tuple=True)[0], torch.tensor(sorted(sounding), dtype=torch.long))
        assert torch.equal(sample.pred_tag_probs, tags)
    assert heard > 0  # the case is not vacuous
    # silence (or noise only): nothing tagged above tag_thr -> empty prediction, same potential instances
    quiet = torch.zeros(L)
    quiet[8] = 0.99  # only the non-visual noise tag
    fix_tags(model, quiet)
    with torch.no_grad():
        silent = model(**data, mode='predict')
    for sample, before in zip(silent, results):
        assert sample.pred_sem_seg.data.eq(0).all() and not sample.pred_instances.sounding.any()
        assert torch.equal(sample.pred_instances.masks, before.pred_instances.masks)  # stage 1 ignores the audio
        assert torch.equal(sample.pred_instances.labels, before.pred_instances.labels)


def test_binary_output_is_the_union():
    model = build(stage2_cfg(output='binary'))
    data = batch(model)
    tags = torch.ones(L)
    fix_tags(model, tags)
    with torch.no_grad():
        results = model(**data, mode='predict')
    for sample in results:
        pred = sample.pred_instances
        union = pred.masks[pred.sounding].any(dim=0) if pred.sounding.any() else torch.zeros(SIZE, SIZE, dtype=bool)
        assert sample.seg_logits.data.shape == (2, SIZE, SIZE)
        assert torch.equal(sample.pred_sem_seg.data[0].bool(), union)
        prob = sample.seg_logits.data.softmax(0)[1]
        assert ((prob > 0.99) | (prob < 0.01)).all()


def test_top1_equals_the_stage1_model_and_the_instances_match():
    """The composed model reproduces stage 1: same top-1 logits, same potential instance sets, bit for bit."""
    model = build(stage2_cfg(mode='top1'))
    s1_cfg = get_config('bavs/bavs_psos_tiny_synthetic_avss_stage1.py').model
    s1_cfg.decode_head.update(num_queries=8, train_cfg=dict(num_points=256))
    stage1 = MODELS.build(s1_cfg).eval()
    assert isinstance(stage1, PSOSSegmentor) and not isinstance(stage1, BAVSSegmentor)
    missing, unexpected = stage1.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith('audio_backbone.')}, strict=True)
    data = batch(model)
    with torch.no_grad():
        ours = model(**data, mode='predict')
        theirs = stage1(**data, mode='predict')
    for a, b in zip(ours, theirs):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        for key in ('labels', 'scores', 'masks'):
            assert torch.equal(a.pred_instances.get(key), b.pred_instances.get(key))


def test_configuration_errors():
    cfg = stage2_cfg()
    cfg.decode_head.instance_filter = 'category_score'
    with pytest.raises(ValueError, match='two_phase'):
        MODELS.build(cfg)
    cfg = stage2_cfg()
    cfg.integrator.classes = ('disc', 'square')
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(cfg)
    cfg = stage2_cfg()
    cfg.audio_backbone.output = 'embedding'
    with pytest.raises(ValueError, match="'probs'"):
        MODELS.build(cfg)
    cfg = stage2_cfg()
    cfg.label_mids = ['/m/unknown'] * L
    with pytest.raises(Exception, match='/m/unknown'):
        MODELS.build(cfg)
    cfg = stage2_cfg()
    cfg.mode = 'top3'
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(cfg)
