"""Building blocks reused by registered necks, backbones and heads (mmdet's ``models/layers`` layout)."""
from .audio_unmixing import AudioUnmixing
from .bilateral_attention import BilateralAttention
from .maskige_channel_gate import GATE_TYPES, MaskigeChannelGate
from .tpavi_block import TPAVIBlock

__all__ = ['AudioUnmixing', 'BilateralAttention', 'GATE_TYPES', 'MaskigeChannelGate', 'TPAVIBlock']
