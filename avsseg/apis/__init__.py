"""Inference on your own videos: :class:`AVSInferencer` and the video reading / writing it uses."""
from .avs_inferencer import AVSInferencer, MediaSource, check_video, resolve_config, to_media_source
from .sampling import (AVSBENCH_FRAME_OFFSET, centred_log_mel, clip_spans, clip_waveform, num_sampled_seconds,
                       second_frame_indices)
from .video_io import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, DecodedFrame, VideoInfo, VideoWriter, iter_video_frames,
                       list_frame_files, probe_video)

__all__ = [
    'AVSInferencer', 'MediaSource', 'check_video', 'resolve_config', 'to_media_source', 'AVSBENCH_FRAME_OFFSET',
    'centred_log_mel', 'clip_spans', 'clip_waveform', 'num_sampled_seconds', 'second_frame_indices',
    'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'DecodedFrame', 'VideoInfo', 'VideoWriter', 'iter_video_frames',
    'list_frame_files', 'probe_video'
]
