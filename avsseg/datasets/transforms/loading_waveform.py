"""Loading a clip's audio as one raw 1 s waveform window per frame (for taggers/encoders with their own front end)."""
from typing import Dict

import numpy as np

from avsseg.registry import TRANSFORMS
from ..audio import TARGET_SAMPLE_RATE, AudioPaddingWarning, load_audio, to_mono_16k, warn_to_log
from .loading import LoadClipAudio


@TRANSFORMS.register_module()
class LoadClipWaveform(LoadClipAudio):
    """Load a clip's audio as 16 kHz mono waveform windows, one second per frame: ``audio`` float32 ``[T, 16000]``.

    The input of audio backbones that own their front end (:class:`~avsseg.models.audio_backbones.KaldiFbank` in
    BEATs / :class:`~avsseg.models.audio_backbones.HFAudioTagger`, the feature extractors of
    :class:`~avsseg.models.audio_backbones.HFAudioEncoder`). Seed 001 and BAVS feed "an audio signal clip with a
    duration of 1 second" at 16 kHz per frame; frame ``t`` gets samples ``[16000 t, 16000 (t + 1))``, second
    ``t`` of the clip (the AVSBench convention, seed001.md 3).

    The audio file (any rate and channel count; an official ``.pkl`` log-mel cannot give a waveform and is an
    error naming the file) is downmixed to mono and resampled to 16 kHz (:func:`~avsseg.datasets.audio.to_mono_16k`,
    as :class:`LoadClipAudio`). Audio shorter than the clip's real frames is padded at the end, with an
    :class:`~avsseg.datasets.audio.AudioPaddingWarning` naming the file and the padded length: with zeros
    (``pad_mode='zero'``, default: seed001.md 3 "zero-padded if short") or by repeating the last whole second
    (``'repeat'``, as the official S4/MS3 log-mel preprocessing repeats the last example). Longer audio is cut
    after the last frame. Padded frames (``frame_flags['is_padded']``, at the end of AVSS clips) get zero windows.

    Test-time perturbations work as for :class:`LoadClipAudio`, of which this is a subclass (so
    :class:`~avsseg.datasets.AudioPerturbedDataset` accepts a pipeline holding it): a waveform in
    ``results['audio_waveform']`` (16 kHz mono, put there by :class:`ClipAudioPerturbation` for silence, noise and
    off-screen mixes) is cut into windows instead of reading ``audio_path``; a swap changes ``audio_path``; a clip
    whose ``audio_perturbation`` was not applied is refused.

    Required keys: ``audio_path``, ``num_frames`` (or ``imgs``), optional ``frame_flags``, ``audio_waveform``,
    ``audio_waveform_source``.

    Added keys: ``audio`` (float32 ``[T, 16000]``). Removed keys: ``audio_waveform``, ``audio_waveform_source``.

    Args:
        pad_mode: ``'zero'`` (default) or ``'repeat'``, see above.
    """

    #: Samples of one frame's window (1 s at 16 kHz).
    WINDOW = TARGET_SAMPLE_RATE

    def __init__(self, pad_mode: str = 'zero'):
        if pad_mode not in ('repeat', 'zero'):
            raise ValueError(f"LoadClipWaveform: pad_mode must be 'repeat' or 'zero', got {pad_mode!r}")
        self.pad_mode = pad_mode

    def _windows(self, wave: np.ndarray, num_windows: int, source: str) -> np.ndarray:
        """``[samples]`` 16 kHz mono -> ``[num_windows, 16000]``, padded as ``pad_mode`` says."""
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1:
            raise ValueError(f'LoadClipWaveform: {source}: expected a mono waveform [samples], got shape '
                             f'{wave.shape}')
        if wave.size == 0:
            raise ValueError(f'LoadClipWaveform: {source}: audio is empty (0 samples)')
        if not np.isfinite(wave).all():
            raise ValueError(f'LoadClipWaveform: {source}: the waveform contains '
                             f'{int((~np.isfinite(wave)).sum())} NaN/inf value(s)')
        needed = num_windows * self.WINDOW
        missing = needed - wave.size
        if missing > 0:
            if self.pad_mode == 'repeat' and wave.size >= self.WINDOW:
                whole = wave.size // self.WINDOW
                last = wave[(whole - 1) * self.WINDOW:whole * self.WINDOW]
                tail = np.tile(last, num_windows - whole)
                wave = np.concatenate([wave[:whole * self.WINDOW], tail])
                how = 'repeating the last whole second'
            else:
                wave = np.concatenate([wave, np.zeros(missing, np.float32)])
                how = 'zeros' if self.pad_mode == 'zero' else 'zeros (shorter than one second: nothing to repeat)'
            warn_to_log(
                f'{source}: audio is {(needed - missing) / TARGET_SAMPLE_RATE:.3f} s but {num_windows} frames need '
                f'{num_windows} s; padded {missing / TARGET_SAMPLE_RATE:.3f} s with {how}',
                AudioPaddingWarning,
                stacklevel=3)
        return np.ascontiguousarray(wave[:needed].reshape(num_windows, self.WINDOW))

    def transform(self, results: Dict) -> Dict:
        clip_id = results.get('clip_id')
        path = results['audio_path']
        wave = results.pop('audio_waveform', None)
        source = results.pop('audio_waveform_source', None) or f'waveform given for {path}'
        if results.get('audio_perturbation') is not None and not results.get('audio_perturbation_applied'):
            raise ValueError(f'LoadClipWaveform: clip {clip_id} carries audio_perturbation='
                             f'{results["audio_perturbation"]!r} but it was not applied; wrap the dataset in '
                             'AudioPerturbedDataset (tools/test.py --audio-perturb does)')
        num_frames = results.get('num_frames', len(results.get('imgs', ())))
        if not num_frames:
            raise KeyError(f'LoadClipWaveform: clip {clip_id} gives neither num_frames nor imgs')
        padded = list(results.get('frame_flags', {}).get('is_padded', [False] * num_frames))
        num_real = num_frames - sum(padded)
        if any(padded[:num_real]) or num_real < 1:
            raise ValueError(f'LoadClipWaveform: clip {clip_id} must have its padded frames at the end, got '
                             f'is_padded={padded}')
        if wave is None:
            if str(path).lower().endswith('.pkl'):
                raise ValueError(f'LoadClipWaveform: audio of clip {clip_id} is a pre-computed VGGish log-mel .pkl '
                                 f'({path}), which holds no waveform; use the wav files (AVSBench readers: '
                                 "audio_source='wav')")
            wave, source = to_mono_16k(*load_audio(path)), path
        windows = self._windows(wave, num_real, source)
        if num_real < num_frames:
            windows = np.concatenate([windows, np.zeros((num_frames - num_real, self.WINDOW), np.float32)])
        results['audio'] = windows
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(pad_mode={self.pad_mode!r})'
