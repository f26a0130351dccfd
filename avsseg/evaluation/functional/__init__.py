from .binary_scores import batch_max_fscore, frame_fscore, frame_fscore_curve, frame_jaccard, fscore_thresholds
from .semantic_scores import average_class_scores, frame_class_scores

__all__ = [
    'average_class_scores', 'batch_max_fscore', 'frame_class_scores', 'frame_fscore', 'frame_fscore_curve',
    'frame_jaccard', 'fscore_thresholds'
]
