"""Model helpers."""
from .av_tree import AudioVisualTree, AVTreeError, load_audioset_labels
from .checkpoint import checkpoint_call
from .instance_filters import filter_by_category_and_score, filter_instances, mask_iou, two_phase_filter

__all__ = [
    'checkpoint_call', 'AudioVisualTree', 'AVTreeError', 'load_audioset_labels',
    'filter_by_category_and_score', 'two_phase_filter', 'filter_instances', 'mask_iou'
]
