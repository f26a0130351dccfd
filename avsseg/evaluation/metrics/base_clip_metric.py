"""What the AVS metrics share: per-clip results, the choice of scored frames, perturbation notes, the log table."""
from abc import abstractmethod
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from prettytable import PrettyTable
from torch import Tensor


class BaseClipMetric(BaseMetric):
    """Base of the AVS metrics: one result entry per clip, built from the clip's per-frame data samples.

    Data flow: mmengine's ``Evaluator`` turns each predicted ``SegDataSample`` (one per frame, clip-major, all
    frames of a clip in one batch as ``avs_collate`` delivers them) into a dict whose keys are the metainfo
    (``clip_id``, ``frame_idx``, ``num_frames``, ``is_labeled``, ``is_padded``, optional ``audio_perturbation``)
    and the fields ``seg_logits`` / ``pred_sem_seg`` / ``gt_sem_seg`` (dicts with ``data`` ``[C, H, W]`` /
    ``[1, H, W]`` / ``[1, H, W]``). :meth:`process` groups the frames by clip and keeps ONE small entry of
    per-frame statistics per clip (:meth:`clip_entry`; no masks), so the results survive mmengine's distributed
    collection, which interleaves the ranks' lists round-robin and trims them to ``len(dataset)`` (= number of
    clips). With the usual ``DefaultSampler(shuffle=False)`` the collected entries are in dataset order.
    :meth:`compute_metrics` aggregates them (:meth:`aggregate`), notes the audio perturbation and logs a table.

    Which frames are scored (:meth:`ground_truth`): a frame that is ``is_labeled`` and has at least one
    ground-truth pixel other than ``ignore_index``. Padded frames (``is_padded``) are scored only with
    ``score_padded_frames=True``, and then with an all-background ground truth and the model's prediction (which
    the segmentor sets to background), as the official AVSS code does by zero-padding labels and multiplying
    logits by the temporal flag. Ignore pixels are left out of every count; the official data has none.

    When samples carry ``audio_perturbation`` metainfo, its description (e.g. ``'noise(snr_db=10)'``, see
    :meth:`describe_perturbation`) is printed in the log line and returned under ``audio_perturbation``.

    The runner sets ``dataset_meta`` (the evaluated dataset's ``metainfo``) before evaluating;
    :meth:`check_dataset_meta` then checks its ``classes`` against what the metric scores, so a metric never
    averages over a class count other than the dataset's.

    Subclasses implement :meth:`clip_entry`, :meth:`aggregate` and :meth:`summary`, and may extend
    :meth:`check_dataset_meta`.

    Args:
        beta2: beta squared of the F-measure (official 0.3).
        score_padded_frames: score frames added by padding a clip to a fixed length (AVSS), with an
            all-background ground truth.
        ignore_index: ground-truth value of unlabelled pixels.
        collect_device: ``'cpu'`` or ``'gpu'`` for distributed collection.
        prefix: prefix of the returned keys.
        collect_dir: directory for CPU collection.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 beta2: float = 0.3,
                 score_padded_frames: bool = False,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if not beta2 > 0:
            raise ValueError(f'{self.name}: beta2 must be positive, got {beta2!r}')
        self.beta2 = float(beta2)
        self.score_padded_frames = bool(score_padded_frames)
        self.ignore_index = int(ignore_index)

    @property
    def name(self) -> str:
        """The class name, which starts every error message."""
        return type(self).__name__

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The evaluated dataset's ``metainfo`` (set by the runner's val/test loop), checked when set."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        if dataset_meta is not None:
            self.check_dataset_meta(dataset_meta)
        self._dataset_meta = dataset_meta

    def dataset_classes(self, dataset_meta: dict) -> Tuple[str, ...]:
        """The ``classes`` of a dataset's metainfo; an error when there are none."""
        classes = dataset_meta.get('classes')
        if not classes:
            raise ValueError(f'{self.name}: the dataset_meta has no \'classes\' (got keys {sorted(dataset_meta)}); '
                             'the AVS datasets set them in their metainfo')
        return tuple(classes)

    def check_dataset_meta(self, dataset_meta: dict) -> None:
        """Check the dataset's metainfo before it is used (base: it names its classes)."""
        self.dataset_classes(dataset_meta)

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def clip_entry(self, clip: List[dict]) -> dict:
        """Per-frame statistics of one clip (no masks): the clip's result entry.

        Args:
            clip: the clip's T per-frame dicts, in frame order.
        """

    @abstractmethod
    def aggregate(self, results: List[dict]) -> Dict[str, Any]:
        """The scores of the evaluated clips, from their entries in dataset order."""

    @abstractmethod
    def summary(self) -> str:
        """The head of the log line: which metric, and the settings that change its numbers."""

    # ------------------------------------------------------------------ process
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Append one entry per clip of the batch.

        Args:
            data_batch: the dataloader batch (unused).
            data_samples: B*T per-frame dicts (``SegDataSample.to_dict()``), clip-major.
        """
        for clip in self._split_clips(data_samples):
            entry = self.clip_entry(clip)
            entry['clip_id'] = clip[0]['clip_id']
            entry['perturbation'] = self.describe_perturbation(clip[0].get('audio_perturbation'))
            self.results.append(entry)

    def meta(self, sample: dict, key: str, where: str) -> Any:
        """The metainfo ``key`` of a frame's dict; an error naming the frame when it is missing."""
        if key not in sample:
            raise KeyError(f'{self.name}: data sample of {where} has no metainfo "{key}" '
                           f'(PackAVSInputs sets clip_id, num_frames, frame_idx, is_labeled, is_padded)')
        return sample[key]

    @staticmethod
    def describe_frame(sample: dict) -> str:
        """``'clip <id> frame <t>'``, for error messages."""
        return f'clip {sample["clip_id"]} frame {sample["frame_idx"]}'

    def _split_clips(self, data_samples: Sequence[dict]) -> List[List[dict]]:
        """Group consecutive frames of one clip, checking every clip is complete and in frame order."""
        clips: List[List[dict]] = []
        for i, sample in enumerate(data_samples):
            if not isinstance(sample, dict):
                raise TypeError(f'{self.name}.process expects dicts (SegDataSample.to_dict()), '
                                f'got {type(sample).__name__} at position {i}')
            clip_id = self.meta(sample, 'clip_id', f'batch position {i}')
            num_frames = self.meta(sample, 'num_frames', f'clip {clip_id}')
            current = clips[-1] if clips else None
            # A clip repeated right after itself (sampler padding with more ranks than clips) starts anew.
            if current is None or current[0]['clip_id'] != clip_id or len(current) == num_frames:
                clips.append([sample])
            else:
                current.append(sample)
        for clip in clips:
            clip_id, num_frames = clip[0]['clip_id'], clip[0]['num_frames']
            frame_idx = [self.meta(s, 'frame_idx', f'clip {clip_id}') for s in clip]
            if frame_idx != list(range(num_frames)):
                raise ValueError(f'{self.name}.process: clip {clip_id} has frames {frame_idx} in this batch '
                                 f'but num_frames={num_frames}; all frames of a clip must arrive together and in '
                                 f'order (dataset items are clips, collate_fn=avs_collate)')
        return clips

    def ground_truth(self, sample: dict, shape: Tuple[int, int], where: str) -> Optional[Tensor]:
        """The frame's ground truth as ``[H, W]`` long at the prediction's size, or None when it is not scored.

        A scored padded frame gets an all-background (0) ground truth. The preprocessor may have padded the
        ground truth bottom/right with ``ignore_index`` beyond the original size; that margin is cropped when it
        holds nothing but ``ignore_index``.

        Args:
            sample: the frame's dict.
            shape: ``(H, W)`` of the prediction (``ori_shape``).
            where: the frame, for error messages.
        """
        padded = bool(self.meta(sample, 'is_padded', where))
        labeled = bool(self.meta(sample, 'is_labeled', where))
        if padded:
            if not self.score_padded_frames:
                return None
            # The official AVSS loader pads labels with zeros = background.
            return torch.zeros(shape, dtype=torch.long)
        if not labeled:
            return None
        if 'gt_sem_seg' not in sample:
            raise KeyError(f'{self.name}: {where} is labelled but its data sample has no gt_sem_seg')
        gt = sample['gt_sem_seg']['data']
        if gt.dim() == 3:
            if gt.shape[0] != 1:
                raise ValueError(f'{self.name}: {where}: gt_sem_seg must be [1, H, W], got {tuple(gt.shape)}')
            gt = gt[0]
        gt = gt.long()
        h, w = shape
        if tuple(gt.shape) != (h, w):
            grown = gt.shape[0] >= h and gt.shape[1] >= w
            if not grown or (gt[h:] != self.ignore_index).any() or (gt[:, w:] != self.ignore_index).any():
                raise ValueError(f'{self.name}: {where}: gt_sem_seg is {tuple(gt.shape)} but the prediction is '
                                 f'{(h, w)} (ori_shape); only a bottom/right margin of ignore_index can be cropped')
            gt = gt[:h, :w]
        if not (gt != self.ignore_index).any():
            return None
        return gt

    def check_classes(self, gt: Tensor, num_classes: int, where: str) -> Tensor:
        """The ``valid`` mask ``gt != ignore_index``, after checking the other values lie in ``[0, num_classes)``."""
        valid = gt != self.ignore_index
        bad = valid & ((gt < 0) | (gt >= num_classes))
        if bad.any():
            raise ValueError(f'{self.name}: {where}: ground-truth classes must lie in [0, {num_classes}) or be '
                             f'{self.ignore_index}, found {sorted(gt[bad].unique().tolist())[:10]}')
        return valid

    def describe_perturbation(self, value: Any) -> Optional[str]:
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
                raise ValueError(f'{self.name}: metainfo audio_perturbation={value!r} has no "type"')
            params = [f'{k}={v}' for k, v in sorted(value.items())
                      if k not in ('type', 'seed') and isinstance(v, (bool, int, float, np.integer, np.floating))]
            return f'{value["type"]}({", ".join(params)})' if params else str(value['type'])
        raise TypeError(f'{self.name}: metainfo audio_perturbation must be a dict, a str or None, '
                        f'got {type(value).__name__}')

    # ------------------------------------------------------------------ compute
    def compute_metrics(self, results: list) -> Dict[str, Any]:
        """Aggregate the per-clip entries (in dataset order), note the audio perturbation and log a table."""
        metrics: Dict[str, Any] = OrderedDict(self.aggregate(results))
        perturbed = any(r['perturbation'] is not None for r in results)
        if perturbed:
            metrics['audio_perturbation'] = '; '.join(sorted({str(r['perturbation']) for r in results}))
        head = self.summary()
        if perturbed:
            head += f'; audio perturbation: {metrics["audio_perturbation"]}'
        table = PrettyTable()
        for key, value in metrics.items():
            if key != 'audio_perturbation':
                table.add_column(key, [f'{value:.4f}' if isinstance(value, float) else str(value)])
        print_log(head + '\n' + table.get_string(), logger='current')
        return metrics
