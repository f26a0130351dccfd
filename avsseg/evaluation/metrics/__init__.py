from .avsbench_metric import AVSBenchMetric

__all__ = ['AVSBenchMetric']
