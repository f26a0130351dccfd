"""BAVS's audio-visual semantic integration (AVIS): which potential sounding objects actually sound."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import torch

from avsseg.models.utils.av_tree import AudioVisualTree
from avsseg.models.utils.instance_filters import two_phase_filter
from avsseg.registry import TASK_UTILS


@TASK_UTILS.register_module()
class AudioVisualSemanticIntegration:
    """The training-free AVIS rule of BAVS (arXiv 2308.10175, §III-C2); no parameters.

    Per frame, from the stage-1 instances ``Q`` and the tagger's confidences ``a``:

    1. ``P_c``: the two-phase filter of ``Q`` (``avsseg.models.utils.instance_filters.two_phase_filter``):
       no-object predictions dropped, the best mask of each predicted label, then every other mask whose IoU with
       all kept masks is ``< iou_thr`` (paper: threshold ``t``, value not given; sheet A4: 0.5).
    2. ``T_c``: the visual categories whose aggregated tag score is non-zero
       (:meth:`AudioVisualTree.tags_to_categories` with ``tag_thr``, ``topk``, ``agg``; sheet A2: 0.1, none, sum).
    3. For the masks of ``P_c`` in descending score [R]:

       - *direct*: the mask's label ``v`` is in ``T_c`` -> sounding, and ``v`` leaves ``T_c`` [P] ("once it is
         identified, the related mask and the category are removed");
       - *fallback*: otherwise, if a category ``u`` still in ``T_c`` shares ``v``'s layer-1 group (``T_p``) ->
         sounding [P]; with ``consume_on_fallback`` ``u`` leaves ``T_c`` too (the highest-scoring such ``u``)
         [R, A5];
       - otherwise silent [P].

       The paper checks each mask once and says nothing about the order; ``fallback_after_direct=True`` (sheet
       A5) runs the direct pass over all masks first and then the fallback pass over the rest, so a mask whose
       own category was heard is never robbed of it by a sibling's fallback; ``False`` checks direct then
       fallback mask by mask. ``fallback=False`` disables the ``T_p`` retrieval.

    Args:
        tree: an :class:`AudioVisualTree` or the path of its JSON file.
        classes: names of the stage-1 class indices ``0..K-1`` (index ``K`` is no-object); default: the
            tree's ``visual_classes``. Every name must be a visual class of the tree.
        tag_thr, topk, agg: T_c from the tag confidences, see :meth:`AudioVisualTree.tags_to_categories`.
        iou_thr: phase-2 IoU threshold ``t`` of the two-phase filter.
        fallback: use the layer-1 retrieval (``T_p``).
        fallback_after_direct: see above.
        consume_on_fallback: a fallback match removes the matched category from ``T_c``.
        label_csv: optional AudioSet ``class_labels_indices.csv`` checked by the tree loader.
    """

    def __init__(self,
                 tree: Union[str, AudioVisualTree],
                 classes: Optional[Sequence[str]] = None,
                 tag_thr: float = 0.1,
                 topk: Optional[int] = None,
                 agg: str = 'sum',
                 iou_thr: float = 0.5,
                 fallback: bool = True,
                 fallback_after_direct: bool = True,
                 consume_on_fallback: bool = True,
                 label_csv: Optional[str] = None):
        self.tree = tree if isinstance(tree, AudioVisualTree) else AudioVisualTree(tree, label_csv=label_csv)
        self.classes = list(self.tree.visual_classes if classes is None else classes)
        unknown = [c for c in self.classes if c not in self.tree.visual_classes]
        if unknown:
            raise ValueError(f'AudioVisualSemanticIntegration: classes {unknown} are not visual classes (red '
                             f'layer-2 nodes) of the tree {self.tree.source}')
        if agg not in ('sum', 'max'):
            raise ValueError(f"AudioVisualSemanticIntegration: agg must be 'sum' or 'max', got {agg!r}")
        if not 0.0 < iou_thr <= 1.0:
            raise ValueError(f'AudioVisualSemanticIntegration: iou_thr must be in (0, 1], got {iou_thr}')
        self.tag_thr = tag_thr
        self.topk = topk
        self.agg = agg
        self.iou_thr = iou_thr
        self.fallback = fallback
        self.fallback_after_direct = fallback_after_direct
        self.consume_on_fallback = consume_on_fallback

    @property
    def num_classes(self) -> int:
        """K, the number of object classes of the stage-1 model (no-object excluded)."""
        return len(self.classes)

    def sound_categories(self, tag_probs: torch.Tensor, mids: Optional[Sequence[str]] = None
                         ) -> List['OrderedDict[str, float]']:
        """T_c of each row of ``tag_probs`` ``[L]`` or ``[N, L]``: an ordered dict category -> score per row."""
        scores = self.tree.tags_to_categories(tag_probs, mids, tag_thr=self.tag_thr, topk=self.topk, agg=self.agg)
        rows = scores[None] if scores.dim() == 1 else scores
        return [self.tree.categories_in(row) for row in rows]

    def integrate(self, labels: Sequence[int], scores: Sequence[float],
                  sound_categories: Dict[str, float]) -> List[int]:
        """The rule on one frame's potential sounding objects ``P_c`` (already filtered).

        Args:
            labels: ``[M]`` class indices ``0..K-1`` of ``P_c``.
            scores: ``[M]`` their confidences.
            sound_categories: T_c, category name -> aggregated score (only positive scores count).

        Returns:
            positions (into ``labels``) of the sounding masks, in descending score.
        """
        labels = [int(v) for v in torch.as_tensor(labels).reshape(-1).tolist()]
        scores = [float(s) for s in torch.as_tensor(scores, dtype=torch.float64).reshape(-1).tolist()]
        if len(labels) != len(scores):
            raise ValueError(f'integrate: {len(labels)} labels but {len(scores)} scores')
        bad = [v for v in labels if not 0 <= v < self.num_classes]
        if bad:
            raise ValueError(f'integrate: labels {bad} outside 0..{self.num_classes - 1} (no-object predictions '
                             'must be filtered out first)')
        remaining = OrderedDict((c, s) for c, s in sound_categories.items() if s > 0)
        order = sorted(range(len(labels)), key=lambda i: (-scores[i], i))
        sounding = set()

        def direct(i: int) -> bool:
            name = self.classes[labels[i]]
            if name in remaining:
                del remaining[name]
                return True
            return False

        def retrieve(i: int) -> bool:
            if not self.fallback:
                return False
            name = self.classes[labels[i]]
            group = self.tree.group_of(name)
            matches = [u for u in remaining if self.tree.group_of(u) == group]
            if not matches:
                return False
            if self.consume_on_fallback:
                del remaining[max(matches, key=lambda u: remaining[u])]
            return True

        if self.fallback_after_direct:
            for i in order:
                if direct(i):
                    sounding.add(i)
            for i in order:
                if i not in sounding and retrieve(i):
                    sounding.add(i)
        else:
            for i in order:
                if direct(i) or retrieve(i):
                    sounding.add(i)
        return [i for i in order if i in sounding]

    def __call__(self, cls_probs: torch.Tensor, masks: torch.Tensor, tag_probs: torch.Tensor,
                 mids: Optional[Sequence[str]] = None) -> dict:
        """AVIS on one frame.

        Args:
            cls_probs: ``[Q, K + 1]`` class probabilities of the stage-1 queries (no-object last).
            masks: ``[Q, H, W]`` their binary masks.
            tag_probs: ``[L]`` the frame's tag confidences.
            mids: the mid of each tag column (default: the tree's order).

        Returns:
            ``dict(sounding=LongTensor [S] query indices of the sounding masks by descending score,
            potential=LongTensor [N4] query indices of P_c (two-phase filter), labels=LongTensor [S] their class
            indices 0..K-1, sound_categories=OrderedDict T_c before consumption)``.
        """
        if cls_probs.dim() != 2 or cls_probs.shape[1] != self.num_classes + 1:
            raise ValueError(f'AudioVisualSemanticIntegration: cls_probs must be [Q, {self.num_classes + 1}] '
                             f'(the {self.num_classes} classes and no-object), got {list(cls_probs.shape)}')
        tag_probs = torch.as_tensor(tag_probs)
        if tag_probs.dim() != 1:
            raise ValueError(f'AudioVisualSemanticIntegration: tag_probs of one frame must be [L], got '
                             f'{list(tag_probs.shape)}')
        potential = two_phase_filter(cls_probs, masks, self.iou_thr)
        scores, labels = cls_probs[potential].max(dim=1)
        tc = self.sound_categories(tag_probs, mids)[0]
        positions = self.integrate(labels.tolist(), scores.tolist(), tc)
        index = torch.as_tensor(positions, dtype=torch.long, device=potential.device)
        return dict(sounding=potential[index], potential=potential, labels=labels[index], sound_categories=tc)

    def integrate_instances(self, instances, tag_probs: torch.Tensor, mids: Optional[Sequence[str]] = None
                            ) -> torch.Tensor:
        """The rule on a frame's potential set as ``PSOSHead.predict_instances`` gives it.

        Args:
            instances: ``InstanceData`` with ``labels`` ``[N4]`` (``0..K-1``) and ``scores`` ``[N4]``, already
                filtered (the head's ``instance_filter='two_phase'`` with this ``iou_thr``; the filter is
                idempotent, so :meth:`__call__` on the same queries gives the same set).
            tag_probs: ``[L]`` the frame's tag confidences.
            mids: the mid of each tag column (default: the tree's order).

        Returns:
            LongTensor ``[S]`` positions (into ``instances``) of the sounding masks, by descending score.
        """
        tc = self.sound_categories(torch.as_tensor(tag_probs), mids)[0]
        positions = self.integrate(instances.labels.tolist(), instances.scores.tolist(), tc)
        return torch.as_tensor(positions, dtype=torch.long, device=instances.labels.device)
