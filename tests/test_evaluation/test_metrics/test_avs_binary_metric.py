"""AVSBinaryMetric: hand-computed clips and a plain re-implementation of the official batch loops."""
from itertools import chain, zip_longest
from unittest import mock

import numpy as np
import pytest
import torch
from avs_samples import as_dicts, evaluate, make_clip, random_binary_data

from avsseg.evaluation.metrics import AVSBinaryMetric
from avsseg.registry import METRICS


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


def test_hand_computed_j_f_and_empty_rule():
    probs, gts = hand_clip()
    metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [make_clip('a', probs[:, None], gts)])
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


def test_matches_official_loop_and_depends_on_batch_size():
    logits, gts = random_binary_data(0)
    probs = torch.sigmoid(logits)
    results = {}
    for clips_per_batch in (1, 4):
        # seg_logits as mmseg's postprocess_result stores them for 1 channel: sigmoid probabilities
        clips = [make_clip(f'c{i}', probs[i][:, None], gts[i]) for i in range(len(gts))]
        metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=clips_per_batch), clips, batch_clips=3)
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
    raw = evaluate(AVSBinaryMetric(fscore_batch_clips=4, one_channel_probs=False), clips)
    assert raw['mF'] == pytest.approx(results[4]['mF'], abs=1e-6)
    assert raw['mJ'] == pytest.approx(results[4]['mJ'], abs=1e-9)


def test_two_channel_logits_use_softmax():
    logits, gts = random_binary_data(1, num_clips=4)
    two = torch.stack([torch.randn_like(logits), logits], dim=2)       # [N, T, 2, H, W]
    probs = torch.softmax(two, dim=2)[:, :, 1]
    clips = [make_clip(f'c{i}', two[i], gts[i]) for i in range(len(gts))]
    metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=2), clips)
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
    per_clip = evaluate(AVSBinaryMetric(fscore_batch_clips=1), clips)
    assert per_clip['mF'] == pytest.approx(0.5)              # (1 + 0) / 2: the empty group counts as 0
    assert per_clip['mJ'] == pytest.approx(1.0)
    together = evaluate(AVSBinaryMetric(fscore_batch_clips=2), clips)
    assert together['mF'] == pytest.approx(1.0)              # empty frames skipped inside the group
    assert per_clip['F_frame'] == together['F_frame'] == pytest.approx(1.0)
    assert per_clip['empty_frac'] == pytest.approx(0.5)


def test_unlabelled_frames_and_ignore_pixels_are_not_scored():
    probs, gts = hand_clip()
    reference = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [make_clip('a', probs[:, None], gts)])
    # add a frame with is_labeled False (terrible prediction) and a labelled frame whose GT is all 255
    bad_prob = torch.full((1, 4, 4), 0.9)
    probs5 = torch.cat([probs, bad_prob, bad_prob])
    gts5 = torch.cat([gts, torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), 255)])
    clip = make_clip('a', probs5[:, None], gts5, labeled=[True, True, True, False, True])
    metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [clip])
    for key in ('mJ', 'mF', 'F_frame', 'empty_frac', 'num_frames_scored'):
        assert metrics[key] == pytest.approx(reference[key])
    # ignore pixels (255) drop out of the counts: marking two of frame A's false positives 255 gives J = 3/5
    gts_ign = gts.clone()
    gts_ign[0, 3, :2] = 255
    metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [make_clip('a', probs[:1, None], gts_ign[:1])])
    assert metrics['mJ'] == pytest.approx(3 / 5, abs=1e-6)


def test_padded_frames_scored_only_when_asked():
    probs, gts = hand_clip()
    clip = make_clip('a', probs[:, None], gts, padded=[False, False, True])
    off = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [clip])
    assert off['num_frames_scored'] == 2 and off['mJ'] == pytest.approx((3 / 7 + 12 / 16) / 2, abs=1e-6)
    on = evaluate(AVSBinaryMetric(fscore_batch_clips=1, score_padded_frames=True), [clip])
    assert on['num_frames_scored'] == 3 and on['mJ'] == pytest.approx((3 / 7 + 12 / 16 + 1) / 3, abs=1e-6)
    assert off['empty_frac'] == on['empty_frac'] == 0.0      # padded frames never enter empty_frac


def test_one_entry_per_clip_survives_round_robin_collection():
    logits, gts = random_binary_data(2, num_clips=5)
    probs = torch.sigmoid(logits)
    clips = [make_clip(f'c{i}', probs[i][:, None], gts[i]) for i in range(5)]
    single = AVSBinaryMetric(fscore_batch_clips=2)
    single.process(None, as_dicts(chain.from_iterable(clips)))
    assert len(single.results) == 5
    # two ranks with DefaultSampler(shuffle=False): rank r gets clips r, r+2, ...; batches of one clip
    ranks = [AVSBinaryMetric(fscore_batch_clips=2) for _ in range(2)]
    for i, clip in enumerate(clips):
        ranks[i % 2].process(None, as_dicts(clip))
    collected = [r for r in chain.from_iterable(zip_longest(*(m.results for m in ranks))) if r is not None]
    with mock.patch('avsseg.evaluation.metrics.base_clip_metric.print_log'):
        merged = ranks[0].compute_metrics(collected)
        expected = single.compute_metrics(single.results)
    assert merged == expected
    assert merged['mF'] == pytest.approx(official_scores(probs, gts, 2)[1], abs=1e-6)


def test_batch_size_is_logged():
    probs, gts = hand_clip()
    with mock.patch('avsseg.evaluation.metrics.base_clip_metric.print_log') as log:
        evaluate(AVSBinaryMetric(fscore_batch_clips=4), [make_clip('a', probs[:, None], gts)])
    message = log.call_args[0][0]
    assert message.startswith('AVSBinaryMetric: M_F over groups of 4 clips')
    assert 'empty_frac' in message and 'F_frame_max' in message


def test_bad_inputs_raise():
    probs, gts = hand_clip()
    with pytest.raises(ValueError, match=r'classes must lie in \[0, 2\) or be 255, found \[2\]'):
        AVSBinaryMetric().process(None, as_dicts(make_clip('a', probs[:, None], gts * 2)))
    with pytest.raises(ValueError, match='one_channel_probs'):
        AVSBinaryMetric().process(None, as_dicts(make_clip('a', probs[:, None] * 4 - 2, gts)))
    with pytest.raises(ValueError, match='1 or 2 channels'):
        AVSBinaryMetric().process(None, as_dicts(make_clip('a', probs[:, None].repeat(1, 3, 1, 1), gts)))
    with pytest.raises(KeyError, match='clip a frame 0: the data sample has no seg_logits'):
        AVSBinaryMetric().process(None, as_dicts(make_clip('a', None, gts)))
    with pytest.raises(ValueError, match='fscore_batch_clips'):
        AVSBinaryMetric(fscore_batch_clips=0)
    with pytest.raises(ValueError, match='num_thresholds'):
        AVSBinaryMetric(num_thresholds=1)
    unlabeled = make_clip('a', probs[:, None], gts, labeled=[False] * 3)
    with pytest.raises(ValueError, match='AVSBinaryMetric: no frame to score'):
        evaluate(AVSBinaryMetric(), [unlabeled])


def test_reads_samples_postprocessed_by_mmseg_segmentor():
    """mmseg's BaseSegmentor.postprocess_result stores sigmoid(logits) for 1 channel (one_channel_probs=True)."""
    from types import SimpleNamespace

    from mmseg.models.segmentors.base import BaseSegmentor
    logits, gts = random_binary_data(4, num_clips=3, num_frames=3)
    clips = [make_clip(f'c{i}', None, gts[i]) for i in range(3)]
    fake = SimpleNamespace(align_corners=False, decode_head=SimpleNamespace(threshold=0.3))
    samples = BaseSegmentor.postprocess_result(fake, logits.flatten(0, 1)[:, None], list(chain(*clips)))
    assert samples[0].seg_logits.data.min() >= 0 and samples[0].seg_logits.data.max() <= 1
    metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [samples[0:3], samples[3:6], samples[6:9]])
    off_j, off_f = official_scores(torch.sigmoid(logits), gts, 1)
    assert metrics['mJ'] == pytest.approx(off_j, abs=1e-6)     # J at 0.5, not at the head's 0.3 threshold
    assert metrics['mF'] == pytest.approx(off_f, abs=1e-6)


def test_registered():
    metric = METRICS.build(dict(type='AVSBinaryMetric', fscore_batch_clips=2, beta2=0.5))
    assert isinstance(metric, AVSBinaryMetric) and metric.fscore_batch_clips == 2 and metric.beta2 == 0.5


def test_dataset_with_more_than_two_classes_is_refused():
    metric = AVSBinaryMetric()
    metric.dataset_meta = dict(classes=('background', 'object'))
    with pytest.raises(ValueError, match=r'AVSBinaryMetric scores 2 classes .* the dataset has 71 .*AVSSemanticMetric'):
        metric.dataset_meta = dict(classes=tuple(f'c{i}' for i in range(71)))
