"""The shared Mask2Former decoder of the query-based AVS heads, without any method's additions."""
import pytest
import torch
import torch.nn.functional as F
from tiny_mask2former import (AUDIO, BASE, NUM_LAYERS, NUM_QUERIES, SIZE, build_head, feats, samples, seeded_loss,
                              tiny_plain_head_cfg)

import avsseg.models.utils.checkpoint as checkpoint_module
from avsseg.models.decode_heads import AudioQueryMask2FormerHead
from avsseg.registry import MODELS
from avsseg.testing import get_config

SUPERVISED = ('loss_cls', 'loss_mask', 'loss_dice')


def _plain(**overrides):
    return build_head(tiny_plain_head_cfg(**overrides))


def _build_like(cls, head):
    """A head of class ``cls`` with the same config and weights as ``head``."""
    other = cls(**{k: v for k, v in tiny_plain_head_cfg().items() if k != 'type'})
    other.load_state_dict(head.state_dict())
    return other


# a per-channel offset (a constant one would vanish in the LayerNorm before the class and mask predictions)
QUERY_OFFSET = torch.linspace(-1.0, 1.0, 32)


class _ShiftedQueries(AudioQueryMask2FormerHead):
    """Overrides init_queries only: the learnable queries plus a fixed offset."""

    def init_queries(self, inputs, batch_size):
        self.init_calls.append(batch_size)
        query_feat, query_embed = super().init_queries(inputs, batch_size)
        return query_feat + QUERY_OFFSET, query_embed


class _RecordingExtraLoss(AudioQueryMask2FormerHead):
    """Overrides extra_losses only: records what it sees and returns a loss of every frame's masks."""

    def extra_losses(self, all_cls_scores, all_mask_preds, inputs, data_samples):
        self.seen = dict(rows=[m.shape[0] for m in all_mask_preds], cls_rows=[c.shape[0] for c in all_cls_scores],
                         samples=len(data_samples), inputs=inputs, masks=all_mask_preds)
        return dict(loss_extra=all_mask_preds[-1].sigmoid().mean())


def test_registered_and_a_plain_head_needs_no_audio():
    head = _plain()
    assert type(head) is AudioQueryMask2FormerHead and MODELS.get('AudioQueryMask2FormerHead') is not None
    assert head.audio_channels is None
    cls_list, mask_list = head(feats(4, num_frames=2, audio=False))
    assert len(cls_list) == len(mask_list) == NUM_LAYERS + 1
    assert cls_list[-1].shape == (4, NUM_QUERIES, 3) and mask_list[0].shape == (4, NUM_QUERIES, SIZE // 4, SIZE // 4)
    # the audio of a bundle is ignored by a head that does not read it
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(head(feats(4, audio=False))[1][-1], head(feats(4))[1][-1])


def test_plain_head_trains():
    head = _plain()
    losses = seeded_loss(head, feats(6, num_frames=3, audio=False), samples(2, 3))
    expected = set(SUPERVISED) | {f'd{i}.{k}' for i in range(NUM_LAYERS) for k in SUPERVISED}
    assert set(losses) == expected  # no extra loss by default
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for param in (head.query_feat.weight, head.query_embed.weight, head.cls_embed.weight,
                  head.pixel_decoder.mask_feature.weight, head.transformer_decoder.layers[0].ffn.layers[1].weight):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_only_labelled_frames_reach_loss_by_feat(monkeypatch):
    head = _plain()
    head.eval()  # the spy compares with a separate forward pass
    inputs = feats(6, num_frames=3, audio=False)
    seen = {}
    original = head.loss_by_feat

    def spy(cls_scores, mask_preds, gt_instances, metas):
        seen.update(cls=cls_scores, masks=mask_preds, gts=gt_instances, frames=[m['frame_idx'] for m in metas])
        return original(cls_scores, mask_preds, gt_instances, metas)

    monkeypatch.setattr(head, 'loss_by_feat', spy)
    data_samples = samples(2, 3, labeled=[False, True, False])
    seeded_loss(head, inputs, data_samples)
    assert seen['frames'] == [1, 1] and len(seen['gts']) == 2
    assert len(seen['cls']) == len(seen['masks']) == NUM_LAYERS + 1
    with torch.no_grad():
        cls_list, mask_list = head(inputs)
    for got, full in zip(seen['cls'] + seen['masks'], cls_list + mask_list):
        torch.testing.assert_close(got, full[[1, 4]])  # rows of frame 1 of each clip
    # the ground truth of the labelled frames: one instance per present class
    for gt, row in zip(seen['gts'], (1, 4)):
        present = data_samples[row].gt_sem_seg.data.unique()
        assert gt.labels.tolist() == [c for c in present.tolist() if c != 255]


def test_extra_losses_see_every_frame_and_the_decoder_queries():
    head = _build_like(_RecordingExtraLoss, _plain())
    inputs = feats(6, num_frames=3, audio=False)
    data_samples = samples(2, 3, labeled=[True, False, False], padded=[[False] * 3, [False, False, True]])
    losses = seeded_loss(head, inputs, data_samples)
    seen = head.seen
    assert seen['rows'] == seen['cls_rows'] == [6] * (NUM_LAYERS + 1) and seen['samples'] == 6
    query_feats = seen['inputs'].extras['query_feats']
    assert len(query_feats) == NUM_LAYERS + 1 and all(q.shape == (6, NUM_QUERIES, 32) for q in query_feats)
    assert seen['inputs'].num_frames == 3 and 'query_feats' not in inputs.extras
    torch.testing.assert_close(losses['loss_extra'], seen['masks'][-1].sigmoid().mean())
    deep_supervision = {f'd{i}.{k}' for i in range(NUM_LAYERS) for k in SUPERVISED}
    assert set(losses) - {'loss_extra'} == set(SUPERVISED) | deep_supervision


def test_overriding_init_queries_changes_the_outputs():
    base = _plain()
    base.eval()
    shifted = _build_like(_ShiftedQueries, base)
    shifted.init_calls = []
    shifted.eval()
    inputs = feats(4, num_frames=2, audio=False)
    with torch.no_grad():
        cls_base, mask_base = base(inputs)
        cls_new, mask_new = shifted(inputs)
        query_feat, _ = base.init_queries(inputs, 4)
        expected = base.cls_embed(base.transformer_decoder.post_norm(query_feat + QUERY_OFFSET))
    assert shifted.init_calls == [4]
    torch.testing.assert_close(cls_new[0], expected)
    assert not torch.allclose(cls_base[0], cls_new[0]) and not torch.allclose(mask_base[-1], mask_new[-1])


def test_fuse_pixel_features_hook_feeds_the_decoder_and_the_bundle():
    class _Scaled(AudioQueryMask2FormerHead):

        def fuse_pixel_features(self, mask_features, multi_scale_memorys, inputs):
            return mask_features * 2.0, multi_scale_memorys, inputs.replace(extras={**inputs.extras, 'fused': 1})

    base = _plain()
    base.eval()
    scaled = _build_like(_Scaled, base).eval()
    inputs = feats(2, num_frames=1, audio=False)
    with torch.no_grad():
        _, mask_base = base(inputs)
        _, mask_scaled, fused = scaled.decode(inputs)
        mask_features, _ = base.pixel_decoder(list(inputs))
        query = base.transformer_decoder.post_norm(base.query_feat.weight)[None]
        mask_embed = base.mask_embed(query)
    assert fused.extras['fused'] == 1 and 'query_feats' in fused.extras
    # the first prediction is mask_embed(query) x mask features, so doubling the features doubles it
    torch.testing.assert_close(mask_base[0], torch.einsum('bqc,bchw->bqhw', mask_embed.expand(2, -1, -1),
                                                          mask_features))
    torch.testing.assert_close(mask_scaled[0], 2 * mask_base[0])


def test_predict_is_at_the_padded_input_size():
    head = _plain()
    head.eval()
    inputs = feats(4, num_frames=2, audio=False)
    metas = [s.metainfo for s in samples(2, 2, pad_to=SIZE + 8)]
    with torch.no_grad():
        seg = head.predict(inputs, metas, None)
        cls_list, mask_list = head(inputs)
    assert seg.shape == (4, 2, SIZE + 8, SIZE + 8)
    masks = F.interpolate(mask_list[-1], size=(SIZE + 8, SIZE + 8), mode='bilinear', align_corners=False)
    torch.testing.assert_close(seg, torch.einsum('bqc,bqhw->bchw', cls_list[-1].softmax(-1)[..., :-1],
                                                 masks.sigmoid()))
    # data samples work as well as metainfo dicts
    with torch.no_grad():
        torch.testing.assert_close(head.predict(inputs, samples(2, 2, pad_to=SIZE + 8), None), seg)


def test_gradient_checkpointing_wraps_the_pixel_decoder_and_each_layer(monkeypatch):
    head = _plain()
    inputs = feats(2, num_frames=1, audio=False)
    data_samples = samples(1, 2)
    head.eval()  # dropout off, so the two passes compute the same numbers
    ref = seeded_loss(head, inputs, data_samples)
    calls = []
    original = checkpoint_module.checkpoint

    def counting(fn, *args, **kwargs):
        calls.append(fn)
        return original(fn, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module, 'checkpoint', counting)
    head.with_cp = True
    seeded_loss(head, inputs, data_samples)
    assert calls == []  # evaluation mode: nothing to checkpoint
    head.train()
    for module in head.modules():  # keep the train-mode pass numerically the eval one
        if isinstance(module, torch.nn.Dropout):
            module.eval()
    ckpt = seeded_loss(head, inputs, data_samples)
    assert len(calls) == 1 + NUM_LAYERS
    assert calls[0] == head.run_pixel_decoder and calls[1:] == list(head.transformer_decoder.layers)
    for k in ref:
        torch.testing.assert_close(ref[k], ckpt[k])
    sum(ckpt.values()).backward()
    assert head.query_feat.weight.grad.abs().sum() > 0


def test_audio_is_checked_when_the_head_reads_it():
    head = _plain(audio_channels=AUDIO)
    inputs = feats(4, num_frames=2)
    head(inputs)
    with pytest.raises(ValueError, match=r'AudioQueryMask2FormerHead: the audio must be \[4, 16\].*got \[4, 8\]'):
        head(inputs.replace(audio=inputs.audio[:, :8]))
    with pytest.raises(ValueError, match='the audio must be .* got None'):
        head(inputs.replace(audio=None))


def test_bad_ground_truth_raises():
    head = _plain()
    inputs = feats(4, num_frames=2, audio=False)
    with pytest.raises(ValueError, match='no frame of the batch is labelled'):
        head.loss(inputs, samples(2, 2, [False, False]), None)
    with pytest.raises(ValueError, match=r'outside \[0, 2\).*binary masks must be 0/1'):
        head.loss(inputs, samples(2, 2, num_classes=3), None)


# --------------------------------------------------------------------------- fp32 pixel decoder (issue 9)
@pytest.mark.parametrize('fp32', [True, False])
def test_pixel_decoder_runs_in_fp32_under_autocast_when_asked(fp32):
    head = build_head(tiny_plain_head_cfg(fp32_pixel_decoder=fp32)).eval()
    inputs = feats(2, audio=False)
    seen = {}
    original = head.pixel_decoder.forward

    def spy(x):
        out = original(x)
        seen['dtype'] = out[0].dtype
        return out

    head.pixel_decoder.forward = spy
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        head(inputs)
    assert seen['dtype'] == (torch.float32 if fp32 else torch.bfloat16)
    head.pixel_decoder.forward = original
    with torch.no_grad():  # without autocast both settings compute the same thing
        reference = build_head(tiny_plain_head_cfg(fp32_pixel_decoder=not fp32)).eval()(inputs)
        ours = head(inputs)
    torch.testing.assert_close(ours[1][-1], reference[1][-1])


def test_combo_configs_keep_the_pixel_decoder_in_fp32():
    assert get_config(BASE).model.decode_head.fp32_pixel_decoder is True
