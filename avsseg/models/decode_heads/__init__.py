from .audio_query_mask2former_head import AudioQueryMask2FormerHead
from .auss_head import AUSSHead
from .autr_head import AuTRHead
from .avsbench_head import AVSBenchHead
from .avsc_head import AVSCHead
from .combo_head import COMBOHead
from .cross_modal_fpn import CrossModalFPN
from .dynamic_mask_head import DynamicMaskHead
from .psos_head import PSOSHead

__all__ = [
    'AudioQueryMask2FormerHead', 'AUSSHead', 'AuTRHead', 'AVSBenchHead', 'AVSCHead', 'COMBOHead', 'CrossModalFPN',
    'DynamicMaskHead', 'PSOSHead'
]
