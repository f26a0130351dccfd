"""The instance count "I" of seed 001 (Table 3) and BAVS (Table V), and how many ground-truth objects it covers."""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor

from avsseg.registry import METRICS
from .base_clip_metric import BaseClipMetric


@METRICS.register_module()
class PotentialInstanceMetric(BaseClipMetric):
    """Counts the potential instances of stage 1 and their recall of the ground-truth objects.

    Reads each frame's ``pred_instances`` (``labels`` ``[N_p]`` in ``0..K-1``, ``masks`` ``[N_p, H, W]`` at
    ``ori_shape``; ``PSOSSegmentor`` puts them there). Frames are chosen as :class:`BaseClipMetric` does (labelled,
    with a non-ignore pixel; padded frames only with ``score_padded_frames``). Returned:

    - ``I``: sum of ``N_p`` over the scored frames (the papers' "I": 3700 = one per S4 test frame without L_soas,
      9854 with it; an inference from the tables, seed001.md §1.1 / bavs.md §1.4);
    - ``I_per_frame``: ``I`` / number of scored frames;
    - ``inst_recall``: fraction of ground-truth objects covered by an instance **of their category** with mask
      IoU ``>= iou_thr`` (ignore pixels excluded); ``inst_recall_any``: the same without the category;
    - ``inst_frames`` (scored frames), ``inst_gt`` (ground-truth objects).

    Ground-truth objects: with class-index ground truth (any value above 1; 0 background, ``c`` = category
    ``c - 1``), one object per present class; with binary ground truth (S4 / MS3 as scored, 0/1) the foreground is
    one object whose category is the clip's ``category`` metainfo looked up in ``classes`` (a category in
    ``silent_categories`` or an empty mask gives none). Without ``classes``, binary frames count for
    ``inst_recall_any`` only, and ``inst_recall`` is left out.

    Args:
        classes: the K category names in label order (as ``ClipCategoryToLabel``), or None.
        iou_thr: IoU at which an instance covers an object (0.5).
        silent_categories: categories of clips in which nothing sounds.
        **kwargs: ``score_padded_frames``, ``ignore_index``, ``collect_device``, ``prefix``, ``collect_dir`` of
            :class:`BaseClipMetric`.

    Its keys carry the prefix ``instances/`` by default (``instances/I``, ...): it is used next to a mask metric,
    and both report ``audio_perturbation`` under ``--audio-perturb``, which mmengine's evaluator refuses as a
    duplicate key without a prefix.
    """

    default_prefix = 'instances'

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 iou_thr: float = 0.5,
                 silent_categories: Sequence[str] = ('silent', ),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.classes = tuple(classes) if classes is not None else None
        self.iou_thr = float(iou_thr)
        self.silent_categories = tuple(silent_categories)

    def summary(self) -> str:
        return (f'{self.name}: I = potential instances over the scored frames; recall of the ground-truth objects '
                f'at IoU >= {self.iou_thr}')

    def _gt_objects(self, sample: dict, gt: Tensor, where: str) -> List[tuple]:
        """``(label or None, mask)`` of the frame's ground-truth objects."""
        valid = gt != self.ignore_index
        values = gt[valid]
        if values.numel() and values.max() > 1:
            return [(int(c) - 1, gt == c) for c in torch.unique(values) if c > 0]
        foreground = valid & (gt == 1)
        if not foreground.any():
            return []
        category = sample.get('category')
        if category in self.silent_categories:
            return []
        if self.classes is None:
            return [(None, foreground)]
        if category not in self.classes:
            raise ValueError(f'{self.name}: {where} has category {category!r}, not among the metric\'s '
                             f'{len(self.classes)} classes')
        return [(self.classes.index(category), foreground)]

    def clip_entry(self, clip: List[dict]) -> dict:
        n_p, hits, hits_any, n_gt, known = [], 0, 0, 0, True
        for sample in clip:
            where = self.describe_frame(sample)
            inst = sample.get('pred_instances')
            if inst is None:
                raise KeyError(f'{self.name}: {where} has no pred_instances (PSOSSegmentor predicts them)')
            labels = torch.as_tensor(inst['labels']).long()
            masks = torch.as_tensor(inst['masks']).bool()
            if masks.dim() != 3 or masks.shape[0] != labels.shape[0]:
                raise ValueError(f'{self.name}: {where}: pred_instances masks must be [N_p, H, W] for the '
                                 f'{labels.shape[0]} labels, got {list(masks.shape)}')
            gt = self.ground_truth(sample, tuple(masks.shape[-2:]), where)
            if gt is None:
                continue
            n_p.append(int(labels.shape[0]))
            valid = gt != self.ignore_index
            for label, obj in self._gt_objects(sample, gt, where):
                n_gt += 1
                inter = (masks & obj & valid).flatten(1).sum(1).float()
                union = ((masks | obj) & valid).flatten(1).sum(1).float()
                covers = inter / union.clamp(min=1) >= self.iou_thr
                hits_any += int(covers.any())
                if label is None:
                    known = False
                else:
                    hits += int((covers & (labels == label)).any())
        return dict(n_p=n_p, hits=hits, hits_any=hits_any, n_gt=n_gt, known=known)

    def aggregate(self, results: List[dict]) -> Dict[str, Any]:
        frames = sum(len(r['n_p']) for r in results)
        total = sum(sum(r['n_p']) for r in results)
        n_gt = sum(r['n_gt'] for r in results)
        metrics: Dict[str, Any] = OrderedDict()
        metrics['I'] = total
        metrics['I_per_frame'] = total / frames if frames else float('nan')
        if all(r['known'] for r in results):
            metrics['inst_recall'] = sum(r['hits'] for r in results) / n_gt if n_gt else float('nan')
        metrics['inst_recall_any'] = sum(r['hits_any'] for r in results) / n_gt if n_gt else float('nan')
        metrics['inst_frames'] = frames
        metrics['inst_gt'] = n_gt
        return metrics
