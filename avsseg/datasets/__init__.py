from .avs_synthetic_dataset import AVSSyntheticDataset
from .avsbench_ms3_class_index_dataset import AVSBenchMS3ClassIndexDataset
from .avsbench_ms3_dataset import AVSBenchMS3Dataset
from .avsbench_s4_dataset import AVSBenchS4Dataset
from .avsbench_semantic_dataset import AVSBenchSemanticDataset, avss_palette
from .base_avs_dataset import BaseAVSDataset
from .dataset_wrappers import AudioPerturbedDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'BaseAVSDataset', 'AVSBenchS4Dataset', 'AVSBenchMS3Dataset', 'AVSBenchSemanticDataset', 'avss_palette',
    'AudioPerturbedDataset', 'AVSSyntheticDataset', 'AVSBenchMS3ClassIndexDataset'
]
