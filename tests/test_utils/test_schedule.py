"""--iters (scale_schedule) and the save/validate predicates the hooks use."""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.hooks import CheckpointHook

from avsseg.utils import checkpoint_due, scale_schedule, validation_due_after_iter

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def test_poly_90k_recipe_scaled_to_900_iterations():
    cfg = load('combo/combo_r50_s4.py')
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (90000, 5000)
    changes = scale_schedule(cfg, 900)
    assert cfg.train_cfg.max_iters == 900
    assert cfg.train_cfg.val_interval == 50
    assert cfg.param_scheduler[0].end == 900 and cfg.param_scheduler[0].begin == 0
    assert cfg.default_hooks.checkpoint.interval == 50
    assert cfg.default_hooks.logger.interval == 50  # shorter than the run: kept
    assert ('train_cfg.max_iters', 90000, 900) in changes
    assert ('default_hooks.checkpoint.interval', 5000, 50) in changes


def test_quickstart_scaled_down_to_a_few_iterations():
    cfg = load('combo/combo_tiny_synthetic_s4.py')
    scale_schedule(cfg, 10)
    assert cfg.train_cfg.max_iters == 10 and cfg.train_cfg.val_interval == 10
    assert cfg.param_scheduler[0].end == 10
    assert cfg.default_hooks.checkpoint.interval == 7  # 500 of 750, rounded
    assert cfg.default_hooks.logger.interval == 10  # capped at the run
    scale_schedule(cfg, 1)
    assert cfg.train_cfg.val_interval == 1 and cfg.default_hooks.checkpoint.interval == 1


def test_warmup_milestones_and_open_ends():
    cfg = Config(dict(
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=100, val_begin=200),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
            dict(type='MultiStepLR', milestones=[600, 800], by_epoch=False, begin=50, end=int(1e9)),
            dict(type='ConstantLR', by_epoch=True, begin=0, end=3),  # epochs: not an iteration count
        ],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1))))
    scale_schedule(cfg, 100)
    assert cfg.train_cfg.val_interval == 10 and cfg.train_cfg.val_begin == 20
    assert (cfg.param_scheduler[0].begin, cfg.param_scheduler[0].end) == (0, 5)
    assert cfg.param_scheduler[1].milestones == [60, 80] and cfg.param_scheduler[1].begin == 5
    assert cfg.param_scheduler[1].end == int(1e9)  # "until the end" stays
    assert cfg.param_scheduler[2].end == 3
    assert cfg.default_hooks.checkpoint.interval == 1  # epoch-based checkpoints are not iteration counts


def test_epoch_based_schedule_is_refused():
    with pytest.raises(ValueError, match=r'--iters needs an iteration-based schedule.*max_epochs=N instead'):
        scale_schedule(load('tpavi/tpavi_r50_s4.py'), 10)
    with pytest.raises(ValueError, match='must be positive'):
        scale_schedule(load('combo/combo_tiny_synthetic_s4.py'), 0)


def fake_runner(iteration, epoch=0, max_iters=8, val_interval=4, hooks=(), val=True):
    loop = SimpleNamespace(val_begin=1, val_interval=val_interval, max_iters=max_iters)
    return SimpleNamespace(iter=iteration, epoch=epoch, max_iters=max_iters, max_epochs=3, hooks=list(hooks),
                           train_loop=loop, val_loop=object() if val else None)


def test_checkpoint_and_validation_predicates():
    every3 = CheckpointHook(interval=3, by_epoch=False)
    # after_train_iter sees runner.iter as the index of the iteration that just ran
    assert [i + 1 for i in range(8) if checkpoint_due(fake_runner(i, hooks=[every3]), by_epoch=False)] == [3, 6, 8]
    assert not checkpoint_due(fake_runner(2, hooks=[every3]), by_epoch=True)
    assert not checkpoint_due(fake_runner(2), by_epoch=False)  # no CheckpointHook
    per_epoch = CheckpointHook(interval=2, by_epoch=True, save_last=False)
    assert [e + 1 for e in range(3) if checkpoint_due(fake_runner(0, epoch=e, hooks=[per_epoch]), True)] == [2]
    assert [i + 1 for i in range(8) if validation_due_after_iter(fake_runner(i))] == [4, 8]
    assert [i + 1 for i in range(8) if validation_due_after_iter(fake_runner(i, val_interval=3))] == [3, 6, 8]
    assert not validation_due_after_iter(fake_runner(3, val=False))
