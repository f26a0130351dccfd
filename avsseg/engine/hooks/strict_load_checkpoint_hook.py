"""Refuse a checkpoint that does not fill the model: evaluation of half-loaded weights is a silent wrong result."""
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from avsseg.registry import HOOKS

#: Keys listed in full in the error before it only gives a count (the per-module summary covers the rest).
MAX_LISTED_KEYS = 10


def frozen_from_file_modules(model: nn.Module) -> Dict[str, str]:
    """Modules whose weights come from a local file at construction and are never trained.

    Such a module (avsseg's ``VGGish(pretrained=..., freeze=True)``) has its weights loaded from ``pretrained``
    when the model is built (also by ``tools/test.py``), and none of its parameters requires a gradient, so a
    checkpoint need not hold them: the official AVSBench checkpoints and their conversions leave VGGish out.
    Modules whose pretrained weights are applied by ``init_weights`` (``init_cfg=dict(type='Pretrained')``, mmseg
    backbones' ``pretrained``) do not count: evaluation never calls ``init_weights``.

    Args:
        model: the model (not a wrapper).

    Returns:
        ``{module name: weight file}``, nested modules of a listed one left out.
    """
    found: Dict[str, str] = {}
    for name, module in model.named_modules():
        if not name or any(name.startswith(prefix + '.') for prefix in found):
            continue
        path = getattr(module, 'pretrained', None)
        params = list(module.parameters())
        if (isinstance(path, str) and getattr(module, 'freeze', False) is True and params
                and not any(p.requires_grad for p in params)):
            found[name] = path
    return found


def _listing(keys: Sequence[str], describe=str) -> str:
    shown = '\n    '.join(describe(k) for k in keys[:MAX_LISTED_KEYS])
    more = f'\n    ... and {len(keys) - MAX_LISTED_KEYS} more' if len(keys) > MAX_LISTED_KEYS else ''
    by_module = Counter(k.split('.')[0] for k in keys)
    summary = ', '.join(f'{module}.* {count}' for module, count in by_module.most_common())
    return f' ({summary}):\n    {shown}{more}'


@HOOKS.register_module()
class StrictLoadCheckpointHook(Hook):
    """Make the runner's ``load_from`` strict: every model weight from the checkpoint, no foreign key.

    mmengine's ``Runner.load_checkpoint`` loads with ``strict=False``, so the checkpoint of another model (or of
    another config of the same model) leaves most weights at their random initialisation with only a warning,
    and ``tools/test.py`` then evaluates an untrained model and exits 0. This hook checks the checkpoint in
    ``after_load_checkpoint``, before its weights are copied, and raises naming the missing keys (model weights the
    checkpoint lacks), the unexpected keys (checkpoint entries the model lacks) and the shape mismatches.

    Excepted: the weights of modules loaded from a file at construction and frozen
    (:func:`frozen_from_file_modules`, e.g. VGGish with ``pretrained`` and ``freeze=True``); when the checkpoint
    lacks them they are kept from the file, and the log lists them. ``tools/test.py`` adds this hook.

    Args:
        checkpoint: the checkpoint file, named in the error.
        revise_keys: the ``(pattern, replacement)`` rewrites of checkpoint keys that ``Runner.load_checkpoint``
            applies before loading (its default strips a ``module.`` prefix).
        priority: hook priority; ``'VERY_HIGH'`` checks before other hooks look at the checkpoint.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), ),
                 priority: Optional[str] = None):
        self.checkpoint = checkpoint
        self.revise_keys = [tuple(rule) for rule in revise_keys]
        if priority is not None:
            self.priority = priority

    def _checkpoint_state(self, checkpoint: dict) -> Dict[str, object]:
        state = checkpoint['state_dict'] if 'state_dict' in checkpoint else checkpoint
        if not isinstance(state, dict):
            raise TypeError(f'{type(self).__name__}: the state_dict of checkpoint {self.checkpoint} is a '
                            f'{type(state).__name__}, not a dict')
        revised = {}
        for key, value in state.items():
            for pattern, replacement in self.revise_keys:
                key = re.sub(pattern, replacement, key)
            revised[key] = value
        return revised

    def check(self, model: nn.Module, checkpoint: dict) -> Dict[str, List[str]]:
        """Compare a checkpoint with the model; raise when it does not fill the model exactly.

        Args:
            model: the model (not a wrapper).
            checkpoint: the loaded checkpoint (``dict`` with ``state_dict``, or a plain state dict).

        Returns:
            ``{module name: its keys the checkpoint lacks}`` for the excepted frozen-from-file modules.
        """
        state = self._checkpoint_state(checkpoint)
        own = model.state_dict()
        frozen = frozen_from_file_modules(model)

        def frozen_owner(key: str) -> Optional[str]:
            return next((name for name in frozen if key.startswith(name + '.')), None)

        kept: Dict[str, List[str]] = {}
        missing = []
        for key in own:
            if key in state:
                continue
            owner = frozen_owner(key)
            if owner is None:
                missing.append(key)
            else:
                kept.setdefault(owner, []).append(key)
        unexpected = [key for key in state if key not in own]
        mismatched = [
            key for key, value in own.items()
            if key in state and isinstance(state[key], Tensor) and tuple(state[key].shape) != tuple(value.shape)
        ]
        if missing or unexpected or mismatched:
            parts = []
            if missing:
                parts.append(f'{len(missing)} model weight(s) the checkpoint does not hold (they would keep their '
                             f'random initialisation){_listing(missing)}')
            if unexpected:
                parts.append(f'{len(unexpected)} checkpoint key(s) the model does not have{_listing(unexpected)}')
            if mismatched:
                parts.append(f'{len(mismatched)} shape mismatch(es)' + _listing(
                    mismatched, lambda k: f'{k}: checkpoint {tuple(state[k].shape)}, model {tuple(own[k].shape)}'))
            exempt = (f'\nFrozen weights loaded from files at construction may be absent: '
                      f'{", ".join(f"{n} ({p})" for n, p in frozen.items())}.' if frozen else '')
            raise RuntimeError(
                f'checkpoint {self.checkpoint or ""} does not match the model of the config (is it a checkpoint of '
                f'another model or config?):\n  ' + '\n  '.join(parts) + exempt)
        return kept

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        kept = self.check(model, checkpoint)
        frozen = frozen_from_file_modules(model)
        for name, keys in kept.items():
            runner.logger.info(f'{name}: {len(keys)} weight(s) not in the checkpoint, kept from {frozen[name]} '
                               '(frozen, loaded from that file when the model was built)')
