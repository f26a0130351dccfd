from .audio_query_mask2former_head import AudioQueryMask2FormerHead
from .avsbench_head import AVSBenchHead
from .combo_head import COMBOHead

__all__ = ['AudioQueryMask2FormerHead', 'AVSBenchHead', 'COMBOHead']
