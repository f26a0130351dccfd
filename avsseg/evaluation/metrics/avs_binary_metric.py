"""AVSBench S4 / MS3 scores: the official M_J and batch-level M_F, plus scores that do not depend on the batch."""
import math
from collections import OrderedDict
from typing import Any, Dict, List

import numpy as np
import torch
from torch import Tensor

from avsseg.registry import METRICS
from ..functional import batch_max_fscore, frame_fscore, frame_fscore_curve, frame_jaccard, fscore_thresholds
from .base_clip_metric import BaseClipMetric


@METRICS.register_module()
class AVSBinaryMetric(BaseClipMetric):
    """Binary AVS scores (S4, MS3; ground truth 0 = background, 1 = sounding object), as the official code.

    Frames are chosen and grouped by clip as :class:`BaseClipMetric` describes. Foreground probability ``p`` per
    pixel: 1-channel output -> sigmoid of the logit, 2-channel output (query heads: background/object) ->
    ``softmax(logits)[1]``. With 1 channel, mmseg 1.2.2's ``BaseSegmentor.postprocess_result`` already stores
    ``sigmoid(logits)`` in ``seg_logits``, so ``one_channel_probs=True`` (default) reads the values as
    probabilities (and checks they lie in [0, 1]); set it False for data samples that carry raw logits.
    ``pred_sem_seg`` is not used: mmseg binarises it at the head's ``threshold`` (0.3 by default), while the
    official J uses 0.5.

    - ``mJ`` (official M_J): per frame :func:`~avsseg.evaluation.functional.frame_jaccard` of ``p > 0.5`` (an
      empty ground truth scores the fraction of pixels predicted background). The official code averages J over
      each test batch and then over batches; here a "batch" is a group of ``fscore_batch_clips`` consecutive
      clips (see below), so ``mJ`` = mean over groups of the group's mean frame J. With equal-size groups this is
      the plain per-frame mean ``mJ_frame``.
    - ``mF`` (official M_F): clips are grouped ``fscore_batch_clips`` at a time in dataset order (= the official
      test batch size in clips: 4 for AVSBench tables, 2 for AVSegFormer, 1 for COMBO; the last group may be
      smaller, as with an unpadded DataLoader). Every scored frame with a non-empty ground truth gets an F curve
      over ``num_thresholds`` thresholds (:func:`~avsseg.evaluation.functional.frame_fscore_curve`); a group
      scores :func:`~avsseg.evaluation.functional.batch_max_fscore` of its curves, the maximum over thresholds of
      their mean (0 for a group without any such frame, which still counts). ``mF`` = mean over groups. It
      therefore depends on the group size, which is returned as ``mF_batch_clips`` and printed with the result.
      Groups without any scored frame at all (possible only when whole clips are unlabelled; never in the
      official test sets) are left out of ``mJ`` and ``mF``.
    - ``F_frame`` (batch-independent): per scored frame with a non-empty ground truth, F (``beta2``) of the same
      binary prediction as J (``p > 0.5``), averaged over those frames. No threshold is tuned on the test set.
    - ``F_frame_max`` (batch-independent, optimistic): per such frame the maximum over thresholds of its own F
      curve, averaged over the frames. Equals ``mF`` only when every group holds one such frame.
    - ``empty_frac``: fraction of scored, non-padded frames whose binarised prediction (``p > 0.5``) has no
      foreground pixel (padded frames are left out: the segmentor forces them to background). Useful with
      test-time audio perturbations (silence should empty the prediction).
    - ``mean_bg_frac``: mean over the same frames of the fraction of (non-ignored) pixels predicted background,
      i.e. the official J against an all-empty ground truth: seed 001's Table 6 "mIoU" for silent / mismatched
      audio, where ``--audio-perturb`` keeps the original ground truth.
    - ``mJ_frame``, ``num_frames_scored``, ``num_frames_empty_gt``, ``num_clips``.

    All scores are fractions in [0, 1]. The evaluated dataset must have two classes (checked when the runner sets
    ``dataset_meta``).

    Args:
        fscore_batch_clips: clips per group for the official batch-level M_F (and M_J averaging).
        num_thresholds: number of thresholds of the M_F curve (official 255).
        one_channel_probs: a 1-channel ``seg_logits`` already holds sigmoid probabilities (mmseg's
            postprocessing); False: apply the sigmoid here.
        **kwargs: ``beta2``, ``score_padded_frames``, ``ignore_index``, ``collect_device``, ``prefix``,
            ``collect_dir`` of :class:`BaseClipMetric`.
    """

    def __init__(self,
                 fscore_batch_clips: int = 4,
                 num_thresholds: int = 255,
                 one_channel_probs: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if int(fscore_batch_clips) != fscore_batch_clips or fscore_batch_clips < 1:
            raise ValueError(f'{self.name}: fscore_batch_clips must be a positive integer, '
                             f'got {fscore_batch_clips!r}')
        self.fscore_batch_clips = int(fscore_batch_clips)
        # float32 like the official torch.linspace default; the comparisons are made in float32 too.
        self.thresholds = fscore_thresholds(num_thresholds)
        self.num_thresholds = int(num_thresholds)
        self.one_channel_probs = bool(one_channel_probs)

    def check_dataset_meta(self, dataset_meta: dict) -> None:
        """The dataset must have two classes (background, sounding object)."""
        classes = self.dataset_classes(dataset_meta)
        if len(classes) != 2:
            raise ValueError(f'{self.name} scores 2 classes (background, sounding object) but the dataset has '
                             f'{len(classes)} ({", ".join(classes[:5])}{", ..." if len(classes) > 5 else ""}); '
                             'evaluate semantic datasets with AVSSemanticMetric')

    def foreground_prob(self, sample: dict, where: str) -> Tensor:
        """Foreground probability ``[H, W]`` float32 from the frame's ``seg_logits`` ``[C, H, W]`` (C = 1 or 2)."""
        if 'seg_logits' not in sample:
            raise KeyError(f'{self.name}: {where}: the data sample has no seg_logits')
        logits = sample['seg_logits']['data'].float()
        if logits.dim() != 3:
            raise ValueError(f'{self.name}: {where}: seg_logits must be [C, H, W], got {tuple(logits.shape)}')
        if logits.shape[0] == 1:
            if not self.one_channel_probs:
                return torch.sigmoid(logits[0])
            if logits.min() < 0 or logits.max() > 1:
                raise ValueError(f'{self.name}: {where}: 1-channel seg_logits outside [0, 1] although '
                                 f'one_channel_probs=True (mmseg stores sigmoid probabilities); set '
                                 f'one_channel_probs=False for raw logits')
            return logits[0]
        if logits.shape[0] == 2:
            return torch.softmax(logits, dim=0)[1]
        raise ValueError(f'{self.name}: {where}: seg_logits needs 1 or 2 channels, got {logits.shape[0]}')

    def clip_entry(self, clip: List[dict]) -> dict:
        """Per frame: scored / padded / empty ground truth / empty prediction flags, J, F at 0.5, F curve."""
        num_frames = len(clip)
        scored = np.zeros(num_frames, dtype=bool)
        padded = np.zeros(num_frames, dtype=bool)
        empty_gt = np.zeros(num_frames, dtype=bool)
        pred_empty = np.zeros(num_frames, dtype=bool)
        bg_frac = np.zeros(num_frames, dtype=np.float64)
        jaccard = np.zeros(num_frames, dtype=np.float64)
        f_fixed = np.zeros(num_frames, dtype=np.float64)
        f_curves = np.zeros((num_frames, self.num_thresholds), dtype=np.float32)
        for t, sample in enumerate(clip):
            where = self.describe_frame(sample)
            padded[t] = bool(self.meta(sample, 'is_padded', where))
            prob = self.foreground_prob(sample, where)
            gt = self.ground_truth(sample, tuple(prob.shape), where)
            if gt is None:
                continue
            gt = gt.to(prob.device)
            valid = self.check_classes(gt, 2, where)
            scored[t] = True
            fg = (gt == 1) & valid
            pred = prob > 0.5
            pred_empty[t] = not bool((pred & valid).any())
            bg_frac[t] = float((~pred & valid).sum()) / max(int(valid.sum()), 1)
            jaccard[t] = frame_jaccard(pred, fg, valid)
            if fg.any():
                f_fixed[t] = frame_fscore(pred, fg, valid, self.beta2)
                f_curves[t] = frame_fscore_curve(prob, fg, self.thresholds, valid, self.beta2).cpu().numpy()
            else:
                empty_gt[t] = True
        return dict(scored=scored, padded=padded, empty_gt=empty_gt, pred_empty=pred_empty, bg_frac=bg_frac,
                    jaccard=jaccard, f_fixed=f_fixed, f_curves=f_curves)

    def aggregate(self, results: List[dict]) -> Dict[str, Any]:
        """``mJ``, ``mF`` over groups of ``fscore_batch_clips`` clips, and the batch-independent scores."""
        group_j, group_f = [], []
        for start in range(0, len(results), self.fscore_batch_clips):
            group = results[start:start + self.fscore_batch_clips]
            scored = np.concatenate([r['scored'] for r in group])
            if not scored.any():
                continue
            counted = scored & ~np.concatenate([r['empty_gt'] for r in group])
            group_j.append(float(np.concatenate([r['jaccard'] for r in group])[scored].mean()))
            group_f.append(batch_max_fscore(np.concatenate([r['f_curves'] for r in group])[counted]))
        scored = np.concatenate([r['scored'] for r in results]) if results else np.zeros(0, bool)
        if not scored.any():
            raise ValueError(f'{self.name}: no frame to score (no labelled, non-padded frame with ground truth '
                             f'in the evaluated clips)')
        cat = {k: np.concatenate([r[k] for r in results]) for k in
               ('empty_gt', 'pred_empty', 'bg_frac', 'padded', 'jaccard', 'f_fixed', 'f_curves')}
        counted = scored & ~cat['empty_gt']
        real = scored & ~cat['padded']
        metrics: Dict[str, Any] = OrderedDict()
        metrics['mJ'] = float(np.mean(group_j))
        metrics['mF'] = float(np.mean(group_f))
        metrics['mF_batch_clips'] = self.fscore_batch_clips
        metrics['mJ_frame'] = float(cat['jaccard'][scored].mean())
        metrics['F_frame'] = float(cat['f_fixed'][counted].mean()) if counted.any() else 0.0
        metrics['F_frame_max'] = float(cat['f_curves'][counted].max(1).mean()) if counted.any() else 0.0
        metrics['empty_frac'] = float(cat['pred_empty'][real].mean()) if real.any() else math.nan
        metrics['mean_bg_frac'] = float(cat['bg_frac'][real].mean()) if real.any() else math.nan
        metrics['num_frames_scored'] = int(scored.sum())
        metrics['num_frames_empty_gt'] = int((scored & cat['empty_gt']).sum())
        metrics['num_clips'] = len(results)
        return metrics

    def summary(self) -> str:
        return (f'{self.name}: M_F over groups of {self.fscore_batch_clips} clips (official test batch size), '
                f'F_frame at p > 0.5 and F_frame_max are batch-independent')
