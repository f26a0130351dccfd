import os
import pickle
import warnings

import av
import numpy as np
import pytest
import soundfile as sf
import torch

from avsseg.datasets.audio import (SILENT_REFERENCE_POWER, AudioPaddingWarning, VGGishLogMel, add_white_noise,
                                   clip_log_mel, load_audio, load_log_mel_pkl, mix_at_snr, to_mono_16k,
                                   vggish_mel_matrix, waveform_to_examples)
from avsseg.utils import forked_worker_init

SR = 16000


# ----------------------------------------------------------------------------- numpy reference of VGGish
def _ref_mel_matrix():
    """VGGish's published mel matrix, written loop by loop (HTK mel, triangles in mel space, DC zeroed)."""

    def mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    num_bins, num_mels = 257, 64
    bin_mels = [mel(8000.0 * i / (num_bins - 1)) for i in range(num_bins)]
    lo, hi = mel(125.0), mel(7500.0)
    edges = [lo + (hi - lo) * j / (num_mels + 1) for j in range(num_mels + 2)]
    out = np.zeros((num_bins, num_mels))
    for m in range(num_mels):
        a, b, c = edges[m], edges[m + 1], edges[m + 2]
        for i in range(1, num_bins):  # bin 0 (DC) stays 0
            up = (bin_mels[i] - a) / (b - a)
            down = (c - bin_mels[i]) / (c - b)
            out[i, m] = max(0.0, min(up, down))
    return out


def _ref_log_mel(x):
    """VGGish's numpy front end: 400-sample frames every 160, periodic Hann, |rfft(512)|, mel, log(+0.01)."""
    n_frames = 1 + (len(x) - 400) // 160
    frames = np.stack([x[k * 160:k * 160 + 400] for k in range(n_frames)])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    spec = np.abs(np.fft.rfft(frames * window, n=512))
    return np.log(spec @ _ref_mel_matrix() + 0.01)


def _chirp(seconds, f0=100.0, f1=7000.0, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * seconds) * t**2))


def test_mel_matrix_matches_published_algorithm():
    m = vggish_mel_matrix()
    assert m.shape == (257, 64)
    np.testing.assert_allclose(m, _ref_mel_matrix(), atol=1e-12)
    assert (m[0] == 0).all()
    # Each triangle peaks near 1 and the bands tile the 125-7500 Hz range.
    assert m.max() <= 1.0 and m.max(axis=0).min() > 0.5


def test_front_end_matches_numpy_reference():
    x = _chirp(3.5)
    ref = _ref_log_mel(x)  # [346, 64]
    examples = waveform_to_examples(x)
    assert examples.shape == (3, 1, 96, 64) and examples.dtype == np.float32
    ref_examples = ref[:3 * 96].reshape(3, 1, 96, 64)
    assert np.abs(examples - ref_examples).max() < 1e-4
    assert np.abs(examples - ref_examples).max() < 1e-5  # float64 path: exact up to float32 storage

    frames64 = VGGishLogMel(dtype=torch.float64)(torch.from_numpy(x)).numpy()
    assert frames64.shape == ref.shape
    assert np.abs(frames64 - ref).max() < 1e-9

    # float32 module on audio with a recording-like -40 dB noise floor, batched input.
    noisy = x + 5e-3 * np.random.default_rng(0).standard_normal(x.shape)
    noisy = noisy.astype(np.float32)
    frames32 = VGGishLogMel()(torch.from_numpy(np.stack([noisy, noisy[::-1].copy()])))
    assert frames32.shape == (2, ) + ref.shape and frames32.dtype == torch.float32
    assert np.abs(frames32[0].numpy() - _ref_log_mel(noisy.astype(np.float64))).max() < 1e-4
    assert np.abs(frames32[1].numpy() - _ref_log_mel(noisy[::-1].astype(np.float64))).max() < 1e-4


def test_front_end_example_counts_and_short_input():
    assert waveform_to_examples(np.zeros(5 * SR)).shape[0] == 5
    assert waveform_to_examples(np.zeros(int(4.8 * SR))).shape[0] == 4  # 478 frames -> 4 full examples
    assert waveform_to_examples(np.zeros(15600)).shape[0] == 1  # 400 + 95 * 160 samples = 96 frames
    assert waveform_to_examples(np.zeros(15599)).shape[0] == 0
    silence = waveform_to_examples(np.zeros(SR))
    np.testing.assert_allclose(silence, np.log(0.01), rtol=1e-6)
    with pytest.raises(ValueError, match='at least 400 samples'):
        VGGishLogMel()(torch.zeros(399))
    with pytest.raises(ValueError, match='mono'):
        waveform_to_examples(np.zeros((2, SR)))


# ----------------------------------------------------------------------------- file reading
def test_wav_44k_stereo_resampled_to_mono_16k(tmp_path):
    sr = 44100
    t = np.arange(int(1.5 * sr)) / sr
    left, right = 0.6 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 1000 * t)
    path = str(tmp_path / 'stereo.wav')
    sf.write(path, np.stack([left, right], axis=1), sr, subtype='PCM_16')

    wave, got_sr = load_audio(path)
    assert got_sr == sr and wave.shape == (2, len(t)) and wave.dtype == np.float32
    np.testing.assert_allclose(wave[0], left, atol=1.0 / 32768)
    np.testing.assert_allclose(wave[1], right, atol=1.0 / 32768)

    mono = to_mono_16k(wave, got_sr)
    assert mono.dtype == np.float32 and mono.shape == (int(1.5 * SR), )
    t16 = np.arange(len(mono)) / SR
    expected = 0.5 * (0.6 * np.sin(2 * np.pi * 440 * t16) + 0.2 * np.sin(2 * np.pi * 1000 * t16))
    middle = slice(800, len(mono) - 800)  # away from the filter's edge effects
    assert np.abs(mono[middle] - expected[middle]).max() < 2e-3
    # Mono 16 kHz input is passed through unchanged.
    np.testing.assert_array_equal(to_mono_16k(expected.astype(np.float32), SR), expected.astype(np.float32))


def _write_av(path, audio, sr, with_video=False, with_audio=True):
    with av.open(path, 'w') as container:
        if with_video:
            vstream = container.add_stream('mpeg4', rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 32, 32, 'yuv420p'
        if with_audio:
            astream = container.add_stream('aac', rate=sr)
            astream.layout = 'stereo'
        if with_video:
            for i in range(5):
                img = np.full((32, 32, 3), 40 * i, dtype=np.uint8)
                for packet in vstream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')):
                    container.mux(packet)
            for packet in vstream.encode(None):
                container.mux(packet)
        if with_audio:
            for start in range(0, audio.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(audio[:, start:start + 1024]), format='fltp', layout='stereo')
                frame.sample_rate, frame.pts = sr, start
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode(None):
                container.mux(packet)


@pytest.mark.parametrize('name,with_video', [('clip.mp4', True), ('clip.m4a', False)])
def test_pyav_container_audio(tmp_path, name, with_video):
    sr = 48000
    t = np.arange(sr) / sr
    audio = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 880 * t)])
    audio = audio.astype(np.float32)
    path = str(tmp_path / name)
    _write_av(path, audio, sr, with_video=with_video)

    wave, got_sr = load_audio(path)
    assert got_sr == sr and wave.dtype == np.float32
    assert wave.shape == (2, sr)  # the AAC encoder's end padding is trimmed to the stream duration
    middle = slice(4000, sr - 4000)
    for ch in range(2):
        corr = np.corrcoef(wave[ch, middle], audio[ch, middle])[0, 1]
        assert corr > 0.98, corr
    mono = to_mono_16k(wave, got_sr)
    assert mono.shape == (SR, )
    assert clip_log_mel(mono, 1, path).shape == (1, 1, 96, 64)


def test_load_audio_errors_name_the_file(tmp_path):
    missing = str(tmp_path / 'missing.wav')
    with pytest.raises(FileNotFoundError, match='missing.wav'):
        load_audio(missing)

    garbage_wav = tmp_path / 'garbage.wav'
    garbage_wav.write_bytes(b'this is not audio' * 10)
    with pytest.raises(RuntimeError, match='garbage.wav'):
        load_audio(str(garbage_wav))

    garbage_mp4 = tmp_path / 'garbage.mp4'
    garbage_mp4.write_bytes(b'\x00\x01junk' * 50)
    with pytest.raises(RuntimeError, match='garbage.mp4'):
        load_audio(str(garbage_mp4))

    silent_video = str(tmp_path / 'video_only.mp4')
    _write_av(silent_video, None, 0, with_video=True, with_audio=False)
    with pytest.raises(ValueError, match='video_only.mp4.*no audio stream'):
        load_audio(silent_video)

    empty_wav = str(tmp_path / 'empty.wav')
    sf.write(empty_wav, np.zeros((0, 1)), SR)
    with pytest.raises(ValueError, match='empty.wav.*zero samples'):
        load_audio(empty_wav)


# ----------------------------------------------------------------------------- clip examples
def test_clip_log_mel_trims_and_pads():
    x = _chirp(5.2)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a full clip must not warn
        out = clip_log_mel(x, 5, 'full.wav')
    assert out.shape == (5, 1, 96, 64) and out.dtype == np.float32
    np.testing.assert_array_equal(out, waveform_to_examples(x))
    np.testing.assert_array_equal(clip_log_mel(x, 3, 'a.wav'), waveform_to_examples(x)[:3])

    short = x[:int(2.5 * SR)]
    with pytest.warns(AudioPaddingWarning) as record:
        padded = clip_log_mel(short, 5, '/data/short.wav')
    msg = str(record[0].message)
    assert '/data/short.wav' in msg and '2 VGGish example(s)' in msg and 'padded 3 example(s) (2.88 s)' in msg
    assert 'repeating the last example' in msg
    ex = waveform_to_examples(short)
    np.testing.assert_array_equal(padded[:2], ex)
    for k in range(2, 5):
        np.testing.assert_array_equal(padded[k], ex[1])

    with pytest.warns(AudioPaddingWarning, match='zero examples'):
        zero_padded = clip_log_mel(short, 4, 'z.wav', pad_mode='zero')
    assert (zero_padded[2:] == 0).all() and np.array_equal(zero_padded[:2], ex)


def test_clip_log_mel_shorter_than_one_example():
    with pytest.warns(AudioPaddingWarning) as record:
        out = clip_log_mel(_chirp(0.5), 2, 'tiny.wav')
    messages = [str(r.message) for r in record]
    expected = 'zero-padded the waveform by 7600 samples (0.475 s)'
    assert any('tiny.wav' in m and expected in m for m in messages)
    assert any('padded 1 example(s)' in m for m in messages)
    assert out.shape == (2, 1, 96, 64)
    np.testing.assert_array_equal(out[0], out[1])
    # The padded tail is silence: the last frames are log(0.01).
    np.testing.assert_allclose(out[0, 0, -5:], np.log(0.01), rtol=1e-6)


def test_clip_log_mel_bad_audio_names_the_file():
    with pytest.raises(ValueError, match='clips/empty.wav.*empty'):
        clip_log_mel(np.zeros(0), 5, 'clips/empty.wav')
    bad = _chirp(2.0)
    bad[100] = np.nan
    with pytest.raises(ValueError, match='clips/nan.wav.*1 NaN/inf'):
        clip_log_mel(bad, 2, 'clips/nan.wav')
    bad[100] = np.inf
    with pytest.raises(ValueError, match='clips/inf.wav'):
        clip_log_mel(bad, 2, 'clips/inf.wav')
    with pytest.raises(ValueError, match='num_segments'):
        clip_log_mel(_chirp(1.0), 0, 'a.wav')


# ----------------------------------------------------------------------------- official .pkl files
@pytest.mark.parametrize('protocol', [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_log_mel_pkl_round_trip(tmp_path, protocol):
    tensor = torch.randn(5, 1, 96, 64)
    path = str(tmp_path / 'clip.pkl')
    with open(path, 'wb') as f:
        pickle.dump(tensor, f, protocol=protocol)
    out = load_log_mel_pkl(path, 5)
    assert out.dtype == np.float32 and out.shape == (5, 1, 96, 64)
    np.testing.assert_array_equal(out, tensor.numpy())

    # A view with a storage offset (as slicing a bigger tensor gives) rebuilds correctly.
    with open(path, 'wb') as f:
        pickle.dump(torch.randn(8, 1, 96, 64)[2:5], f, protocol=protocol)
    with pytest.warns(AudioPaddingWarning, match='clip.pkl.*3 VGGish example.*padded 2 example'):
        padded = load_log_mel_pkl(path, 5)
    np.testing.assert_array_equal(padded[3], padded[2])
    np.testing.assert_array_equal(padded[4], padded[2])


class _Evil:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_log_mel_pkl_refuses_malicious_pickles(tmp_path):
    marker = tmp_path / 'pwned'
    evil = str(tmp_path / 'evil.pkl')
    with open(evil, 'wb') as f:
        pickle.dump(_Evil(marker), f)
    with pytest.raises(ValueError, match='evil.pkl.*not allowed'):
        load_log_mel_pkl(evil, 5)
    assert not marker.exists()

    # The storage bytes are themselves a pickle: a payload there must not run either.
    class _EvilStorage:

        def __reduce__(self):
            import torch.storage
            return (torch.storage._load_from_bytes, (pickle.dumps(_Evil(marker), protocol=2), ))

    inner = str(tmp_path / 'inner.pkl')
    with open(inner, 'wb') as f:
        pickle.dump(_EvilStorage(), f)
    with pytest.raises(ValueError, match='inner.pkl'):
        load_log_mel_pkl(inner, 5)
    assert not marker.exists()


def test_log_mel_pkl_validation(tmp_path):
    def dump(obj, name):
        path = str(tmp_path / name)
        with open(path, 'wb') as f:
            pickle.dump(obj, f)
        return path

    with pytest.raises(ValueError, match=r'wrong_shape.pkl.*\[5, 96, 64\]'):
        load_log_mel_pkl(dump(torch.zeros(5, 96, 64), 'wrong_shape.pkl'), 5)
    nan = torch.zeros(5, 1, 96, 64)
    nan[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='nan.pkl.*NaN'):
        load_log_mel_pkl(dump(nan, 'nan.pkl'), 5)
    with pytest.raises(ValueError, match='list.pkl.*list'):
        load_log_mel_pkl(dump([1, 2, 3], 'list.pkl'), 5)
    with pytest.raises(FileNotFoundError, match='absent.pkl'):
        load_log_mel_pkl(str(tmp_path / 'absent.pkl'), 5)
    np.testing.assert_array_equal(load_log_mel_pkl(dump(torch.ones(7, 1, 96, 64), 'long.pkl'), 5), np.ones(
        (5, 1, 96, 64), np.float32))


# ----------------------------------------------------------------------------- perturbations
def _snr_db(signal, mixture):
    noise = mixture.astype(np.float64) - signal
    return 10 * np.log10(np.mean(signal**2) / np.mean(noise**2))


@pytest.mark.parametrize('snr', [-5.0, 0.0, 10.0, 30.0])
def test_mix_at_snr(snr):
    rng = np.random.default_rng(1)
    signal = 0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)
    short_other = rng.standard_normal(3000)  # looped to the signal's length
    mixed = mix_at_snr(signal, short_other, snr)
    assert mixed.shape == signal.shape and mixed.dtype == np.float32
    assert abs(_snr_db(signal, mixed) - snr) < 1e-3
    added = mixed.astype(np.float64) - signal
    gain = added[0] / short_other[0]
    np.testing.assert_allclose(added[3000:6000], gain * short_other, rtol=1e-4, atol=1e-6)

    long_other = rng.standard_normal(3 * SR)  # trimmed
    assert abs(_snr_db(signal, mix_at_snr(signal, long_other, snr)) - snr) < 1e-3
    assert abs(_snr_db(signal, add_white_noise(signal, snr, rng=0)) - snr) < 1e-3


def test_mix_at_snr_edge_cases():
    other = np.random.default_rng(2).standard_normal(SR)
    silent = mix_at_snr(np.zeros(SR), other, 10.0)
    power = np.mean(silent.astype(np.float64)**2)
    np.testing.assert_allclose(power, SILENT_REFERENCE_POWER / 10.0, rtol=1e-4)
    with pytest.raises(ValueError, match='silent'):
        mix_at_snr(np.ones(100), np.zeros(50), 0.0)
    with pytest.raises(ValueError, match='empty'):
        mix_at_snr(np.ones(100), np.zeros(0), 0.0)
    with pytest.raises(ValueError, match='empty'):
        mix_at_snr(np.zeros(0), np.ones(10), 0.0)


# ----------------------------------------------------------------------------- low sample rates, warnings in the log
def test_low_sample_rate_wav_warns_with_file_and_rate(tmp_path):
    """An 8 kHz wav used to be accepted silently although the upper mel bands of its log-mel stay empty."""
    from avsseg.datasets.audio import LowSampleRateWarning, empty_mel_bands
    t = np.arange(8000 * 2) / 8000
    path = str(tmp_path / 'phone.wav')
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000)
    with pytest.warns(LowSampleRateWarning) as record:
        wave, sr = load_audio(path)
    assert sr == 8000 and len(record) == 1
    msg = str(record[0].message)
    assert path in msg and '8000 Hz' in msg and '4000 Hz' in msg and '14 of the 64 mel bands stay empty' in msg
    # the bands the message counts are empty whatever the sound: white noise fills everything below 4 kHz
    noise = np.random.default_rng(0).standard_normal(8000 * 2).astype(np.float32) * 0.1
    mel = clip_log_mel(to_mono_16k(noise, 8000), 1)[0, 0]
    assert empty_mel_bands(8000) == 14
    assert (mel[:, -14:] < np.log(0.01) + 0.3).all() and (mel[:, :40] > np.log(0.01) + 2).all()
    assert empty_mel_bands(16000) == 0 and empty_mel_bands(11025) == 6
    for rate in (16000, 44100):
        ok = str(tmp_path / f'{rate}.wav')
        sf.write(ok, np.zeros(rate, np.float32), rate)
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            load_audio(ok)


@pytest.fixture
def run_log(tmp_path):
    """A current MMLogger with a log file, as a runner creates one; removed afterwards."""
    from mmengine.logging import MMLogger
    name = f'avsseg_test_audio_{tmp_path.name}'
    log_file = tmp_path / 'run.log'
    logger = MMLogger.get_instance(name, log_file=str(log_file))
    yield log_file
    for handler in logger.handlers:
        handler.close()
    MMLogger._instance_dict.pop(name, None)


def test_padding_and_rate_warnings_reach_the_run_log(tmp_path, run_log, capsys):
    path = str(tmp_path / 'short8k.wav')
    sf.write(path, np.full(int(8000 * 2.5), 0.1, np.float32), 8000)
    with pytest.warns(UserWarning):
        clip_log_mel(to_mono_16k(*load_audio(path)), 5, path)
    text = run_log.read_text()
    assert f'LowSampleRateWarning: {path}: sample rate 8000 Hz' in text
    assert f'AudioPaddingWarning: {path}: audio gives 2 VGGish example(s)' in text and 'WARNING' in text
    # written to the file, not printed a second time by the logger's console handler
    assert 'VGGish example' not in capsys.readouterr().out


def _pad_in_worker(path):
    clip_log_mel(to_mono_16k(*load_audio(path)), 5, path)
    return True


def test_warnings_of_forked_dataloader_workers_reach_the_run_log(tmp_path, run_log):
    import multiprocessing
    paths = []
    for i in range(2):
        paths.append(str(tmp_path / f'w{i}.wav'))
        sf.write(paths[-1], np.full(16000 * 3, 0.1, np.float32), 16000)
    with multiprocessing.get_context('fork').Pool(2, initializer=forked_worker_init) as pool:
        assert pool.map(_pad_in_worker, paths) == [True, True]
    text = run_log.read_text()
    assert all(f'AudioPaddingWarning: {p}: audio gives 3 VGGish example(s)' in text for p in paths)
