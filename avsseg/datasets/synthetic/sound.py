"""Waveforms of the synthetic categories and of whole clips.

Each category's recipe (see :mod:`.categories`) is rendered the same way in every clip, up to a small random
variation (pitch / rate factor of a few percent, level within +-3 dB, random phase), so a category sounds
recognisably the same everywhere while no two clips are sample-identical.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .categories import SyntheticCategory

#: Sample rate of every synthetic wav (VGGish's rate).
SAMPLE_RATE = 16000
#: RMS of one sounding source at 0 dB level jitter (about -20 dBFS).
SOURCE_RMS = 0.1
#: RMS of the background noise floor present in every clip (-80 dBFS); silent clips hold only this.
NOISE_FLOOR_RMS = 1e-4
#: Largest absolute sample value of one source in a mix.
MAX_SOURCE_PEAK = 0.6
#: Ramp (s) that softens gate / sweep edges so they do not add broadband clicks to tonal sounds.
_EDGE_RAMP = 0.005


def _band_noise(rng: np.random.Generator, n: int, sr: int, low: float, high: float) -> np.ndarray:
    """White noise band-passed to ``[low, high]`` Hz by zeroing FFT bins. Returns ``[n]`` float64."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    spec[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spec, n)


def _edge_envelope(tau: np.ndarray, length: float) -> np.ndarray:
    """Trapezoid window over ``tau`` in ``[0, length)`` with :data:`_EDGE_RAMP` second ramps."""
    ramp = min(_EDGE_RAMP, length / 4)
    return np.clip(np.minimum(tau, length - tau) / ramp, 0.0, 1.0)


def synthesize_source(recipe: Dict,
                      duration: float,
                      rng: np.random.Generator,
                      sr: int = SAMPLE_RATE,
                      pitch: float = 1.0,
                      rate: float = 1.0) -> np.ndarray:
    """Render one category's sound.

    Args:
        recipe: ``dict(kind=..., **params)`` from :class:`SyntheticCategory`. Kinds: ``harmonic`` (``f0``,
            ``num_harmonics``), ``noise_band`` (``low``, ``high``, optional ``am_rate``, ``am_depth``),
            ``sweep`` (``start``, ``stop`` Hz, ``rate`` sweeps/s), ``tremolo`` (``freq``, ``am_rate``),
            ``clicks`` (``rate``, ``decay`` s, ``low`` high-pass Hz), ``beeps`` (``freq``, ``rate``, ``duty``).
        duration: Length in seconds.
        rng: Source of the random phases / noise.
        sr: Sample rate.
        pitch: Factor applied to every frequency of the recipe.
        rate: Factor applied to every temporal rate (AM, sweep, click, beep rates).

    Returns:
        float64 ``[round(duration * sr)]`` waveform with unit RMS.
    """
    n = int(round(duration * sr))
    t = np.arange(n) / sr
    kind = recipe.get('kind')
    nyq = 0.95 * sr / 2
    if kind == 'harmonic':
        f0 = recipe['f0'] * pitch
        wave = np.zeros(n)
        for k in range(1, int(recipe['num_harmonics']) + 1):
            if k * f0 < nyq:
                wave += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
    elif kind == 'noise_band':
        wave = _band_noise(rng, n, sr, recipe['low'] * pitch, min(recipe['high'] * pitch, nyq))
        if recipe.get('am_rate'):
            depth = recipe.get('am_depth', 1.0)
            phase = rng.uniform(0, 2 * np.pi)
            wave *= 1 - depth * (0.5 - 0.5 * np.cos(2 * np.pi * recipe['am_rate'] * rate * t + phase))
    elif kind == 'sweep':
        period = 1.0 / (recipe['rate'] * rate)
        tau = (t + rng.uniform(0, period)) % period
        f_start, ratio = recipe['start'] * pitch, recipe['stop'] / recipe['start']
        # Exponential sweep f(tau) = f_start * ratio ** (tau / period); its phase is the integral of 2*pi*f.
        phase = 2 * np.pi * f_start * period / np.log(ratio) * (ratio**(tau / period) - 1)
        wave = np.sin(phase) * _edge_envelope(tau, period)
    elif kind == 'tremolo':
        carrier = np.sin(2 * np.pi * recipe['freq'] * pitch * t + rng.uniform(0, 2 * np.pi))
        wave = carrier * (0.5 - 0.5 * np.cos(2 * np.pi * recipe['am_rate'] * rate * t + rng.uniform(0, 2 * np.pi)))
    elif kind == 'clicks':
        period = 1.0 / (recipe['rate'] * rate)
        tau = (t + rng.uniform(0, period)) % period
        wave = _band_noise(rng, n, sr, recipe['low'] * pitch, nyq) * np.exp(-tau / recipe['decay'])
    elif kind == 'beeps':
        period = 1.0 / (recipe['rate'] * rate)
        on = recipe['duty'] * period
        tau = (t + rng.uniform(0, period)) % period
        freq = recipe['freq'] * pitch
        wave = np.sin(2 * np.pi * freq * t) * np.where(tau < on, _edge_envelope(tau, on), 0.0)
    else:
        raise ValueError(f'unknown synthetic sound kind {kind!r} in recipe {recipe}')
    rms = np.sqrt(np.mean(wave**2))
    if not rms > 0:
        raise ValueError(f'sound recipe {recipe} rendered silence for duration {duration}s')
    return wave / rms


def synthesize_clip_audio(sources: Sequence[SyntheticCategory],
                          num_seconds: int,
                          rng: np.random.Generator,
                          sr: int = SAMPLE_RATE,
                          pitch_jitter: float = 0.03,
                          level_jitter_db: float = 3.0) -> Tuple[np.ndarray, List[Dict]]:
    """Mix the sounds of the sounding categories of one clip over a quiet noise floor.

    The sounds play for the whole clip, so second ``k`` of the wav (the audio of frame ``k``) holds every
    source of the clip; with no sources the clip is the noise floor alone (a silent clip).

    Args:
        sources: Sounding categories (0 for a silent clip, 1 for S4 / v1s, 1-3 for MS3 / v1m / v2).
        num_seconds: Clip length T in seconds (one second per frame).
        rng: Random generator of this clip.
        sr: Sample rate.
        pitch_jitter: Each source's pitch / rate factor is drawn from ``1 +- pitch_jitter``.
        level_jitter_db: Each source's level is drawn within ``+-level_jitter_db`` dB of :data:`SOURCE_RMS`.

    Returns:
        ``(wave, info)``: float32 ``[num_seconds * sr]`` in [-1, 1] and one dict per source with the drawn
        ``pitch``, ``rate`` and ``gain_db``.
    """
    n = num_seconds * sr
    wave = rng.standard_normal(n) * NOISE_FLOOR_RMS
    info = []
    for cat in sources:
        pitch = float(rng.uniform(1 - pitch_jitter, 1 + pitch_jitter))
        rate = float(rng.uniform(1 - pitch_jitter, 1 + pitch_jitter))
        gain_db = float(rng.uniform(-level_jitter_db, level_jitter_db))
        src = synthesize_source(cat.sound, num_seconds, rng, sr=sr, pitch=pitch, rate=rate)
        src *= SOURCE_RMS * 10**(gain_db / 20)
        # Impulsive sounds (clicks) have a high crest factor; cap their peaks instead of letting them clip.
        peak = np.abs(src).max()
        if peak > MAX_SOURCE_PEAK:
            src *= MAX_SOURCE_PEAK / peak
        wave += src
        info.append(dict(category=cat.name, pitch=pitch, rate=rate, gain_db=gain_db))
    # A loud mixture is scaled down as a whole, never clipped, so every source keeps its spectrum.
    peak = np.abs(wave).max()
    if peak > 0.99:
        wave *= 0.99 / peak
    return wave.astype(np.float32), info
