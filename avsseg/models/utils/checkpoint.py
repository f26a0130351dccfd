"""Gradient checkpointing switch shared by every part with a ``with_cp`` option."""
from typing import Callable

import torch
from torch.utils.checkpoint import checkpoint


def checkpoint_call(fn: Callable, *args, enabled: bool, training: bool = True, **kwargs):
    """``fn(*args, **kwargs)``, recomputed in the backward pass instead of stored when ``enabled``.

    Checkpointing only applies while training with gradients enabled (evaluation and ``torch.no_grad`` call
    ``fn`` directly). Non-reentrant mode, so keyword arguments and inputs without gradients work.
    """
    if enabled and training and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False, **kwargs)
    return fn(*args, **kwargs)
