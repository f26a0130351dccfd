"""AudioVisualSegmentor end to end: a tiny TPAVI model (ResNet-18-like backbone, LogMelCNN audio), mmseg's stock
FPNHead after TPAVINeck, and a tiny COMBO model (Siam-Encoder with the Maskige as a backbone extra input)."""
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.models.segmentors import AudioVisualSegmentor
from avsseg.registry import MODELS
from avsseg.structures import AVFeatures
from avsseg.testing import demo_clip_inputs, get_config, tiny_model_cfg

# models build their data preprocessor through the default scope
init_default_scope('avsseg')

T = 3
SIZE = 64
REPO = osp.join(osp.dirname(__file__), '..', '..', '..')
FPN_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'tpavi-neck_fpn-head_tiny_synthetic_s4.py')


def _model_cfg(out_channels=1, loss_avm=None, **kwargs):
    """The TPAVI ResNet-50 model (configs/_base_/models/tpavi_r50.py) at tiny sizes, binary (1 output channel,
    BCE) or with ``out_channels`` classes (CE); ``kwargs`` replace segmentor keys."""
    cfg = tiny_model_cfg(get_config('_base_/models/tpavi_r50.py').model)
    binary = out_channels == 1
    cfg.decode_head.update(
        num_classes=2 if binary else out_channels, out_channels=out_channels, threshold=0.5 if binary else None,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=binary, loss_weight=1.0,
                         loss_name='loss_bce' if binary else 'loss_ce'),
        loss_avm=loss_avm)
    for key, value in kwargs.items():
        cfg[key] = value  # replaced, not merged
    return cfg


def _batch(model, training, num_classes=2):
    """Two clips of T frames: clip 0 labelled on its first frame, clip 1 on its first two, its last frame padded."""
    return demo_clip_inputs(
        data_preprocessor=model.data_preprocessor, training=training, num_frames=T, size=SIZE,
        num_classes=num_classes, labeled=[[True, False, False], [True, True, False]],
        padded=[[False, False, False], [False, False, True]])


@pytest.fixture(scope='module')
def binary_model():
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(loss_avm=dict(type='AudioVisualMatchingLoss', loss_weight=0.5)))
    model.init_weights()
    return model


def test_loss_mode(binary_model):
    binary_model.train()
    data = _batch(binary_model, training=True)
    losses = binary_model(**data, mode='loss')
    # head losses are prefixed as mmseg's EncoderDecoder does
    assert set(losses) == {'decode.loss_bce', 'decode.loss_avm', 'decode.acc_seg'}
    total = losses['decode.loss_bce'] + losses['decode.loss_avm']
    assert torch.isfinite(total)
    binary_model.zero_grad()
    total.backward()
    assert binary_model.backbone.conv1.weight.grad.abs().sum() > 0
    assert binary_model.audio_backbone.fc.weight.grad.abs().sum() > 0
    assert binary_model.neck.tpavi_blocks['0'].out_norm.weight.grad.abs().sum() > 0


def test_predict_mode_and_padded_frames(binary_model):
    binary_model.eval()
    data = _batch(binary_model, training=False)
    with torch.no_grad():
        results = binary_model(**data, mode='predict')
    assert len(results) == 2 * T
    for r in results:
        assert r.pred_sem_seg.data.shape == (1, SIZE, SIZE)
        assert r.seg_logits.data.shape == (1, SIZE, SIZE)
    padded = results[2 * T - 1]
    assert padded.metainfo['is_padded']
    assert padded.pred_sem_seg.data.sum() == 0  # predicted background


def test_tensor_mode_needs_the_data_samples(binary_model):
    binary_model.eval()
    data = _batch(binary_model, training=False)
    with torch.no_grad():
        out = binary_model(**data, mode='tensor')
    assert out.shape == (2 * T, 1, SIZE, SIZE)
    with pytest.raises(ValueError, match='mode="tensor" needs the data samples'):
        binary_model(data['inputs'], None, mode='tensor')
    with pytest.raises(ValueError, match='predict needs data samples'):
        binary_model(data['inputs'], None, mode='predict')


def test_multiclass_model():
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(out_channels=5, loss_avm=dict(
        type='AudioVisualMatchingLoss', loss_weight=0.5, frame_reduction='mean')))
    model.init_weights()
    model.train()
    losses = model(**_batch(model, training=True, num_classes=5), mode='loss')
    assert {'decode.loss_ce', 'decode.loss_avm'} <= set(losses)
    model.eval()
    with torch.no_grad():
        results = model(**_batch(model, training=False, num_classes=5), mode='predict')
    assert results[0].seg_logits.data.shape == (5, SIZE, SIZE)
    assert results[2 * T - 1].pred_sem_seg.data.sum() == 0


def test_the_neck_gets_the_bundle_with_padded_frames_masked(binary_model):
    """The neck receives one AVFeatures: clip length, frame mask (0 for padded frames) and zeroed padded audio."""
    binary_model.eval()
    data = _batch(binary_model, training=False)
    seen = []
    original = binary_model.neck.forward

    def spy(feats):
        seen.append(feats)
        return original(feats)

    with mock.patch.object(binary_model.neck, 'forward', side_effect=spy), torch.no_grad():
        out = binary_model.extract_feat(data['inputs'], data['data_samples'])
    (bundle, ) = seen
    assert isinstance(bundle, AVFeatures) and len(bundle) == 4 and bundle.num_frames == T
    # the second clip's last frame is padded
    assert bundle.frame_mask.tolist() == [1.0] * (2 * T - 1) + [0.0]
    assert bundle.audio.shape == (2 * T, 16) and bundle.audio[-1].abs().sum() == 0
    assert bundle.audio[:-1].abs().sum(1).min() > 0
    assert isinstance(out, AVFeatures) and len(out.extras['tpavi_audio']) == 4 and out.frame_mask is bundle.frame_mask

    # a padded frame's content must not change the real frames' features
    inputs = {k: v.clone() for k, v in data['inputs'].items()}
    with torch.no_grad():
        feats_a = binary_model.extract_feat(inputs, data['data_samples'])
        inputs['frames'][2 * T - 1].normal_()
        feats_b = binary_model.extract_feat(inputs, data['data_samples'])
    for a, b in zip(feats_a, feats_b):
        assert torch.allclose(a[T:2 * T - 1], b[T:2 * T - 1], atol=1e-5)
    with pytest.raises(ValueError, match='needs the data samples'):
        binary_model.extract_feat(inputs, [])


def test_no_padding_means_no_frame_mask_and_no_neck_passes_the_backbone_levels():
    fpn = dict(type='FPNHead', in_channels=_model_cfg().neck.in_channels, in_index=[0, 1, 2, 3],
               feature_strides=[4, 8, 16, 32], channels=4, num_classes=2, out_channels=1, threshold=0.5,
               loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(neck=None, decode_head=fpn)).eval()
    assert not model.with_neck
    data = demo_clip_inputs(data_preprocessor=model.data_preprocessor, num_frames=T, size=SIZE)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'], data['data_samples'])
        levels = model.backbone(data['inputs']['frames'])
    assert feats.frame_mask is None and feats.num_frames == T and feats.audio.shape == (2 * T, 16)
    for got, expected in zip(feats, levels):
        torch.testing.assert_close(got, expected)


def test_auxiliary_heads_are_trained_and_prefixed():
    aux = dict(type='FCNHead', in_channels=16, in_index=2, channels=4, num_convs=1, concat_input=False,
               num_classes=2, out_channels=1, threshold=0.5,
               loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.4))
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(auxiliary_head=aux))
    model.train()
    losses = model(**_batch(model, training=True), mode='loss')
    assert set(losses) == {'decode.loss_bce', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg'}
    losses['aux.loss_ce'].backward()
    assert model.auxiliary_head.conv_seg.weight.grad.abs().sum() > 0
    assert model.neck.reduce_layers[2][0].conv.weight.grad.abs().sum() > 0

    torch.manual_seed(0)
    two = MODELS.build(_model_cfg(auxiliary_head=[aux, dict(aux, in_index=3)]))
    losses = two(**_batch(two, training=True), mode='loss')
    assert {'aux_0.loss_ce', 'aux_1.loss_ce', 'decode.loss_bce'} <= set(losses)
    # auxiliary heads do not take part in prediction
    two.eval()
    with torch.no_grad():
        data = _batch(two, training=False)
        with mock.patch.object(two.auxiliary_head[0], 'forward', side_effect=AssertionError('aux head ran')):
            two(**data, mode='predict')


# ---------------------------------------------------------------- a stock mmseg head after TPAVINeck
def test_a_stock_mmseg_head_trains_after_the_tpavi_neck():
    cfg = Config.fromfile(FPN_CONFIG)
    assert cfg.model.decode_head.type == 'FPNHead' and 'loss_avm' not in cfg.model.decode_head
    assert cfg.model.neck.type == 'TPAVINeck'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert type(model.decode_head).__module__.startswith('mmseg.')
    # every frame labelled: mmseg heads do not read is_labeled (see the config's comment)
    clip_args = dict(num_frames=T, size=32)
    model.train()
    data = demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=True, **clip_args)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_bce', 'decode.acc_seg'}
    assert torch.isfinite(losses['decode.loss_bce'])
    model.zero_grad()
    losses['decode.loss_bce'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    # the neck's TPAVI stages (2, 3) are trained through the stock head (W_z starts at zero, its norm does not)
    assert all(model.neck.tpavi_blocks[str(i)].out_norm.weight.grad.abs().sum() > 0 for i in (2, 3))
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0

    model.eval()
    data = demo_clip_inputs(data_preprocessor=model.data_preprocessor, **clip_args)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    assert len(results) == 2 * T
    for r in results:
        assert r.seg_logits.data.shape == (1, 32, 32) and r.pred_sem_seg.data.shape == (1, 32, 32)
        assert set(r.pred_sem_seg.data.unique().tolist()) <= {0, 1}


# ---------------------------------------------------------------- COMBO: the Maskige as a backbone extra input
COMBO_SIZE = 32


def tiny_combo_cfg(**backbone_overrides):
    """configs/_base_/models/combo_r50.py at tiny sizes, ``backbone_overrides`` set on its Siam-Encoder."""
    model = tiny_model_cfg(get_config('_base_/models/combo_r50.py').model)
    model.backbone.update(backbone_overrides)
    return model


def _combo_batch(model, training, labeled=(True, False, False), padded=None, maskige=True):
    """Two clips of T frames with their Maskiges (as LoadClipMaskige declares them), or without."""
    return demo_clip_inputs(
        data_preprocessor=model.data_preprocessor, training=training, num_frames=T, size=COMBO_SIZE,
        aux_image_keys=('maskige', ) if maskige else (), labeled=labeled, padded=padded)


def test_combo_is_an_audio_visual_segmentor_with_the_maskige_as_extra_input():
    model = MODELS.build(tiny_combo_cfg())
    assert type(model) is AudioVisualSegmentor and model.backbone_extra_inputs == ('maskige', )
    assert not model.with_neck  # BFM and the audio queries live in COMBOHead
    assert MODELS.get('COMBOSegmentor') is None


def test_combo_loss_and_gradients_reach_both_encoders():
    torch.manual_seed(0)
    model = MODELS.build(tiny_combo_cfg())
    model.init_weights()
    model.train()
    losses = model(**_combo_batch(model, True), mode='loss')
    assert all(k.startswith('decode.') for k in losses), sorted(losses)
    assert {'decode.loss_cls', 'decode.loss_mask', 'decode.loss_dice', 'decode.d0.loss_ada',
            'decode.d1.loss_ada'} <= set(losses)
    sum(losses.values()).backward()
    assert model.backbone.image_encoder.conv1.weight.grad.abs().sum() > 0
    assert model.backbone.maskige_encoder.conv1.weight.grad.abs().sum() > 0
    assert model.backbone.gates[0].se.conv1.conv.weight.grad is not None


def test_combo_predict_uses_the_maskige_and_backgrounds_padded_frames():
    torch.manual_seed(0)
    model = MODELS.build(tiny_combo_cfg()).eval()
    data = _combo_batch(model, False, labeled=(True, True, False), padded=(False, False, True))
    with torch.no_grad():
        results = model(**data, mode='predict')
        logits = model.encode_decode(data['inputs'], [s.metainfo for s in data['data_samples']])
        data['inputs']['maskige'] = data['inputs']['maskige'].flip(-1)
        flipped = model.encode_decode(data['inputs'], [s.metainfo for s in data['data_samples']])
    assert len(results) == 6 and results[0].seg_logits.data.shape == (2, COMBO_SIZE, COMBO_SIZE)
    assert results[0].pred_sem_seg.data.shape == (1, COMBO_SIZE, COMBO_SIZE)
    for i in (2, 5):  # padded frames -> background
        assert results[i].pred_sem_seg.data.sum() == 0
    assert not torch.allclose(logits[0], flipped[0])


def test_combo_maskige_is_required_unless_sem_is_off():
    model = MODELS.build(tiny_combo_cfg()).eval()
    data = _combo_batch(model, False, maskige=False)
    with pytest.raises(ValueError, match='LoadClipMaskige'):
        model(**data, mode='predict')
    plain = MODELS.build(tiny_combo_cfg(use_maskige=False)).eval()
    with torch.no_grad():
        results = plain(**_combo_batch(plain, False, maskige=False), mode='predict')
    assert len(results) == 6
