from .pvt_v2 import PVTv2
from .siam_encoder import SiamEncoder

__all__ = ['PVTv2', 'SiamEncoder']
