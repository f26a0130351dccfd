"""Helpers for tests of avsseg and of plugins: repository configs, models shrunk to CPU-test sizes, and demo
clips as the model receives them (the counterpart of ``mmdet.testing``)."""
from .clip_inputs import demo_clip_batch, demo_clip_inputs
from .model_configs import get_config, tiny_model_cfg

__all__ = ['demo_clip_batch', 'demo_clip_inputs', 'get_config', 'tiny_model_cfg']
