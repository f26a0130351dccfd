"""COMBO's Siam-Encoder Module (SEM; Yang et al., CVPR 2024, sec. 3.1, eq. 1-3)."""
from typing import Optional, Sequence, Tuple

from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn

from avsseg.registry import MODELS
from ..layers import MaskigeChannelGate
from ..utils import checkpoint_call


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
        return tuple(checkpoint_call(encoder, x, enabled=self.with_cp, training=self.training))

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
