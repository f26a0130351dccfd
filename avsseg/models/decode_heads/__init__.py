from .avsbench_head import AVSBenchHead
from .combo_head import COMBOHead

__all__ = ['AVSBenchHead', 'COMBOHead']
