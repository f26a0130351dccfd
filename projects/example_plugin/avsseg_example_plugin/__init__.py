"""Example out-of-tree avsseg plugin: importing it registers its parts (see ``custom_imports`` in its configs)."""
from .mean_pool_audio_encoder import MeanPoolAudioEncoder

__all__ = ['MeanPoolAudioEncoder']
