"""Random-number-generator states in checkpoints, so that a resumed run continues bit-exactly."""
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from avsseg.registry import HOOKS
from avsseg.utils.schedule import checkpoint_due

#: Key of the states in the checkpoint dict.
CHECKPOINT_KEY = 'rng_state'


def get_rng_state() -> dict:
    """This process's generator states: python ``random``, numpy's global ``RandomState``, torch's CPU generator
    and, when CUDA is available, every CUDA device's generator (list of ``uint8`` tensors)."""
    return dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)


def set_rng_state(state: dict) -> Optional[str]:
    """Restore :func:`get_rng_state`'s output. Returns a note when the CUDA states could not be restored."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if not torch.cuda.is_available():
        return 'the checkpoint holds CUDA generator states but CUDA is not available' if cuda else None
    if cuda is None:
        return 'the checkpoint holds no CUDA generator state (saved without CUDA)'
    if len(cuda) != torch.cuda.device_count():
        return f'the checkpoint holds {len(cuda)} CUDA generator states, this process sees ' \
               f'{torch.cuda.device_count()} devices'
    torch.cuda.set_rng_state_all(cuda)
    return None


class _RestoreBeforeNext:
    """Wraps ``IterBasedTrainLoop.dataloader_iterator``: restores the states right before batch ``skip + 1``.

    On resume the loop first draws the ``skip`` batches already trained on (their transforms and the data loader
    restarts at epoch ends use the generators), then loads the next batch. The uninterrupted run loaded that batch
    with the generators as they were when the checkpoint was written, so that is the moment to restore them.
    """

    def __init__(self, iterator, skip: int, state: dict, on_restore):
        self._iterator = iterator
        self._remaining = skip
        self._state = state
        self._on_restore = on_restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None:
            if self._remaining == 0:
                self._on_restore(self._state)
                self._state = None
            else:
                self._remaining -= 1
        return next(self._iterator)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves every process's random generator states (python, numpy, torch CPU and CUDA) in each checkpoint and
    restores them on resume, so that an interrupted run continues as if it had not been interrupted.

    Models that draw random numbers at every iteration (COMBO samples the points of its mask loss at random, and
    dropout, random crops and flips draw too) otherwise continue from the seed's states after a resume and diverge
    from the uninterrupted run. mmengine's checkpoints only hold the seed.

    - Saving: ``checkpoint['rng_state'] = dict(ranks=[state of rank 0, rank 1, ...])``, each state
      as :func:`get_rng_state` returns it (tuples, a numpy array, uint8 tensors: loadable with
      ``torch.load(weights_only=True)``). Only rank 0 writes checkpoints, so in distributed runs all ranks gather
      their states in the stage where ``CheckpointHook`` saves (this hook runs before it).
    - Validation inside training is made invisible to the generators: the states are saved before it and restored
      after it. A resumed run does not repeat the validation that followed its checkpoint, so without this the
      two runs would draw differently from there on. Checkpoints written during validation (the best one) hold
      the states from before the validation.
    - Restoring: the states are restored at the point of the loop the checkpoint was written at: before the first
      new batch is loaded (iteration-based loops, after the loop has skipped the batches already trained on) or
      before the first new epoch (epoch-based loops). A checkpoint without states, or with the states of another
      number of processes, resumes with a warning that the run is not bit-exact.

    The hook is in ``custom_hooks`` of ``configs/_base_/default_runtime.py``. Bit-exact resumption also needs
    deterministic kernels and the same number of threads; data loader workers are seeded by mmengine from the seed
    and their rank, independently of these states.
    """

    priority = 'HIGH'  # before CheckpointHook (VERY_LOW) in after_train_iter / after_train_epoch

    def __init__(self):
        self._gathered = None  # states of all ranks for a checkpoint about to be written
        self._before_val = None  # this rank's states before the running validation
        self._gathered_before_val = None
        self._loaded = None  # (iter, epoch, state of this rank or None, why None) of a loaded checkpoint
        self._pending = None  # state to restore in the next before_train_epoch (epoch-based loops)

    # ---- saving -------------------------------------------------------------------------------------------
    def _gather(self) -> list:
        state = get_rng_state()
        return all_gather_object(state) if get_world_size() > 1 else [state]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if get_world_size() > 1 and checkpoint_due(runner, by_epoch=False):
            self._gathered = self._gather()

    def after_train_epoch(self, runner) -> None:
        if get_world_size() > 1 and checkpoint_due(runner, by_epoch=True):
            self._gathered = self._gather()

    def before_val(self, runner) -> None:
        self._before_val = get_rng_state()
        if get_world_size() > 1:
            self._gathered_before_val = all_gather_object(self._before_val)

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_state(self._before_val)
        self._before_val = self._gathered_before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._before_val is not None:
            ranks = self._gathered_before_val or [self._before_val]
        elif get_world_size() > 1:
            ranks = self._gathered
            if ranks is None:
                print_log('RNGStateHook: a checkpoint is written at a point where the generator states of the '
                          'other ranks were not gathered; it holds rank 0\'s only and will resume with '
                          'warnings', logger='current', level=logging.WARNING)
                ranks = [get_rng_state()]
        else:
            ranks = [get_rng_state()]
        self._gathered = None
        checkpoint[CHECKPOINT_KEY] = dict(ranks=list(ranks))

    # ---- restoring ----------------------------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Also called for load_from (fine-tuning, testing): kept until before_train decides it is a resume.
        saved = checkpoint.get(CHECKPOINT_KEY)
        meta = checkpoint.get('meta', {})
        if saved is None:
            self._loaded = (meta.get('iter'), meta.get('epoch'), None, 'the checkpoint holds no generator states')
            return
        ranks, world_size = saved['ranks'], get_world_size()
        if len(ranks) != world_size:
            self._loaded = (meta.get('iter'), meta.get('epoch'), None,
                            f'the checkpoint holds the generator states of {len(ranks)} process(es), this run has '
                            f'{world_size}')
            return
        self._loaded = (meta.get('iter'), meta.get('epoch'), ranks[get_rank()], None)

    def before_train(self, runner) -> None:
        if self._loaded is None:
            return
        saved_iter, saved_epoch, state, problem = self._loaded
        self._loaded = None
        if runner.iter == 0 and runner.epoch == 0 or (saved_iter, saved_epoch) != (runner.iter, runner.epoch):
            return  # load_from: weights only, a new run
        if state is None:
            runner.logger.warning(f'RNGStateHook: {problem}; the resumed run draws other random numbers than the '
                                  f'interrupted one would have (not bit-exact)')
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = _RestoreBeforeNext(loop.dataloader_iterator, runner.iter, state,
                                                          lambda s: self._restore(runner, s))
        else:
            self._pending = state

    def before_train_epoch(self, runner) -> None:
        if self._pending is not None:
            state, self._pending = self._pending, None
            self._restore(runner, state)

    def _restore(self, runner, state: dict) -> None:
        note = set_rng_state(state)
        if note:
            runner.logger.warning(f'RNGStateHook: {note}; the CUDA generators are not restored (not bit-exact)')
        runner.logger.info(f'RNGStateHook: random generator states restored at iteration {runner.iter}')
