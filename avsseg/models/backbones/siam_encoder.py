"""COMBO's Siam-Encoder Module (SEM; Yang et al., CVPR 2024, sec. 3.1, eq. 1-3)."""
from typing import Optional, Sequence, Tuple

import torch
from mmdet.models.layers import SELayer
from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from avsseg.registry import MODELS

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


@MODELS.register_module()
class SiamEncoder(BaseModule):
    """Siam-Encoder: an image encoder and a Maskige encoder of one architecture, fused per stage.

    ``F_v = E_v(frames)``, ``F_m = E_m(maskige)`` (eq. 1-2), then for every stage ``i``
    ``F_v_i <- F_v_i + gate_i(F_m_i)`` (eq. 3), where the gate weights the Maskige channels
    (:class:`MaskigeChannelGate`; the official code does this at all 4 stages with the SE form).

    - ``share_weights=False`` (default, official "separate backbone"): ``E_m`` is a second backbone built from
      the same config (so it loads the same pretrained weights) with its own parameters.
    - ``share_weights=True`` (paper Table 4, "w. shared weights"): ``E_m`` is ``E_v``.
    - ``use_maskige=False`` ("w/o Siam-Encoder", Table 3): only ``E_v`` is built and the Maskige input is not
      used (a config may still load it).

    Args:
        backbone: config of any registered backbone returning a tuple of ``[N, C_i, H_i, W_i]``.
        in_channels: channels ``C_i`` of the backbone outputs (one gate per entry); e.g. ResNet-50
            ``(256, 512, 1024, 2048)``, PVT-v2-b5 ``(64, 128, 320, 512)``.
        use_maskige: build the Maskige branch.
        share_weights: share the encoder weights between the two branches.
        gate_type: channel-weighting form, see :class:`MaskigeChannelGate` (default the official ``'se'``).
        gate_ratio: squeeze ratio of the ``'se'`` gate.
        with_cp: gradient checkpointing of each whole encoder pass (saves activation memory, e.g. to fit AVSS
            on a 24 GB GPU, at the cost of a second forward). Backbones with their own ``with_cp`` (ResNet) can
            use that instead, per block.
        init_cfg: mmengine init config of the gates; the encoders use their own ``init_cfg``.
    """

    def __init__(self,
                 backbone: ConfigType,
                 in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 use_maskige: bool = True,
                 share_weights: bool = False,
                 gate_type: str = 'se',
                 gate_ratio: int = 16,
                 with_cp: bool = False,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = tuple(in_channels)
        self.use_maskige = use_maskige
        self.share_weights = share_weights
        self.gate_type = gate_type
        self.with_cp = with_cp
        self.image_encoder = MODELS.build(backbone)
        if use_maskige:
            if not share_weights:
                self.separate_maskige_encoder = MODELS.build(backbone)
            self.gates = nn.ModuleList(
                MaskigeChannelGate(c, gate_type=gate_type, ratio=gate_ratio) for c in self.in_channels)
        elif share_weights:
            raise ValueError('SiamEncoder: share_weights=True needs use_maskige=True')

    @property
    def maskige_encoder(self) -> Optional[nn.Module]:
        """The Maskige encoder ``E_m`` (the image encoder itself when weights are shared)."""
        if not self.use_maskige:
            return None
        return self.image_encoder if self.share_weights else self.separate_maskige_encoder

    def _encode(self, encoder: nn.Module, x: Tensor) -> Tuple[Tensor, ...]:
        if self.with_cp and self.training and torch.is_grad_enabled():
            feats = checkpoint(encoder, x, use_reentrant=False)
        else:
            feats = encoder(x)
        return tuple(feats)

    def forward(self, frames: Tensor, maskige: Optional[Tensor] = None) -> Tuple[Tensor, ...]:
        """Encode frames (and Maskiges).

        Args:
            frames: normalised frames ``[N, 3, H, W]``.
            maskige: normalised Maskige images ``[N, 3, H, W]`` aligned with ``frames``; required when
                ``use_maskige``.

        Returns:
            Tuple of fused features ``[N, C_i, H_i, W_i]``.
        """
        feats = self._encode(self.image_encoder, frames)
        if not self.use_maskige:
            return feats
        if maskige is None:
            raise ValueError("SiamEncoder: use_maskige=True needs the Maskige input (inputs['maskige'], "
                             'loaded by LoadClipMaskige)')
        if maskige.shape != frames.shape:
            raise ValueError(f'SiamEncoder: maskige {list(maskige.shape)} must match frames {list(frames.shape)}')
        maskige_feats = self._encode(self.maskige_encoder, maskige)
        if len(feats) != len(self.gates) or len(maskige_feats) != len(self.gates):
            raise ValueError(f'SiamEncoder: the backbone returned {len(feats)} stages but in_channels has '
                             f'{len(self.gates)} entries')
        fused = []
        for feat, maskige_feat, gate in zip(feats, maskige_feats, self.gates):
            if feat.shape[1] != gate.channels:
                raise ValueError(f'SiamEncoder: stage with {feat.shape[1]} channels, in_channels says '
                                 f'{gate.channels}')
            fused.append(feat + gate(maskige_feat))
        return tuple(fused)
