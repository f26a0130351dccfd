import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from tiny_mask2former import AUDIO, NUM_QUERIES, SIZE, build_head, feats, samples, seeded_loss, tiny_plain_head_cfg

from avsseg.models.decode_heads import AudioQueryMask2FormerHead, AUSSHead


def auss_cfg(**overrides):
    """The tiny decoder of tiny_mask2former.py as an AUSSHead (A2U with 1 small encoder layer)."""
    cfg = tiny_plain_head_cfg(
        type='AUSSHead',
        audio_channels=AUDIO,
        unmixing=dict(type='AudioUnmixing', num_frames=3, num_layers=1, num_heads=4, feedforward_channels=32),
        loss_aqdl=dict(type='AudioQueryDistanceLoss', d0=3.2, loss_weight=2.0),
        loss_aqml=dict(type='AudioQueryMaskLoss', loss_weight=2.0))
    # replaced, not merged into the base's CrossEntropyLoss
    cfg['loss_cls'] = ConfigDict(type='SoftmaxFocalLoss', gamma=2.0, class_weight=[1.0, 1.0], loss_weight=5.0)
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def test_is_the_shared_decoder_with_auss_hooks():
    assert issubclass(AUSSHead, AudioQueryMask2FormerHead)
    for name in ('forward', 'decode', 'loss', 'predict', 'decoder_layer_forward'):
        assert getattr(AUSSHead, name) is getattr(AudioQueryMask2FormerHead, name), name
    for name in ('fuse_pixel_features', 'init_queries', 'extra_losses', 'gt_instances', 'predict_by_feat'):
        assert getattr(AUSSHead, name) is not getattr(AudioQueryMask2FormerHead, name), name


def test_shapes_loss_keys_and_gradients():
    head = build_head(auss_cfg(delta=0.0))  # delta 0: every query is confident, so AQDL/AQML have pairs
    assert head.num_classes == 2 and head.cls_embed.out_features == 2 and not hasattr(head, 'query_feat')
    assert isinstance(head.mask_embed, torch.nn.Linear) and head.mask_proj.kernel_size == (1, 1)
    inputs = feats(6, num_frames=3)
    cls_list, mask_list = head(inputs)
    assert len(cls_list) == 4 and cls_list[-1].shape == (6, NUM_QUERIES, 2)
    assert mask_list[-1].shape == (6, NUM_QUERIES, SIZE // 4, SIZE // 4)
    losses = seeded_loss(head, inputs, samples(2, 3))
    expected = {'loss_cls', 'loss_dice', 'loss_aqdl', 'loss_aqml', 'delta'}
    expected |= {f'd{i}.{k}' for i in range(3) for k in ('loss_cls', 'loss_dice')}
    assert set(losses) == expected  # no mask BCE (the paper lists focal + dice), AQ losses on the last layer only
    assert losses['delta'].item() == 0.0 and losses['loss_aqml'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert head.unmixing.number_proj.grad.abs().sum() > 0 and head.mask_proj.weight.grad is not None
    with_bce = seeded_loss(build_head(auss_cfg(use_mask_loss=True)), inputs, samples(2, 3))
    assert 'loss_mask' in with_bce and 'd0.loss_mask' in with_bce


def test_queries_are_per_clip_and_from_all_seconds():
    head = build_head(auss_cfg()).eval()
    inputs = feats(6, num_frames=3)
    queries, pos = head.init_queries(inputs, 6)
    assert queries.shape == pos.shape == (6, NUM_QUERIES, 32)
    torch.testing.assert_close(queries[0], queries[2])
    torch.testing.assert_close(queries[3], queries[5])
    assert not torch.allclose(queries[0], queries[3])
    audio = inputs.audio.clone()
    audio[2] += 1  # the third second of clip 1 changes every frame's queries of clip 1 only
    moved, _ = head.init_queries(inputs.replace(audio=audio), 6)
    assert not torch.allclose(moved[0], queries[0])
    torch.testing.assert_close(moved[3:], queries[3:])
    with pytest.raises(ValueError, match='whole clips'):
        head.init_queries(feats(5, num_frames=3), 5)


def test_s4_supervision_on_frame_one_and_aq_losses_on_all_real_frames():
    head = build_head(auss_cfg(delta=0.0)).eval()
    inputs = feats(6, num_frames=3)
    s = samples(2, 3, [True, False, False], seed=1)
    base = seeded_loss(head, inputs, s)
    visual = tuple(v.clone() for v in inputs)
    for v in visual:
        v[[1, 2, 4, 5]] = torch.randn_like(v[[1, 2, 4, 5]])  # unlabelled frames change
    moved = seeded_loss(head, inputs.replace(visual=visual), s)
    for k in ('loss_cls', 'loss_dice', 'd0.loss_cls', 'd2.loss_dice'):
        torch.testing.assert_close(base[k], moved[k])
    assert not torch.allclose(base['loss_aqdl'], moved['loss_aqdl'])
    assert not torch.allclose(base['loss_aqml'], moved['loss_aqml'])
    # padded frames take no part in AQDL/AQML
    padded = samples(2, 3, [True, False, False], padded=[False, False, True], seed=1)
    assert not torch.allclose(seeded_loss(head, inputs, padded)['loss_aqml'], base['loss_aqml'])
    moved_padded = seeded_loss(head, inputs.replace(visual=tuple(
        torch.cat([v[:2], torch.randn_like(v[2:3]), v[3:5], torch.randn_like(v[5:])]) for v in inputs)), padded)
    torch.testing.assert_close(moved_padded['loss_aqml'], seeded_loss(head, inputs, padded)['loss_aqml'])


def _sample(gt):
    s = SegDataSample(gt_sem_seg=PixelData(data=gt))
    s.set_metainfo(dict(img_path='clip/1.png', img_shape=gt.shape[-2:], pad_shape=gt.shape[-2:]))
    return s


def test_ground_truth_is_one_sound_instance():
    head = build_head(auss_cfg())
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    gt[0, :2, :2] = 1
    gt[0, 3] = 255
    (fg, empty), _ = head.gt_instances([_sample(gt), _sample(torch.zeros(1, 4, 4, dtype=torch.long))])
    assert fg.labels.tolist() == [0] and fg.masks.shape == (1, 4, 4) and fg.masks.sum() == 4
    assert empty.labels.numel() == 0 and empty.masks.shape == (0, 4, 4)
    with pytest.raises(ValueError, match=r'clip/1.png has labels \[2\]'):
        head.gt_instances([_sample(torch.full((1, 4, 4), 2, dtype=torch.long))])
    # with no sounding object every query's class target is silent
    cls = torch.randn(NUM_QUERIES, 2)
    labels = head._get_targets_single(cls, torch.randn(NUM_QUERIES, 4, 4), empty, {})[0]
    assert labels.tolist() == [1] * NUM_QUERIES


def test_eq20_inference_hand_case():
    """Spec test 8: q1 sound 0.9 with mask [0.8, 0.3], q2 silent 0.8 with mask [0.5, 0.9] -> [1, 0]."""
    head = build_head(auss_cfg(num_queries=2, unmixing=dict(type='AudioUnmixing', num_frames=3, num_layers=0),
                               inference='eq20'))
    cls = torch.log(torch.tensor([[[0.9, 0.1], [0.2, 0.8]]]))
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    masks = torch.tensor([[[[logit(0.8), logit(0.3)]], [[logit(0.5), logit(0.9)]]]])
    out = head.predict_by_feat([cls], [masks], [dict(batch_input_shape=(1, 2), img_shape=(1, 2))])
    torch.testing.assert_close(out[0, :, 0], torch.tensor([[0.40, 0.72], [0.72, 0.27]]))
    assert out.softmax(1)[0, 1, 0].gt(0.5).tolist() == [True, False] and out.argmax(1)[0, 0].tolist() == [1, 0]
    head.score_scale = 10.0
    torch.testing.assert_close(head.predict_by_feat([cls], [masks], [dict(batch_input_shape=(1, 2))])[0, :, 0],
                               10 * torch.tensor([[0.40, 0.72], [0.72, 0.27]]))


def test_sound_query_inference_hand_case():
    """inference='sound' (default): silent queries take no pixel; the best sound query's mask > 0.5 decides.

    q1 sound 0.9 mask [0.8, 0.3, 0.2], q2 silent 0.8 mask [0.5, 0.9, 0.9], q3 sound 0.6 mask [0.1, 0.7, 0.4]:
    pixel 1 -> q1 (0.72 vs 0.06), m 0.8 -> foreground; pixel 2 -> q3 (0.42 vs 0.27), m 0.7 -> foreground (Eq. 20
    with q2 would give it to q2: 0.72); pixel 3 -> q3 (0.24 vs 0.18), m 0.4 -> background. No sound query: empty.
    """
    head = build_head(auss_cfg(num_queries=3, unmixing=dict(type='AudioUnmixing', num_frames=3, num_layers=0)))
    assert head.inference == 'sound'
    cls = torch.log(torch.tensor([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]]))
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    masks = torch.tensor([[[[logit(v) for v in row]] for row in ([0.8, 0.3, 0.2], [0.5, 0.9, 0.9], [0.1, 0.7, 0.4])]])
    meta = [dict(batch_input_shape=(1, 3), img_shape=(1, 3))]
    is_sound, owner, s_bg, s_fg = head.assign_pixels(cls, masks, (1, 3))
    assert is_sound.tolist() == [[True, False, True]] and owner[0, 0].tolist() == [0, 2, 2]
    out = head.predict_by_feat([cls], [masks], meta)
    torch.testing.assert_close(out[0, :, 0], torch.tensor([[0.2, 0.3, 0.6], [0.8, 0.7, 0.4]]))
    assert out.argmax(1)[0, 0].tolist() == [1, 1, 0]
    silent = torch.log(torch.tensor([[[0.1, 0.9], [0.2, 0.8], [0.4, 0.6]]]))
    out = head.predict_by_feat([silent], [masks], meta)
    assert out[0, 1].eq(0).all() and out[0, 0].eq(1).all()


def test_trains_one_step_and_predicts():
    head = build_head(auss_cfg())
    optim = torch.optim.AdamW(head.parameters(), lr=1e-3)
    inputs = feats(6, num_frames=3)
    losses = seeded_loss(head, inputs, samples(2, 3, [True, False, False]))
    before = head.unmixing.dim_proj.weight.detach().clone()
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    optim.step()
    assert not torch.equal(before, head.unmixing.dim_proj.weight)
    head.eval()
    out = head.predict(inputs, [s.metainfo for s in samples(2, 3)])
    assert out.shape == (6, 2, SIZE, SIZE) and torch.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


def test_variants_and_bad_arguments():
    no_audio = build_head(auss_cfg(unmixing=None))  # Table 3 "w/o audio": learnable queries
    assert no_audio.audio_channels is None and hasattr(no_audio, 'query_feat')
    assert no_audio(feats(3, num_frames=3, audio=False))[0][-1].shape == (3, NUM_QUERIES, 2)
    mlp = build_head(auss_cfg(mask_head='mlp'))
    assert mlp.mask_proj is None and isinstance(mlp.mask_embed, torch.nn.Sequential)
    no_aq = build_head(auss_cfg(loss_aqdl=None, loss_aqml=None))
    assert not {'loss_aqdl', 'loss_aqml', 'delta'} & set(seeded_loss(no_aq, feats(3, num_frames=3), samples(1, 3)))
    with pytest.raises(ValueError, match='num_classes=2'):
        build_head(auss_cfg(num_classes=71))
    with pytest.raises(ValueError, match='inference must be one of'):
        build_head(auss_cfg(inference='panoptic'))
    with pytest.raises(ValueError, match='mask_head'):
        build_head(auss_cfg(mask_head='conv'))
    with pytest.raises(ValueError, match='the unmixing gives 5 queries'):
        build_head(auss_cfg(unmixing=dict(type='AudioUnmixing', num_frames=3, num_queries=5, num_layers=0)))
