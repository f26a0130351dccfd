"""AVSCSegmentor: stage 1 really loaded and frozen, only the audio branch and AVSC train, the 1-channel output."""
import pytest
import torch
from mmengine.registry import init_default_scope

from avsseg.models.segmentors import AVSCSegmentor
from avsseg.registry import MODELS
from avsseg.structures import AVFeatures
from avsseg.testing import demo_clip_inputs, get_config

init_default_scope('avsseg')
SIZE = 32


def stage1_model():
    cfg = get_config('cmms/cmms_psos_tiny_synthetic_s4_stage1.py').model
    cfg.decode_head.update(num_queries=6, train_cfg=dict(num_points=256))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def stage1(tmp_path_factory):
    model = stage1_model()
    # a trained stage 1 has confident queries; make some queries predict objects so the sets are not empty
    with torch.no_grad():
        model.decode_head.cls_embed.bias[:-1] += 3.0
    path = tmp_path_factory.mktemp('stage1') / 'stage1.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return model, str(path)


def stage2_cfg(path):
    cfg = get_config('cmms/cmms_avsc_tiny_synthetic_s4_stage2.py').model
    cfg.decode_head.update(num_queries=6, train_cfg=dict(num_points=256))
    cfg.stage1_checkpoint = path
    return cfg


def stage2_model(path):
    torch.manual_seed(1)
    model = MODELS.build(stage2_cfg(path))
    model.init_weights()
    return model


def batch(model, training, seed=0):
    return demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=training, num_clips=2, num_frames=2,
                            size=SIZE, audio_shape=(16000, ), labeled=[True, False], seed=seed)


def test_stage1_weights_loaded_and_instance_sets_equal(stage1):
    model1, path = stage1
    model2 = stage2_model(path).eval()
    assert isinstance(model2, AVSCSegmentor)
    data = batch(model2, False)
    metas = [s.metainfo for s in data['data_samples']]
    with torch.no_grad():
        feats = AVFeatures(model1.extract_visual_feat(data['inputs']), num_frames=2)
        expected = model1.decode_head.predict_instances(feats, metas)
    got = model2.potential_instances(data['inputs'], data['data_samples'])
    assert sum(len(e) for e in expected) > 0
    for e, g in zip(expected, got):
        assert torch.equal(e.labels, g.labels) and torch.equal(e.masks, g.masks)


def test_only_the_audio_branch_and_avsc_train(stage1):
    _, path = stage1
    model = stage2_model(path)
    model.train()
    frozen = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(('backbone.', 'decode_head.'))}
    trainable = {k: v.clone() for k, v in model.named_parameters() if k.startswith(('avsc_head.', 'audio_backbone.'))}
    assert all(not p.requires_grad for k, p in model.named_parameters() if k in frozen)
    assert not model.backbone.training and not model.decode_head.training and model.avsc_head.training
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    data = batch(model, True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'avsc.loss_avc'}
    losses['avsc.loss_avc'].backward()
    optimizer.step()
    for k, v in model.state_dict().items():
        if k in frozen:
            assert torch.equal(v, frozen[k]), k
    assert all(p.grad is None for k, p in model.named_parameters() if k in frozen)
    assert any(not torch.equal(p, trainable[k]) for k, p in model.named_parameters() if k.startswith('avsc_head.'))
    # the frozen parts give the same instances in train() and eval() (BN statistics, no dropout)
    with torch.no_grad():
        a = model.potential_instances(data['inputs'], data['data_samples'])
        b = model.eval().potential_instances(data['inputs'], data['data_samples'])
    assert all(torch.equal(x.masks, y.masks) for x, y in zip(a, b))


def test_predict_is_one_channel_s_and_depends_on_the_audio(stage1):
    _, path = stage1
    model = stage2_model(path).eval()
    with torch.no_grad():  # an untrained audio CNN maps every input to nearly the same embedding
        model.avsc_head.mlp[0].weight.mul_(30)
    model.avsc_head.compose_mode = 'max'  # the sum of this untrained stage 1's overlapping masks saturates
    data = batch(model, False)
    with torch.no_grad():
        out = model(**data, mode='predict')
        first = [o.seg_logits.data.clone() for o in out]  # predict fills the same data samples in place
        logits = model(**data, mode='tensor')
        data['inputs']['audio'] = torch.randn_like(data['inputs']['audio'])
        other = model(**data, mode='predict')
    assert logits.shape[1] == 1
    for o in out:
        s = o.seg_logits.data
        assert s.shape == (1, SIZE, SIZE) and s.min() >= 0 and s.max() <= 1
        # (S = sigmoid(logit S) within 1e-6 is the head's test; two passes here differ by oneDNN rounding)
        assert torch.equal(o.pred_sem_seg.data.bool(), s > 0.5)
    assert any(not torch.equal(a, b.seg_logits.data) for a, b in zip(first, other))


def test_stage1_checkpoint_errors(stage1, tmp_path):
    _, path = stage1
    with pytest.raises(FileNotFoundError, match='does not exist'):
        stage2_model(str(tmp_path / 'nope.pth'))
    state = torch.load(path, weights_only=False)['state_dict']
    state.pop('decode_head.cls_embed.bias')
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=state), bad)
    with pytest.raises(ValueError, match='missing.*cls_embed.bias'):
        stage2_model(str(bad))
    cfg = stage2_cfg(path)
    cfg.avsc_head.num_classes = 3
    with pytest.raises(ValueError, match='avsc_head.num_classes'):
        MODELS.build(cfg)


def test_cache_mode_needs_proposals(stage1):
    _, path = stage1
    cfg = stage2_cfg(path)
    cfg.instance_source = 'cache'
    model = MODELS.build(cfg).eval()
    with pytest.raises(KeyError, match='LoadClipInstanceSet'):
        model(**batch(model, False), mode='predict')
