"""Filters that turn a frame's query predictions into its potential instance set (seed 001 §3.3, BAVS §III-C2).

Both take the class probabilities ``cls_probs [Q, K + 1]`` of one frame (softmax over the K categories and the
no-object class, which is the last column as in Mask2Former) and return indices of the kept queries. The score of
a query is the probability of its argmax class (seed001.md A7 / bavs.md A4, recommendation). Order and ties are
deterministic: descending score, then ascending query index.
"""
import torch
from torch import Tensor


def _labels_and_scores(cls_probs: Tensor):
    if cls_probs.dim() != 2 or cls_probs.shape[1] < 2:
        raise ValueError(f'instance filters: cls_probs must be [Q, K + 1] (K categories and the no-object class '
                         f'last), got {list(cls_probs.shape)}')
    scores, labels = cls_probs.max(dim=1)
    return labels, scores


def _by_score(indices: Tensor, scores: Tensor) -> Tensor:
    """``indices`` sorted by descending score, ties by ascending index (stable sort of index-ordered input)."""
    indices = indices.sort().values
    order = torch.sort(scores[indices], descending=True, stable=True).indices
    return indices[order]


def filter_by_category_and_score(cls_probs: Tensor) -> Tensor:
    """Category filter, then score filter: at most one query per category (seed 001 §3.3; BAVS phase 1).

    - category filter: queries whose argmax over the K + 1 classes is no-object are dropped;
    - score filter: of the queries predicting category ``c``, only the one with the highest probability of ``c``
      is kept (the lowest query index on a tie).

    Args:
        cls_probs: ``[Q, K + 1]`` class probabilities of one frame.

    Returns:
        Long tensor ``[N_p]`` of kept query indices, ``N_p <= K``, by descending score.
    """
    labels, scores = _labels_and_scores(cls_probs)
    no_object = cls_probs.shape[1] - 1
    candidates = _by_score(torch.nonzero(labels != no_object).flatten(), scores)
    keep, seen = [], set()
    for idx in candidates.tolist():
        label = int(labels[idx])
        if label not in seen:
            seen.add(label)
            keep.append(idx)
    return torch.as_tensor(keep, dtype=torch.long, device=cls_probs.device)


def mask_iou(masks_a: Tensor, masks_b: Tensor) -> Tensor:
    """IoU ``[A, B]`` of binary masks ``[A, H, W]`` and ``[B, H, W]``; two empty masks have IoU 0."""
    a = masks_a.flatten(1).float()
    b = masks_b.flatten(1).float()
    inter = a @ b.t()
    union = a.sum(1)[:, None] + b.sum(1)[None] - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))


def two_phase_filter(cls_probs: Tensor, masks: Tensor, iou_thr: float = 0.5) -> Tensor:
    """BAVS's two-phase filter (§III-C2): one mask per label, then the other masks that overlap none of them.

    - no-object predictions are dropped first (bavs.md A4, recommendation: otherwise the no-object partition's
      top mask would enter);
    - phase 1 = :func:`filter_by_category_and_score`;
    - phase 2: the remaining queries, by descending score, are added when their IoU with **every** mask kept so
      far (the set grows as masks are added) is ``< iou_thr``; IoU equal to the threshold is excluded. This is how
      two instances of one category (two men) can both be kept.

    Args:
        cls_probs: ``[Q, K + 1]`` class probabilities of one frame.
        masks: ``[Q, H, W]`` binary masks of the queries.
        iou_thr: ``t`` (paper: not given; recommendation 0.5).

    Returns:
        Long tensor of kept query indices: the phase-1 indices by descending score, then the phase-2 additions in
        the order they were added.
    """
    if masks.dim() != 3 or masks.shape[0] != cls_probs.shape[0]:
        raise ValueError(f'two_phase_filter: masks must be [Q, H, W] for the {cls_probs.shape[0]} queries of '
                         f'cls_probs, got {list(masks.shape)}')
    labels, scores = _labels_and_scores(cls_probs)
    masks = masks.bool()
    keep = filter_by_category_and_score(cls_probs).tolist()
    no_object = cls_probs.shape[1] - 1
    kept = set(keep)
    rest = [i for i in _by_score(torch.nonzero(labels != no_object).flatten(), scores).tolist() if i not in kept]
    for idx in rest:
        ious = mask_iou(masks[idx:idx + 1], masks[keep])[0] if keep else masks.new_zeros(0, dtype=torch.float)
        if bool((ious < iou_thr).all()):
            keep.append(idx)
    return torch.as_tensor(keep, dtype=torch.long, device=cls_probs.device)


INSTANCE_FILTERS = ('category_score', 'two_phase', 'none')


def filter_instances(cls_probs: Tensor, masks: Tensor, method: str = 'category_score', iou_thr: float = 0.5) -> Tensor:
    """The kept query indices of one frame by name: ``'category_score'`` (:func:`filter_by_category_and_score`),
    ``'two_phase'`` (:func:`two_phase_filter` with ``iou_thr``) or ``'none'`` (every query whose argmax is not
    no-object, by descending score)."""
    if method == 'category_score':
        return filter_by_category_and_score(cls_probs)
    if method == 'two_phase':
        return two_phase_filter(cls_probs, masks, iou_thr)
    if method == 'none':
        labels, scores = _labels_and_scores(cls_probs)
        return _by_score(torch.nonzero(labels != cls_probs.shape[1] - 1).flatten(), scores)
    raise ValueError(f'filter_instances: method must be one of {INSTANCE_FILTERS}, got {method!r}')
