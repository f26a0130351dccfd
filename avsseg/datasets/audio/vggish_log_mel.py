"""VGGish's log-mel front end in torchaudio, and the per-clip example layout the AVSBench preprocessing uses.

VGGish (Hershey et al., ICASSP 2017; tensorflow/models ``research/audioset/vggish``) computes, from 16 kHz
mono audio: frames of 25 ms (400 samples) every 10 ms (160 samples), a periodic Hann window, the magnitude
of a 512-point real FFT (the 400 samples zero-padded), 64 mel bands between 125 and 7500 Hz whose triangles
are built in HTK mel space with the DC bin zeroed, ``log(mel + 0.01)``, and then non-overlapping examples of
96 frames (0.96 s). ``torchaudio.transforms.MelSpectrogram`` reproduces the STFT part exactly when given
``pad=56, center=False`` (torch centres a 400-sample window inside 512 FFT points, so padding by the 56-point
offset aligns frame ``k`` with samples ``[160k, 160k + 400)``); its own filterbank is built in Hz rather than
in mel space (up to 0.01 off), so it is overwritten with VGGish's matrix.
"""
import functools
from typing import Union

import numpy as np
import torch
import torchaudio
from torch import Tensor, nn

from .warning_log import warn_to_log

SAMPLE_RATE = 16000
WINDOW_LENGTH = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
FFT_LENGTH = 512  # next power of two above the window
NUM_MEL_BINS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s
EXAMPLE_HOP_FRAMES = 96
#: Fewest samples giving one full example: 96 frames need 400 + 95 * 160 samples (0.975 s).
MIN_EXAMPLE_SAMPLES = WINDOW_LENGTH + (EXAMPLE_FRAMES - 1) * HOP_LENGTH
EXAMPLE_SECONDS = EXAMPLE_FRAMES * HOP_LENGTH / SAMPLE_RATE

# HTK mel scale: mel = 1127 * ln(1 + hz / 700).
_MEL_BREAK_HZ = 700.0
_MEL_Q = 1127.0


class AudioPaddingWarning(UserWarning):
    """Audio was shorter than the clip needs and was padded (the message says what and by how much)."""


class LowSampleRateWarning(UserWarning):
    """Audio was recorded below 16 kHz: the upper mel bands of its VGGish log-mel stay empty."""


def hz_to_mel(hz: Union[float, np.ndarray]) -> np.ndarray:
    """HTK mel scale, ``1127 * ln(1 + hz / 700)``."""
    return _MEL_Q * np.log1p(np.asarray(hz, dtype=np.float64) / _MEL_BREAK_HZ)


def vggish_mel_matrix(num_mel_bins: int = NUM_MEL_BINS,
                      num_spectrogram_bins: int = FFT_LENGTH // 2 + 1,
                      sample_rate: int = SAMPLE_RATE,
                      lower_edge_hz: float = MEL_MIN_HZ,
                      upper_edge_hz: float = MEL_MAX_HZ) -> np.ndarray:
    """Mel weight matrix of VGGish's front end (``mel_features.spectrogram_to_mel_matrix``).

    The spectrogram bins are taken as evenly spaced from 0 Hz to Nyquist and mapped to mel. The band edges
    are ``num_mel_bins + 2`` points evenly spaced in mel between the two edge frequencies; band ``i`` is a
    triangle rising from edge ``i`` to a peak of 1 at edge ``i+1`` and falling to 0 at edge ``i+2``, linear
    in mel (not in Hz). The DC bin gets weight 0 in every band.

    Returns:
        np.ndarray: float64 ``[num_spectrogram_bins, num_mel_bins]``; ``spectrogram @ matrix`` gives mel.
    """
    nyquist = sample_rate / 2.0
    if lower_edge_hz < 0.0:
        raise ValueError(f'lower_edge_hz must be >= 0, got {lower_edge_hz}')
    if lower_edge_hz >= upper_edge_hz:
        raise ValueError(f'lower_edge_hz {lower_edge_hz} must be below upper_edge_hz {upper_edge_hz}')
    if upper_edge_hz > nyquist:
        raise ValueError(f'upper_edge_hz {upper_edge_hz} exceeds the Nyquist frequency {nyquist}')
    bins_mel = hz_to_mel(np.linspace(0.0, nyquist, num_spectrogram_bins))[:, None]  # [F, 1]
    edges = np.linspace(hz_to_mel(lower_edge_hz), hz_to_mel(upper_edge_hz), num_mel_bins + 2)
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]  # [M] each
    rising = (bins_mel - left) / (centre - left)
    falling = (right - bins_mel) / (right - centre)
    matrix = np.clip(np.minimum(rising, falling), 0.0, None)
    matrix[0, :] = 0.0
    return matrix


def periodic_hann(length: int) -> np.ndarray:
    """Periodic Hann window ``0.5 - 0.5 cos(2 pi n / length)``, float64 ``[length]``."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi / length * np.arange(length))


class VGGishLogMel(nn.Module):
    """VGGish's log-mel spectrogram: 16 kHz waveform -> log-mel frames.

    ``torchaudio.transforms.MelSpectrogram(n_fft=512, win_length=400, hop_length=160, pad=56, center=False,
    power=1)`` with a periodic Hann window, whose filterbank is replaced by :func:`vggish_mel_matrix`,
    followed by ``log(mel + 0.01)``. Built with ``dtype=torch.float64`` it matches VGGish's (float64) numpy
    code to rounding (~1e-12). In float32 the FFT's noise floor (~1e-7 of the loudest bin) shows in quiet
    bands, where ``log`` near the 0.01 offset amplifies it: up to ~5e-4 on a pure synthetic tone, ~3e-5
    once the audio has a -40 dB noise floor as recordings do. ``waveform_to_examples`` uses float64.

    Args:
        dtype: dtype of the window and filterbank buffers (inputs are cast to it).

    Shapes:
        ``[N]`` or ``[..., N]`` samples at 16 kHz (N >= 400) -> ``[..., 1 + (N - 400) // 160, 64]``.
    """

    def __init__(self, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE,
            n_fft=FFT_LENGTH,
            win_length=WINDOW_LENGTH,
            hop_length=HOP_LENGTH,
            f_min=MEL_MIN_HZ,
            f_max=MEL_MAX_HZ,
            pad=(FFT_LENGTH - WINDOW_LENGTH) // 2,
            n_mels=NUM_MEL_BINS,
            window_fn=torch.hann_window,
            power=1.0,
            normalized=False,
            center=False,
            norm=None,
            mel_scale='htk')
        # Both buffers are recomputed in float64 from VGGish's formulas so the float64 variant is exact.
        self.mel.spectrogram.window = torch.as_tensor(periodic_hann(WINDOW_LENGTH), dtype=dtype)
        self.mel.mel_scale.fb = torch.as_tensor(vggish_mel_matrix(), dtype=dtype)

    def forward(self, wave: Tensor) -> Tensor:
        if wave.dim() < 1:
            raise ValueError('expected a waveform [N] or [B, N], got a scalar')
        if wave.shape[-1] < WINDOW_LENGTH:
            raise ValueError(f'VGGish log-mel needs at least {WINDOW_LENGTH} samples (25 ms at 16 kHz), '
                             f'got {wave.shape[-1]}')
        wave = wave.to(self.mel.spectrogram.window.dtype)
        mel = self.mel(wave)  # [..., 64, frames]
        return torch.log(mel + LOG_OFFSET).transpose(-1, -2)


def empty_mel_bands(sample_rate: int) -> int:
    """How many of VGGish's 64 mel bands lie wholly above the Nyquist frequency of ``sample_rate``.

    Resampling to 16 kHz cannot restore frequencies the recording never had, so these bands hold only the log
    offset (``log(0.01)``), for any sound: at 8 kHz 14 bands (those above 4 kHz), at 11.025 kHz 6. The
    resampler's low-pass filter also empties part of the band just below.
    """
    edges = np.linspace(hz_to_mel(MEL_MIN_HZ), hz_to_mel(MEL_MAX_HZ), NUM_MEL_BINS + 2)
    lower_edges_hz = _MEL_BREAK_HZ * np.expm1(edges[:-2] / _MEL_Q)
    return int((lower_edges_hz >= sample_rate / 2.0).sum())


@functools.lru_cache(maxsize=1)
def _float64_front_end() -> VGGishLogMel:
    return VGGishLogMel(dtype=torch.float64).eval()


def waveform_to_examples(wave16k: Union[np.ndarray, Tensor]) -> np.ndarray:
    """VGGish input examples of a 16 kHz mono waveform, as ``vggish_input.waveform_to_examples``.

    Log-mel frames are computed in float64 (as VGGish's numpy code) and cut into non-overlapping
    96-frame examples; trailing frames that do not fill an example are dropped. Audio shorter than one
    example (0.975 s) gives zero examples.

    Args:
        wave16k: float ``[samples]`` at 16 kHz.

    Returns:
        np.ndarray: float32 ``[K, 1, 96, 64]``.
    """
    wave = torch.as_tensor(wave16k).detach().cpu().to(torch.float64)
    if wave.dim() != 1:
        raise ValueError(f'expected a mono waveform [samples], got shape {tuple(wave.shape)}; '
                         'use to_mono_16k first')
    if wave.numel() < MIN_EXAMPLE_SAMPLES:
        return np.zeros((0, 1, EXAMPLE_FRAMES, NUM_MEL_BINS), dtype=np.float32)
    with torch.no_grad():
        frames = _float64_front_end()(wave)  # [F, 64]
    num_examples = 1 + (frames.shape[0] - EXAMPLE_FRAMES) // EXAMPLE_HOP_FRAMES
    examples = frames[:num_examples * EXAMPLE_FRAMES].reshape(num_examples, 1, EXAMPLE_FRAMES, NUM_MEL_BINS)
    return examples.numpy().astype(np.float32)


def _check_finite(array: np.ndarray, what: str, path: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f'{path or "<audio>"}: {what} contains {int(bad.sum())} NaN/inf value(s)')


def fit_examples(examples: np.ndarray,
                 num_segments: int,
                 path: str = '',
                 pad_mode: str = 'repeat') -> np.ndarray:
    """Pads or trims ``[K, 1, 96, 64]`` examples to ``num_segments``, warning when it pads.

    More examples than segments: the first ``num_segments`` are kept. Fewer: the missing ones are filled
    with the last example (``pad_mode='repeat'``, as the official AVSBench S4/MS3 preprocessing does) or
    with zeros (``pad_mode='zero'``, as the official AVSS loader does), and an :class:`AudioPaddingWarning`
    names the file and the number of padded examples.
    """
    if num_segments < 1:
        raise ValueError(f'num_segments must be >= 1, got {num_segments}')
    if pad_mode not in ('repeat', 'zero'):
        raise ValueError(f"pad_mode must be 'repeat' or 'zero', got {pad_mode!r}")
    num_examples = examples.shape[0]
    if num_examples == 0:
        raise ValueError(f'{path or "<audio>"}: no VGGish examples to fit to {num_segments} segments')
    if num_examples >= num_segments:
        return np.ascontiguousarray(examples[:num_segments], dtype=np.float32)
    missing = num_segments - num_examples
    if pad_mode == 'repeat':
        filler = np.repeat(examples[-1:], missing, axis=0)
        how = 'repeating the last example'
    else:
        filler = np.zeros((missing, ) + examples.shape[1:], dtype=examples.dtype)
        how = 'zero examples'
    warn_to_log(
        f'{path or "<audio>"}: audio gives {num_examples} VGGish example(s) but {num_segments} segments are '
        f'needed; padded {missing} example(s) ({missing * EXAMPLE_SECONDS:.2f} s) with {how}',
        AudioPaddingWarning,
        stacklevel=3)
    return np.concatenate([examples, filler], axis=0).astype(np.float32, copy=False)


def clip_log_mel(wave16k: Union[np.ndarray, Tensor],
                 num_segments: int,
                 path: str = '',
                 pad_mode: str = 'repeat') -> np.ndarray:
    """One VGGish example per second of a clip, as the official AVSBench preprocessing.

    Examples of the whole clip are computed (0.96 s each, no overlap), then trimmed to the first
    ``num_segments`` or padded (see :func:`fit_examples`). Audio shorter than one example (0.975 s, the
    400 + 95 * 160 samples 96 frames need) is first zero-padded at the end to that length, with a warning.

    Args:
        wave16k: float ``[samples]`` mono at 16 kHz.
        num_segments: T, the number of frames of the clip.
        path: file the audio came from (named in errors and warnings).
        pad_mode: ``'repeat'`` (default, S4/MS3 preprocessing) or ``'zero'`` (official AVSS loader).

    Returns:
        np.ndarray: float32 ``[T, 1, 96, 64]``.

    Raises:
        ValueError: empty audio, NaN/inf in the waveform or the features.
    """
    name = path or '<audio>'
    wave = torch.as_tensor(wave16k).detach().cpu().to(torch.float64)
    if wave.dim() != 1:
        raise ValueError(f'{name}: expected a mono waveform [samples], got shape {tuple(wave.shape)}')
    if wave.numel() == 0:
        raise ValueError(f'{name}: audio is empty (0 samples)')
    _check_finite(wave.numpy(), 'the waveform', path)
    if wave.numel() < MIN_EXAMPLE_SAMPLES:
        pad = MIN_EXAMPLE_SAMPLES - wave.numel()
        warn_to_log(
            f'{name}: audio is {wave.numel() / SAMPLE_RATE:.3f} s, shorter than one VGGish example; '
            f'zero-padded the waveform by {pad} samples ({pad / SAMPLE_RATE:.3f} s) to '
            f'{MIN_EXAMPLE_SAMPLES / SAMPLE_RATE:.3f} s',
            AudioPaddingWarning,
            stacklevel=2)
        wave = torch.nn.functional.pad(wave, (0, pad))
    examples = waveform_to_examples(wave)
    _check_finite(examples, 'the log-mel features', path)
    return fit_examples(examples, num_segments, path, pad_mode)
