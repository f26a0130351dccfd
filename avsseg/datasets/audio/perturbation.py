"""Test-time audio perturbations: their names, the default SNR and the waveform mixing they use.

The protocol (which clip gets which change) is :class:`avsseg.datasets.AudioPerturbedDataset`; the change itself
is applied by :class:`avsseg.datasets.transforms.ClipAudioPerturbation`.
"""
from typing import Optional, Union

import numpy as np

#: Test-time audio perturbations (the audio-sensitivity protocols of BAVS Table III and of the mutual-semantics
#: paper's Table 6).
AUDIO_PERTURBATIONS = ('silence', 'swap', 'noise', 'offscreen')

#: Perturbations that mix a sound into the clip's waveform (they need waveform audio, not ``.pkl`` log-mel).
WAVEFORM_PERTURBATIONS = ('noise', 'offscreen')

#: Default signal-to-noise ratio of the ``noise`` and ``offscreen`` perturbations. Neither paper states the
#: level it used (BAVS only says each test recording is "mixed with white noise" or "blended with" an
#: off-screen "electrical clipper" sound), so the default is 0 dB: equal power, a contamination in which the
#: on-screen source is still clearly audible. Set ``snr_db`` to sweep other levels.
DEFAULT_PERTURBATION_SNR_DB = 0.0

#: Power standing in for a silent signal's when scaling ``other`` (RMS 0.1, i.e. -20 dBFS: the level of
#: normalised speech/music in [-1, 1] audio). A silent signal has no power to set an SNR against.
SILENT_REFERENCE_POWER = 0.01


def _fit_length(other: np.ndarray, length: int) -> np.ndarray:
    """Loops (tiles) or trims ``other`` to ``length`` samples."""
    if other.shape[0] >= length:
        return other[:length]
    reps = -(-length // other.shape[0])
    return np.tile(other, reps)[:length]


def mix_at_snr(signal: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """Adds ``other`` to ``signal`` scaled so that ``power(signal) / power(scaled other)`` is ``snr_db``.

    ``other`` is looped or trimmed to the signal's length before its power is measured. Powers are means
    of squares over the whole waveform. When ``signal`` is silent (all zeros) its power is replaced by
    :data:`SILENT_REFERENCE_POWER` (RMS 0.1, -20 dBFS), so the result is ``other`` at that reference level
    minus ``snr_db``. The mixture is not clipped to [-1, 1]: the log-mel front end takes any float.

    Args:
        signal: float ``[samples]``.
        other: float ``[samples_other]``, e.g. white noise or an off-screen sound (same sample rate).
        snr_db: target signal-to-other ratio in dB.

    Returns:
        np.ndarray: float32 ``[samples]``, ``signal + gain * other``.
    """
    signal = np.asarray(signal, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if signal.ndim != 1 or other.ndim != 1:
        raise ValueError(f'mix_at_snr expects 1-D waveforms, got {signal.shape} and {other.shape}')
    if signal.size == 0:
        raise ValueError('mix_at_snr: the signal is empty')
    if other.size == 0:
        raise ValueError('mix_at_snr: the sound to mix in is empty')
    if not (np.isfinite(signal).all() and np.isfinite(other).all()):
        raise ValueError('mix_at_snr: the waveforms contain NaN/inf')
    if not np.isfinite(snr_db):
        raise ValueError(f'mix_at_snr: snr_db must be finite, got {snr_db}')
    other = _fit_length(other, signal.shape[0])
    other_power = float(np.mean(other**2))
    if other_power == 0.0:
        raise ValueError('mix_at_snr: the sound to mix in is silent, no gain gives the requested SNR')
    signal_power = float(np.mean(signal**2))
    if signal_power == 0.0:
        signal_power = SILENT_REFERENCE_POWER
    gain = np.sqrt(signal_power / (other_power * 10.0**(snr_db / 10.0)))
    return (signal + gain * other).astype(np.float32)


def add_white_noise(signal: np.ndarray,
                    snr_db: float,
                    rng: Optional[Union[int, np.random.Generator]] = None) -> np.ndarray:
    """Adds Gaussian white noise at ``snr_db`` (see :func:`mix_at_snr`); ``rng`` seeds the noise."""
    rng = np.random.default_rng(rng)
    signal = np.asarray(signal)
    return mix_at_snr(signal, rng.standard_normal(signal.shape[-1] if signal.ndim else 0), snr_db)
