from .tpavi_block import TPAVIBlock
from .tpavi_neck import TPAVINeck
from .bilateral_fusion import BilateralFusion

__all__ = ['TPAVIBlock', 'TPAVINeck', 'BilateralFusion']
