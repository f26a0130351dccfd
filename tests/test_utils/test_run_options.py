"""--data-root (set_data_root) and num_workers=0 without editing persistent_workers (fix_persistent_workers)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader

from avsseg.utils import fix_persistent_workers, set_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_data_root_reaches_every_split():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'combo', 'combo_tiny_synthetic_s4.py'))
    changed = set_data_root(cfg, '/data/s4')
    assert changed == [f'{s}_dataloader.dataset.data_root' for s in ('train', 'val', 'test')]
    for split in ('train', 'val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.data_root == '/data/s4'


def test_data_root_inside_dataset_wrappers():
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', times=2, dataset=dict(type='A', data_root='x'))),
        val_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[dict(type='A'), dict(type='B')])),
        test_dataloader=dict(dataset=dict(type='AudioPerturbedDataset', dataset=dict(type='A'),
                                          perturbation=dict(type='silence')))))
    changed = set_data_root(cfg, 'root')
    assert cfg.train_dataloader.dataset.dataset.data_root == 'root'
    assert [d.data_root for d in cfg.val_dataloader.dataset.datasets] == ['root', 'root']
    assert cfg.test_dataloader.dataset.dataset.data_root == 'root'
    assert 'data_root' not in cfg.test_dataloader.dataset.perturbation
    assert len(changed) == 4
    with pytest.raises(ValueError, match='--data-root root: the config has no'):
        set_data_root(Config(dict(model=dict())), 'root')


def test_zero_workers_turn_persistent_workers_off():
    # the failure a user gets from --cfg-options train_dataloader.num_workers=0 alone
    with pytest.raises(ValueError, match='persistent_workers option needs num_workers > 0'):
        DataLoader(torch.arange(4), num_workers=0, persistent_workers=True)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'combo', 'combo_r50_s4.py'))
    assert cfg.train_dataloader.persistent_workers and cfg.val_dataloader.persistent_workers
    cfg.train_dataloader.num_workers = 0
    assert fix_persistent_workers(cfg) == ['train_dataloader']
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True  # it still has workers
    assert fix_persistent_workers(cfg) == []
