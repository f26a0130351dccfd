import pytest
import torch

from avsseg.models.utils import filter_by_category_and_score, filter_instances, mask_iou, two_phase_filter

K = 3  # categories 0, 1, 2; no-object = column 3


def probs(rows):
    """``[Q, K + 1]`` from rows of (argmax class, its probability); the rest spread evenly."""
    out = torch.zeros(len(rows), K + 1)
    for i, (label, p) in enumerate(rows):
        out[i] = (1 - p) / K
        out[i, label] = p
    return out


def test_category_and_score_filters():
    cls = probs([(0, 0.5), (3, 0.9), (0, 0.8), (1, 0.6), (3, 0.99), (1, 0.4), (2, 0.7)])
    keep = filter_by_category_and_score(cls)
    # no-object queries (1, 4) dropped; per category the best (0: q2, 1: q3, 2: q6); by descending score
    assert keep.tolist() == [2, 6, 3]
    assert len(keep) <= K and keep.dtype == torch.long


def test_ties_resolve_to_the_lowest_index_and_all_no_object_gives_nothing():
    cls = probs([(1, 0.7), (1, 0.7), (0, 0.7)])
    assert filter_by_category_and_score(cls).tolist() == [0, 2]
    assert filter_by_category_and_score(probs([(3, 0.9), (3, 0.5)])).tolist() == []
    with pytest.raises(ValueError, match=r'\[Q, K \+ 1\]'):
        filter_by_category_and_score(torch.zeros(4))


def square(r0, r1, c0, c1, size=10):
    m = torch.zeros(size, size, dtype=torch.bool)
    m[r0:r1, c0:c1] = True
    return m


def test_mask_iou():
    a = torch.stack([square(0, 2, 0, 2), square(0, 0, 0, 0)])
    b = torch.stack([square(0, 2, 0, 4), square(0, 0, 0, 0)])
    torch.testing.assert_close(mask_iou(a, b), torch.tensor([[0.5, 0.0], [0.0, 0.0]]))


def test_two_phase_filter():
    # q0: man (label 0) 0.9, left; q1: man 0.8, right (disjoint); q2: man 0.7, overlapping q0 a lot;
    # q3: dog (label 1) 0.6, overlapping q0; q4: no-object, elsewhere
    masks = torch.stack([square(0, 4, 0, 4), square(0, 4, 6, 10), square(0, 4, 1, 4), square(0, 4, 0, 2),
                         square(6, 10, 6, 10)])
    cls = probs([(0, 0.9), (0, 0.8), (0, 0.7), (1, 0.6), (3, 0.95)])
    # phase 1: q0 (man), q3 (dog); phase 2 by score: q1 overlaps nothing -> added; q2 has IoU 0.75 with q0 -> no
    assert two_phase_filter(cls, masks, iou_thr=0.5).tolist() == [0, 3, 1]
    # phase 1 alone
    assert filter_instances(cls, masks, 'category_score').tolist() == [0, 3]
    assert filter_instances(cls, masks, 'none').tolist() == [0, 1, 2, 3]


def test_two_phase_threshold_boundary_is_excluded_and_the_set_grows():
    # q1 has IoU exactly 0.5 with q0 -> excluded at t = 0.5, kept above
    masks = torch.stack([square(0, 2, 0, 4), square(0, 2, 0, 2), square(5, 7, 0, 4), square(5, 7, 0, 3)])
    cls = probs([(0, 0.9), (0, 0.8), (0, 0.7), (0, 0.6)])
    torch.testing.assert_close(mask_iou(masks[:1], masks[1:2]), torch.tensor([[0.5]]))
    assert two_phase_filter(cls, masks, iou_thr=0.5).tolist() == [0, 2]
    # q3 overlaps q2 (IoU 0.75) only: judged against the grown set, so it is left out
    assert two_phase_filter(cls, masks, iou_thr=0.51).tolist() == [0, 1, 2]
    assert two_phase_filter(cls, masks, iou_thr=0.8).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match='masks must be'):
        two_phase_filter(cls, masks[:2])
    with pytest.raises(ValueError, match='method'):
        filter_instances(cls, masks, 'nms')
