from .bilateral_fusion import BilateralFusion
from .tpavi_neck import TPAVINeck

__all__ = ['BilateralFusion', 'TPAVINeck']
