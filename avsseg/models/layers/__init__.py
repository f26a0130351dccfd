"""Building blocks reused by registered necks, backbones and heads (mmdet's ``models/layers`` layout)."""
from .bilateral_attention import BilateralAttention
from .maskige_channel_gate import GATE_TYPES, MaskigeChannelGate
from .tpavi_block import TPAVIBlock

__all__ = ['BilateralAttention', 'GATE_TYPES', 'MaskigeChannelGate', 'TPAVIBlock']
