"""check_model_classes: the head's num_classes against the dataset's classes."""
import pytest
from torch import nn

from avsseg.evaluation import check_model_classes, head_class_counts

NINE = dict(classes=tuple(['background'] + [f'c{i}' for i in range(1, 9)]))


class Head(nn.Module):

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes


class Segmentor(nn.Module):

    def __init__(self, num_classes, aux=None):
        super().__init__()
        self.decode_head = Head(num_classes)
        if aux is not None:
            self.auxiliary_head = nn.ModuleList([Head(n) for n in aux])


def test_equal_counts_pass_and_are_described():
    assert check_model_classes(Segmentor(9), NINE, 'the test set') == '9 classes in the test set and in decode_head'
    assert head_class_counts(Segmentor(9, aux=[9, 9])) == [('decode_head', 9), ('auxiliary_head.0', 9),
                                                           ('auxiliary_head.1', 9)]


def test_a_head_of_71_classes_on_a_9_class_dataset_is_an_error():
    with pytest.raises(ValueError, match=r'model\.decode_head\.num_classes=71 but test_dataloader\.dataset of a\.py '
                       r'has 9 classes \(background, c1, c2, c3, c4, \.\.\.\)'):
        check_model_classes(Segmentor(71), NINE, 'test_dataloader.dataset of a.py')
    with pytest.raises(ValueError, match=r'model\.auxiliary_head\.1\.num_classes=2 but'):
        check_model_classes(Segmentor(9, aux=[9, 2]), NINE)
    with pytest.raises(ValueError, match='has no classes in its metainfo'):
        check_model_classes(Segmentor(9), dict(palette=[]))


def test_model_without_heads_is_described():
    assert head_class_counts(nn.Linear(2, 2)) == []
    assert 'no head declaring num_classes' in check_model_classes(nn.Linear(2, 2), NINE)
