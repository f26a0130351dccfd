"""Data structures shared by the models: the audio-visual feature bundle and clip helpers on metainfo."""
from .av_features import AVFeatures
from .clip_meta import clip_length, frame_flags, labeled_index, metas_of, padded_input_size, real_frame_mask

__all__ = ['AVFeatures', 'clip_length', 'frame_flags', 'labeled_index', 'metas_of', 'padded_input_size',
           'real_frame_mask']
