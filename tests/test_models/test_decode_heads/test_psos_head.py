"""PSOSHead (stage 1 of seed 001 / BAVS): K + 1 classes without a background instance, L_soas, BAVS's L_cls
exemption, top-1 prediction and the potential instance sets (seed001.md §7 tests 1-4, 11; bavs.md §7 tests 2-4)."""
import pytest
import torch
from mmdet.models.dense_heads import Mask2FormerHead as MMDetMask2FormerHead
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample
from tiny_mask2former import NUM_LAYERS, NUM_QUERIES, SIZE, build_head, feats, samples, tiny_plain_head_cfg

from avsseg.models.decode_heads import AudioQueryMask2FormerHead, PSOSHead
from avsseg.models.losses import SilentObjectAwareLoss

K = 3
SUPERVISED = ('loss_cls', 'loss_mask', 'loss_dice')


def psos_cfg(**overrides):
    cfg = tiny_plain_head_cfg(type='PSOSHead', num_classes=K)
    cfg.pop('audio_channels')
    # replaced, not merged: CE 1 with no-object 0.1, focal 20, dice 1 (seed001.md §2)
    cfg['loss_cls'] = ConfigDict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, reduction='mean',
                                 class_weight=[1.0] * K + [0.1])
    cfg['loss_mask'] = ConfigDict(type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=20.0)
    cfg['loss_dice'] = ConfigDict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                                  naive_dice=True, eps=1.0, loss_weight=1.0)
    cfg.update(overrides)
    return cfg


def psos(**overrides):
    return build_head(psos_cfg(**overrides))


def frame_sample(gt, **meta):
    """A SegDataSample of one labelled SIZE x SIZE frame with class-index ground truth ``gt`` [H, W]."""
    sample = SegDataSample(metainfo=dict(img_path='clip0/frame0.png', is_labeled=True, is_padded=False, num_frames=1,
                                         frame_idx=0, clip_id='clip0', img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                                         pad_shape=(SIZE, SIZE), batch_input_shape=(SIZE, SIZE), **meta))
    sample.gt_sem_seg = PixelData(data=gt[None].long())
    return sample


def test_subclass_hooks_and_classes():
    head = psos()
    assert issubclass(PSOSHead, AudioQueryMask2FormerHead)
    for name in ('forward', 'decode', 'loss', 'decoder_layer_forward', 'init_queries'):
        assert getattr(PSOSHead, name) is getattr(AudioQueryMask2FormerHead, name), name
    assert head.num_classes == K and head.cls_embed.out_features == K + 1 and head.audio_channels is None
    assert head.eval_num_classes == 2 and psos(output='semantic').eval_num_classes == K + 1
    with pytest.raises(ValueError, match='audio'):
        psos(audio_channels=16)
    with pytest.raises(ValueError, match='class_weight'):
        psos(loss_cls=ConfigDict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, class_weight=[1.0] * 3))
    with pytest.raises(ValueError, match='soas_set'):
        psos(soas_set='argmax')


def test_background_is_never_a_gt_instance():
    head = psos()
    gt = torch.zeros(SIZE, SIZE, dtype=torch.long)
    gt[4:10, 4:12] = 2  # category 2 of 1..K
    gt[0, :] = 255
    instances, metas = head.gt_instances([frame_sample(gt), frame_sample(torch.zeros_like(gt))])
    assert instances[0].labels.tolist() == [1]  # shifted to 0..K-1, no class-0 mask
    assert torch.equal(instances[0].masks[0].bool(), gt == 2)
    assert len(instances[1]) == 0 and instances[1].masks.shape == (0, SIZE, SIZE)
    # the L_soas target: foreground 1, background 0, ignore kept
    target = metas[0]['soas_target']
    assert target[5, 5] == 1 and target[20, 20] == 0 and target[0, 0] == 255
    two = gt.clone()
    two[20:24, 20:24] = 3
    assert head.gt_instances([frame_sample(two)])[0][0].labels.tolist() == [1, 2]
    with pytest.raises(ValueError, match=r'clip0/frame0.png.*\[4\]'):
        head.gt_instances([frame_sample(torch.full_like(gt, K + 1))])


def test_loss_keys_weights_and_soas_on_every_layer():
    head = psos()
    assert head.loss_mask.loss_weight == 20.0 and head.loss_dice.loss_weight == 1.0
    assert head.loss_cls.loss_weight == 1.0 and list(head.class_weight) == [1.0] * K + [0.1]
    assert isinstance(head.loss_soas, SilentObjectAwareLoss) and head.loss_soas.loss_weight == 1.0
    torch.manual_seed(0)
    losses = head.loss(feats(4, num_frames=2, audio=False), samples(2, 2, num_classes=K + 1), None)
    expected = {f'{p}{k}' for p in ['', *(f'd{i}.' for i in range(NUM_LAYERS))] for k in (*SUPERVISED, 'loss_soas')}
    assert set(losses) == expected
    assert all(torch.isfinite(v) for v in losses.values()) and losses['loss_soas'] > 0
    sum(losses.values()).backward()
    assert head.query_feat.weight.grad.abs().sum() > 0
    last_head, no_soas_head = psos(soas_layers='last'), psos(loss_soas=None)
    torch.manual_seed(0)
    last = last_head.loss(feats(4, num_frames=2, audio=False), samples(2, 2, num_classes=K + 1), None)
    assert [k for k in last if 'soas' in k] == ['loss_soas']
    torch.manual_seed(0)
    none = no_soas_head.loss(feats(4, num_frames=2, audio=False), samples(2, 2, num_classes=K + 1), None)
    assert not [k for k in none if 'soas' in k]
    for key in SUPERVISED:  # L_soas is added on top; the Mask2Former terms do not change
        assert torch.equal(none[key], losses[key])


def test_soas_is_applied_to_the_unmatched_queries(monkeypatch):
    head = psos().eval()
    seen = []
    original = SilentObjectAwareLoss.forward

    def spy(self, mask_logits, gt_foreground, no_object):
        seen.append(no_object.clone())
        return original(self, mask_logits, gt_foreground, no_object)

    monkeypatch.setattr(SilentObjectAwareLoss, 'forward', spy)
    data = samples(2, 2, num_classes=K + 1, seed=3)
    gts, _ = head.gt_instances(data)
    torch.manual_seed(0)
    head.loss(feats(4, num_frames=2, audio=False), data, None)
    assert len(seen) == NUM_LAYERS + 1
    for no_object in seen:  # exactly Q minus the number of ground-truth instances per frame
        assert no_object.sum(1).tolist() == [NUM_QUERIES - len(g) for g in gts]
    # 'pred_noobj': the queries whose argmax is no-object, whatever the matching
    seen.clear()
    head.soas_set = 'pred_noobj'
    inputs = feats(4, num_frames=2, audio=False)
    with torch.no_grad():
        cls_list, _ = head(inputs)
    torch.manual_seed(0)
    head.loss(inputs, data, None)
    for no_object, cls in zip(seen, cls_list):
        assert torch.equal(no_object, cls.argmax(-1) == K)


def _mmdet_losses(head, inputs, data):
    """mmdet's Mask2Former ``loss_by_feat`` on the head's own predictions and ground truth (same random points)."""
    with torch.no_grad():
        all_cls, all_masks = head(inputs)
    gts, metas = head.gt_instances(data)
    torch.manual_seed(0)
    return MMDetMask2FormerHead.loss_by_feat(head, all_cls, all_masks, gts, metas)


def test_without_exclusion_the_losses_are_mmdet_mask2former_bit_exactly():
    data = samples(2, 2, num_classes=K + 1, seed=1)
    inputs = feats(4, num_frames=2, audio=False)
    head = psos().eval()
    reference = _mmdet_losses(head, inputs, data)
    torch.manual_seed(0)
    with torch.no_grad():
        losses = head.loss(inputs, data, None)
    for key, value in reference.items():
        assert torch.equal(losses[key], value), key
    # silent_exclusion with no silent category in any frame changes nothing either
    for s in data:
        s.set_metainfo(dict(silent_labels=[]))
    head.silent_exclusion = True
    torch.manual_seed(0)
    with torch.no_grad():
        exempt_none = head.loss(inputs, data, None)
    for key, value in reference.items():
        assert torch.equal(exempt_none[key], value), key


def _crafted_targets(head, silent):
    """Targets of one frame: GT = category index 0 on the left half; query 3 predicts it with a matching mask;
    queries 0/1/2 predict categories 1 / 2 / no-object; the other queries predict no-object."""
    cls = torch.full((NUM_QUERIES, K + 1), -5.0)
    cls[:, K] = 5.0
    cls[0], cls[1], cls[2], cls[3] = (torch.tensor(v, dtype=torch.float) for v in
                                      ([-5, 5, -5, -5], [-5, -5, 5, -5], [-5, -5, -5, 5], [5, -5, -5, -5]))
    masks = torch.full((NUM_QUERIES, SIZE // 4, SIZE // 4), -5.0)
    masks[3, :, :SIZE // 8] = 5.0
    gt_mask = torch.zeros(1, SIZE, SIZE, dtype=torch.long)
    gt_mask[0, :, :SIZE // 2] = 1
    gt = InstanceData(labels=torch.tensor([0]), masks=gt_mask)
    torch.manual_seed(0)
    return head._get_targets_single(cls, masks, gt, dict(img_path='f.png', silent_labels=silent))


def test_silent_exclusion_exempts_unmatched_queries_predicting_a_silent_category():
    head = psos(silent_exclusion=True)
    labels, weights, _, mask_weights = _crafted_targets(head, silent=[2])[:4]  # dataset class 2 = category 1
    assert mask_weights.nonzero().flatten().tolist() == [3] and labels[3] == 0
    assert weights[0] == 0  # unmatched, predicts the silent category
    assert weights[1] == 1 and weights[2] == 1 and weights[4:].eq(1).all()  # another class / no-object
    assert weights[3] == 1 and labels[:3].eq(K).all()  # matched query untouched; targets stay no-object
    # a matched query predicting a silent category keeps its weight
    assert _crafted_targets(head, silent=[1])[1].eq(1).all()
    plain = psos(silent_exclusion=False)
    assert _crafted_targets(plain, silent=[2])[1].eq(1).all()
    with pytest.raises(ValueError, match='1..3'):
        _crafted_targets(head, silent=[0])
    with pytest.raises(KeyError, match='silent_labels'):
        head._get_targets_single(torch.zeros(NUM_QUERIES, K + 1), torch.zeros(NUM_QUERIES, 8, 8),
                                 InstanceData(labels=torch.tensor([0]), masks=torch.ones(1, SIZE, SIZE).long()),
                                 dict(img_path='f.png'))


def test_silent_exclusion_lowers_the_class_loss_through_loss():
    data = samples(1, 2, num_classes=K + 1, seed=2)
    inputs = feats(2, num_frames=2, audio=False)
    head = psos().eval()
    with torch.no_grad():
        head.cls_embed.bias[0] += 20.0  # every query predicts category 0 (dataset class 1)
        assert (head(inputs)[0][-1].argmax(-1) == 0).all()
    for s in data:  # category 0 silent in every frame: every unmatched query is exempt
        s.set_metainfo(dict(silent_labels=[1]))
    torch.manual_seed(0)
    with torch.no_grad():
        plain = head.loss(inputs, data, None)
    head.silent_exclusion = True
    torch.manual_seed(0)
    with torch.no_grad():
        exempt = head.loss(inputs, data, None)
    assert exempt['loss_cls'] < plain['loss_cls']
    for key in ('loss_mask', 'loss_dice', 'loss_soas'):
        assert torch.equal(exempt[key], plain[key])


def _outputs():
    """Last-layer predictions of 2 frames with 4 queries: frame 0's best object query is q2 (category 1);
    frame 1 predicts only no-object."""
    cls = torch.full((2, 4, K + 1), -4.0)
    cls[:, :, K] = 4.0
    cls[0, 0] = torch.tensor([2.0, -4, -4, -4])  # category 0, lower confidence
    cls[0, 2] = torch.tensor([-4.0, 6, -4, -4])  # category 1, highest
    masks = torch.randn(2, 4, SIZE // 4, SIZE // 4, generator=torch.Generator().manual_seed(0))
    return [cls], [masks]


def test_predict_is_the_top1_instance():
    head = psos()
    metas = [dict(batch_input_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE), img_shape=(SIZE, SIZE))] * 2
    cls, masks = _outputs()
    logits = head.predict_by_feat(cls, masks, metas)
    assert logits.shape == (2, 2, SIZE, SIZE)
    up = torch.nn.functional.interpolate(masks[-1][0, 2][None, None], size=(SIZE, SIZE), mode='bilinear',
                                         align_corners=False)[0, 0]
    torch.testing.assert_close(logits[0, 1], up)
    assert logits[0, 0].eq(0).all()
    assert (logits[1].softmax(0)[1] < 1e-6).all()  # only no-object: predicted empty
    semantic = psos(output='semantic').predict_by_feat(cls, masks, metas)
    assert semantic.shape == (2, K + 1, SIZE, SIZE)
    torch.testing.assert_close(semantic[0, 2], up)  # category 1 -> class channel 2
    assert (semantic[0].argmax(0) == torch.where(up > 0, 2, 0)).all()
    assert semantic[1].argmax(0).eq(0).all()


def test_predict_instances_and_the_kept_outputs():
    head = psos().eval()
    inputs = feats(4, num_frames=2, audio=False)
    metas = [dict(batch_input_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE), img_shape=(SIZE, SIZE))] * 4
    with torch.no_grad():
        instances = head.predict_instances(inputs, metas)
        with head.keep_outputs() as kept:
            logits = head.predict(inputs, metas)
    assert len(instances) == 4 and set(kept) == {'cls', 'masks'} and head._kept_outputs is None
    cls, masks = _outputs()
    crafted = head.instances_by_feat(cls, masks, metas[:2])
    assert crafted[0].labels.tolist() == [1, 0] and len(crafted[1]) == 0  # one per category, by score
    assert crafted[0].masks.shape == (2, SIZE, SIZE) and crafted[0].masks.dtype == torch.bool
    assert crafted[0].cls_probs.shape == (2, K + 1)
    torch.testing.assert_close(crafted[0].scores, cls[-1][0, [2, 0]].softmax(-1).max(-1).values)
    for frame, inst in enumerate(instances):
        assert set(inst.keys()) == {'labels', 'scores', 'cls_probs', 'masks', 'mask_logits'}
        assert len(inst) <= K and (inst.labels < K).all()
        assert (inst.scores[:-1] >= inst.scores[1:]).all()
        if len(inst):  # the top-1 prediction is the first instance's mask
            torch.testing.assert_close(logits[frame, 1], inst.mask_logits[0])
    two_phase = psos(instance_filter='two_phase', iou_thr=0.99).eval()
    two_phase.load_state_dict(head.state_dict())
    with torch.no_grad():
        more = two_phase.predict_instances(inputs, metas)
    assert all(len(m) >= len(i) for m, i in zip(more, instances))


def test_losses_see_only_the_labelled_frames():
    """S4: frame 1 of each clip is labelled; the other frames' features and ground truth change nothing."""
    head = psos().eval()
    inputs = feats(4, num_frames=2, audio=False)
    data = samples(2, 2, labeled=[True, False], num_classes=K + 1, seed=4)
    torch.manual_seed(0)
    with torch.no_grad():
        base = head.loss(inputs, data, None)
    visual = tuple(v.clone() for v in inputs)
    for v in visual:
        v[[1, 3]] = torch.randn_like(v[[1, 3]])
    for i in (1, 3):
        data[i].gt_sem_seg.data[:] = 1  # even a foreground GT on an unlabelled frame is not read
    torch.manual_seed(0)
    with torch.no_grad():
        moved = head.loss(inputs.replace(visual=visual), data, None)
    assert set(moved) == set(base)
    for key in base:
        assert torch.equal(moved[key], base[key]), key
