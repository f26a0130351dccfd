from .avs_prediction_writer_hook import AVSPredictionWriterHook
from .avs_visualization_hook import AVSVisualizationHook
from .strict_load_checkpoint_hook import StrictLoadCheckpointHook

__all__ = ['AVSPredictionWriterHook', 'AVSVisualizationHook', 'StrictLoadCheckpointHook']
