"""Channel weighting of Maskige features in COMBO's Siam-Encoder (eq. 3)."""
from mmdet.models.layers import SELayer
from mmengine.model import BaseModule
from torch import Tensor, nn

GATE_TYPES = ('se', 'linear', 'none')


class MaskigeChannelGate(BaseModule):
    """Channel weighting of one stage's Maskige features: ``F_m -> w(F_m) * F_m`` (``[N, C, H, W]`` in and out).

    - ``'se'`` (default, official ``channel_weighted_block``): ``w = sigmoid(FC(ReLU(FC(GAP(F_m)))))`` with a
      ``C -> C/ratio -> C`` bottleneck, i.e. a squeeze-and-excitation layer (mmdet's ``SELayer``; its 1x1 convs
      on the pooled vector are the official linear layers).
    - ``'linear'`` (paper eq. 3 as written): ``w = GAP(F_m) W`` with one ``C x C`` linear layer (with bias), no
      activation.
    - ``'none'``: ``w = 1`` (plain addition of the Maskige features; the official "wo scale" variant).

    Args:
        channels: channels ``C`` of the stage.
        gate_type: ``'se'``, ``'linear'`` or ``'none'``.
        ratio: squeeze ratio of the ``'se'`` gate (official 16).
    """

    def __init__(self, channels: int, gate_type: str = 'se', ratio: int = 16, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if gate_type not in GATE_TYPES:
            raise ValueError(f'MaskigeChannelGate: gate_type must be one of {GATE_TYPES}, got {gate_type!r}')
        self.gate_type = gate_type
        self.channels = channels
        if gate_type == 'se':
            if channels // ratio < 1:
                raise ValueError(f'MaskigeChannelGate: channels={channels} is too small for ratio={ratio}')
            self.se = SELayer(channels, ratio=ratio, act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')))
        elif gate_type == 'linear':
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(channels, channels)

    def forward(self, maskige_feat: Tensor) -> Tensor:
        if self.gate_type == 'se':
            return self.se(maskige_feat)
        if self.gate_type == 'linear':
            weight = self.fc(self.pool(maskige_feat).flatten(1))
            return maskige_feat * weight[:, :, None, None]
        return maskige_feat
