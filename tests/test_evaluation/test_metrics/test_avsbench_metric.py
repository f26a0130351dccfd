"""Tests for AVSBenchMetric: hand-computed cases and a plain re-implementation of the official loops."""
from itertools import chain, zip_longest
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from avsseg.evaluation.metrics import AVSBenchMetric
from avsseg.registry import METRICS


# ---------------------------------------------------------------------------- helpers
def make_clip(clip_id, seg_logits, gts, labeled=None, padded=None, pred=None, perturbation=None):
    """Per-frame SegDataSamples of one clip, as PackAVSInputs + the segmentor's postprocessing produce them.

    seg_logits: [T, C, H, W] (or None); gts: [T, H, W]; pred: [T, H, W] class map (semantic) or None.
    """
    num_frames = gts.shape[0]
    labeled = [True] * num_frames if labeled is None else labeled
    padded = [False] * num_frames if padded is None else padded
    samples = []
    for t in range(num_frames):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=gts[t][None].long())
        if seg_logits is not None:
            s.seg_logits = PixelData(data=seg_logits[t])
        if pred is not None:
            s.pred_sem_seg = PixelData(data=pred[t][None].long())
        meta = dict(clip_id=clip_id, num_frames=num_frames, frame_idx=t, is_labeled=labeled[t],
                    is_padded=padded[t], ori_shape=tuple(gts.shape[1:]), img_shape=tuple(gts.shape[1:]))
        if perturbation is not None:
            meta['audio_perturbation'] = perturbation
        s.set_metainfo(meta)
        samples.append(s)
    return samples


def evaluate(metric, clips, batch_clips=2):
    """Run mmengine's Evaluator (which calls SegDataSample.to_dict()) batch by batch."""
    evaluator = Evaluator(metric)
    for i in range(0, len(clips), batch_clips):
        evaluator.process(data_samples=list(chain.from_iterable(clips[i:i + batch_clips])), data_batch=None)
    return evaluator.evaluate(len(clips))


def official_batch_j(prob, gt):
    """AVSBench mask_iou on one batch of frames, prob/gt [N, H, W] (sigmoid already applied)."""
    n, h, w = gt.shape
    pred = (prob > 0.5).int()
    gt = gt.int()
    inter = (pred * gt).sum((1, 2)).float()
    union = torch.max(pred, gt).sum((1, 2)).float()
    empty = gt.sum((1, 2)) == 0
    inter[empty] = ((1 - pred) * (1 - gt)).sum((1, 2)).float()[empty]
    union[empty] = float(h * w)
    return (inter / (union + 1e-7)).sum().item() / n


def official_batch_f(prob, gt, num=255, beta2=0.3):
    """AVSBench Eval_Fmeasure on one batch of frames: one threshold at a time, float32 like the original."""
    gt = gt.float()
    thresholds = torch.linspace(0, 1 - 1e-10, num)
    total, count, score = 0.0, 0, torch.zeros(num)
    for i in range(gt.shape[0]):
        if torch.mean(gt[i]) == 0.0:
            continue
        prec, rec = torch.zeros(num), torch.zeros(num)
        for k in range(num):
            binar = (prob[i] >= thresholds[k]).float()
            tp = (binar * gt[i]).sum()
            prec[k] = tp / (binar.sum() + 1e-20)
            rec[k] = tp / (gt[i].sum() + 1e-20)
        f = (1 + beta2) * prec * rec / (beta2 * prec + rec)
        f[f != f] = 0
        total = total + f
        count += 1
        score = total / count
    return score.max().item()


def official_scores(probs, gts, clips_per_batch):
    """M_J and M_F over test batches of clips_per_batch clips; probs/gts [num_clips, T, H, W]."""
    js, fs = [], []
    for start in range(0, probs.shape[0], clips_per_batch):
        p = probs[start:start + clips_per_batch].flatten(0, 1)
        g = gts[start:start + clips_per_batch].flatten(0, 1)
        js.append(official_batch_j(p, g))
        fs.append(official_batch_f(p, g))
    return float(np.mean(js)), float(np.mean(fs))


def random_binary_data(seed, num_clips=6, num_frames=5, size=8):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(num_clips, num_frames, size, size, generator=gen) * 3
    gts = (torch.rand(num_clips, num_frames, size, size, generator=gen) < 0.4).long()
    # correlate the prediction with the ground truth, and make some frames' ground truth empty
    logits = logits + 2.0 * (gts.float() * 2 - 1)
    gts[1, 2] = 0
    gts[num_clips - 2, :] = 0
    return logits, gts


# ---------------------------------------------------------------------------- binary, hand computed
def hand_clip():
    """4x4 frames: A (J=3/7), B (empty GT, 4 px predicted: J=12/16), C (empty GT, empty prediction: J=1)."""
    gts = torch.zeros(3, 4, 4, dtype=torch.long)
    probs = torch.full((3, 4, 4), 0.1)
    gts[0, :2, :2] = 1                # 4 GT pixels
    probs[0, :2, :2] = 0.9
    probs[0, 1, 1] = 0.1              # 3 of the GT pixels predicted ...
    probs[0, 3, :3] = 0.9             # ... and 3 false positives: 6 predicted, J = 3 / 7
    probs[1, 3, :] = 0.9              # 4 predicted, GT empty
    return probs, gts


def test_binary_hand_computed_j_f_and_empty_rule():
    probs, gts = hand_clip()
    metrics = evaluate(AVSBenchMetric(fscore_batch_clips=1), [make_clip('a', probs[:, None], gts)])
    assert metrics['mJ'] == pytest.approx((3 / 7 + 12 / 16 + 1.0) / 3, abs=1e-6)
    assert metrics['mJ_frame'] == pytest.approx(metrics['mJ'])
    f_a = 1.3 * 0.5 * 0.75 / (0.3 * 0.5 + 0.75)          # P = 3/6, R = 3/4 at p > 0.5
    assert metrics['F_frame'] == pytest.approx(f_a, abs=1e-6)
    # curve of frame A: thr <= 0.1 -> all 16 predicted (F = 0.302), (0.1, 0.9] -> f_a, above -> 0
    assert metrics['mF'] == pytest.approx(f_a, abs=1e-6)
    assert metrics['F_frame_max'] == pytest.approx(f_a, abs=1e-6)
    assert metrics['empty_frac'] == pytest.approx(1 / 3)
    assert metrics['num_frames_scored'] == 3 and metrics['num_frames_empty_gt'] == 2
    assert metrics['num_clips'] == 1 and metrics['mF_batch_clips'] == 1


def test_binary_matches_official_loop_and_depends_on_batch_size():
    logits, gts = random_binary_data(0)
    probs = torch.sigmoid(logits)
    results = {}
    for clips_per_batch in (1, 4):
        # seg_logits as mmseg's postprocess_result stores them for 1 channel: sigmoid probabilities
        clips = [make_clip(f'c{i}', probs[i][:, None], gts[i]) for i in range(len(gts))]
        metrics = evaluate(AVSBenchMetric(fscore_batch_clips=clips_per_batch), clips, batch_clips=3)
        off_j, off_f = official_scores(probs, gts, clips_per_batch)
        assert metrics['mJ'] == pytest.approx(off_j, abs=1e-6)
        assert metrics['mF'] == pytest.approx(off_f, abs=1e-6)
        assert metrics['mF_batch_clips'] == clips_per_batch
        results[clips_per_batch] = metrics
    assert abs(results[1]['mF'] - results[4]['mF']) > 1e-3          # the official M_F depends on batch size
    for key in ('F_frame', 'F_frame_max', 'mJ_frame', 'empty_frac'):   # these do not
        assert results[1][key] == pytest.approx(results[4][key], abs=1e-12)
    # raw logits with one_channel_probs=False give the same scores
    clips = [make_clip(f'c{i}', logits[i][:, None], gts[i]) for i in range(len(gts))]
    raw = evaluate(AVSBenchMetric(fscore_batch_clips=4, one_channel_probs=False), clips)
    assert raw['mF'] == pytest.approx(results[4]['mF'], abs=1e-6)
    assert raw['mJ'] == pytest.approx(results[4]['mJ'], abs=1e-9)


def test_binary_two_channel_logits_use_softmax():
    logits, gts = random_binary_data(1, num_clips=4)
    two = torch.stack([torch.randn_like(logits), logits], dim=2)       # [N, T, 2, H, W]
    probs = torch.softmax(two, dim=2)[:, :, 1]
    clips = [make_clip(f'c{i}', two[i], gts[i]) for i in range(len(gts))]
    metrics = evaluate(AVSBenchMetric(fscore_batch_clips=2), clips)
    off_j, off_f = official_scores(probs, gts, 2)
    assert metrics['mJ'] == pytest.approx(off_j, abs=1e-6)
    assert metrics['mF'] == pytest.approx(off_f, abs=1e-6)
    # p > 0.5 is argmax over the two channels
    argmax_j = official_scores(two.argmax(2).float(), gts, 2)[0]
    assert metrics['mJ'] == pytest.approx(argmax_j, abs=1e-6)


def test_all_empty_group_scores_zero_and_counts():
    gts = torch.zeros(2, 2, 4, 4, dtype=torch.long)
    gts[0, :, :2] = 1
    probs = torch.where(gts == 1, 0.9, 0.1)                 # clip 0 perfect, clip 1 all empty and predicted so
    clips = [make_clip(f'c{i}', probs[i][:, None], gts[i]) for i in range(2)]
    per_clip = evaluate(AVSBenchMetric(fscore_batch_clips=1), clips)
    assert per_clip['mF'] == pytest.approx(0.5)              # (1 + 0) / 2: the empty group counts as 0
    assert per_clip['mJ'] == pytest.approx(1.0)
    together = evaluate(AVSBenchMetric(fscore_batch_clips=2), clips)
    assert together['mF'] == pytest.approx(1.0)              # empty frames skipped inside the group
    assert per_clip['F_frame'] == together['F_frame'] == pytest.approx(1.0)
    assert per_clip['empty_frac'] == pytest.approx(0.5)


def test_unlabelled_frames_and_ignore_pixels_are_not_scored():
    probs, gts = hand_clip()
    reference = evaluate(AVSBenchMetric(fscore_batch_clips=1), [make_clip('a', probs[:, None], gts)])
    # add a frame with is_labeled False (terrible prediction) and a labelled frame whose GT is all 255
    bad_prob = torch.full((1, 4, 4), 0.9)
    probs5 = torch.cat([probs, bad_prob, bad_prob])
    gts5 = torch.cat([gts, torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), 255)])
    clip = make_clip('a', probs5[:, None], gts5, labeled=[True, True, True, False, True])
    metrics = evaluate(AVSBenchMetric(fscore_batch_clips=1), [clip])
    for key in ('mJ', 'mF', 'F_frame', 'empty_frac', 'num_frames_scored'):
        assert metrics[key] == pytest.approx(reference[key])
    # ignore pixels (255) drop out of the counts: marking two of frame A's false positives 255 gives J = 3/5
    gts_ign = gts.clone()
    gts_ign[0, 3, :2] = 255
    metrics = evaluate(AVSBenchMetric(fscore_batch_clips=1), [make_clip('a', probs[:1, None], gts_ign[:1])])
    assert metrics['mJ'] == pytest.approx(3 / 5, abs=1e-6)


def test_ground_truth_padding_margin_is_cropped_else_error():
    probs, gts = hand_clip()
    grown = torch.full((3, 6, 5), 255, dtype=torch.long)
    grown[:, :4, :4] = gts
    clip = make_clip('a', probs[:, None], grown)
    reference = evaluate(AVSBenchMetric(fscore_batch_clips=1), [make_clip('a', probs[:, None], gts)])
    assert evaluate(AVSBenchMetric(fscore_batch_clips=1), [clip])['mJ'] == pytest.approx(reference['mJ'])
    grown[0, 5, 0] = 1
    with pytest.raises(ValueError, match='gt_sem_seg is'):
        evaluate(AVSBenchMetric(), [make_clip('a', probs[:, None], grown)])


def test_one_entry_per_clip_survives_round_robin_collection():
    logits, gts = random_binary_data(2, num_clips=5)
    probs = torch.sigmoid(logits)
    clips = [make_clip(f'c{i}', probs[i][:, None], gts[i]) for i in range(5)]
    single = AVSBenchMetric(fscore_batch_clips=2)
    single.process(None, [s.to_dict() for s in chain.from_iterable(clips)])
    assert len(single.results) == 5
    # two ranks with DefaultSampler(shuffle=False): rank r gets clips r, r+2, ...; batches of one clip
    ranks = [AVSBenchMetric(fscore_batch_clips=2) for _ in range(2)]
    for i, clip in enumerate(clips):
        ranks[i % 2].process(None, [s.to_dict() for s in clip])
    collected = [r for r in chain.from_iterable(zip_longest(*(m.results for m in ranks))) if r is not None]
    with mock.patch('avsseg.evaluation.metrics.avsbench_metric.print_log'):
        merged = ranks[0].compute_metrics(collected)
        expected = single.compute_metrics(single.results)
    assert merged == expected
    assert merged['mF'] == pytest.approx(official_scores(probs, gts, 2)[1], abs=1e-6)


def test_perturbation_and_batch_size_are_logged():
    probs, gts = hand_clip()
    # the dataset gives every clip its own derived seed; the description must not list them
    clips = [
        make_clip(name, probs[:, None], gts, perturbation=dict(type='noise', snr_db=10, partner='x', seed=seed))
        for name, seed in (('a', 11), ('b', 12))
    ]
    with mock.patch('avsseg.evaluation.metrics.avsbench_metric.print_log') as log:
        metrics = evaluate(AVSBenchMetric(fscore_batch_clips=4), clips)
    message = log.call_args[0][0]
    assert metrics['audio_perturbation'] == 'noise(snr_db=10)'
    assert 'noise(snr_db=10)' in message and 'groups of 4 clips' in message and 'empty_frac' in message
    clean = evaluate(AVSBenchMetric(), [make_clip('a', probs[:, None], gts)])
    assert 'audio_perturbation' not in clean


def test_bad_inputs_raise():
    probs, gts = hand_clip()
    clip = make_clip('a', probs[:, None], gts)
    with pytest.raises(ValueError, match='frames'):        # a clip split over two batches
        AVSBenchMetric().process(None, [s.to_dict() for s in clip[:2]])
    with pytest.raises(ValueError, match='0/1'):
        AVSBenchMetric().process(None, [s.to_dict() for s in make_clip('a', probs[:, None], gts * 2)])
    with pytest.raises(ValueError, match='one_channel_probs'):
        AVSBenchMetric().process(None, [s.to_dict() for s in make_clip('a', probs[:, None] * 4 - 2, gts)])
    with pytest.raises(ValueError, match='1 or 2 channels'):
        AVSBenchMetric().process(None, [s.to_dict() for s in make_clip('a', probs[:, None].repeat(1, 3, 1, 1),
                                                                        gts)])
    samples = [s.to_dict() for s in clip]
    del samples[0]['is_labeled']
    with pytest.raises(KeyError, match='is_labeled'):
        AVSBenchMetric().process(None, samples)
    with pytest.raises(ValueError, match='mode'):
        AVSBenchMetric(mode='instance')
    with pytest.raises(ValueError, match='fscore_batch_clips'):
        AVSBenchMetric(fscore_batch_clips=0)
    unlabeled = make_clip('a', probs[:, None], gts, labeled=[False] * 3)
    with pytest.raises(ValueError, match='no frame to score'):
        evaluate(AVSBenchMetric(), [unlabeled])


def test_registered():
    metric = METRICS.build(dict(type='AVSBenchMetric', mode='semantic', num_classes=5))
    assert isinstance(metric, AVSBenchMetric) and metric.num_classes == 5


# ---------------------------------------------------------------------------- semantic (AVSS)
def semantic_hand_clip():
    """Frame 0: GT left half class 1, right half class 0; prediction with one error per half.
    Frame 1: padded (GT all 255 as LoadClipAnnotations leaves it; prediction background)."""
    gts = torch.full((2, 4, 4), 255, dtype=torch.long)
    gts[0, :, :2] = 1
    gts[0, :, 2:] = 0
    pred = torch.zeros(2, 4, 4, dtype=torch.long)
    pred[0, :, :2] = 1
    pred[0, 0, 0] = 2          # one class-1 pixel predicted as class 2
    pred[0, 0, 3] = 1          # one background pixel predicted as class 1
    return make_clip('s', None, gts, labeled=[True, False], padded=[False, True], pred=pred)


def test_semantic_hand_computed_padded_off_and_on():
    f0 = 1.3 * 7 / 8 / (0.3 + 7 / 8)         # class 0: P = 1, R = 7/8
    f1 = 7 / 8                               # class 1: P = R = 7/8
    off = evaluate(AVSBenchMetric(mode='semantic', num_classes=4), [semantic_hand_clip()])
    # IoU: class 0 = 7/8, class 1 = 7/9, class 2 = 0 (predicted only, counted), class 3 absent (0, not counted)
    assert off['mIoU'] == pytest.approx((7 / 8 + 7 / 9) / 4, abs=1e-9)
    assert off['mIoU_present'] == pytest.approx((7 / 8 + 7 / 9) / 3, abs=1e-9)
    assert off['F'] == pytest.approx((f0 + f1) / 4, abs=1e-9)
    assert off['F_present'] == pytest.approx((f0 + f1) / 3, abs=1e-9)
    assert off['num_frames_scored'] == 1 and off['num_classes_present'] == 3
    on = evaluate(AVSBenchMetric(mode='semantic', num_classes=4, score_padded_frames=True),
                  [semantic_hand_clip()])
    # the padded frame scores as all-background GT vs background prediction: class 0 gets IoU 1 and F 1
    assert on['mIoU'] == pytest.approx(((7 / 8 + 1) / 2 + 7 / 9) / 4, abs=1e-9)
    assert on['F'] == pytest.approx(((f0 + 1) / 2 + f1) / 4, abs=1e-9)
    assert on['num_frames_scored'] == 2
    assert off['empty_frac'] == on['empty_frac'] == 0.0      # padded frames never enter empty_frac


def official_semantic(preds, gts, nclass, beta2=0.3):
    """AVSS _batch_miou_fscore + test.py aggregation with torch.histc, preds/gts [N, H, W]."""
    ious, fscores, counts = torch.zeros(nclass), torch.zeros(nclass), torch.zeros(nclass)
    predict = preds.float() + 1
    target = gts.float() + 1
    inter = predict * (predict == target).float()
    for i in range(gts.shape[0]):
        a_i = torch.histc(inter[i], bins=nclass, min=1, max=nclass)
        a_p = torch.histc(predict[i], bins=nclass, min=1, max=nclass)
        a_l = torch.histc(target[i], bins=nclass, min=1, max=nclass)
        union = a_p + a_l - a_i
        ious += a_i / (2.220446049250313e-16 + union)
        counts[torch.nonzero(union).squeeze(-1)] += 1
        prec, rec = a_i / a_p, a_i / a_l
        f = (1 + beta2) * prec * rec / (beta2 * prec + rec)
        f[torch.isnan(f)] = 0
        fscores += f
    miou, fs = ious / counts, fscores / counts
    miou[torch.isnan(miou)] = 0
    fs[torch.isnan(fs)] = 0
    return miou.mean().item(), fs.mean().item()


def test_semantic_matches_official_histc_on_random_data_with_logits_only():
    gen = torch.Generator().manual_seed(3)
    nclass, num_clips, num_frames = 6, 3, 4
    logits = torch.randn(num_clips, num_frames, nclass, 6, 6, generator=gen)
    gts = torch.randint(0, nclass - 1, (num_clips, num_frames, 6, 6), generator=gen)  # class 5 never in GT
    # padded last frame of each clip, as the segmentor leaves it: background logits, GT all 255
    logits[:, -1] = 0
    logits[:, -1, 0] = 1.0
    gts[:, -1] = 255
    padded = [False] * (num_frames - 1) + [True]
    clips = [make_clip(f's{i}', logits[i], gts[i], padded=padded) for i in range(num_clips)]
    for score_padded in (False, True):
        metrics = evaluate(AVSBenchMetric(mode='semantic', num_classes=nclass, score_padded_frames=score_padded),
                           clips)
        keep = slice(None) if score_padded else slice(0, num_frames - 1)
        ref_gts = gts.clone()
        ref_gts[:, -1] = 0                     # official padding: label 0
        ref = official_semantic(logits[:, keep].argmax(2).flatten(0, 1), ref_gts[:, keep].flatten(0, 1), nclass)
        assert metrics['mIoU'] == pytest.approx(ref[0], abs=1e-6)
        assert metrics['F'] == pytest.approx(ref[1], abs=1e-6)
        assert metrics['num_frames_scored'] == num_clips * (num_frames if score_padded else num_frames - 1)


def test_semantic_empty_frac_and_bad_class():
    gts = torch.ones(2, 4, 4, dtype=torch.long)
    pred = torch.zeros(2, 4, 4, dtype=torch.long)
    pred[1, 0, 0] = 3
    metrics = evaluate(AVSBenchMetric(mode='semantic', num_classes=4), [make_clip('s', None, gts, pred=pred)])
    assert metrics['empty_frac'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='ground-truth classes'):
        AVSBenchMetric(mode='semantic', num_classes=4).process(
            None, [s.to_dict() for s in make_clip('s', None, gts * 7, pred=pred)])
    with pytest.raises(ValueError, match='predicted classes'):
        AVSBenchMetric(mode='semantic', num_classes=3).process(
            None, [s.to_dict() for s in make_clip('s', None, gts, pred=pred)])


def test_reads_samples_postprocessed_by_mmseg_segmentor():
    """mmseg's BaseSegmentor.postprocess_result stores sigmoid(logits) for 1 channel (one_channel_probs=True)."""
    from types import SimpleNamespace

    from mmseg.models.segmentors.base import BaseSegmentor
    logits, gts = random_binary_data(4, num_clips=3, num_frames=3)
    clips = [make_clip(f'c{i}', None, gts[i]) for i in range(3)]
    fake = SimpleNamespace(align_corners=False, decode_head=SimpleNamespace(threshold=0.3))
    samples = BaseSegmentor.postprocess_result(fake, logits.flatten(0, 1)[:, None], list(chain(*clips)))
    assert samples[0].seg_logits.data.min() >= 0 and samples[0].seg_logits.data.max() <= 1
    metrics = evaluate(AVSBenchMetric(fscore_batch_clips=1), [samples[0:3], samples[3:6], samples[6:9]])
    off_j, off_f = official_scores(torch.sigmoid(logits), gts, 1)
    assert metrics['mJ'] == pytest.approx(off_j, abs=1e-6)     # J at 0.5, not at the head's 0.3 threshold
    assert metrics['mF'] == pytest.approx(off_f, abs=1e-6)
