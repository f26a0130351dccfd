from .aux_images import AUX_IMAGE_KEYS, aux_image_keys, declare_aux_image_key
from .clip_audio_perturbation import ClipAudioPerturbation
from .clip_category_to_label import ClipCategoryToLabel
from .clip_sample_frames import ClipSampleFrames
from .clip_transform_broadcaster import ClipTransformBroadcaster
from .formatting import PackAVSInputs, avs_collate
from .loading import LoadClipAnnotations, LoadClipAudio, LoadClipFrames
from .loading_audio_example import LoadClipAudioFromExample
from .loading_aux import LoadClipAuxImages
from .loading_instances import LoadClipInstanceSet
from .loading_maskige import LoadClipMaskige
from .loading_silent_labels import LoadSilentObjectLabels
from .loading_waveform import LoadClipWaveform
from .transforms import (ClipPad, ClipPhotoMetricDistortion, ClipRandomCrop, ClipRandomResize, ClipResize,
                         ClipSelectLabelledFrames)

__all__ = [
    'PackAVSInputs', 'avs_collate', 'LoadClipFrames', 'LoadClipAnnotations', 'LoadClipAudio', 'LoadClipAuxImages',
    'LoadClipAudioFromExample',
    'LoadClipMaskige', 'ClipTransformBroadcaster', 'ClipResize', 'ClipRandomResize', 'ClipRandomCrop',
    'ClipPhotoMetricDistortion', 'ClipPad', 'ClipSelectLabelledFrames', 'AUX_IMAGE_KEYS',
    'aux_image_keys', 'declare_aux_image_key', 'ClipAudioPerturbation', 'LoadSilentObjectLabels', 'LoadClipWaveform',
    'ClipCategoryToLabel', 'ClipSampleFrames', 'LoadClipInstanceSet'
]
