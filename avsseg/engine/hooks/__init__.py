from .avs_prediction_writer_hook import AVSPredictionWriterHook
from .avs_visualization_hook import AVSVisualizationHook

__all__ = ['AVSPredictionWriterHook', 'AVSVisualizationHook']
