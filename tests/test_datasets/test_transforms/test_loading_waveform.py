"""LoadClipWaveform: one 1 s, 16 kHz mono window per frame, perturbations, and the way to the audio backbone."""
import os.path as osp
from functools import partial

import numpy as np
import pytest
import soundfile as sf
import torch

from avsseg.datasets import AudioPerturbedDataset, AVSBenchS4Dataset, AVSBenchSemanticDataset
from avsseg.datasets.audio import AudioPaddingWarning, add_white_noise, load_audio, mix_at_snr, to_mono_16k
from avsseg.datasets.transforms import LoadClipFrames, LoadClipWaveform, PackAVSInputs, avs_collate
from avsseg.models.data_preprocessor import AVSDataPreprocessor
from avsseg.registry import TRANSFORMS

S4Dataset = partial(AVSBenchS4Dataset, serialize_data=False)
FREQS = (220.0, 440.0, 880.0, 1760.0, 3520.0)  # one pitch per second


def _write_steps(path, sr=48000, channels=2, seconds=5):
    """A wav whose second ``t`` is a sine of ``FREQS[t]``."""
    t = np.arange(sr) / sr
    wave = np.concatenate([0.3 * np.sin(2 * np.pi * FREQS[i] * t) for i in range(seconds)]).astype(np.float32)
    sf.write(path, np.stack([wave] * channels, axis=1), sr, subtype='FLOAT')
    return str(path)


def _peak_hz(window):
    spectrum = np.abs(np.fft.rfft(window))
    return np.fft.rfftfreq(window.size, 1 / 16000)[spectrum.argmax()]


def test_48k_stereo_is_mono_16k_and_frame_t_is_second_t(tmp_path):
    path = _write_steps(tmp_path / 'steps.wav')
    transform = TRANSFORMS.build(dict(type='LoadClipWaveform'))
    out = transform(dict(clip_id='c', audio_path=path, num_frames=5))['audio']
    assert out.dtype == np.float32 and out.shape == (5, 16000)
    np.testing.assert_array_equal(out, to_mono_16k(*load_audio(path)).reshape(5, 16000))
    assert [round(_peak_hz(w)) for w in out] == [round(f) for f in FREQS]
    # fewer frames than seconds: the first ones
    out3 = transform(dict(clip_id='c', audio_path=path, num_frames=3))['audio']
    np.testing.assert_array_equal(out3, out[:3])


def test_short_audio_is_padded_with_a_warning_naming_the_file(tmp_path):
    path = _write_steps(tmp_path / 'short.wav', sr=16000, channels=1, seconds=3)
    wave = to_mono_16k(*load_audio(path))[:2 * 16000 + 8000]  # 2.5 s
    with pytest.warns(AudioPaddingWarning, match=r'short.wav: audio is 2.500 s but 4 frames .* padded 1.500 s with '
                      'zeros'):
        out = LoadClipWaveform()(dict(clip_id='c', audio_path=path, num_frames=4, audio_waveform=wave,
                                      audio_waveform_source=path))['audio']
    np.testing.assert_array_equal(out.reshape(-1)[:40000], wave)
    assert not out.reshape(-1)[40000:].any()
    with pytest.warns(AudioPaddingWarning, match='repeating the last whole second'):
        rep = LoadClipWaveform(pad_mode='repeat')(dict(clip_id='c', audio_path=path, num_frames=4,
                                                       audio_waveform=wave))['audio']
    np.testing.assert_array_equal(rep[:2], wave[:32000].reshape(2, 16000))
    np.testing.assert_array_equal(rep[2], rep[1])
    np.testing.assert_array_equal(rep[3], rep[1])


def test_padded_frames_get_zero_windows(tmp_path):
    path = _write_steps(tmp_path / 'a.wav', sr=16000, channels=1, seconds=3)
    flags = dict(is_labeled=[True] * 5, is_padded=[False, False, False, True, True])
    out = LoadClipWaveform()(dict(clip_id='c', audio_path=path, num_frames=5, frame_flags=flags))['audio']
    assert out.shape == (5, 16000) and out[:3].any(axis=1).all() and not out[3:].any()
    with pytest.raises(ValueError, match='padded frames at the end'):
        LoadClipWaveform()(dict(clip_id='c', audio_path=path, num_frames=3,
                                frame_flags=dict(is_padded=[True, False, False])))


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="pad_mode must be 'repeat' or 'zero'"):
        LoadClipWaveform(pad_mode='edge')
    with pytest.raises(ValueError, match=r'pre-computed VGGish log-mel .pkl \(.*x.pkl\)'):
        LoadClipWaveform()(dict(clip_id='c', audio_path=str(tmp_path / 'x.pkl'), num_frames=5))
    with pytest.raises(ValueError, match='was not applied'):
        LoadClipWaveform()(dict(clip_id='c', audio_path='a.wav', num_frames=5, audio_perturbation=dict(type='noise')))
    with pytest.raises(ValueError, match='NaN/inf'):
        LoadClipWaveform()(dict(clip_id='c', audio_path='a.wav', num_frames=1,
                                audio_waveform=np.full(16000, np.nan, np.float32)))
    with pytest.raises(FileNotFoundError):
        LoadClipWaveform()(dict(clip_id='c', audio_path=str(tmp_path / 'missing.wav'), num_frames=5))


def _s4(root, split='train'):
    return S4Dataset(split=split, data_root=root, audio_source='wav',
                     pipeline=[LoadClipFrames(), LoadClipWaveform(), PackAVSInputs()])


def test_perturbations_change_the_waveform_before_the_windows(s4_root):
    clean = _s4(s4_root)
    wave0 = to_mono_16k(*load_audio(clean.get_data_info(0)['audio_path']))
    np.testing.assert_array_equal(clean[0]['inputs']['audio'].numpy(), wave0.reshape(5, 16000))

    silent = AudioPerturbedDataset(_s4(s4_root), perturbation=dict(type='silence'))
    assert not silent[0]['inputs']['audio'].any()

    noisy = AudioPerturbedDataset(_s4(s4_root), perturbation=dict(type='noise', snr_db=5.0, seed=3))
    pert = noisy.get_data_info(0)['audio_perturbation']
    expected = add_white_noise(wave0, 5.0, rng=pert['seed']).reshape(5, 16000)
    np.testing.assert_allclose(noisy[0]['inputs']['audio'].numpy(), expected, atol=1e-7)

    off = AudioPerturbedDataset(_s4(s4_root), perturbation=dict(type='offscreen', snr_db=3.0))
    info = off.get_data_info(1)
    other = to_mono_16k(*load_audio(info['audio_perturbation']['other_audio_path']))
    wave1 = to_mono_16k(*load_audio(info['audio_path']))
    np.testing.assert_allclose(off[1]['inputs']['audio'].numpy(), mix_at_snr(wave1, other, 3.0).reshape(5, 16000),
                               atol=1e-7)

    swapped = AudioPerturbedDataset(_s4(s4_root), perturbation=dict(type='swap', seed=0))
    info = swapped.get_data_info(2)
    partner = to_mono_16k(*load_audio(info['audio_perturbation']['other_audio_path']))
    item = swapped[2]
    np.testing.assert_array_equal(item['inputs']['audio'].numpy(), partner.reshape(5, 16000))
    assert item['data_samples'][0].metainfo['audio_path'] == info['audio_perturbation']['other_audio_path']


def test_collate_and_preprocessor_give_the_backbone_rows_b_t(avss_root):
    """AVSS clips of 5 and 10 frames: [B*T, 16000], row b*T + t is second t of clip b, padded frames zero."""
    ds = AVSBenchSemanticDataset(split='train', data_root=avss_root, serialize_data=False, audio_source='wav',
                                 pipeline=[LoadClipFrames(), LoadClipWaveform(), PackAVSInputs()])
    items = [ds[i] for i in range(2)]
    batch = avs_collate(items)
    assert [a.shape for a in batch['inputs']['audio']] == [(items[0]['inputs']['audio'].shape)] * 2
    out = AVSDataPreprocessor()(batch)
    audio = out['inputs']['audio']
    num_frames = items[0]['inputs']['audio'].shape[0]
    assert audio.dtype == torch.float32 and audio.shape == (2 * num_frames, 16000)
    for b, item in enumerate(items):
        np.testing.assert_array_equal(audio[b * num_frames:(b + 1) * num_frames].numpy(),
                                      item['inputs']['audio'].numpy())
        padded = [s.metainfo['is_padded'] for s in item['data_samples']]
        rows = audio[b * num_frames:(b + 1) * num_frames]
        assert all(not rows[t].any() for t in range(num_frames) if padded[t])
        wave = to_mono_16k(*load_audio(item['data_samples'][0].metainfo['audio_path']))
        real = sum(not p for p in padded)
        np.testing.assert_array_equal(rows[0].numpy(), wave[:16000])
        assert real >= 1 and osp.basename(item['data_samples'][0].metainfo['audio_path']) == 'audio.wav'
