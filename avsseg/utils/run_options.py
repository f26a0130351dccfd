"""Config changes behind the tools' convenience options: ``--data-root`` and data loaders without workers."""
from typing import List

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# Dataset wrappers whose inner datasets carry the data_root (mmengine's and avsseg's).
_INNER_KEYS = ('dataset', 'datasets')


def _set_root(dataset, root: str, where: str, changed: List[str]) -> None:
    if isinstance(dataset, (list, tuple)):
        for i, item in enumerate(dataset):
            _set_root(item, root, f'{where}.{i}', changed)
        return
    if not isinstance(dataset, dict):
        return
    inner = [key for key in _INNER_KEYS if key in dataset]
    if inner:  # a wrapper (ConcatDataset, RepeatDataset, AudioPerturbedDataset, ...)
        for key in inner:
            _set_root(dataset[key], root, f'{where}.{key}', changed)
        return
    dataset['data_root'] = root
    changed.append(f'{where}.data_root')


def set_data_root(cfg, root: str) -> List[str]:
    """Point the dataset of every ``{train,val,test}_dataloader`` (also inside dataset wrappers) at ``root``.

    Equivalent to ``--cfg-options train_dataloader.dataset.data_root=ROOT val_dataloader.dataset.data_root=ROOT
    test_dataloader.dataset.data_root=ROOT`` for plain datasets. Returns the keys set.

    Raises:
        ValueError: the config has none of the three data loaders.
    """
    changed = []
    for name in DATALOADERS:
        loader = cfg.get(name)
        if isinstance(loader, dict) and 'dataset' in loader:
            _set_root(loader['dataset'], root, f'{name}.dataset', changed)
    if not changed:
        raise ValueError(f'--data-root {root}: the config has no {"/".join(DATALOADERS)} dataset to point there')
    return changed


def fix_persistent_workers(cfg) -> List[str]:
    """Turn ``persistent_workers`` off for data loaders with ``num_workers=0``.

    torch refuses ``persistent_workers=True`` without workers ("persistent_workers option needs num_workers > 0"),
    and the dataset bases set it, so ``--cfg-options train_dataloader.num_workers=0`` alone would fail. Returns
    the data loaders changed.
    """
    changed = []
    for name in DATALOADERS:
        loader = cfg.get(name)
        if isinstance(loader, dict) and loader.get('num_workers', 0) == 0 and loader.get('persistent_workers'):
            loader['persistent_workers'] = False
            changed.append(name)
    return changed
