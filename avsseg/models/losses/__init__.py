from .audio_query_distance_loss import AudioQueryDistanceLoss
from .audio_query_mask_loss import AudioQueryMaskLoss
from .audio_visual_matching_loss import AudioVisualMatchingLoss
from .inter_frame_consistency_loss import AdaptiveInterFrameLoss
from .sigmoid_focal_mask_loss import SigmoidFocalMaskLoss
from .silent_object_aware_loss import SilentObjectAwareLoss
from .softmax_focal_loss import SoftmaxFocalLoss

__all__ = [
    'AudioQueryDistanceLoss', 'AudioQueryMaskLoss', 'AudioVisualMatchingLoss', 'AdaptiveInterFrameLoss',
    'SigmoidFocalMaskLoss', 'SoftmaxFocalLoss', 'SilentObjectAwareLoss'
]
