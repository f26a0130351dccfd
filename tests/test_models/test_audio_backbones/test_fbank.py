import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as ta_kaldi

from avsseg.models.audio_backbones import KaldiFbank
from avsseg.models.audio_backbones.fbank import FBANK_PRESETS
from avsseg.registry import MODELS


def _waves(n=2, length=16000, seed=0):
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 16000
    tone = torch.sin(2 * torch.pi * 440 * t)
    return (0.3 * tone + 0.1 * torch.randn(n, length, generator=gen)).float()


def test_beats_preset_is_beats_preprocess():
    wave = _waves()
    fbank = MODELS.build(dict(type='KaldiFbank', preset='beats'))
    out = fbank(wave)
    assert out.shape == (2, 98, 128)  # seed 001's "98 x 128" for 1 s at 16 kHz
    assert fbank.num_frames(16000) == 98
    # microsoft/unilm BEATs.preprocess, written out.
    ref = torch.stack([
        ta_kaldi.fbank(w.unsqueeze(0) * 2**15, num_mel_bins=128, sample_frequency=16000, frame_length=25,
                       frame_shift=10) for w in wave
    ])
    ref = (ref - 15.41663) / (2 * 6.55582)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_ast_preset_equals_ast_feature_extractor():
    from transformers import ASTFeatureExtractor
    wave = _waves(n=2, length=16000, seed=1)
    extractor = ASTFeatureExtractor()  # AudioSet defaults, as ast-finetuned-audioset-10-10-0.4593 ships them
    ref = extractor(list(wave.numpy()), sampling_rate=16000, return_tensors='pt')['input_values']
    out = KaldiFbank(preset='ast')(wave)
    assert out.shape == ref.shape == (2, 1024, 128)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    # Padding frames are zero log-mel, normalised like the rest.
    assert torch.allclose(out[:, 98:], torch.full_like(out[:, 98:], 4.2677393 / (2 * 4.5689974)))
    # Truncation to max_length, with a short max_length, as the extractor does.
    short = KaldiFbank(preset='ast', max_length=50)(wave)
    ref_short = ASTFeatureExtractor(max_length=50)(list(wave.numpy()), sampling_rate=16000,
                                                   return_tensors='pt')['input_values']
    torch.testing.assert_close(short, ref_short, rtol=1e-5, atol=1e-5)


def test_overrides_and_unnormalised():
    wave = _waves(n=1, length=8000)
    raw = KaldiFbank(preset='beats', std=None, num_mel_bins=64)(wave)
    assert raw.shape == (1, 48, 64)
    ref = ta_kaldi.fbank(wave * 2**15, num_mel_bins=64, sample_frequency=16000)
    torch.testing.assert_close(raw[0], ref, rtol=0, atol=0)
    full = KaldiFbank(sample_rate=16000, **FBANK_PRESETS['beats'])
    torch.testing.assert_close(full(wave), KaldiFbank(preset='beats')(wave), rtol=0, atol=0)


def test_bad_arguments_and_inputs_raise():
    with pytest.raises(ValueError, match="unknown preset 'vggish'"):
        KaldiFbank(preset='vggish')
    with pytest.raises(ValueError, match='must be given'):
        KaldiFbank(num_mel_bins=128)
    with pytest.raises(ValueError, match='max_length'):
        KaldiFbank(preset='ast', max_length=0)
    fbank = KaldiFbank(preset='beats')
    with pytest.raises(ValueError, match=r'expects float waveforms \[N, L\]'):
        fbank(torch.zeros(2, 1, 16000))
    with pytest.raises(ValueError, match='expects float'):
        fbank(torch.zeros(2, 16000, dtype=torch.int16))
    with pytest.raises(ValueError, match='shorter than one 25 ms window'):
        fbank(torch.zeros(2, 100))
    assert np.isfinite(fbank(torch.zeros(1, 16000)).numpy()).all()  # silence: log of the energy floor, finite
