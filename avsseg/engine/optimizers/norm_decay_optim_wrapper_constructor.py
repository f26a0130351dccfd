"""Optimizer constructor whose ``norm_decay_mult`` also reaches norms matched by a custom key."""
from typing import List, Optional, Union

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from avsseg.registry import OPTIM_WRAPPER_CONSTRUCTORS

NORM_TYPES = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class NormDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, except that ``paramwise_cfg.norm_decay_mult`` applies to the weights and
    biases of every norm module, also where a ``custom_keys`` entry matched the parameter.

    mmengine ignores every other rule once a custom key matches ("if the parameter match one of the custom keys,
    ignore other rules"), so a key such as ``'backbone'`` (for the backbone's ``lr_mult``) gives the backbone's
    norms the full weight decay. Detectron2, which COMBO uses, applies ``WEIGHT_DECAY_NORM`` (0) to every norm
    whatever the learning-rate multiplier; substring keys cannot select the norms of mmdet's PVT-v2 (its stage
    norms are named ``layers.{i}.2``). Learning-rate multipliers of the custom keys are kept.
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        norm_decay_mult = self.paramwise_cfg.get('norm_decay_mult', None)
        if prefix or norm_decay_mult is None:  # the root call sees every group once the recursion is done
            return
        norm_params = {
            id(p)
            for m in module.modules() if isinstance(m, NORM_TYPES) for p in m.parameters(recurse=False)
        }
        decay = self.base_wd * norm_decay_mult
        changed = 0
        for group in params:
            if len(group['params']) == 1 and id(group['params'][0]) in norm_params and \
                    group.get('weight_decay', self.base_wd) != decay:
                group['weight_decay'] = decay
                changed += 1
        if changed:
            print_log(f'NormDecayOptimWrapperConstructor: weight decay {decay} on {changed} norm parameters that '
                      'a custom key had matched', logger='current')
