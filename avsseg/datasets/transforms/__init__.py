from .clip_audio_perturbation import ClipAudioPerturbation
from .formatting import PackAVSInputs, avs_collate
from .loading import LoadClipAnnotations, LoadClipAudio, LoadClipFrames
from .loading_maskige import LoadClipMaskige
from .transforms import (ClipCenterCrop, ClipPad, ClipPhotoMetricDistortion, ClipRandomCrop, ClipRandomFlip,
                         ClipRandomResize, ClipResize, ClipSelectLabelledFrames)

__all__ = [
    'PackAVSInputs', 'avs_collate', 'LoadClipFrames', 'LoadClipAnnotations', 'LoadClipAudio', 'ClipResize',
    'ClipRandomResize', 'ClipRandomCrop', 'ClipCenterCrop', 'ClipRandomFlip', 'ClipPhotoMetricDistortion', 'ClipPad',
    'ClipSelectLabelledFrames', 'LoadClipMaskige', 'ClipAudioPerturbation'
]
