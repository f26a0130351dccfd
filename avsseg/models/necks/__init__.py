from .avff_neck import AVFFNeck
from .bilateral_fusion import BilateralFusion
from .tpavi_neck import TPAVINeck

__all__ = ['AVFFNeck', 'BilateralFusion', 'TPAVINeck']
