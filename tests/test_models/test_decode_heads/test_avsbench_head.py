import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from avsseg.models.decode_heads import AVSBenchHead
from avsseg.structures import AVFeatures

C = 8
H = W = 32
LEVEL_SIZES = [H // 4, H // 8, H // 16, H // 32]


def _head(out_channels=1, **kwargs):
    cfg = dict(
        in_channels=C,
        mid_channels=6,
        channels=4,
        num_classes=2 if out_channels == 1 else out_channels,
        out_channels=out_channels,
        threshold=0.5 if out_channels == 1 else None,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=out_channels == 1, loss_weight=1.0,
                         loss_name='loss_bce' if out_channels == 1 else 'loss_ce'))
    cfg.update(kwargs)
    return AVSBenchHead(**cfg)


def _feats(rows, seed=0, num_frames=3, tpavi_audio=None):
    """The neck's bundle: fused levels (finest first) and, for the AVM loss, the per-stage projected audio."""
    g = torch.Generator().manual_seed(seed)
    visual = [torch.randn(rows, C, s, s, generator=g) for s in LEVEL_SIZES]
    extras = dict(tpavi_audio=tpavi_audio) if tpavi_audio is not None else None
    return AVFeatures(visual, audio=torch.randn(rows, 5, generator=g), num_frames=num_frames, extras=extras)


def _samples(labels, labeled, num_frames):
    samples = []
    for i, (lab, is_lab) in enumerate(zip(labels, labeled)):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab[None].long())
        s.set_metainfo(dict(num_frames=num_frames, frame_idx=i % num_frames, is_labeled=is_lab, is_padded=False,
                            img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W), batch_input_shape=(H, W)))
        samples.append(s)
    return samples


@pytest.mark.parametrize('out_channels', [1, 71])
def test_forward_and_predict_shapes(out_channels):
    torch.manual_seed(0)
    head = _head(out_channels)
    feats = _feats(6)
    logits = head(feats)
    assert logits.shape == (6, out_channels, H, W)
    # a plain tuple of levels decodes the same: the head reads no audio
    torch.testing.assert_close(head(tuple(feats)), logits)
    metas = [dict(num_frames=3, batch_input_shape=(H + 8, W + 8), pad_shape=(H + 8, W + 8), img_shape=(H, W))] * 6
    pred = head.predict(feats, metas, None)
    assert pred.shape == (6, out_channels, H + 8, W + 8)
    torch.testing.assert_close(pred[..., :H, :W].shape, logits.shape)
    unpadded = [dict(m, batch_input_shape=(H, W), pad_shape=(H, W)) for m in metas]
    torch.testing.assert_close(head.predict(feats, unpadded, None), logits)


def test_structure_follows_official_widths():
    head = AVSBenchHead(num_classes=2, out_channels=1, threshold=0.5,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    assert head.out_conv1.in_channels == 256 and head.out_conv1.out_channels == 128
    assert head.out_conv2.out_channels == 32 and head.conv_seg.in_channels == 32
    assert len(head.fusion_blocks) == 4
    # the coarsest block's lateral unit is never used (official path4): kept frozen
    assert not any(p.requires_grad for p in head.fusion_blocks[3].lateral_unit.parameters())
    assert all(p.requires_grad for p in head.fusion_blocks[0].lateral_unit.parameters())
    fused_block = 2 * 2 * (256 * 256 * 9 + 256)
    expected = 4 * fused_block + (256 * 128 * 9 + 128) + (128 * 32 * 9 + 32) + (32 + 1)
    assert sum(p.numel() for p in head.parameters()) == expected


def test_binary_loss_matches_masked_per_frame_bce_and_skips_unlabelled():
    torch.manual_seed(0)
    head = _head(1)
    feats = _feats(6)
    labels = [torch.randint(0, 2, (H, W)) for _ in range(6)]
    labels[1][:4] = 255  # ignored pixels (crop padding)
    labeled = [True, True, False, True, False, False]
    losses = head.loss(feats, _samples(labels, labeled, 3), None)
    assert set(losses) == {'loss_bce', 'acc_seg'}

    logits = head(feats).squeeze(1)
    expected = []
    for i in (0, 1, 3):
        valid = labels[i] != 255
        per_px = F.binary_cross_entropy_with_logits(logits[i][valid], labels[i][valid].float())
        expected.append(per_px)
    torch.testing.assert_close(losses['loss_bce'], torch.stack(expected).mean())

    # changing the ground truth of unlabelled frames changes nothing
    labels2 = [lab.clone() for lab in labels]
    for i in (2, 4, 5):
        labels2[i] = 1 - labels2[i]
    losses2 = head.loss(feats, _samples(labels2, labeled, 3), None)
    torch.testing.assert_close(losses['loss_bce'], losses2['loss_bce'])
    # ... while changing a labelled frame does
    labels2[3] = 1 - labels2[3]
    losses3 = head.loss(feats, _samples(labels2, labeled, 3), None)
    assert not torch.allclose(losses['loss_bce'], losses3['loss_bce'])


def test_multiclass_loss_is_per_frame_ce_averaged_over_labelled_frames():
    torch.manual_seed(0)
    head = _head(71)
    feats = _feats(4, num_frames=2)
    labels = [torch.randint(0, 71, (H, W)) for _ in range(4)]
    labels[0][: H // 2] = 255  # half the frame ignored: per-frame mean differs from a global pixel mean
    labeled = [True, True, False, False]
    losses = head.loss(feats, _samples(labels, labeled, 2), None)
    logits = head(feats)
    per_frame = [F.cross_entropy(logits[i:i + 1], labels[i][None], ignore_index=255) for i in (0, 1)]
    torch.testing.assert_close(losses['loss_ce'], torch.stack(per_frame).mean())
    assert 0 <= losses['acc_seg'].item() <= 100


def test_loss_backpropagates():
    torch.manual_seed(0)
    head = _head(1)
    feats = _feats(3)
    for f in feats:
        f.requires_grad_()
    labels = [torch.randint(0, 2, (H, W)) for _ in range(3)]
    losses = head.loss(feats, _samples(labels, [True, False, False], 3), None)
    losses['loss_bce'].backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)
    assert head.conv_seg.weight.grad.abs().sum() > 0
    assert head.fusion_blocks[3].lateral_unit.conv1.weight.grad is None


def test_avm_loss_wired_on_labelled_frames():
    torch.manual_seed(0)
    head = _head(1, loss_avm=dict(type='AudioVisualMatchingLoss', stages=(0, 1, 2, 3), loss_weight=0.5))
    audio = tuple(torch.randn(6, C) for _ in range(4))
    feats = _feats(6, tpavi_audio=audio)
    labels = [torch.randint(0, 2, (H, W)) for _ in range(6)]
    labeled = [True, True, True, True, False, True]
    losses = head.loss(feats, _samples(labels, labeled, 3), None)
    assert set(losses) == {'loss_bce', 'acc_seg', 'loss_avm'}
    # the official decoder's in-place ReLUs leave relu(map) in the map list its AVM loss reads
    relu_maps = [F.relu(f) for f in feats]
    expected = head.loss_avm(head(feats), relu_maps, audio, torch.tensor(labeled, dtype=torch.float))
    torch.testing.assert_close(losses['loss_avm'], expected)
    # the unlabelled frame's audio is not used (a constant shift would vanish in the loss's softmax)
    audio2 = tuple(a.clone() for a in audio)
    audio2[0][4] = torch.randn(C) * 10
    losses2 = head.loss(feats.replace(extras=dict(tpavi_audio=audio2)), _samples(labels, labeled, 3), None)
    torch.testing.assert_close(losses['loss_avm'], losses2['loss_avm'])
    # ... a labelled frame's audio is
    audio2[0][3] = torch.randn(C) * 10
    losses3 = head.loss(feats.replace(extras=dict(tpavi_audio=audio2)), _samples(labels, labeled, 3), None)
    assert not torch.allclose(losses['loss_avm'], losses3['loss_avm'])
    # the AVM loss reads the neck's per-stage audio; a bundle without it (no TPAVINeck) is an error
    with pytest.raises(ValueError, match='loss_avm'):
        head.loss(feats.replace(extras={}), _samples(labels, labeled, 3), None)
    with pytest.raises(ValueError, match='loss_avm'):
        head.loss(tuple(feats), _samples(labels, labeled, 3), None)


def test_bad_inputs_raise():
    head = _head(1)
    feats = _feats(3)
    labels = [torch.randint(0, 2, (H, W)) for _ in range(3)]
    with pytest.raises(ValueError, match='is_labeled'):
        head.loss(feats, _samples(labels, [False] * 3, 3), None)
    labels[0][0, 0] = 7
    with pytest.raises(ValueError, match='out of range'):
        head.loss(feats, _samples(labels, [True, False, False], 3), None)
    with pytest.raises(ValueError, match='levels'):
        head(feats.replace(visual=feats[:3]))
    with pytest.raises(ValueError, match='level 1 must be'):
        head(feats.replace(visual=[feats[0], feats[1][:, :4]] + list(feats[2:])))
    with pytest.raises(ValueError, match='2 data samples'):
        head.loss(feats, _samples(labels[:2], [True, True], 2), None)
    with pytest.raises(TypeError, match='in_channels'):
        _head(1, in_channels=[8, 8, 8, 8])


# --------------------------------------------------------------------------- official residual unit (issue 9)
def test_residual_unit_adds_the_relud_input_as_the_official_one():
    from avsseg.models.decode_heads.avsbench_head import _ResidualConvUnit

    unit = _ResidualConvUnit(1)
    with torch.no_grad():
        for conv in (unit.conv1, unit.conv2):
            conv.weight.zero_()
            conv.bias.zero_()
        unit.conv2.bias.fill_(0.5)
    x = torch.tensor([-1.0, 2.0]).view(1, 1, 1, 2)
    # official ResidualConvUnit: out = relu_(x) (x itself becomes relu(x)); ...; return conv2(...) + x
    assert unit(x).flatten().tolist() == [0.5, 2.5]
    assert x.flatten().tolist() == [-1.0, 2.0]  # no in-place change of the caller's tensor
