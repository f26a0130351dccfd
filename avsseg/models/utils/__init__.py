"""Model helpers."""
from .av_tree import AudioVisualTree, AVTreeError, load_audioset_labels
from .checkpoint import checkpoint_call

__all__ = ['checkpoint_call', 'AudioVisualTree', 'AVTreeError', 'load_audioset_labels']
