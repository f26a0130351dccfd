from .avs_prediction_writer_hook import AVSPredictionWriterHook
from .avs_visualization_hook import AVSVisualizationHook
from .delta_schedule_hook import DeltaScheduleHook
from .dist_buffers_sync_hook import DistBuffersSyncHook
from .epoch_log_interval_hook import EpochLogIntervalHook
from .rng_state_hook import RNGStateHook
from .strict_load_checkpoint_hook import StrictLoadCheckpointHook

__all__ = [
    'AVSPredictionWriterHook', 'AVSVisualizationHook', 'DeltaScheduleHook', 'DistBuffersSyncHook',
    'EpochLogIntervalHook', 'RNGStateHook', 'StrictLoadCheckpointHook'
]
