from .audio_visual_segmentor import AudioVisualSegmentor
from .psos_segmentor import PSOSSegmentor

__all__ = ['AudioVisualSegmentor', 'PSOSSegmentor']
