"""select_valid: the valid pixels of several maps, flattened."""
import pytest
import torch

from avsseg.evaluation.functional.utils import select_valid


def test_select_valid():
    pred = torch.tensor([[1, 2], [3, 4]])
    gt = torch.tensor([[5, 6], [7, 8]])
    valid = torch.tensor([[True, False], [False, True]])
    p, g = select_valid(valid, pred, gt)
    assert p.tolist() == [1, 4] and g.tolist() == [5, 8]
    p, g = select_valid(None, pred, gt)
    assert p.tolist() == [1, 2, 3, 4] and g.tolist() == [5, 6, 7, 8]
    with pytest.raises(ValueError, match=r'one shape, got \[\(2, 2\), \(2, 2\), \(1, 2\)\]'):
        select_valid(valid[:1], pred, gt)
    with pytest.raises(ValueError, match='one shape'):
        select_valid(None, pred, gt[:1])
