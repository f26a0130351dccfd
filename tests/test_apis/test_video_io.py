"""Reading and writing videos with PyAV: frame times, the carried-over audio track, bad files."""
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf

from avsseg.apis import VideoWriter, iter_video_frames, list_frame_files, probe_video
from avsseg.datasets.audio import load_audio


def gradient_frames(num, height=32, width=48):
    base = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
    return [np.broadcast_to(base + 5 * i, (height, width, 3)).astype(np.uint8) for i in range(num)]


def write_wav(path, seconds=2.0, sr=16000, seed=0):
    wave = (np.random.default_rng(seed).standard_normal(int(seconds * sr)) * 0.1).astype(np.float32)
    sf.write(str(path), wave, sr, subtype='PCM_16')
    return path


@pytest.fixture(scope='module')
def mp4(tmp_path_factory):
    """2 s at 8 fps, AAC sound (re-encoded from a wav)."""
    tmp = tmp_path_factory.mktemp('video_io')
    wav = write_wav(tmp / 'sound.wav')
    path = str(tmp / 'clip.mp4')
    with VideoWriter(path, Fraction(8), audio_from=str(wav), time_base=Fraction(1, 8)) as writer:
        for i, frame in enumerate(gradient_frames(16)):
            writer.write(frame, i / 8)
    return path


def test_probe_reads_frames_times_duration_and_audio(mp4):
    info = probe_video(mp4)
    assert (info.width, info.height) == (48, 32)
    assert info.num_frames == 16 and info.fps == 8
    np.testing.assert_allclose(info.frame_times, np.arange(16) / 8)
    assert info.duration == pytest.approx(2.0)
    assert info.has_audio and info.audio_codec == 'aac'
    # the AAC encoder's priming is recorded in the container: the sound decodes to the wav's length
    wave, sr = load_audio(mp4)
    assert sr == 16000 and wave.shape == (1, 32000)


def test_decoded_frames_come_in_order_with_their_times(mp4):
    frames = list(iter_video_frames(mp4))
    assert [f.index for f in frames] == list(range(16))
    np.testing.assert_allclose([f.time for f in frames], np.arange(16) / 8)
    assert frames[0].image.shape == (32, 48, 3) and frames[0].image.dtype == np.uint8
    # H.264 at crf 18 is near the input
    assert np.abs(frames[5].image.astype(int) - gradient_frames(16)[5].astype(int)).mean() < 3


def test_writer_copies_the_audio_track_of_a_video_unchanged(mp4, tmp_path):
    out = str(tmp_path / 'copy.mp4')
    with VideoWriter(out, Fraction(8), audio_from=mp4, time_base=Fraction(1, 8)) as writer:
        for frame in iter_video_frames(mp4):
            writer.write(255 - frame.image, frame.time)
    info = probe_video(out)
    assert info.num_frames == 16 and info.duration == pytest.approx(2.0) and info.audio_codec == 'aac'
    np.testing.assert_array_equal(load_audio(out)[0], load_audio(mp4)[0])


def test_writer_pads_odd_sizes_and_refuses_bad_frames(tmp_path):
    path = str(tmp_path / 'odd.mp4')
    with VideoWriter(path, Fraction(4)) as writer:
        writer.write(np.zeros((15, 21, 3), np.uint8), 0.0)
        with pytest.raises(ValueError, match='does not follow'):
            writer.write(np.zeros((15, 21, 3), np.uint8), 0.0)
        with pytest.raises(ValueError, match='after frames of'):
            writer.write(np.zeros((16, 16, 3), np.uint8), 0.25)
        with pytest.raises(ValueError, match='uint8 RGB'):
            writer.write(np.zeros((15, 21), np.uint8), 0.5)
    info = probe_video(path)
    assert (info.width, info.height) == (22, 16) and not info.has_audio
    with pytest.raises(ValueError, match=r'\.mp4, \.mov or \.mkv'):
        VideoWriter(str(tmp_path / 'x.avi'), Fraction(4))


def test_bad_files_are_named(tmp_path):
    missing = str(tmp_path / 'none.mp4')
    with pytest.raises(FileNotFoundError, match='none.mp4'):
        probe_video(missing)
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'not a video at all' * 10)
    with pytest.raises(RuntimeError, match='garbage.mp4'):
        probe_video(str(garbage))
    with pytest.raises(RuntimeError, match='garbage.mp4'):
        list(iter_video_frames(str(garbage)))
    wav = write_wav(tmp_path / 'only_sound.wav')
    with pytest.raises(ValueError, match='only_sound.wav.*no video stream'):
        probe_video(str(wav))
    with pytest.raises(ValueError, match='no audio stream'):
        VideoWriter(str(tmp_path / 'o.mp4'), Fraction(4), audio_from=str(_silent_video(tmp_path)))


def _silent_video(tmp_path):
    path = str(tmp_path / 'mute.mp4')
    with VideoWriter(path, Fraction(4)) as writer:
        for i, frame in enumerate(gradient_frames(4, 16, 16)):
            writer.write(frame, i / 4)
    return path


def test_list_frame_files_natural_order_without_maskiges(tmp_path):
    for name in ('f_10.png', 'f_2.png', 'f_1.jpg', 'f_2_mask_color.png', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    assert [p.split('/')[-1] for p in list_frame_files(str(tmp_path))] == ['f_1.jpg', 'f_2.png', 'f_10.png']
    with pytest.raises(NotADirectoryError, match='nowhere'):
        list_frame_files(str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_frame_files(str(tmp_path / 'empty'))


def test_writer_reencodes_audio_mp4_cannot_hold(tmp_path):
    """A video whose sound is PCM (mkv) written to mp4: the sound is re-encoded to AAC, same length."""
    src = str(tmp_path / 'pcm.mkv')
    container = av.open(src, 'w')
    video = container.add_stream('mpeg4', rate=4)
    video.width, video.height, video.pix_fmt = 16, 16, 'yuv420p'
    audio = container.add_stream('pcm_s16le', rate=16000, layout='mono')
    for i, image in enumerate(gradient_frames(8, 16, 16)):
        frame = av.VideoFrame.from_ndarray(image, format='rgb24')
        frame.pts = i
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    samples = (np.random.default_rng(1).standard_normal(32000) * 3000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples[None], format='s16', layout='mono')
    frame.sample_rate, frame.pts = 16000, 0
    for packet in list(audio.encode(frame)) + list(audio.encode(None)):
        container.mux(packet)
    container.close()
    out = str(tmp_path / 'out.mp4')
    with VideoWriter(out, Fraction(4), audio_from=src, time_base=Fraction(1, 4)) as writer:
        for f in iter_video_frames(src):
            writer.write(f.image, f.time)
    info = probe_video(out)
    assert info.audio_codec == 'aac' and info.num_frames == 8
    assert load_audio(out)[0].shape == (1, 32000)
