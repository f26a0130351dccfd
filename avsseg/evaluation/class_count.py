"""The model's class count against the dataset's: a head built for other classes is an error before evaluation."""
from typing import List, Optional

from mmengine.model import is_model_wrapper
from torch import nn


def head_class_counts(model: nn.Module) -> List[tuple]:
    """``(name, num_classes)`` of the model's decode head and auxiliary heads that declare ``num_classes``."""
    model = model.module if is_model_wrapper(model) else model
    heads = []
    for name in ('decode_head', 'auxiliary_head'):
        head = getattr(model, name, None)
        modules = head if isinstance(head, nn.ModuleList) else [head]
        for i, module in enumerate(modules):
            # a head whose predicted maps have another class count than its classifier (PSOSHead: K categories,
            # binary top-1 maps) declares it as eval_num_classes
            num_classes = getattr(module, 'eval_num_classes', getattr(module, 'num_classes', None))
            if isinstance(num_classes, int):
                heads.append((f'{name}.{i}' if isinstance(head, nn.ModuleList) else name, num_classes))
    return heads


def check_model_classes(model: nn.Module, dataset_meta: Optional[dict], dataset_name: str = 'the dataset') -> str:
    """Raise when a head's ``num_classes`` differs from the number of the dataset's classes.

    The AVS heads count background as a class (binary subsets: 2; AVSS: 71, or a release's own number), as do
    the datasets' ``metainfo['classes']``. A model whose head was built for 71 classes and a dataset of 9 (or the
    reverse) would otherwise be trained or scored against the wrong classes.

    Args:
        model: the segmentor (or its wrapper).
        dataset_meta: the dataset's ``metainfo``.
        dataset_name: how the error names the dataset (e.g. ``'test_dataloader.dataset of CONFIG'``).

    Returns:
        str: what was compared, for the log.
    """
    classes = tuple((dataset_meta or {}).get('classes') or ())
    if not classes:
        raise ValueError(f'{dataset_name} has no classes in its metainfo; the AVS datasets set them')
    heads = head_class_counts(model)
    if not heads:
        return f'{len(classes)} classes in {dataset_name}; the model has no head declaring num_classes'
    wrong = [(name, n) for name, n in heads if n != len(classes)]
    if wrong:
        listed = ', '.join(f'model.{name}.num_classes={n}' for name, n in wrong)
        names = ', '.join(classes[:5]) + (', ...' if len(classes) > 5 else '')
        raise ValueError(f'{listed} but {dataset_name} has {len(classes)} classes ({names}); set the head\'s '
                         'num_classes (and any per-class loss weights) to the dataset\'s class count')
    return f'{len(classes)} classes in {dataset_name} and in ' + ', '.join(name for name, _ in heads)
