"""A frozen visual backbone: no gradients, fixed normalisation statistics, no drop-path (AuTR's visual encoder)."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from avsseg.registry import MODELS


@MODELS.register_module()
class FrozenBackbone(BaseModule):
    """Wraps any backbone config and keeps it frozen.

    AuTR freezes its ImageNet visual encoder (ResNet-50 or PVT-v2) [paper §3.3.1, §4.3]. Frozen here means all three
    of: no parameter requires a gradient (so an optimizer, with weight decay too, never changes them: torch optimizers
    skip parameters without a gradient); the inner network is always in ``eval()`` mode, whatever the parent's
    ``train()`` says, so BatchNorm running statistics are never updated and drop-path / dropout are off; and the
    forward runs under ``torch.no_grad()`` (no activations are kept for backward).

    The inner network keeps its own state-dict keys under ``backbone.`` (a checkpoint of the model holds
    ``backbone.backbone.*`` when this wrapper is the segmentor's ``backbone``). Pretrained weights are given as
    usual through ``init_cfg`` (e.g. ``dict(type='Pretrained', checkpoint=...)``): it is handed to the inner
    backbone, so the checkpoint's keys are the inner network's own, as for the unwrapped backbone.

    Args:
        backbone: config of the wrapped backbone (any registered backbone: mmseg ``ResNetV1c``, mmdet's PVT-v2,
            avsseg's ``PVTv2``).
        init_cfg: init config passed to the inner backbone (replacing the one in ``backbone``, if any).
    """

    def __init__(self, backbone: dict, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=None)
        if not isinstance(backbone, dict) or 'type' not in backbone:
            raise TypeError(f'FrozenBackbone: backbone must be a config dict with a type, got {backbone!r}')
        backbone = dict(backbone)
        if init_cfg is not None:
            backbone['init_cfg'] = init_cfg
        self.backbone = MODELS.build(backbone)
        for param in self.backbone.parameters():
            param.requires_grad_(False)
        self.backbone.train(False)

    def train(self, mode: bool = True) -> 'FrozenBackbone':
        """Set this module's flag but keep the inner backbone in eval mode (BN statistics fixed, no drop-path)."""
        super().train(mode)
        self.backbone.train(False)
        return self

    def forward(self, x: Tensor, *args, **kwargs) -> Tuple[Tensor, ...]:
        """The inner backbone's output under ``no_grad``.

        Args:
            x: frames ``[N, 3, H, W]``; further arguments go to the inner backbone.

        Returns:
            The inner backbone's output unchanged (for ResNet / PVT-v2: a tuple of stage maps
            ``[N, C_i, H / s_i, W / s_i]``, strides 4, 8, 16, 32), without gradient.
        """
        if self.backbone.training:
            # Something called train() on the inner network directly (e.g. a hook walking modules).
            self.backbone.train(False)
        with torch.no_grad():
            return self.backbone(x, *args, **kwargs)
