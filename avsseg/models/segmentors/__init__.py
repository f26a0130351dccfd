from .audio_tagging_model import AudioTaggingModel
from .audio_visual_segmentor import AudioVisualSegmentor
from .avsc_segmentor import AVSCSegmentor
from .bavs_segmentor import BAVSSegmentor
from .psos_segmentor import PSOSSegmentor

__all__ = ['AudioVisualSegmentor', 'PSOSSegmentor', 'AudioTaggingModel', 'BAVSSegmentor', 'AVSCSegmentor']
