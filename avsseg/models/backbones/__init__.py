from .frozen_backbone import FrozenBackbone
from .pvt_v2 import PVTv2
from .siam_encoder import SiamEncoder

__all__ = ['FrozenBackbone', 'PVTv2', 'SiamEncoder']
