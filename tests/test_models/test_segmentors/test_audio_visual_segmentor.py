"""AudioVisualSegmentor end to end with a tiny TPAVI model (ResNet-18-like backbone, LogMelCNN audio)."""
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from avsseg.datasets.transforms import PackAVSInputs, avs_collate
from avsseg.registry import MODELS

# models build their data preprocessor through the default scope
init_default_scope('avsseg')

T = 3
SIZE = 64


def _model_cfg(out_channels=1, loss_avm=None):
    return dict(
        type='AudioVisualSegmentor',
        data_preprocessor=dict(type='AVSDataPreprocessor', size_divisor=32),
        audio_backbone=dict(type='LogMelCNN', channels=(4, ), out_channels=16),
        backbone=dict(
            type='ResNet', depth=18, stem_channels=8, base_channels=8, out_indices=(0, 1, 2, 3),
            norm_cfg=dict(type='BN', requires_grad=True), style='pytorch'),
        neck=dict(type='TPAVINeck', in_channels=[8, 16, 32, 64], channels=16, audio_channels=16),
        decode_head=dict(
            type='AVSBenchHead', in_channels=16, mid_channels=8, channels=4,
            num_classes=2 if out_channels == 1 else out_channels, out_channels=out_channels,
            threshold=0.5 if out_channels == 1 else None,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=out_channels == 1, loss_weight=1.0,
                             loss_name='loss_bce' if out_channels == 1 else 'loss_ce'),
            loss_avm=loss_avm),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def _clip(seed, is_labeled, is_padded, num_classes=2):
    rng = np.random.default_rng(seed)
    imgs = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(T)]
    for t in range(T):
        if is_padded[t]:
            imgs[t] = np.zeros_like(imgs[t])
    gts = [rng.integers(0, num_classes, (SIZE, SIZE)).astype(np.int64) if is_labeled[t]
           else np.full((SIZE, SIZE), 255, np.int64) for t in range(T)]
    results = dict(imgs=imgs, gt_seg_maps=gts, audio=rng.standard_normal((T, 1, 96, 64)).astype(np.float32),
                   frame_flags=dict(is_labeled=is_labeled, is_padded=is_padded), clip_id=f'clip{seed}')
    return PackAVSInputs().transform(results)


def _batch(model, training, num_classes=2):
    clips = [_clip(0, [True, False, False], [False] * T, num_classes),
             _clip(1, [True, True, False], [False, False, True], num_classes)]
    return model.data_preprocessor(avs_collate(clips), training=training)


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
    assert {'loss_bce', 'loss_avm', 'acc_seg'} <= set(losses)
    total = losses['loss_bce'] + losses['loss_avm']
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


def test_tensor_mode(binary_model):
    binary_model.eval()
    data = _batch(binary_model, training=False)
    with torch.no_grad():
        out = binary_model(**data, mode='tensor')
    assert out.shape == (2 * T, 1, SIZE, SIZE)


def test_multiclass_model():
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(out_channels=5, loss_avm=dict(
        type='AudioVisualMatchingLoss', loss_weight=0.5, frame_reduction='mean')))
    model.init_weights()
    model.train()
    losses = model(**_batch(model, training=True, num_classes=5), mode='loss')
    assert {'loss_ce', 'loss_avm'} <= set(losses)
    model.eval()
    with torch.no_grad():
        results = model(**_batch(model, training=False, num_classes=5), mode='predict')
    assert results[0].seg_logits.data.shape == (5, SIZE, SIZE)
    assert results[2 * T - 1].pred_sem_seg.data.sum() == 0


def test_padded_frames_are_masked_out_of_the_neck(binary_model):
    """Necks taking ``frame_mask`` get 0 for padded frames, so padding cannot leak into real frames."""
    data = _batch(binary_model, training=False)
    seen = {}
    original = binary_model.neck.forward

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    with mock.patch.object(binary_model.neck, 'forward', side_effect=spy):
        binary_model.extract_feat(data['inputs'], data['data_samples'])
    # the second clip's last frame is padded
    assert seen['frame_mask'].tolist() == [1.0] * (2 * T - 1) + [0.0]

    # a padded frame's content must not change the real frames' features
    inputs = {k: v.clone() for k, v in data['inputs'].items()}
    with torch.no_grad():
        feats_a, _ = binary_model.extract_feat(inputs, data['data_samples'])
        inputs['frames'][2 * T - 1].normal_()
        feats_b, _ = binary_model.extract_feat(inputs, data['data_samples'])
    for a, b in zip(feats_a, feats_b):
        assert torch.allclose(a[T:2 * T - 1], b[T:2 * T - 1], atol=1e-5)
