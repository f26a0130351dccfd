from .audio_visual_matching_loss import AudioVisualMatchingLoss
from .inter_frame_consistency_loss import AdaptiveInterFrameLoss

__all__ = ['AudioVisualMatchingLoss', 'AdaptiveInterFrameLoss']
