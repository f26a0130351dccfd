from .avs_local_visualizer import AVSLocalVisualizer, gt_at_ori_shape
from .overlay import draw_frame

__all__ = ['AVSLocalVisualizer', 'draw_frame', 'gt_at_ori_shape']
