from .avs_prediction_writer_hook import AVSPredictionWriterHook
from .avs_visualization_hook import AVSVisualizationHook
from .delta_schedule_hook import DeltaScheduleHook
from .strict_load_checkpoint_hook import StrictLoadCheckpointHook

__all__ = ['AVSPredictionWriterHook', 'AVSVisualizationHook', 'DeltaScheduleHook', 'StrictLoadCheckpointHook']
