"""How a video becomes the frames and audio windows an AVS model was trained on.

AVSBench (and every dataset built from it) samples one frame per second, at the end of each second: the official
preprocessing resamples a video to 16 fps and keeps frames ``k % 16 == 15``, i.e. the frame on screen at
``s + 15/16`` s for second ``s``. Its audio is one 0.96 s VGGish log-mel example per frame, the examples of the
clip's waveform taken back to back from the clip's start (``LoadClipAudio``). A video longer than one clip is cut
into clips of the model's length; each clip's waveform is the video's sound over the clip's seconds, so a clip of
a long video gets exactly what the dataset loader would compute for that clip's frames and wav.

For drawing on every video frame, a frame's audio is one VGGish example centred on the frame's time
(:func:`centred_log_mel`).
"""
import math
from typing import List, Sequence, Tuple

import numpy as np

from avsseg.datasets.audio import MIN_EXAMPLE_SAMPLES, TARGET_SAMPLE_RATE, waveform_to_examples

#: AVSBench's frame of second ``s``: the one on screen at ``s + 15/16`` s (16 fps sampling, ``k % 16 == 15``).
AVSBENCH_FRAME_OFFSET = 15 / 16
# frame times read from containers are rounded to their time base; a frame due exactly at a sampling instant
# must not miss it by that rounding
_TIME_TOLERANCE = 1e-6


def num_sampled_seconds(duration: float, frame_offset: float = AVSBENCH_FRAME_OFFSET) -> int:
    """Number of seconds ``s = 0, 1, ...`` whose sampling instant ``s + frame_offset`` lies within the video.

    Args:
        duration: video length in seconds (first frame to the end of the last one).
        frame_offset: where in each second the frame is taken, in ``[0, 1)``.
    """
    if not 0 <= frame_offset < 1:
        raise ValueError(f'frame_offset must be in [0, 1), got {frame_offset}')
    if duration <= frame_offset:
        return 0
    return int(math.ceil(duration - frame_offset - _TIME_TOLERANCE))


def second_frame_indices(frame_times: Sequence[float], num_seconds: int,
                         frame_offset: float = AVSBENCH_FRAME_OFFSET) -> np.ndarray:
    """Index of the frame on screen at ``s + frame_offset`` for ``s = 0 .. num_seconds - 1``.

    Args:
        frame_times: sorted presentation times of the video's frames (seconds from the first frame).
        num_seconds: how many seconds to sample (:func:`num_sampled_seconds`).
        frame_offset: where in each second the frame is taken.

    Returns:
        int64 ``[num_seconds]``: for each second, the last frame whose time is at most its sampling instant.
    """
    times = np.asarray(frame_times, np.float64)
    instants = np.arange(num_seconds, dtype=np.float64) + frame_offset + _TIME_TOLERANCE
    # frames start at time 0 <= every instant, so every second finds a frame
    return np.clip(np.searchsorted(times, instants, side='right') - 1, 0, len(times) - 1).astype(np.int64)


def clip_spans(num_items: int, clip_length: int) -> List[Tuple[int, int]]:
    """``[(start, stop), ...]`` cutting ``num_items`` consecutive frames into clips of ``clip_length``; the last
    clip may be shorter (it is padded, never dropped)."""
    if clip_length < 1:
        raise ValueError(f'clip_length must be >= 1, got {clip_length}')
    return [(start, min(start + clip_length, num_items)) for start in range(0, num_items, clip_length)]


def clip_waveform(wave16k: np.ndarray, first_second: int, num_seconds: int) -> np.ndarray:
    """The 16 kHz waveform of seconds ``[first_second, first_second + num_seconds)`` (shorter at the end of the
    sound; ``LoadClipAudio`` then pads its examples and warns)."""
    start = first_second * TARGET_SAMPLE_RATE
    return np.ascontiguousarray(wave16k[start:start + num_seconds * TARGET_SAMPLE_RATE], dtype=np.float32)


def centred_windows(wave16k: np.ndarray, times: Sequence[float], length: int) -> np.ndarray:
    """One waveform window of ``length`` samples per time, centred on it (for waveform audio loaders such as
    ``LoadClipWaveform``, whose models take raw 16 kHz windows instead of VGGish log-mel).

    Sound before the start or after the end of ``wave16k`` counts as silence (zeros).

    Args:
        wave16k: float ``[samples]`` mono at 16 kHz.
        times: seconds.
        length: samples per window (16000 for 1 s).

    Returns:
        float32 ``[len(times), length]``.
    """
    wave = np.asarray(wave16k, np.float32)
    windows = np.zeros((len(times), length), np.float32)
    for i, time in enumerate(times):
        start = int(round(time * TARGET_SAMPLE_RATE)) - length // 2
        lo, hi = max(start, 0), min(start + length, len(wave))
        if hi > lo:
            windows[i, lo - start:hi - start] = wave[lo:hi]
    return windows


def centred_log_mel(wave16k: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """One VGGish log-mel example per time, from the 0.975 s of sound centred on it.

    Sound before the start or after the end of ``wave16k`` counts as silence (zeros).

    Args:
        wave16k: float ``[samples]`` mono at 16 kHz.
        times: seconds.

    Returns:
        float32 ``[len(times), 1, 96, 64]``.
    """
    wave = np.asarray(wave16k, np.float64)
    half = MIN_EXAMPLE_SAMPLES // 2
    examples = []
    for time in times:
        start = int(round(time * TARGET_SAMPLE_RATE)) - half
        window = np.zeros(MIN_EXAMPLE_SAMPLES, np.float64)
        lo, hi = max(start, 0), min(start + MIN_EXAMPLE_SAMPLES, len(wave))
        if hi > lo:
            window[lo - start:hi - start] = wave[lo:hi]
        examples.append(waveform_to_examples(window)[:1])
    if not examples:
        return np.zeros((0, 1, 96, 64), np.float32)
    return np.concatenate(examples).astype(np.float32)
