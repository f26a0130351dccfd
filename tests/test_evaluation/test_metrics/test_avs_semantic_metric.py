"""AVSSemanticMetric: a hand-computed clip and a plain re-implementation of the official AVSS loop."""
from unittest import mock

import pytest
import torch
from avs_samples import as_dicts, evaluate, make_clip

from avsseg.evaluation.metrics import AVSSemanticMetric
from avsseg.registry import METRICS


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


def test_hand_computed_padded_off_and_on():
    f0 = 1.3 * 7 / 8 / (0.3 + 7 / 8)         # class 0: P = 1, R = 7/8
    f1 = 7 / 8                               # class 1: P = R = 7/8
    off = evaluate(AVSSemanticMetric(num_classes=4), [semantic_hand_clip()])
    # IoU: class 0 = 7/8, class 1 = 7/9, class 2 = 0 (predicted only, counted), class 3 absent (0, not counted)
    assert off['mIoU'] == pytest.approx((7 / 8 + 7 / 9) / 4, abs=1e-9)
    assert off['mIoU_present'] == pytest.approx((7 / 8 + 7 / 9) / 3, abs=1e-9)
    assert off['F'] == pytest.approx((f0 + f1) / 4, abs=1e-9)
    assert off['F_present'] == pytest.approx((f0 + f1) / 3, abs=1e-9)
    assert off['num_frames_scored'] == 1 and off['num_classes_present'] == 3
    on = evaluate(AVSSemanticMetric(num_classes=4, score_padded_frames=True), [semantic_hand_clip()])
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


def test_matches_official_histc_on_random_data_with_logits_only():
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
        metrics = evaluate(AVSSemanticMetric(num_classes=nclass, score_padded_frames=score_padded), clips)
        keep = slice(None) if score_padded else slice(0, num_frames - 1)
        ref_gts = gts.clone()
        ref_gts[:, -1] = 0                     # official padding: label 0
        ref = official_semantic(logits[:, keep].argmax(2).flatten(0, 1), ref_gts[:, keep].flatten(0, 1), nclass)
        assert metrics['mIoU'] == pytest.approx(ref[0], abs=1e-6)
        assert metrics['F'] == pytest.approx(ref[1], abs=1e-6)
        assert metrics['num_frames_scored'] == num_clips * (num_frames if score_padded else num_frames - 1)


def test_empty_frac_and_bad_classes():
    gts = torch.ones(2, 4, 4, dtype=torch.long)
    pred = torch.zeros(2, 4, 4, dtype=torch.long)
    pred[1, 0, 0] = 3
    metrics = evaluate(AVSSemanticMetric(num_classes=4), [make_clip('s', None, gts, pred=pred)])
    assert metrics['empty_frac'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r'clip s frame 0: ground-truth classes must lie in \[0, 4\)'):
        AVSSemanticMetric(num_classes=4).process(None, as_dicts(make_clip('s', None, gts * 7, pred=pred)))
    with pytest.raises(ValueError, match=r'clip s frame 1: predicted classes must lie in \[0, 3\)'):
        AVSSemanticMetric(num_classes=3).process(None, as_dicts(make_clip('s', None, gts, pred=pred)))
    with pytest.raises(ValueError, match=r'the model predicts 4 classes \(seg_logits\) but num_classes=3'):
        AVSSemanticMetric(num_classes=3).process(None, as_dicts(make_clip('s', torch.zeros(2, 4, 4, 4), gts)))
    with pytest.raises(KeyError, match='neither pred_sem_seg nor seg_logits'):
        AVSSemanticMetric(num_classes=4).process(None, as_dicts(make_clip('s', None, gts)))
    with pytest.raises(ValueError, match='num_classes'):
        AVSSemanticMetric(num_classes=1)


def test_padding_setting_is_logged():
    with mock.patch('avsseg.evaluation.metrics.base_clip_metric.print_log') as log:
        evaluate(AVSSemanticMetric(num_classes=4, score_padded_frames=True), [semantic_hand_clip()])
    assert log.call_args[0][0].startswith('AVSSemanticMetric (4 classes): padded frames scored')


def test_registered():
    metric = METRICS.build(dict(type='AVSSemanticMetric', num_classes=5, score_padded_frames=True))
    assert isinstance(metric, AVSSemanticMetric) and metric.num_classes == 5 and metric.score_padded_frames


# ----------------------------------------------------------------------------------------------- class count
NINE = tuple(['background'] + [f'c{i}' for i in range(1, 9)])


def _nine_class_clips():
    """Two clips of a 9-class set (as the synthetic AVSS set), predictions with 9-channel logits."""
    gen = torch.Generator().manual_seed(5)
    gts = torch.randint(0, 9, (2, 3, 6, 6), generator=gen)
    logits = torch.randn(2, 3, 9, 6, 6, generator=gen) + 3.0 * torch.nn.functional.one_hot(gts, 9).permute(
        0, 1, 4, 2, 3)
    return [make_clip(f's{i}', logits[i], gts[i], pred=logits[i].argmax(1)) for i in range(2)], logits, gts


def test_class_count_comes_from_the_dataset():
    """With the default num_classes the metric averages over the dataset's classes, not the base's 71."""
    clips, logits, gts = _nine_class_clips()
    metric = AVSSemanticMetric()
    metric.dataset_meta = dict(classes=NINE)
    assert metric.num_classes == 9
    metrics = evaluate(metric, clips)
    ref = official_semantic(logits.argmax(2).flatten(0, 1), gts.flatten(0, 1), 9)
    assert metrics['mIoU'] == pytest.approx(ref[0], abs=1e-6) and metrics['F'] == pytest.approx(ref[1], abs=1e-6)
    # what the evaluators of the 71-class dataset base scored on the same predictions: 9/71 of the number
    old = evaluate(AVSSemanticMetric(num_classes=71), [
        make_clip(f's{i}', None, gts[i], pred=logits[i].argmax(1)) for i in range(2)])
    assert old['mIoU'] == pytest.approx(metrics['mIoU'] * 9 / 71, abs=1e-9)


def test_class_count_mismatch_with_the_dataset_is_an_error():
    metric = AVSSemanticMetric(num_classes=71)
    with pytest.raises(ValueError, match=r'num_classes=71 but the dataset has 9 classes'):
        metric.dataset_meta = dict(classes=NINE)
    metric = AVSSemanticMetric(num_classes=9)
    metric.dataset_meta = dict(classes=NINE)  # agreeing values are fine
    with pytest.raises(ValueError, match=r'no class count: pass num_classes or run it with a dataset'):
        AVSSemanticMetric().num_classes
    with pytest.raises(ValueError, match=r"dataset_meta has no 'classes'"):
        AVSSemanticMetric().dataset_meta = dict(palette=[[0, 0, 0]])


def test_prediction_with_another_class_count_than_the_dataset_is_an_error():
    """A head left at 71 classes on a 9-class dataset: its logits say so before any score is computed."""
    gen = torch.Generator().manual_seed(0)
    gts = torch.randint(0, 9, (2, 4, 4), generator=gen)
    logits = torch.randn(2, 71, 4, 4, generator=gen)
    metric = AVSSemanticMetric()
    metric.dataset_meta = dict(classes=NINE)
    clip = make_clip('s', logits, gts, pred=logits.argmax(1) % 9)
    with pytest.raises(ValueError, match=r'clip s frame 0: the model predicts 71 classes \(seg_logits\) but the '
                       r'dataset has 9'):
        metric.process(None, as_dicts(clip))
