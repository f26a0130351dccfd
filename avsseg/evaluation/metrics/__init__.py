from .avs_binary_metric import AVSBinaryMetric
from .avs_semantic_metric import AVSSemanticMetric
from .base_clip_metric import BaseClipMetric
from .potential_instance_metric import PotentialInstanceMetric

__all__ = ['AVSBinaryMetric', 'AVSSemanticMetric', 'BaseClipMetric', 'PotentialInstanceMetric']
