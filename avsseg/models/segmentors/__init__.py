from .audio_visual_segmentor import AudioVisualSegmentor, clip_num_frames, frame_flags
from .combo_segmentor import COMBOSegmentor

__all__ = ['AudioVisualSegmentor', 'clip_num_frames', 'frame_flags', 'COMBOSegmentor']
