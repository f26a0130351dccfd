from .siam_encoder import SiamEncoder

__all__ = ['SiamEncoder']
