"""The metrics must keep giving the numbers they gave before the binary/semantic split, to the last bit.

``tests/data/avs_metric_scores.json`` holds the score dicts that the single ``AVSBenchMetric`` (``mode='binary'`` /
``'semantic'``, commit 4e75833) returned on the seeded cases below; the split metrics are compared with ``==``.
The cases cover what moves numbers: padded frames scored or not, unlabelled frames, empty and all-ignore ground
truths, a clip without any scored frame, several ``fscore_batch_clips`` groupings, 1-channel probabilities,
raw logits and 2-channel logits, other ``beta2`` / ``num_thresholds``, ``pred_sem_seg`` or ``seg_logits``, and
the audio-perturbation description. If a change is meant to alter the numbers, record them anew and say why.
"""
import json
import os.path as osp

import pytest
import torch
from avs_samples import evaluate, make_clip

from avsseg.registry import METRICS

SCORES_FILE = osp.join(osp.dirname(__file__), '..', '..', 'data', 'avs_metric_scores.json')
#: Scores added after the recording (they leave the recorded ones unchanged and are tested on their own):
#: ``mean_bg_frac``, seed 001's Table 6 audio-sensitivity score (test_avs_binary_metric_bg_frac.py).
ADDED_KEYS = {'AVSBinaryMetric': ('mean_bg_frac', ), 'AVSSemanticMetric': ()}


def binary_clips(kind='probs', perturbed=False):
    """7 clips of 5 frames of 8x8; ``kind``: 1-channel ``'probs'`` / ``'logits'``, or ``'two_channel'`` logits."""
    gen = torch.Generator().manual_seed(20)
    num_clips, num_frames, size = 7, 5, 8
    gts = (torch.rand(num_clips, num_frames, size, size, generator=gen) < 0.35).long()
    logits = torch.randn(num_clips, num_frames, size, size, generator=gen) * 2.5 + 1.5 * (gts * 2 - 1)
    other = torch.randn(num_clips, num_frames, size, size, generator=gen)
    labeled = [[True] * num_frames for _ in range(num_clips)]
    padded = [[False] * num_frames for _ in range(num_clips)]
    gts[1, 2] = 0                       # an empty ground truth
    gts[4] = 0                          # a clip whose ground truths are all empty
    gts[2, 3, :3] = 255                 # ignore pixels
    gts[3, 1] = 255                     # a labelled frame with nothing but ignore pixels
    labeled[5][1] = labeled[5][3] = False
    labeled[6] = [False] * num_frames   # a clip without any scored frame
    logits[4, 0] = -5.0                 # predicted empty, ground truth empty ...
    logits[3, 2] = -5.0                 # ... and not empty
    padded[0][4] = True                 # a padded frame: ground truth 255, prediction background
    gts[0, 4] = 255
    logits[0, 4] = -4.0 - torch.rand(size, size, generator=gen)
    if kind == 'probs':
        seg = torch.sigmoid(logits)[:, :, None]
    elif kind == 'logits':
        seg = logits[:, :, None]
    else:
        seg = torch.stack([other, logits], dim=2)
    return [
        make_clip(f'b{i}', seg[i], gts[i], labeled=labeled[i], padded=padded[i],
                  perturbation=dict(type='noise', snr_db=10, seed=i) if perturbed else None)
        for i in range(num_clips)
    ]


def semantic_clips(use_pred=False, perturbed=False):
    """4 clips of 5 frames of 6x6 with 6 classes; padded frames carry background logits and 255 ground truth."""
    gen = torch.Generator().manual_seed(21)
    num_clips, num_frames, num_classes, size = 4, 5, 6, 6
    gts = torch.randint(0, num_classes - 1, (num_clips, num_frames, size, size), generator=gen)
    logits = torch.randn(num_clips, num_frames, num_classes, size, size, generator=gen)
    logits = logits + 1.5 * torch.nn.functional.one_hot(gts, num_classes).permute(0, 1, 4, 2, 3)
    pred = torch.randint(0, num_classes, (num_clips, num_frames, size, size), generator=gen)
    pred = torch.where(torch.rand(pred.shape, generator=gen) < 0.6, gts, pred)
    labeled = [[True] * num_frames for _ in range(num_clips)]
    padded = [[False] * num_frames for _ in range(num_clips)]
    for b, t in ((0, 3), (0, 4), (2, 4)):
        padded[b][t] = True
        labeled[b][t] = False
        gts[b, t] = 255
        logits[b, t] = 0
        logits[b, t, 0] = 1
        pred[b, t] = 0
    labeled[1][2] = False               # an unlabelled frame
    gts[3, 0, :2] = 255                 # ignore pixels
    gts[3, 2] = 255                     # a labelled frame with nothing but ignore pixels
    gts[1, 4] = 0                       # an all-background frame ...
    pred[1, 4] = 0                      # ... predicted empty
    logits[1, 4] = 0
    logits[1, 4, 0] = 1
    return [
        make_clip(f's{i}', None if use_pred else logits[i], gts[i], labeled=labeled[i], padded=padded[i],
                  pred=pred[i] if use_pred else None,
                  perturbation=dict(type='swap', partner=f's{i + 1}', seed=i) if perturbed else None)
        for i in range(num_clips)
    ]


# name: (registered metric, its arguments, clips, clips per processed batch)
CASES = {
    'binary_g1': ('AVSBinaryMetric', dict(fscore_batch_clips=1), lambda: binary_clips(), 2),
    'binary_g2': ('AVSBinaryMetric', dict(fscore_batch_clips=2), lambda: binary_clips(), 3),
    'binary_g3': ('AVSBinaryMetric', dict(fscore_batch_clips=3), lambda: binary_clips(), 1),
    'binary_g4': ('AVSBinaryMetric', dict(), lambda: binary_clips(), 2),
    'binary_g7': ('AVSBinaryMetric', dict(fscore_batch_clips=7), lambda: binary_clips(), 4),
    'binary_g4_padded_scored': ('AVSBinaryMetric', dict(score_padded_frames=True), lambda: binary_clips(), 2),
    'binary_g4_raw_logits': ('AVSBinaryMetric', dict(one_channel_probs=False), lambda: binary_clips('logits'), 2),
    'binary_g2_two_channel': ('AVSBinaryMetric', dict(fscore_batch_clips=2), lambda: binary_clips('two_channel'),
                              2),
    'binary_g3_beta_thresholds': ('AVSBinaryMetric', dict(fscore_batch_clips=3, beta2=0.5, num_thresholds=17),
                                  lambda: binary_clips(), 2),
    'binary_g4_perturbed': ('AVSBinaryMetric', dict(), lambda: binary_clips(perturbed=True), 2),
    'semantic_logits': ('AVSSemanticMetric', dict(num_classes=6), lambda: semantic_clips(), 2),
    'semantic_logits_padded_scored': ('AVSSemanticMetric', dict(num_classes=6, score_padded_frames=True),
                                      lambda: semantic_clips(), 3),
    'semantic_pred_beta': ('AVSSemanticMetric', dict(num_classes=6, beta2=0.5), lambda: semantic_clips(True), 1),
    'semantic_pred_more_classes_perturbed': ('AVSSemanticMetric', dict(num_classes=9),
                                             lambda: semantic_clips(True, perturbed=True), 2),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_scores_are_bit_exact(name):
    with open(SCORES_FILE) as f:
        expected = json.load(f)
    assert sorted(expected) == sorted(CASES), 'the recorded cases and CASES differ'
    metric_type, kwargs, clips, batch_clips = CASES[name]
    scores = evaluate(METRICS.build(dict(type=metric_type, **kwargs)), clips(), batch_clips=batch_clips)
    assert all(key in scores for key in ADDED_KEYS[metric_type])
    assert [k for k in scores if k not in ADDED_KEYS[metric_type]] == list(expected[name])
    for key, value in expected[name].items():
        assert scores[key] == value and type(scores[key]) is type(value), (key, scores[key], value)
