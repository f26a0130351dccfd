"""ClipAudioPerturbation (the waveform-level change) and LoadClipAudio's waveform hook, on hand-built results."""
import math
import os.path as osp

import numpy as np
import pytest

from avsseg.datasets.audio import clip_log_mel, load_audio, mix_at_snr, to_mono_16k
from avsseg.datasets.transforms import ClipAudioPerturbation, LoadClipAudio

SILENCE = math.log(0.01)  # VGGish log-mel of silence


def _results(audio_path, perturbation=None, num_frames=5, num_real=None):
    num_real = num_frames if num_real is None else num_real
    results = dict(clip_id='clip', audio_path=audio_path, num_frames=num_frames,
                   frame_flags=dict(is_labeled=[True] * num_frames,
                                    is_padded=[t >= num_real for t in range(num_frames)]))
    if perturbation is not None:
        results['audio_perturbation'] = perturbation
    return results


@pytest.fixture
def wavs(tmp_path, fake):
    own, other = str(tmp_path / 'own.wav'), str(tmp_path / 'other.wav')
    fake.write_wav(own, 5, sr=44100, channels=2, freq=440.0)
    fake.write_wav(other, 3, sr=8000, freq=1500.0)
    return own, other


def _wave(path):
    return to_mono_16k(*load_audio(path))


def _load(results):
    return LoadClipAudio()(ClipAudioPerturbation()(results))['audio']


def test_silence_any_format_and_padded_frames(wavs, tmp_path, fake):
    pkl = str(tmp_path / 'own.pkl')
    fake.write_pkl(pkl, 10)
    for path in (wavs[0], pkl):
        out = ClipAudioPerturbation()(_results(path, dict(type='silence', seed=0), num_frames=10, num_real=5))
        assert out['audio_path'] == path and out['audio_perturbation_applied']
        assert out['audio_waveform'].shape == (10 * 16000, ) and not out['audio_waveform'].any()
        audio = LoadClipAudio()(out)['audio']
        assert audio.shape == (10, 1, 96, 64)
        np.testing.assert_allclose(audio[:5], SILENCE, atol=1e-6)
        assert (audio[5:] == 0).all()  # padded frames stay zero, as without perturbation


def test_swap_redirects_the_audio_path(wavs):
    own, other = wavs
    swap = dict(type='swap', seed=0, other_audio_path=other, other_clip_id='b')
    out = ClipAudioPerturbation()(_results(own, swap, num_frames=3))
    assert out['audio_path'] == other and 'audio_waveform' not in out
    np.testing.assert_allclose(LoadClipAudio()(out)['audio'], clip_log_mel(_wave(other), 3), atol=1e-6)


def test_noise_and_offscreen_mix_waveforms(wavs):
    own, other = wavs
    noise = dict(type='noise', seed=3, snr_db=10.0)
    a, b = _load(_results(own, dict(noise))), _load(_results(own, dict(noise)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _load(_results(own, dict(noise, seed=4))))
    clean = clip_log_mel(_wave(own), 5)
    assert np.abs(a - clean).mean() > 0.01
    off = dict(type='offscreen', seed=0, snr_db=-3.0, other_audio_path=other, other_clip_id=None)
    out = ClipAudioPerturbation()(_results(own, off))
    assert out['audio_waveform_source'] == f'{own} + off-screen sound {other} at -3.0 dB'
    np.testing.assert_allclose(LoadClipAudio()(out)['audio'],
                               clip_log_mel(mix_at_snr(_wave(own), _wave(other), -3.0), 5), atol=1e-5)


def test_pkl_cannot_be_mixed(wavs, tmp_path, fake):
    own, other = wavs
    pkl = str(tmp_path / 'clip.pkl')
    fake.write_pkl(pkl, 5)
    with pytest.raises(ValueError, match=r'audio of clip clip is a pre-computed log-mel \.pkl .*clip\.pkl'):
        ClipAudioPerturbation()(_results(pkl, dict(type='noise', seed=0, snr_db=0.0)))
    off = dict(type='offscreen', seed=0, snr_db=0.0, other_audio_path=pkl, other_clip_id='x')
    with pytest.raises(ValueError, match=r'off-screen sound of clip clip .*clip\.pkl'):
        ClipAudioPerturbation()(_results(own, off))


def test_bad_results_are_refused(wavs):
    own, _ = wavs
    with pytest.raises(KeyError, match='no audio_perturbation'):
        ClipAudioPerturbation()(_results(own))
    with pytest.raises(ValueError, match="type 'reverse'"):
        ClipAudioPerturbation()(_results(own, dict(type='reverse', seed=0)))
    with pytest.raises(KeyError, match=r"lacks \['other_audio_path'\]"):
        ClipAudioPerturbation()(_results(own, dict(type='swap', seed=0)))
    with pytest.raises(KeyError, match=r"lacks \['snr_db'\]"):
        ClipAudioPerturbation()(_results(own, dict(type='noise', seed=0)))
    once = ClipAudioPerturbation()(_results(own, dict(type='silence', seed=0)))
    with pytest.raises(ValueError, match='already applied'):
        ClipAudioPerturbation()(once)


def test_load_clip_audio_refuses_an_unapplied_perturbation(wavs):
    """A clip that says it is perturbed but was loaded clean would be scored as perturbed: refused."""
    own, _ = wavs
    with pytest.raises(ValueError, match='not applied; wrap the dataset in AudioPerturbedDataset'):
        LoadClipAudio()(_results(own, dict(type='silence', seed=0)))


def test_load_clip_audio_waveform_hook(wavs):
    own, _ = wavs
    results = _results(own)
    results['audio_waveform'] = _wave(own)[:16000 * 3]
    results['audio_waveform_source'] = 'three seconds of own.wav'
    with pytest.warns(UserWarning, match='three seconds of own.wav: audio gives 3 VGGish example'):
        out = LoadClipAudio()(results)
    assert 'audio_waveform' not in out and 'audio_waveform_source' not in out
    full = clip_log_mel(_wave(own), 5)
    np.testing.assert_allclose(out['audio'][:3], full[:3], atol=1e-5)
    np.testing.assert_allclose(out['audio'][3:], np.repeat(full[2:3], 2, axis=0), atol=1e-5)
    assert osp.basename(out['audio_path']) == 'own.wav'


def test_fixed_offscreen_sound_is_decoded_once(wavs, monkeypatch):
    own, other = wavs
    from avsseg.datasets.transforms import clip_audio_perturbation as module
    decoded = []
    monkeypatch.setattr(module, 'load_audio', lambda path: decoded.append(path) or load_audio(path))
    transform = ClipAudioPerturbation()
    off = dict(type='offscreen', seed=0, snr_db=0.0, other_audio_path=other, other_clip_id=None)
    first = transform(_results(own, dict(off)))['audio_waveform']
    second = transform(_results(own, dict(off)))['audio_waveform']
    np.testing.assert_array_equal(first, second)
    assert decoded == [own, other, own]  # the off-screen sound once, each clip's own audio every time
    third = transform(_results(other, dict(off, other_audio_path=own)))['audio_waveform']  # another sound: reread
    np.testing.assert_allclose(third, mix_at_snr(_wave(other), _wave(own), 0.0), atol=1e-6)
    assert decoded[3:] == [other, own]
