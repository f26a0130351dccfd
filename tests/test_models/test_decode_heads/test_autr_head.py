"""AuTRHead: the spec sheet's hand matching case (test 3), query selection (test 6), loss frames (test 7), clip-level
matching, errors, and the whole AuTR model (AVFFNeck + AuTRHead, tiny ResNet, LogMelCNN) end to end: audio reaches
the masks through the queries and through AVFF (test 2), and a few optimizer steps lower the loss."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from avsseg.registry import MODELS
from avsseg.structures import AVFeatures
from avsseg.testing import demo_clip_inputs

init_default_scope('avsseg')

C = 32  # C_av
STAGES = [16, 32, 64, 128]  # ResNet-18 of 16 base channels
SIZE = 64


def head_cfg(**kwargs):
    cfg = dict(
        type='AuTRHead',
        in_channels=[STAGES[0], C, C, C],
        feat_channels=C,
        num_queries=3,
        encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=dict(num_heads=4, num_points=2),
                                                  ffn_cfg=dict(feedforward_channels=64))),
        decoder=dict(num_layers=2, layer_cfg=dict(self_attn_cfg=dict(num_heads=4),
                                                  cross_attn_cfg=dict(num_heads=4, num_points=2),
                                                  ffn_cfg=dict(feedforward_channels=64))),
        pixel_decoder=dict(type='CrossModalFPN', channels=C, mask_channels=16, num_heads=4, feedforward_channels=64),
        mask_head=dict(type='DynamicMaskHead', channels=8, num_layers=3, controller_layers=2))
    cfg.update(kwargs)
    return cfg


def model_cfg(**head_kwargs):
    """The tiny AuTR model (the one the report's training check ran)."""
    return dict(
        type='AudioVisualSegmentor',
        data_preprocessor=dict(type='AVSDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                               bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size_divisor=32),
        audio_backbone=dict(type='LogMelCNN', channels=(4, ), out_channels=16),
        backbone=dict(type='ResNet', depth=18, stem_channels=16, base_channels=16, num_stages=4,
                      out_indices=(0, 1, 2, 3), style='pytorch', norm_cfg=dict(type='BN', requires_grad=True)),
        neck=dict(type='AVFFNeck', in_channels=STAGES, audio_channels=16, channels=C, num_heads=4,
                  norm_cfg=dict(type='GN', num_groups=8)),
        decode_head=head_cfg(**head_kwargs))


@pytest.fixture(scope='module')
def head():
    torch.manual_seed(0)
    head = MODELS.build(head_cfg())
    head.init_weights()
    return head


def random_feats(num_frames, num_clips=1, size=SIZE, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = num_frames * num_clips
    levels = [torch.randn(n, STAGES[0], size // 4, size // 4, generator=g)]
    levels += [torch.randn(n, C, size // s, size // s, generator=g) for s in (8, 16, 32)]
    return AVFeatures(levels, audio=torch.randn(n, C, generator=g), num_frames=num_frames)


def sample(gt, clip='c0', frame=0, num_frames=1, labeled=True):
    s = SegDataSample(gt_sem_seg=PixelData(data=torch.as_tensor(gt, dtype=torch.long)[None]))
    h, w = gt.shape[-2:]
    s.set_metainfo(dict(clip_id=clip, frame_idx=frame, num_frames=num_frames, is_labeled=labeled, is_padded=False,
                        batch_input_shape=(h, w), img_path=f'{clip}/{frame}.jpg'))
    return s


# ------------------------------------------------------------------ spec test 3: hand matching
def test_hand_case_costs_and_choice(head):
    masks = torch.tensor([[4., -4., -4., -4.], [0., 0., 0., 0.], [-4., -4., -4., 4.]]).view(1, 3, 2, 2)
    scores = torch.tensor([[0.0, 0.5, 1.0]])  # [T=1, Q=3]
    gt = torch.tensor([[1, 0], [0, 0]], dtype=torch.bool)[None]
    valid = torch.ones_like(gt)
    pred, target = head.match_instances(scores, masks, gt, valid)
    sound_cost, focal_cost, dice_cost = head.assigner.match_costs
    weights = [c.weight for c in head.assigner.match_costs]
    assert weights == [2.0, 1.0, 1.0]
    per_term = torch.stack([
        focal_cost(pred, target)[:, 0] / focal_cost.weight,
        dice_cost(pred, target)[:, 0] / dice_cost.weight,
        sound_cost(pred, target)[:, 0] / sound_cost.weight,
    ], 1)
    expected = torch.tensor([[0.000004, -0.976303, -0.086643],
                             [0.108304, -0.500000, -0.266165],
                             [0.968729, -0.341232, -0.520737]])
    assert torch.allclose(per_term, expected, atol=1e-6)
    totals = sum(c(pred, target) for c in head.assigner.match_costs)[:, 0]
    assert torch.allclose(totals, torch.tensor([-1.149586, -0.924026, -0.413977]), atol=2e-6)
    assert head.match(scores, masks, gt, valid) == 0  # A, although its sounding score is the lowest


def test_ignored_pixels_left_out_of_the_costs(head):
    masks = torch.tensor([[4., -4., -4., -4.], [0., 0., 0., 0.], [-4., -4., -4., 4.]]).view(1, 3, 2, 2)
    scores = torch.tensor([[0.0, 0.5, 1.0]])
    gt = torch.tensor([[1, 0], [0, 0]], dtype=torch.bool)[None]
    valid = torch.tensor([[True, True], [True, False]])[None]
    pred, target = head.match_instances(scores, masks, gt, valid)
    assert pred.masks.shape == (3, 3) and target.masks.shape == (1, 3)
    assert torch.equal(pred.masks, masks[0].flatten(1)[:, :3])


def test_one_query_per_clip_and_silent_frames_get_no_sound_target(head):
    """Two labelled frames of one clip, frame 1 silent (empty mask): the clip's matched query is the same on both
    frames, and its sound target is 1 on frame 0 only."""
    gt0 = torch.zeros(SIZE, SIZE, dtype=torch.long)
    gt0[:32, :32] = 1
    gt1 = torch.zeros(SIZE, SIZE, dtype=torch.long)
    samples = [sample(gt0, frame=0, num_frames=2), sample(gt1, frame=1, num_frames=2)]
    feats = random_feats(num_frames=2)
    calls = []
    original = head.loss_sound.forward

    def record(pred, target, **kwargs):
        calls.append((pred.detach().clone(), target.clone(), kwargs))
        return original(pred, target, **kwargs)

    head.loss_sound.forward = record
    try:
        with torch.no_grad():
            head.loss(feats, samples)
    finally:
        del head.loss_sound.forward
    assert len(calls) == head.num_transformer_decoder_layers  # deep supervision: one sound loss per layer
    for _, target, kwargs in calls:
        target = target.view(2, head.num_queries)  # [frames, queries], one-hot: 1 = sounding
        assert kwargs['avg_factor'] == 2  # num_boxes = labelled frames
        assert (target[0] == 1).sum() == 1
        assert (target[1] == 0).all()


# ------------------------------------------------------------------ spec test 7: loss frames
def test_only_labelled_frames_enter_the_loss(head):
    """S4 training clip: T = 5, frame 0 labelled; the other frames' ground truth (255 from the loader) does not
    matter, and num_boxes counts labelled frames (2 clips -> 2)."""
    torch.manual_seed(1)
    feats = random_feats(num_frames=5, num_clips=2, seed=3)

    labelled = [(torch.rand(SIZE, SIZE) > 0.7).long() for _ in range(2)]

    def clip_samples(other):
        out = []
        for b in range(2):
            for t in range(5):
                gt = labelled[b].clone() if t == 0 else other.clone()
                out.append(sample(gt, clip=f'c{b}', frame=t, num_frames=5, labeled=t == 0))
        return out

    a = clip_samples(torch.full((SIZE, SIZE), 255))
    b = clip_samples((torch.rand(SIZE, SIZE) > 0.5).long())
    head.eval()  # no dropout: the same forward twice
    with torch.no_grad():
        la, lb = head.loss(feats, a), head.loss(feats, b)
    assert set(la) == {f'{p}loss_{k}' for p in ('', 'd0.') for k in ('sound', 'focal', 'dice')}
    for key in la:
        assert torch.equal(la[key], lb[key]), key
    # labelled frame ground truth does matter
    c = copy.deepcopy(a)
    c[5].gt_sem_seg.data = 1 - c[5].gt_sem_seg.data
    with torch.no_grad():
        lc = head.loss(feats, c)
    assert not torch.equal(la['loss_dice'], lc['loss_dice'])
    head.train()


def test_losses_against_the_formulas(head):
    """One clip, one labelled frame: the last layer's losses recomputed by hand from the matched query."""
    head.eval()
    gt = torch.zeros(SIZE, SIZE, dtype=torch.long)
    gt[8:40, 16:48] = 1
    gt[:4] = 255  # ignored band
    feats = random_feats(num_frames=1, seed=5)
    with torch.no_grad():
        losses = head.loss(feats, [sample(gt)])
        scores, masks, _ = head.decode(feats)
    scores, masks = scores[-1][0, :, 0], masks[-1][0]
    y = gt[2::4, 2::4]
    valid = y != 255
    target = (y == 1)
    i = head.match(scores[None], masks[None], target[None], valid[None])
    p = masks[i][valid].sigmoid()
    t = target[valid].float()
    focal = (torch.where(t > 0, 0.25 * (1 - p)**2, 0.75 * p**2) * F.binary_cross_entropy(p, t, reduction='none'))
    assert losses['loss_focal'].item() == pytest.approx(focal.mean().item(), rel=1e-4)
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    assert losses['loss_dice'].item() == pytest.approx(dice.item(), rel=1e-5)
    q = scores.sigmoid()
    st = torch.zeros_like(q)
    st[i] = 1
    sound = torch.where(st > 0, 0.25 * (1 - q)**2, 0.75 * q**2) * F.binary_cross_entropy(q, st, reduction='none')
    assert losses['loss_sound'].item() == pytest.approx(2.0 * sound.sum().item(), rel=1e-4)
    head.train()


def test_bad_ground_truth_names_the_frame(head):
    gt = torch.zeros(SIZE, SIZE, dtype=torch.long)
    gt[0, 0] = 2
    with pytest.raises(ValueError, match=r'c0/0\.jpg.*\[2\]'):
        head.loss(random_feats(num_frames=1), [sample(gt)])


def test_bad_config_errors():
    with pytest.raises(ValueError, match='select'):
        MODELS.build(head_cfg(select='video'))
    with pytest.raises(ValueError, match='in_channels'):
        MODELS.build(head_cfg(in_channels=[16, C, C]))
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(head_cfg(num_classes=3))


# ------------------------------------------------------------------ spec test 6: inference selection
def logit(p):
    return math.log(p / (1 - p))


@pytest.mark.parametrize('select,expected', [('clip', [1, 1, 1]), ('frame', [0, 1, 1])])
def test_prediction_keeps_the_highest_scoring_query(head, select, expected):
    probs = [[0.9, 0.1], [0.1, 0.8], [0.1, 0.8]]
    scores = torch.tensor([[[logit(p)] for p in row] for row in probs])  # [3, 2, 1]
    masks = torch.randn(3, 2, 4, 4)
    metas = [dict(num_frames=3, is_padded=False, batch_input_shape=(16, 16)) for _ in range(3)]
    head.select = select
    try:
        out = head.predict_by_feat([scores], [masks], metas)
    finally:
        head.select = 'clip'
    assert out.shape == (3, 1, 16, 16)
    chosen = masks[torch.arange(3), torch.tensor(expected)][:, None]
    assert torch.equal(out, F.interpolate(chosen, size=(16, 16), mode='bilinear', align_corners=False))


def test_clip_selection_skips_padded_frames(head):
    probs = [[0.6, 0.1], [0.1, 0.8], [0.99, 0.01]]  # frame 2 padded: it would tip the mean to query 0
    scores = torch.tensor([[[logit(p)] for p in row] for row in probs])
    masks = torch.randn(3, 2, 4, 4)
    metas = [dict(num_frames=3, is_padded=t == 2, batch_input_shape=(4, 4)) for t in range(3)]
    out = head.predict_by_feat([scores], [masks], metas)
    assert torch.equal(out, masks[:, 1:2])


# ------------------------------------------------------------------ forward
def test_forward_shapes_and_reference_points(head):
    feats = random_feats(num_frames=2, num_clips=2)
    scores, masks, bundle = head.decode(feats)
    assert len(scores) == len(masks) == 2
    assert all(s.shape == (4, 3, 1) for s in scores)
    assert all(m.shape == (4, 3, SIZE // 4, SIZE // 4) for m in masks)
    ref = bundle.extras['reference_points']
    assert ref.shape == (4, 3, 2) and (ref >= 0).all() and (ref <= SIZE).all()
    # slots are shared by all frames: same learnable positions -> same reference points
    assert torch.allclose(ref[0], ref[3], atol=1e-5)


def test_every_parameter_learns(head):
    """No dead module (DDP would need find_unused_parameters): every parameter is reached by the loss, and all but
    the level embedding get a non-zero gradient at once (the level embedding only moves the deformable sampling
    offsets and attention weights, whose weights are zero-initialised)."""
    gt = torch.zeros(SIZE, SIZE, dtype=torch.long)
    gt[16:48, 16:48] = 1
    head.zero_grad()
    losses = head.loss(random_feats(num_frames=1, seed=7), [sample(gt)])
    sum(losses.values()).backward()
    assert not [n for n, p in head.named_parameters() if p.grad is None]
    assert [n for n, p in head.named_parameters() if not p.grad.abs().sum() > 0] == ['level_embed']


# ------------------------------------------------------------------ the whole model
@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    model = MODELS.build(model_cfg())
    model.init_weights()
    return model


def batch(model, training, seed=0, num_frames=3, **kwargs):
    return demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=training, num_clips=2,
                            num_frames=num_frames, size=SIZE, seed=seed, **kwargs)


def test_model_loss_and_predict(model):
    model.train()
    losses = model(**batch(model, True, labeled=[True, False, False]), mode='loss')
    assert set(losses) == {f'decode.{p}loss_{k}' for p in ('', 'd0.') for k in ('sound', 'focal', 'dice')}
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        results = model(**batch(model, False), mode='predict')
    assert len(results) == 6
    for r in results:
        assert r.seg_logits.data.shape == (1, SIZE, SIZE)
        assert ((r.seg_logits.data >= 0) & (r.seg_logits.data <= 1)).all()  # sigmoid applied by postprocess
        assert r.pred_sem_seg.data.shape == (1, SIZE, SIZE)


def _cut_avff(model):
    for attn in model.neck.attns:  # u = 1 everywhere: v * u = v, AVFF without audio
        torch.nn.init.zeros_(attn.out_proj.weight)
        torch.nn.init.ones_(attn.out_proj.bias)


def _cut_fpn_audio(model):
    for block in model.decode_head.pixel_decoder.blocks:
        torch.nn.init.zeros_(block.cross_attn.out_proj.weight)
        torch.nn.init.zeros_(block.cross_attn.out_proj.bias)


def _cut_query_audio(model):
    head = model.decode_head
    original = type(head).init_queries

    def init_queries(inputs, batch_size):
        query, pos = original(head, inputs, batch_size)
        return torch.zeros_like(query), pos

    head.init_queries = init_queries


def _outputs_change_with_audio(model):
    model.eval()
    data = batch(model, False, seed=0)
    other = copy.deepcopy(data)
    other['inputs']['audio'] = torch.randn_like(other['inputs']['audio'])
    with torch.no_grad():
        scores_a, masks_a = model(**data, mode='tensor')
        scores_b, masks_b = model(**other, mode='tensor')
    return not (torch.allclose(masks_a[-1], masks_b[-1], atol=1e-6)
                and torch.allclose(scores_a[-1], scores_b[-1], atol=1e-6))


@pytest.mark.parametrize('cuts,changes', [
    ((_cut_avff, _cut_fpn_audio), True),  # the queries alone carry the audio
    ((_cut_query_audio, _cut_fpn_audio), True),  # AVFF alone
    ((_cut_avff, _cut_query_audio), True),  # the pixel decoder's cross-attention alone
    ((_cut_avff, _cut_fpn_audio, _cut_query_audio), False),  # no other path
])
def test_audio_reaches_the_masks_on_every_path(cuts, changes):
    """Spec test 2: audio enters through the queries and through AVFF (and the pixel decoder); cutting all three
    paths leaves the output independent of the audio."""
    torch.manual_seed(0)
    model = MODELS.build(model_cfg())
    model.init_weights()
    for cut in cuts:
        cut(model)
    assert _outputs_change_with_audio(model) == changes


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    model = MODELS.build(model_cfg())
    model.init_weights()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=5e-4)
    data = batch(model, True, seed=1, num_frames=1)
    totals = []
    for _ in range(8):
        losses = model(**data, mode='loss')
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < 0.8 * totals[0], totals


def test_gradient_checkpointing_gives_the_same_gradients():
    no_dropout = dict(
        encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=dict(num_heads=4, num_points=2, dropout=0.0),
                                                  ffn_cfg=dict(feedforward_channels=64, ffn_drop=0.0))),
        decoder=dict(num_layers=2, layer_cfg=dict(self_attn_cfg=dict(num_heads=4, dropout=0.0),
                                                  cross_attn_cfg=dict(num_heads=4, num_points=2, dropout=0.0),
                                                  ffn_cfg=dict(feedforward_channels=64, ffn_drop=0.0))),
        pixel_decoder=dict(type='CrossModalFPN', channels=C, mask_channels=16, num_heads=4, feedforward_channels=64,
                           dropout=0.0))
    heads = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        h = MODELS.build(head_cfg(with_cp=with_cp, **no_dropout))
        h.init_weights()
        h.train()
        heads.append(h)
    gt = torch.zeros(SIZE, SIZE, dtype=torch.long)
    gt[16:48, 16:48] = 1
    grads = []
    for h in heads:
        feats = random_feats(num_frames=1, seed=9)
        losses = h.loss(feats, [sample(gt)])
        sum(losses.values()).backward()
        grads.append({n: p.grad.clone() for n, p in h.named_parameters()})
    for name, grad in grads[0].items():
        assert torch.allclose(grad, grads[1][name], atol=1e-6), name


def test_built_head_is_initialised_and_needs_a_matcher_to_train():
    head = MODELS.build(head_cfg(train_cfg=None))
    assert all(torch.isfinite(p).all() for p in head.parameters())  # usable before init_weights (tools/test.py)
    assert head.sound_embed.bias.item() == pytest.approx(-math.log(99), abs=1e-6)
    gt = torch.zeros(SIZE, SIZE, dtype=torch.long)
    with pytest.raises(ValueError, match='train_cfg'):
        head.loss(random_feats(num_frames=1), [sample(gt)])
