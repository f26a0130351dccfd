"""The frame and audio sampling rules of the inferencer (AVSBench's one frame per second, clips, centred windows)."""
import numpy as np
import pytest

from avsseg.apis import (AVSBENCH_FRAME_OFFSET, centred_log_mel, clip_spans, clip_waveform, num_sampled_seconds,
                         second_frame_indices)
from avsseg.datasets.audio import MIN_EXAMPLE_SAMPLES, waveform_to_examples


def test_num_sampled_seconds_counts_seconds_whose_sampling_instant_is_inside():
    assert AVSBENCH_FRAME_OFFSET == 15 / 16
    assert num_sampled_seconds(5.0) == 5
    assert num_sampled_seconds(4.97) == 5  # 4 + 15/16 = 4.9375 lies within the video
    assert num_sampled_seconds(4.9) == 4
    assert num_sampled_seconds(0.9) == 0
    assert num_sampled_seconds(7.5) == 7
    assert num_sampled_seconds(3.0, frame_offset=0.0) == 3
    with pytest.raises(ValueError, match='frame_offset'):
        num_sampled_seconds(3.0, frame_offset=1.0)


def test_second_frame_indices_take_the_frame_on_screen_at_the_end_of_each_second():
    times = np.arange(20) / 4  # 4 fps: 0, 0.25, ..., 4.75
    # 0.9375 -> the frame at 0.75 (index 3), 1.9375 -> 1.75 (index 7), ...
    assert second_frame_indices(times, 5).tolist() == [3, 7, 11, 15, 19]
    # NTSC frame times rounded to a 1/90000 time base: the frame at 29/29.97 = 0.9676 s comes after 0.9375
    ntsc = np.round(np.arange(60) * 1001 / 30000 * 90000) / 90000
    idx = second_frame_indices(ntsc, 2)
    assert ntsc[idx[0]] <= 0.9375 < ntsc[idx[0] + 1]
    assert ntsc[idx[1]] <= 1.9375 < ntsc[idx[1] + 1]
    # a frame exactly at the sampling instant (times read from a container are rounded) is taken
    assert second_frame_indices(np.array([0.0, 0.9375, 1.5]), 1).tolist() == [1]
    # below 1 fps a frame stands for every second it stays on screen
    assert second_frame_indices(np.array([0.0, 2.0]), 3).tolist() == [0, 0, 1]


def test_clip_spans_keep_the_short_tail():
    assert clip_spans(7, 5) == [(0, 5), (5, 7)]
    assert clip_spans(10, 5) == [(0, 5), (5, 10)]
    assert clip_spans(3, 5) == [(0, 3)]
    with pytest.raises(ValueError, match='clip_length'):
        clip_spans(3, 0)


def test_clip_waveform_slices_the_clip_seconds():
    wave = np.arange(16000 * 7, dtype=np.float32)
    seg = clip_waveform(wave, 5, 5)
    assert seg.shape == (16000 * 2, ) and seg[0] == 16000 * 5  # shorter at the end of the sound


def test_centred_log_mel_is_the_vggish_example_of_the_centred_window():
    rng = np.random.default_rng(0)
    wave = (rng.standard_normal(16000 * 3) * 0.1).astype(np.float32)
    out = centred_log_mel(wave, [1.5, 0.0])
    assert out.shape == (2, 1, 96, 64) and out.dtype == np.float32
    start = 24000 - MIN_EXAMPLE_SAMPLES // 2
    np.testing.assert_array_equal(out[0], waveform_to_examples(wave[start:start + MIN_EXAMPLE_SAMPLES])[0])
    # before the start of the sound is silence
    padded = np.concatenate([np.zeros(MIN_EXAMPLE_SAMPLES // 2, np.float32), wave[:MIN_EXAMPLE_SAMPLES // 2]])
    np.testing.assert_array_equal(out[1], waveform_to_examples(padded)[0])
