"""AVSBench evaluation: the official M_J / M_F (S4, MS3) and mIoU / F (AVSS), plus batch-independent scores."""
import math
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from prettytable import PrettyTable
from torch import Tensor

from avsseg.registry import METRICS

# Constants of the official AVSBench code (avs_s4/utils/utility.py and avss/utils/compute_color_metrics.py).
_J_EPS = 1e-7                       # mask_iou: iou = inter / (union + eps)
_F_EPS = 1e-20                      # _eval_pr: precision = tp / (#pred + eps), recall = tp / (#gt + eps)
_THR_TOP = 1 - 1e-10                # thresholds = linspace(0, 1 - 1e-10, 255) in float32 (the top one rounds to 1.0)
_AVSS_IOU_EPS = 2.220446049250313e-16  # _batch_miou_fscore: iou = inter / (eps + union)


def _describe_perturbation(value: Any) -> Optional[str]:
    """A short, clip-independent description of a sample's ``audio_perturbation`` metainfo.

    ``dict(type='noise', snr_db=10)`` -> ``'noise(snr_db=10)'``. Only scalar numeric / boolean parameters are
    shown, except ``seed``: string parameters (e.g. the clip an audio track was swapped with) and the per-clip
    seed the dataset derives differ per clip and would make every clip's description unique.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if 'type' not in value:
            raise ValueError(f'AVSBenchMetric: metainfo audio_perturbation={value!r} has no "type"')
        params = [f'{k}={v}' for k, v in sorted(value.items())
                  if k not in ('type', 'seed') and isinstance(v, (bool, int, float, np.integer, np.floating))]
        return f'{value["type"]}({", ".join(params)})' if params else str(value['type'])
    raise TypeError(f'AVSBenchMetric: metainfo audio_perturbation must be a dict, a str or None, '
                    f'got {type(value).__name__}')


@METRICS.register_module()
class AVSBenchMetric(BaseMetric):
    """AVSBench metrics, computed as the official AVSBench code does, plus scores that do not depend on it.

    Data flow: mmengine's ``Evaluator`` turns each predicted ``SegDataSample`` (one per frame, clip-major, all
    frames of a clip in one batch as ``avs_collate`` delivers them) into a dict whose keys are the metainfo
    (``clip_id``, ``frame_idx``, ``num_frames``, ``is_labeled``, ``is_padded``, optional ``audio_perturbation``)
    and the fields ``seg_logits`` / ``pred_sem_seg`` / ``gt_sem_seg`` (dicts with ``data`` ``[C, H, W]`` /
    ``[1, H, W]`` / ``[1, H, W]``). :meth:`process` reduces every clip to ONE small entry of per-frame
    statistics (no masks), so the results survive mmengine's distributed collection, which interleaves the
    ranks' lists round-robin and trims them to ``len(dataset)`` (= number of clips). With the usual
    ``DefaultSampler(shuffle=False)`` the collected entries are in dataset order, which the batch-level M_F
    relies on.

    Which frames are scored: a frame that is ``is_labeled`` and has at least one ground-truth pixel other than
    ``ignore_index``. Padded frames (``is_padded``) are scored only with ``score_padded_frames=True``, and then
    with an all-background ground truth and the model's prediction (which :class:`AudioVisualSegmentor` sets
    to background), as the official AVSS code does by zero-padding labels and multiplying logits by the
    temporal flag. Ignore pixels (255) are left out of every count; the official data has none.

    **Binary mode (S4 / MS3).** Foreground probability ``p`` per pixel: 1-channel output -> sigmoid of the
    logit, 2-channel output (query heads: background/object) -> ``softmax(logits)[1]``. With 1 channel,
    mmseg 1.2.2's ``BaseSegmentor.postprocess_result`` already stores ``sigmoid(logits)`` in ``seg_logits``,
    so ``one_channel_probs=True`` (default) reads the values as probabilities (and checks they lie in [0, 1]);
    set it False for data samples that carry raw logits. ``pred_sem_seg`` is not used: mmseg binarises it at
    the head's ``threshold`` (0.3 by default), while the official J uses 0.5.

    - ``mJ`` (official M_J): per frame, prediction ``p > 0.5``; ``J = |P & G| / (|P | G| + 1e-7)``; when the
      ground truth is empty, ``J = (#pixels where both are background) / #pixels`` (the fraction predicted
      background). The official code averages J over each test batch and then over batches; here a "batch" is
      a group of ``fscore_batch_clips`` consecutive clips (see below), so ``mJ`` = mean over groups of the
      group's mean frame J. With equal-size groups this is the plain per-frame mean ``mJ_frame``.
    - ``mF`` (official M_F): clips are grouped ``fscore_batch_clips`` at a time in dataset order (= the
      official test batch size in clips: 4 for AVSBench tables, 2 for AVSegFormer, 1 for COMBO; the last
      group may be smaller, as with an unpadded DataLoader). For every scored frame with non-empty ground
      truth, an F curve over ``num_thresholds`` thresholds ``linspace(0, 1 - 1e-10)`` (float32, prediction
      ``p >= thr``): ``P = tp / (#pred + 1e-20)``, ``R = tp / (#gt + 1e-20)``, ``F = (1 + beta2) P R /
      (beta2 P + R)``, NaN -> 0. A group's score is the maximum over thresholds of the F curve averaged over
      the group's counted frames; a group without any counted frame (all ground truths empty) scores 0 and
      still counts. ``mF`` = mean over groups. It therefore depends on the group size, which is returned as
      ``mF_batch_clips`` and printed with the result. Groups without any scored frame at all (possible only
      when whole clips are unlabelled; never in the official test sets) are left out of ``mJ`` and ``mF``.
    - ``F_frame`` (batch-independent): per scored frame with non-empty ground truth, F (beta2) of the same
      binary prediction as J (``p > 0.5``), NaN -> 0, averaged over those frames. No threshold is tuned on
      the test set.
    - ``F_frame_max`` (batch-independent, optimistic): per such frame the maximum over thresholds of its own
      F curve, averaged over the frames. Equals ``mF`` only when every group holds one counted frame.
    - ``empty_frac``: fraction of scored, non-padded frames whose binarised prediction (``p > 0.5``) has no
      foreground pixel (padded frames are left out: the segmentor forces them to background). Useful with
      test-time audio perturbations (silence should empty the prediction).

    **Semantic mode (AVSS)**, as ``_batch_miou_fscore`` + ``test.py`` of the official code: per scored frame,
    prediction = ``pred_sem_seg`` (argmax; ``seg_logits`` argmax when absent); per class ``c`` the areas of
    intersection, prediction and label give ``IoU_c = inter / (2.22e-16 + union)`` and ``F_c`` (``P = inter /
    pred``, ``R = inter / label``, beta2, NaN -> 0); both are summed over frames and each class counts the
    frames where its union is non-zero. ``mIoU`` = mean over all ``num_classes`` classes of ``sum / count``
    (a class never predicted nor present scores 0, as in the official code); ``F`` likewise.
    ``mIoU_present`` / ``F_present`` average only over classes with a non-zero count. ``empty_frac`` =
    fraction of scored, non-padded frames predicted all background (class 0). The official AVSBench/
    AVSegFormer numbers score the zero-padded frames (``score_padded_frames=True``), COMBO does not (default).

    All scores are fractions in [0, 1]. When samples carry ``audio_perturbation`` metainfo, its description
    (e.g. ``'noise(snr_db=10)'``) is printed in the log line and returned under ``audio_perturbation``.

    Args:
        mode: ``'binary'`` (S4 / MS3, ground truth 0/1) or ``'semantic'`` (AVSS, ground truth 0..num_classes-1).
        num_classes: number of classes including background 0 (semantic mode; AVSS: 71).
        fscore_batch_clips: clips per group for the official batch-level M_F (and M_J averaging).
        beta2: beta squared of the F-measure (official 0.3).
        num_thresholds: number of thresholds for the M_F curve (official 255).
        score_padded_frames: score frames added by padding a clip to a fixed length (AVSS), with an
            all-background ground truth.
        one_channel_probs: a 1-channel ``seg_logits`` already holds sigmoid probabilities (mmseg's
            postprocessing); False: apply the sigmoid here.
        ignore_index: ground-truth value of unlabelled pixels.
        collect_device: ``'cpu'`` or ``'gpu'`` for distributed collection.
        prefix: prefix of the returned keys.
        collect_dir: directory for CPU collection.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 mode: str = 'binary',
                 num_classes: int = 71,
                 fscore_batch_clips: int = 4,
                 beta2: float = 0.3,
                 num_thresholds: int = 255,
                 score_padded_frames: bool = False,
                 one_channel_probs: bool = True,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if mode not in ('binary', 'semantic'):
            raise ValueError(f'AVSBenchMetric: mode must be "binary" or "semantic", got {mode!r}')
        if int(fscore_batch_clips) != fscore_batch_clips or fscore_batch_clips < 1:
            raise ValueError(f'AVSBenchMetric: fscore_batch_clips must be a positive integer, '
                             f'got {fscore_batch_clips!r}')
        if int(num_thresholds) != num_thresholds or num_thresholds < 2:
            raise ValueError(f'AVSBenchMetric: num_thresholds must be an integer >= 2, got {num_thresholds!r}')
        if not beta2 > 0:
            raise ValueError(f'AVSBenchMetric: beta2 must be positive, got {beta2!r}')
        if mode == 'semantic' and (int(num_classes) != num_classes or num_classes < 2):
            raise ValueError(f'AVSBenchMetric: num_classes must be an integer >= 2, got {num_classes!r}')
        self.mode = mode
        self.num_classes = int(num_classes) if mode == 'semantic' else 2
        self.fscore_batch_clips = int(fscore_batch_clips)
        self.beta2 = float(beta2)
        self.num_thresholds = int(num_thresholds)
        self.score_padded_frames = bool(score_padded_frames)
        self.one_channel_probs = bool(one_channel_probs)
        self.ignore_index = int(ignore_index)
        # float32 like the official torch.linspace default; the comparisons below are made in float32 too.
        self.thresholds = torch.linspace(0, _THR_TOP, self.num_thresholds, dtype=torch.float32)

    # ------------------------------------------------------------------ process
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Append one entry per clip of the batch.

        Args:
            data_batch: the dataloader batch (unused).
            data_samples: B*T per-frame dicts (``SegDataSample.to_dict()``), clip-major.
        """
        for clip in self._split_clips(data_samples):
            if self.mode == 'binary':
                self.results.append(self._binary_clip_entry(clip))
            else:
                self.results.append(self._semantic_clip_entry(clip))

    @staticmethod
    def _meta(sample: dict, key: str, where: str) -> Any:
        if key not in sample:
            raise KeyError(f'AVSBenchMetric: data sample of {where} has no metainfo "{key}" '
                           f'(PackAVSInputs sets clip_id, num_frames, frame_idx, is_labeled, is_padded)')
        return sample[key]

    def _split_clips(self, data_samples: Sequence[dict]) -> List[List[dict]]:
        """Group consecutive frames of one clip, checking every clip is complete and in frame order."""
        clips: List[List[dict]] = []
        for i, sample in enumerate(data_samples):
            if not isinstance(sample, dict):
                raise TypeError(f'AVSBenchMetric.process expects dicts (SegDataSample.to_dict()), '
                                f'got {type(sample).__name__} at position {i}')
            clip_id = self._meta(sample, 'clip_id', f'batch position {i}')
            num_frames = self._meta(sample, 'num_frames', f'clip {clip_id}')
            current = clips[-1] if clips else None
            # A clip repeated right after itself (sampler padding with more ranks than clips) starts anew.
            if (current is None or current[0]['clip_id'] != clip_id or len(current) == num_frames):
                clips.append([sample])
            else:
                current.append(sample)
        for clip in clips:
            clip_id, num_frames = clip[0]['clip_id'], clip[0]['num_frames']
            frame_idx = [self._meta(s, 'frame_idx', f'clip {clip_id}') for s in clip]
            if frame_idx != list(range(num_frames)):
                raise ValueError(f'AVSBenchMetric.process: clip {clip_id} has frames {frame_idx} in this batch '
                                 f'but num_frames={num_frames}; all frames of a clip must arrive together and in '
                                 f'order (dataset items are clips, collate_fn=avs_collate)')
        return clips

    def _ground_truth(self, sample: dict, shape: Tuple[int, int], where: str) -> Optional[Tensor]:
        """``gt_sem_seg`` as ``[H, W]`` long, at the prediction's size.

        Returns None when the frame is not scored. The preprocessor may have padded the ground truth
        bottom/right with ``ignore_index`` beyond the original size; that margin is cropped when it holds
        nothing but ``ignore_index``.
        """
        padded = bool(self._meta(sample, 'is_padded', where))
        labeled = bool(self._meta(sample, 'is_labeled', where))
        if padded:
            if not self.score_padded_frames:
                return None
            # The official AVSS loader pads labels with zeros = background.
            return torch.zeros(shape, dtype=torch.long)
        if not labeled:
            return None
        if 'gt_sem_seg' not in sample:
            raise KeyError(f'AVSBenchMetric: {where} is labelled but its data sample has no gt_sem_seg')
        gt = sample['gt_sem_seg']['data']
        if gt.dim() == 3:
            if gt.shape[0] != 1:
                raise ValueError(f'AVSBenchMetric: {where}: gt_sem_seg must be [1, H, W], got {tuple(gt.shape)}')
            gt = gt[0]
        gt = gt.long()
        h, w = shape
        if tuple(gt.shape) != (h, w):
            grown = gt.shape[0] >= h and gt.shape[1] >= w
            if not grown or (gt[h:] != self.ignore_index).any() or (gt[:, w:] != self.ignore_index).any():
                raise ValueError(f'AVSBenchMetric: {where}: gt_sem_seg is {tuple(gt.shape)} but the prediction is '
                                 f'{(h, w)} (ori_shape); only a bottom/right margin of ignore_index can be cropped')
            gt = gt[:h, :w]
        if not (gt != self.ignore_index).any():
            return None
        return gt

    @staticmethod
    def _where(sample: dict) -> str:
        return f'clip {sample["clip_id"]} frame {sample["frame_idx"]}'

    # ------------------------------------------------------------------ binary
    def _foreground_prob(self, sample: dict, where: str) -> Tensor:
        """Foreground probability ``[H, W]`` float32 from ``seg_logits`` ``[C, H, W]`` (C = 1 or 2)."""
        if 'seg_logits' not in sample:
            raise KeyError(f'AVSBenchMetric: {where}: binary mode needs seg_logits in the data sample')
        logits = sample['seg_logits']['data'].float()
        if logits.dim() != 3:
            raise ValueError(f'AVSBenchMetric: {where}: seg_logits must be [C, H, W], got {tuple(logits.shape)}')
        if logits.shape[0] == 1:
            if not self.one_channel_probs:
                return torch.sigmoid(logits[0])
            if logits.min() < 0 or logits.max() > 1:
                raise ValueError(f'AVSBenchMetric: {where}: 1-channel seg_logits outside [0, 1] although '
                                 f'one_channel_probs=True (mmseg stores sigmoid probabilities); set '
                                 f'one_channel_probs=False for raw logits')
            return logits[0]
        if logits.shape[0] == 2:
            return torch.softmax(logits, dim=0)[1]
        raise ValueError(f'AVSBenchMetric: {where}: binary mode needs 1 or 2 channels in seg_logits, '
                         f'got {logits.shape[0]}')

    def _f_curve(self, prob: Tensor, fg: Tensor) -> Tensor:
        """F curve ``[num_thresholds]`` float32 of one frame, the official per-threshold loop in closed form.

        The number of thresholds ``<= p`` tells for how many thresholds a pixel is predicted foreground, so
        counts of predicted / true positives per threshold are reversed cumulative histograms.
        """
        thr = self.thresholds.to(prob.device)
        n = self.num_thresholds
        above = torch.searchsorted(thr, prob.contiguous(), right=True)  # number of thresholds <= p, 0..n
        hist_pred = torch.bincount(above, minlength=n + 1)
        hist_tp = torch.bincount(above[fg], minlength=n + 1)
        # predicted positives at threshold i: pixels with more than i thresholds below or at p
        pred_pos = hist_pred.flip(0).cumsum(0).flip(0)[1:].float()
        tp = hist_tp.flip(0).cumsum(0).flip(0)[1:].float()
        num_gt = fg.sum().float()
        precision = tp / (pred_pos + _F_EPS)
        recall = tp / (num_gt + _F_EPS)
        f = (1 + self.beta2) * precision * recall / (self.beta2 * precision + recall)
        f[torch.isnan(f)] = 0
        return f.cpu()

    def _binary_clip_entry(self, clip: List[dict]) -> dict:
        num_frames = len(clip)
        scored = np.zeros(num_frames, dtype=bool)
        padded = np.zeros(num_frames, dtype=bool)
        empty_gt = np.zeros(num_frames, dtype=bool)
        pred_empty = np.zeros(num_frames, dtype=bool)
        jaccard = np.zeros(num_frames, dtype=np.float64)
        f_fixed = np.zeros(num_frames, dtype=np.float64)
        f_curves = np.zeros((num_frames, self.num_thresholds), dtype=np.float32)
        for t, sample in enumerate(clip):
            where = self._where(sample)
            padded[t] = bool(self._meta(sample, 'is_padded', where))
            prob = self._foreground_prob(sample, where)
            gt = self._ground_truth(sample, tuple(prob.shape), where)
            if gt is None:
                continue
            gt = gt.to(prob.device)
            valid = gt != self.ignore_index
            bad = valid & (gt != 0) & (gt != 1)
            if bad.any():
                raise ValueError(f'AVSBenchMetric: {where}: binary ground truth must be 0/1 or '
                                 f'{self.ignore_index}, found {sorted(gt[bad].unique().tolist())}')
            scored[t] = True
            fg = (gt == 1) & valid
            pred = (prob > 0.5) & valid
            pred_empty[t] = not bool(pred.any())
            if fg.any():
                inter = (pred & fg).sum().item()
                union = (pred | fg).sum().item()
                jaccard[t] = inter / (union + _J_EPS)
                num_pred, num_gt = pred.sum().item(), fg.sum().item()
                prec = inter / num_pred if num_pred else 0.0
                rec = inter / num_gt
                f_fixed[t] = ((1 + self.beta2) * prec * rec / (self.beta2 * prec + rec)) if inter else 0.0
                f_curves[t] = self._f_curve(prob[valid], fg[valid]).numpy()
            else:
                # official empty-GT rule: IoU = fraction of (valid) pixels predicted background
                empty_gt[t] = True
                jaccard[t] = (~pred & valid).sum().item() / (valid.sum().item() + _J_EPS)
        return dict(
            clip_id=clip[0]['clip_id'],
            perturbation=_describe_perturbation(clip[0].get('audio_perturbation')),
            scored=scored, padded=padded, empty_gt=empty_gt, pred_empty=pred_empty,
            jaccard=jaccard, f_fixed=f_fixed, f_curves=f_curves)

    # ------------------------------------------------------------------ semantic
    def _semantic_prediction(self, sample: dict, where: str) -> Tensor:
        if 'pred_sem_seg' in sample:
            pred = sample['pred_sem_seg']['data']
            if pred.dim() == 3:
                if pred.shape[0] != 1:
                    raise ValueError(f'AVSBenchMetric: {where}: pred_sem_seg must be [1, H, W], '
                                     f'got {tuple(pred.shape)}')
                pred = pred[0]
        elif 'seg_logits' in sample:
            logits = sample['seg_logits']['data']
            if logits.dim() != 3 or logits.shape[0] != self.num_classes:
                raise ValueError(f'AVSBenchMetric: {where}: seg_logits must be [{self.num_classes}, H, W], '
                                 f'got {tuple(logits.shape)}')
            pred = logits.argmax(0)
        else:
            raise KeyError(f'AVSBenchMetric: {where}: semantic mode needs pred_sem_seg or seg_logits')
        pred = pred.long()
        if pred.numel() and (pred.min() < 0 or pred.max() >= self.num_classes):
            raise ValueError(f'AVSBenchMetric: {where}: predicted classes must lie in [0, {self.num_classes}), '
                             f'found {pred.min().item()}..{pred.max().item()}')
        return pred

    def _semantic_clip_entry(self, clip: List[dict]) -> dict:
        c = self.num_classes
        iou_sum = np.zeros(c, dtype=np.float64)
        f_sum = np.zeros(c, dtype=np.float64)
        cls_count = np.zeros(c, dtype=np.int64)
        num_scored = num_real = num_pred_empty = 0
        for sample in clip:
            where = self._where(sample)
            pred = self._semantic_prediction(sample, where)
            gt = self._ground_truth(sample, tuple(pred.shape), where)
            if gt is None:
                continue
            gt = gt.to(pred.device)
            valid = gt != self.ignore_index
            bad = valid & ((gt < 0) | (gt >= c))
            if bad.any():
                raise ValueError(f'AVSBenchMetric: {where}: ground-truth classes must lie in [0, {c}) or be '
                                 f'{self.ignore_index}, found {sorted(gt[bad].unique().tolist())[:10]}')
            p, g = pred[valid], gt[valid]
            area_inter = torch.bincount(p[p == g], minlength=c).double().cpu().numpy()
            area_pred = torch.bincount(p, minlength=c).double().cpu().numpy()
            area_label = torch.bincount(g, minlength=c).double().cpu().numpy()
            area_union = area_pred + area_label - area_inter
            with np.errstate(divide='ignore', invalid='ignore'):
                iou = area_inter / (_AVSS_IOU_EPS + area_union)
                precision = area_inter / area_pred
                recall = area_inter / area_label
                f = (1 + self.beta2) * precision * recall / (self.beta2 * precision + recall)
            f[np.isnan(f)] = 0.0
            iou_sum += iou
            f_sum += f
            cls_count += area_union > 0
            num_scored += 1
            if not bool(self._meta(sample, 'is_padded', where)):
                num_real += 1
                num_pred_empty += int(not bool((p != 0).any()))
        return dict(
            clip_id=clip[0]['clip_id'],
            perturbation=_describe_perturbation(clip[0].get('audio_perturbation')),
            iou_sum=iou_sum, f_sum=f_sum, cls_count=cls_count,
            num_scored=num_scored, num_real=num_real, num_pred_empty=num_pred_empty)

    # ------------------------------------------------------------------ compute
    def compute_metrics(self, results: list) -> Dict[str, Any]:
        """Aggregate the per-clip entries (in dataset order) into the scores described in the class doc."""
        if self.mode == 'binary':
            metrics = self._compute_binary(results)
        else:
            metrics = self._compute_semantic(results)
        perturbations = sorted({str(r['perturbation']) for r in results})
        perturbed = any(r['perturbation'] is not None for r in results)
        if perturbed:
            metrics['audio_perturbation'] = '; '.join(perturbations)
        self._log(metrics, perturbed)
        return metrics

    def _compute_binary(self, results: list) -> Dict[str, Any]:
        group_j, group_f = [], []
        for start in range(0, len(results), self.fscore_batch_clips):
            group = results[start:start + self.fscore_batch_clips]
            scored = np.concatenate([r['scored'] for r in group])
            if not scored.any():
                continue
            counted = scored & ~np.concatenate([r['empty_gt'] for r in group])
            group_j.append(float(np.concatenate([r['jaccard'] for r in group])[scored].mean()))
            curves = np.concatenate([r['f_curves'] for r in group])[counted]
            if len(curves) == 0:
                group_f.append(0.0)
                continue
            # float32 running sum in frame order, as the official loop accumulates
            total = torch.zeros(self.num_thresholds, dtype=torch.float32)
            for curve in curves:
                total = total + torch.from_numpy(curve)
            group_f.append((total / len(curves)).max().item())
        scored = np.concatenate([r['scored'] for r in results]) if results else np.zeros(0, bool)
        if not scored.any():
            raise ValueError('AVSBenchMetric: no frame to score (no labelled, non-padded frame with ground truth '
                             'in the evaluated clips)')
        cat = {k: np.concatenate([r[k] for r in results]) for k in
               ('empty_gt', 'pred_empty', 'padded', 'jaccard', 'f_fixed', 'f_curves')}
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
        metrics['num_frames_scored'] = int(scored.sum())
        metrics['num_frames_empty_gt'] = int((scored & cat['empty_gt']).sum())
        metrics['num_clips'] = len(results)
        return metrics

    def _compute_semantic(self, results: list) -> Dict[str, Any]:
        num_scored = sum(r['num_scored'] for r in results)
        if num_scored == 0:
            raise ValueError('AVSBenchMetric: no frame to score (no labelled frame with ground truth in the '
                             'evaluated clips)')
        iou_sum = np.sum([r['iou_sum'] for r in results], axis=0)
        f_sum = np.sum([r['f_sum'] for r in results], axis=0)
        count = np.sum([r['cls_count'] for r in results], axis=0)
        present = count > 0
        with np.errstate(divide='ignore', invalid='ignore'):
            iou_pc = np.nan_to_num(iou_sum / count, nan=0.0)
            f_pc = np.nan_to_num(f_sum / count, nan=0.0)
        num_real = sum(r['num_real'] for r in results)
        metrics: Dict[str, Any] = OrderedDict()
        metrics['mIoU'] = float(iou_pc.mean())
        metrics['F'] = float(f_pc.mean())
        metrics['mIoU_present'] = float(iou_pc[present].mean())
        metrics['F_present'] = float(f_pc[present].mean())
        metrics['empty_frac'] = (sum(r['num_pred_empty'] for r in results) / num_real) if num_real else math.nan
        metrics['num_frames_scored'] = int(num_scored)
        metrics['num_classes_present'] = int(present.sum())
        metrics['num_clips'] = len(results)
        return metrics

    def _log(self, metrics: Dict[str, Any], perturbed: bool) -> None:
        if self.mode == 'binary':
            head = (f'AVSBenchMetric (binary): M_F over groups of {self.fscore_batch_clips} clips (official test '
                    f'batch size), F_frame at p > 0.5 and F_frame_max are batch-independent')
        else:
            head = (f'AVSBenchMetric (semantic, {self.num_classes} classes): padded frames '
                    f'{"scored" if self.score_padded_frames else "not scored"}')
        if perturbed:
            head += f'; audio perturbation: {metrics["audio_perturbation"]}'
        table = PrettyTable()
        for key, value in metrics.items():
            if key == 'audio_perturbation':
                continue
            table.add_column(key, [f'{value:.4f}' if isinstance(value, float) else str(value)])
        print_log(head + '\n' + table.get_string(), logger='current')
