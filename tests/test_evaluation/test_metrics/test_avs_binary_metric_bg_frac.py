"""AVSBinaryMetric's mean_bg_frac (seed 001 Table 6 "mIoU"): the official J against an all-empty ground truth."""
import pytest
import torch
from avs_samples import evaluate, make_clip, random_binary_data

from avsseg.evaluation.metrics import AVSBinaryMetric


def test_mean_bg_frac_is_j_against_empty_ground_truth():
    logits, gts = random_binary_data(0)
    probs = torch.sigmoid(logits)
    clips = [make_clip(f'c{i}', probs[i][:, None], gts[i]) for i in range(len(gts))]
    real = evaluate(AVSBinaryMetric(fscore_batch_clips=1), clips)
    empty = [make_clip(f'c{i}', probs[i][:, None], torch.zeros_like(gts[i])) for i in range(len(gts))]
    against_empty = evaluate(AVSBinaryMetric(fscore_batch_clips=1), empty)
    assert real['mean_bg_frac'] == pytest.approx(against_empty['mJ_frame'], abs=1e-9)
    expected = torch.stack([(p <= 0.5).float().mean() for clip in probs for p in clip]).mean()
    assert real['mean_bg_frac'] == pytest.approx(float(expected), abs=1e-6)


def test_mean_bg_frac_hand_case_leaves_ignored_pixels_out():
    gt = torch.zeros(1, 2, 2, dtype=torch.long)
    gt[0, 0, 0] = 255
    probs = torch.tensor([[[0.9, 0.1], [0.2, 0.7]]])  # 3 valid pixels, 1 of them predicted foreground
    metrics = evaluate(AVSBinaryMetric(fscore_batch_clips=1), [make_clip('a', probs[:, None], gt)])
    assert metrics['mean_bg_frac'] == pytest.approx(2 / 3)
