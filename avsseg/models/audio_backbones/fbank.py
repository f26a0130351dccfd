"""Kaldi-compatible log-mel filter banks of 16 kHz waveforms, with the BEATs and AST front-end presets."""
from typing import Optional

import torch
import torchaudio.compliance.kaldi as ta_kaldi
from torch import Tensor, nn

from avsseg.registry import MODELS

#: Front ends of the pretrained audio taggers. Both normalise as ``(fbank - mean) / (2 * std)``.
#:
#: - ``'beats'``: microsoft/unilm ``BEATs/BEATs.py``, ``BEATs.preprocess``: ``waveform * 2**15``, then
#:   ``ta_kaldi.fbank(num_mel_bins=128, sample_frequency=16000, frame_length=25, frame_shift=10)`` (Kaldi's
#:   default povey window), then ``(fbank - 15.41663) / (2 * 6.55582)``; no padding (1 s -> 98 frames, the
#:   "98 x 128" spectrogram of seed 001, spec sheet seed001.md 1.2).
#: - ``'ast'``: transformers ``ASTFeatureExtractor`` (AudioSet defaults): the waveform unscaled (its
#:   ``* 2**15`` line is commented out), ``ta_kaldi.fbank(window_type='hanning', num_mel_bins=128)``, zero
#:   frames appended (before normalising) or frames cut to ``max_length=1024``, then
#:   ``(fbank - (-4.2677393)) / (2 * 4.5689974)``.
FBANK_PRESETS = dict(
    beats=dict(num_mel_bins=128, frame_length=25.0, frame_shift=10.0, window_type='povey', waveform_scale=2.0**15,
               mean=15.41663, std=6.55582, max_length=None),
    ast=dict(num_mel_bins=128, frame_length=25.0, frame_shift=10.0, window_type='hanning', waveform_scale=1.0,
             mean=-4.2677393, std=4.5689974, max_length=1024),
)


@MODELS.register_module()
class KaldiFbank(nn.Module):
    """16 kHz waveforms ``[N, L]`` -> normalised Kaldi log-mel filter banks ``[N, frames, num_mel_bins]``.

    A thin wrapper of ``torchaudio.compliance.kaldi.fbank`` (dither 0, Kaldi's other defaults: DC offset removal,
    pre-emphasis 0.97, 512-point FFT, ``snip_edges``), applied to each row, followed by the taggers'
    normalisation ``(fbank - mean) / (2 * std)`` and optional padding/truncation to ``max_length`` frames. With
    ``snip_edges`` there are ``1 + (L - window) // hop`` frames (16000 samples, 25/10 ms: 98 frames).

    ``preset`` gives every setting of a pretrained tagger's front end (see :data:`FBANK_PRESETS`, which names the
    source of each); explicit arguments override it:

    - ``'beats'`` (BEATs, seed 001 / BAVS): 1 s -> ``[98, 128]``;
    - ``'ast'`` (AST, ``ASTFeatureExtractor``): 1 s -> ``[1024, 128]`` (98 real frames, the rest padding, which
      AST's pretrained position embeddings expect; see :class:`HFAudioTagger`).

    Usage: ``KaldiFbank(preset='beats')(wave)`` with ``wave`` float ``[N, L]`` in [-1, 1] at 16 kHz (rows of
    :class:`~avsseg.datasets.transforms.LoadClipWaveform`'s ``[T, 16000]``) gives ``[N, 98, 128]``.
    No parameters; deterministic.

    Args:
        preset: ``'beats'``, ``'ast'`` or None (then every setting below must be given).
        sample_rate: sampling rate of the input in Hz (16000 for both presets).
        num_mel_bins: mel bands.
        frame_length / frame_shift: window and hop in milliseconds.
        window_type: Kaldi window (``'povey'``, ``'hanning'``, ``'hamming'``, ...).
        waveform_scale: factor applied to the waveform before the filter bank (``2**15``: 16-bit integer range).
        mean / std: normalisation ``(fbank - mean) / (2 * std)``; ``std=None`` leaves the log-mel unnormalised.
        max_length: pad (zero log-mel frames, before normalising) or truncate to this many frames; None keeps
            the natural frame count.
    """

    _UNSET = object()

    def __init__(self,
                 preset: Optional[str] = None,
                 sample_rate: int = 16000,
                 num_mel_bins=_UNSET,
                 frame_length=_UNSET,
                 frame_shift=_UNSET,
                 window_type=_UNSET,
                 waveform_scale=_UNSET,
                 mean=_UNSET,
                 std=_UNSET,
                 max_length=_UNSET):
        super().__init__()
        if preset is not None and preset not in FBANK_PRESETS:
            raise ValueError(f'KaldiFbank: unknown preset {preset!r}; choose one of {sorted(FBANK_PRESETS)} or None')
        settings = dict(FBANK_PRESETS[preset]) if preset is not None else {}
        given = dict(num_mel_bins=num_mel_bins, frame_length=frame_length, frame_shift=frame_shift,
                     window_type=window_type, waveform_scale=waveform_scale, mean=mean, std=std,
                     max_length=max_length)
        settings.update({k: v for k, v in given.items() if v is not self._UNSET})
        missing = sorted(k for k in given if k not in settings)
        if missing:
            raise ValueError(f'KaldiFbank: without a preset, {missing} must be given')
        if settings['max_length'] is not None and int(settings['max_length']) < 1:
            raise ValueError(f'KaldiFbank: max_length must be >= 1 or None, got {settings["max_length"]!r}')
        if settings['std'] is not None and not settings['std'] > 0:
            raise ValueError(f'KaldiFbank: std must be > 0 or None, got {settings["std"]!r}')
        self.preset = preset
        self.sample_rate = int(sample_rate)
        self.num_mel_bins = int(settings['num_mel_bins'])
        self.frame_length = float(settings['frame_length'])
        self.frame_shift = float(settings['frame_shift'])
        self.window_type = settings['window_type']
        self.waveform_scale = float(settings['waveform_scale'])
        self.mean = settings['mean']
        self.std = settings['std']
        self.max_length = None if settings['max_length'] is None else int(settings['max_length'])
        self.window_samples = int(self.sample_rate * self.frame_length * 1e-3)
        self.hop_samples = int(self.sample_rate * self.frame_shift * 1e-3)

    def num_frames(self, num_samples: int) -> int:
        """Frames of the output for ``num_samples`` input samples (``max_length`` when set)."""
        if self.max_length is not None:
            return self.max_length
        return 1 + (num_samples - self.window_samples) // self.hop_samples

    def forward(self, wave: Tensor) -> Tensor:
        """``[N, L]`` float waveforms -> ``[N, frames, num_mel_bins]`` (``frames = max_length`` when set)."""
        if wave.dim() != 2 or not wave.is_floating_point():
            raise ValueError(f'KaldiFbank expects float waveforms [N, L] at {self.sample_rate} Hz, got '
                             f'{wave.dtype} {list(wave.shape)}')
        if wave.shape[1] < self.window_samples:
            raise ValueError(f'KaldiFbank: waveforms of {wave.shape[1]} samples are shorter than one '
                             f'{self.frame_length:g} ms window ({self.window_samples} samples at '
                             f'{self.sample_rate} Hz)')
        # kaldi.fbank reads one channel of a [C, L] input, so rows are done one by one.
        feats = torch.stack([
            ta_kaldi.fbank(
                (row * self.waveform_scale).unsqueeze(0),
                sample_frequency=self.sample_rate,
                num_mel_bins=self.num_mel_bins,
                frame_length=self.frame_length,
                frame_shift=self.frame_shift,
                window_type=self.window_type,
                dither=0.0) for row in wave.float()
        ])
        if self.max_length is not None:
            diff = self.max_length - feats.shape[1]
            feats = feats[:, :self.max_length] if diff < 0 else nn.functional.pad(feats, (0, 0, 0, diff))
        if self.std is not None:
            feats = (feats - self.mean) / (2 * self.std)
        return feats

    def extra_repr(self) -> str:
        return (f'preset={self.preset!r}, sample_rate={self.sample_rate}, num_mel_bins={self.num_mel_bins}, '
                f'frame={self.frame_length:g}/{self.frame_shift:g} ms, window={self.window_type!r}, '
                f'waveform_scale={self.waveform_scale:g}, mean={self.mean}, std={self.std}, '
                f'max_length={self.max_length}')
