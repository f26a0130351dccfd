"""Training schedule helpers: when the runner saves and validates, and shortening a schedule (``--iters``).

Hooks that must act on every process right before a checkpoint is written (gathering RNG states, syncing
buffers) cannot do it in ``before_save_checkpoint``, which mmengine only calls on rank 0
(``Runner.save_checkpoint`` is ``master_only``): they ask :func:`checkpoint_due` in the same stage, with a higher
priority than ``CheckpointHook``.
"""
import copy
import math
from typing import List, Tuple

from mmengine.hooks import CheckpointHook

ITER_LOOPS = ('IterBasedTrainLoop', 'mmengine.IterBasedTrainLoop')


def checkpoint_due(runner, by_epoch: bool) -> bool:
    """Whether a ``CheckpointHook`` of ``runner`` saves in this ``after_train_iter`` (``by_epoch=False``) or
    ``after_train_epoch`` (``by_epoch=True``), by the hook's own rule."""
    for hook in runner.hooks:
        if not isinstance(hook, CheckpointHook) or bool(hook.by_epoch) != by_epoch:
            continue
        if by_epoch:
            if hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_epoch(runner)):
                return True
        elif hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_iter(runner)):
            return True
    return False


def validation_due_after_iter(runner) -> bool:
    """Whether ``IterBasedTrainLoop`` validates after the current iteration (its own rule, called in
    ``after_train_iter``, where ``runner.iter`` is still the iteration's index)."""
    loop = runner.train_loop
    if runner.val_loop is None or not hasattr(loop, 'val_interval') or not hasattr(loop, 'max_iters'):
        return False
    done = runner.iter + 1
    return done >= loop.val_begin and (done % loop.val_interval == 0 or done == loop.max_iters)


def _scaled(value: int, factor: float) -> int:
    return max(1, int(round(value * factor)))


def scale_schedule(cfg, iters: int) -> List[Tuple[str, object, object]]:
    """Shorten (or lengthen) an iteration-based schedule to ``iters`` iterations, keeping its shape.

    ``train_cfg.max_iters`` becomes ``iters``; every iteration count of the schedule is multiplied by
    ``iters / max_iters`` (rounded, at least 1): ``train_cfg.val_interval`` and ``val_begin``, the
    ``begin``/``end``/``milestones`` of iteration-based ``param_scheduler`` entries (a warm-up keeps its share
    of the run), and the ``interval`` of an iteration-based ``CheckpointHook``. The logger's interval is capped at
    ``iters``.

    Args:
        cfg: the full config, changed in place.
        iters: the new number of iterations (> 0).

    Returns:
        ``(key, old, new)`` for every value changed, for the log.

    Raises:
        ValueError: ``iters`` < 1, or a train loop that is not ``IterBasedTrainLoop`` (epoch-based recipes change
            ``train_cfg.max_epochs`` instead).
    """
    if iters < 1:
        raise ValueError(f'--iters {iters}: the number of iterations must be positive')
    train_cfg = cfg.get('train_cfg') or {}
    if train_cfg.get('type') not in ITER_LOOPS or 'max_iters' not in train_cfg:
        raise ValueError(f'--iters needs an iteration-based schedule (train_cfg.type=IterBasedTrainLoop with '
                         f'max_iters); this config has train_cfg={dict(train_cfg)!r}: set '
                         f'--cfg-options train_cfg.max_epochs=N instead')
    old_iters = int(train_cfg['max_iters'])
    factor = iters / old_iters
    changes = []

    def update(container, key, name, new):
        old = container[key]
        if old != new:
            container[key] = new
            changes.append((name, copy.deepcopy(old), new))

    update(train_cfg, 'max_iters', 'train_cfg.max_iters', iters)
    if 'val_interval' in train_cfg:
        val_interval = min(iters, _scaled(train_cfg['val_interval'], factor))
        update(train_cfg, 'val_interval', 'train_cfg.val_interval', val_interval)
    if train_cfg.get('val_begin', 1) > 1:
        update(train_cfg, 'val_begin', 'train_cfg.val_begin', _scaled(train_cfg['val_begin'], factor))
    if train_cfg.get('dynamic_intervals'):
        raise ValueError('--iters cannot scale train_cfg.dynamic_intervals; set them with --cfg-options')

    schedulers = cfg.get('param_scheduler') or []
    schedulers = [schedulers] if isinstance(schedulers, dict) else schedulers
    for i, sched in enumerate(schedulers):
        if sched.get('by_epoch', True) and not sched.get('convert_to_iter_based', False):
            continue  # counted in epochs; an iteration-based loop treats the whole run as one epoch
        for key in ('begin', 'end'):
            value = sched.get(key)
            # mmengine's default end is INF (int(1e9)): "until training stops", not a count to scale
            if isinstance(value, int) and 0 < value < 10**9:
                update(sched, key, f'param_scheduler.{i}.{key}', min(iters, _scaled(value, factor)))
        if 'milestones' in sched:
            update(sched, 'milestones', f'param_scheduler.{i}.milestones',
                   [_scaled(m, factor) for m in sched['milestones']])
        if 'T_max' in sched and isinstance(sched['T_max'], int):
            update(sched, 'T_max', f'param_scheduler.{i}.T_max', _scaled(sched['T_max'], factor))

    hooks = cfg.get('default_hooks') or {}
    checkpoint = hooks.get('checkpoint')
    if checkpoint and not checkpoint.get('by_epoch', True) and checkpoint.get('interval', -1) > 0:
        update(checkpoint, 'interval', 'default_hooks.checkpoint.interval',
               min(iters, _scaled(checkpoint['interval'], factor)))
    logger = hooks.get('logger')
    if logger and logger.get('interval', 10) > iters:
        update(logger, 'interval', 'default_hooks.logger.interval', iters)
    return changes


def epoch_length(dataloader) -> int:
    """Iterations of one pass over a built dataloader (``len``; ``math.inf`` for an infinite sampler)."""
    try:
        return len(dataloader)
    except TypeError:
        return math.inf
