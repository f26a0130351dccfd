import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from avsseg.datasets.transforms import PackAVSInputs, avs_collate
from avsseg.registry import MODELS

BASE = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_', 'models', 'combo_r50.py')
CHANNELS = [16, 32, 64, 128]
SIZE = 32
# models build their data preprocessor through the default scope
init_default_scope('avsseg')


def tiny_model_cfg(**backbone_overrides):
    """configs/_base_/models/combo_r50.py with a tiny ResNet-18, a small log-mel CNN and a small head."""
    model = Config.fromfile(BASE).model
    model.data_preprocessor.update(size=None, size_divisor=32)
    model.audio_backbone = dict(type='LogMelCNN', channels=(4, ), out_channels=16)
    model.backbone.backbone = dict(
        type='ResNet', depth=18, stem_channels=16, base_channels=16, out_indices=(0, 1, 2, 3), style='pytorch',
        init_cfg=None)
    model.backbone.in_channels = CHANNELS
    model.backbone.update(backbone_overrides)
    head = model.decode_head
    head.update(in_channels=CHANNELS, feat_channels=32, out_channels=32, num_queries=4, audio_channels=16,
                audio_mlp_channels=32)
    pd = head.pixel_decoder
    pd.norm_cfg = dict(type='GN', num_groups=8)
    pd.encoder.num_layers = 1
    pd.encoder.layer_cfg.self_attn_cfg.update(embed_dims=32, num_heads=4, num_points=2)
    pd.encoder.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    pd.positional_encoding = dict(num_feats=16, normalize=True)
    head.positional_encoding = dict(num_feats=16, normalize=True)
    td = head.transformer_decoder
    td.num_layers = 2
    for key in ('self_attn_cfg', 'cross_attn_cfg'):
        td.layer_cfg[key].update(embed_dims=32, num_heads=4)
    td.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    head.fusion.update(embed_dims=32, num_heads=4)
    head.train_cfg.num_points = 64
    return ConfigDict(model)


def _clip(seed, frames=3, labeled=(True, False, False), padded=(False, False, False), maskige=True):
    rng = np.random.default_rng(seed)
    results = dict(
        clip_id=f'clip{seed}',
        imgs=[rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(frames)],
        audio=rng.standard_normal((frames, 1, 96, 64)).astype(np.float32),
        gt_seg_maps=[rng.integers(0, 2, (SIZE, SIZE)) if labeled[t] else np.full((SIZE, SIZE), 255)
                     for t in range(frames)],
        frame_flags=dict(is_labeled=list(labeled), is_padded=list(padded)))
    if maskige:
        results['maskiges'] = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(frames)]
    return PackAVSInputs().transform(results)


def _batch(model, training, **kwargs):
    data = avs_collate([_clip(0, **kwargs), _clip(1, **kwargs)])
    return model.data_preprocessor(data, training=training)


def test_loss_and_gradients_reach_both_encoders():
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.train()
    losses = model(**_batch(model, True), mode='loss')
    assert {'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_ada', 'd1.loss_ada'} <= set(losses)
    sum(losses.values()).backward()
    assert model.backbone.image_encoder.conv1.weight.grad.abs().sum() > 0
    assert model.backbone.maskige_encoder.conv1.weight.grad.abs().sum() > 0
    assert model.backbone.gates[0].se.conv1.conv.weight.grad is not None


def test_predict_uses_the_maskige_and_backgrounds_padded_frames():
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg()).eval()
    data = _batch(model, False, labeled=(True, True, True), padded=(False, False, True))
    with torch.no_grad():
        results = model(**data, mode='predict')
        logits = model.encode_decode(data['inputs'], [s.metainfo for s in data['data_samples']])
        data['inputs']['maskige'] = data['inputs']['maskige'].flip(-1)
        flipped = model.encode_decode(data['inputs'], [s.metainfo for s in data['data_samples']])
    assert len(results) == 6 and results[0].seg_logits.data.shape == (2, SIZE, SIZE)
    assert results[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    for i in (2, 5):  # padded frames -> background
        assert results[i].pred_sem_seg.data.sum() == 0
    assert not torch.allclose(logits[0], flipped[0])


def test_maskige_is_required_unless_sem_is_off():
    model = MODELS.build(tiny_model_cfg()).eval()
    data = _batch(model, False, maskige=False)
    with pytest.raises(ValueError, match='LoadClipMaskige'):
        model(**data, mode='predict')
    plain = MODELS.build(tiny_model_cfg(use_maskige=False)).eval()
    with torch.no_grad():
        results = plain(**_batch(plain, False, maskige=False), mode='predict')
    assert len(results) == 6
