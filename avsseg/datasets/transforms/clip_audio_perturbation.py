"""Applying a clip's test-time audio perturbation ahead of :class:`LoadClipAudio`."""
from typing import Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from avsseg.registry import TRANSFORMS
from ..audio import AUDIO_PERTURBATIONS, TARGET_SAMPLE_RATE, add_white_noise, load_audio, mix_at_snr, to_mono_16k


def _is_log_mel_pkl(path: str) -> bool:
    return str(path).lower().endswith('.pkl')


@TRANSFORMS.register_module()
class ClipAudioPerturbation(BaseTransform):
    """Change a clip's audio as ``results['audio_perturbation']`` says, before :class:`LoadClipAudio` loads it.

    :class:`~avsseg.datasets.AudioPerturbedDataset` decides the perturbation of every clip (which partner, which
    seed) and runs this transform on the clip's data info before the wrapped dataset's pipeline, so pipelines
    stay as the configs write them. The change is made on the waveform, before the VGGish log-mel, and handed
    to :class:`LoadClipAudio` through its one hook, ``results['audio_waveform']`` (float32 ``[samples]``, mono,
    16 kHz), which it turns into log-mel instead of reading ``audio_path``:

    - ``silence``: a zero waveform of ``num_frames`` seconds; its log-mel is ``log(0.01)`` everywhere, whatever
      the clip's audio format (``.pkl`` log-mel included);
    - ``swap``: ``audio_path`` becomes ``other_audio_path`` (another clip's audio, any format), which
      :class:`LoadClipAudio` then loads as usual, so the packed ``audio_path`` metainfo names the audio the
      model heard;
    - ``noise``: the clip's waveform plus white Gaussian noise seeded with ``seed`` at ``snr_db``;
    - ``offscreen``: the clip's waveform plus the waveform at ``other_audio_path`` (another clip's sound, or a
      fixed off-screen recording) at ``snr_db``.

    ``noise`` and ``offscreen`` mix waveforms, which the official pre-computed ``.pkl`` log-mel cannot give (the
    log-mel of a sum is not a sum of log-mels): a ``.pkl`` on either side is an error naming the file.

    Required keys: ``audio_path``, ``audio_perturbation`` (``dict(type, seed[, snr_db][, other_audio_path,
    other_clip_id])``), ``num_frames`` (for ``silence``), ``clip_id`` (for messages).

    Modified keys: ``audio_path`` (``swap``). Added keys: ``audio_waveform`` (float32 ``[samples]`` at 16 kHz)
    and ``audio_waveform_source`` (what it is, for :class:`LoadClipAudio`'s warnings and errors) for
    ``silence`` / ``noise`` / ``offscreen``; ``audio_perturbation_applied=True``, which :class:`LoadClipAudio`
    checks so that a perturbation that was set but never applied cannot pass for a perturbed evaluation.
    """

    def __init__(self):
        # (path, 16 kHz waveform) of the last off-screen sound: a fixed recording is decoded and resampled once,
        # not once per clip.
        self._last_other: Optional[Tuple[str, np.ndarray]] = None

    def _other_wave(self, path: str, clip_id) -> np.ndarray:
        if self._last_other is None or self._last_other[0] != path:
            self._last_other = (path, self._wave(path, 'off-screen sound', clip_id))
        return self._last_other[1]

    @staticmethod
    def _wave(path: str, what: str, clip_id) -> np.ndarray:
        if _is_log_mel_pkl(path):
            raise ValueError(f'ClipAudioPerturbation: {what} of clip {clip_id} is a pre-computed log-mel .pkl '
                             f'({path}), but this perturbation mixes waveforms; use waveform audio (AVSBench '
                             "readers: audio_source='wav')")
        return to_mono_16k(*load_audio(path))  # load_audio refuses missing, unreadable and empty files

    def transform(self, results: Dict) -> Dict:
        clip_id = results.get('clip_id')
        cfg = results.get('audio_perturbation')
        if not isinstance(cfg, dict):
            raise KeyError(f'ClipAudioPerturbation: clip {clip_id} has no audio_perturbation dict (got {cfg!r}); '
                           'wrap the dataset in AudioPerturbedDataset, which sets it')
        if results.get('audio_perturbation_applied'):
            raise ValueError(f'ClipAudioPerturbation: the audio perturbation of clip {clip_id} was already applied '
                             '(ClipAudioPerturbation in the pipeline of an AudioPerturbedDataset, which runs it '
                             'itself?)')
        kind = cfg.get('type')
        if kind not in AUDIO_PERTURBATIONS:
            raise ValueError(f'ClipAudioPerturbation: clip {clip_id} has audio_perturbation type {kind!r}, not one '
                             f'of {AUDIO_PERTURBATIONS}')
        path = results['audio_path']
        needed = dict(silence=(), swap=('other_audio_path', ), noise=('snr_db', 'seed'),
                      offscreen=('snr_db', 'other_audio_path'))[kind]
        missing = [key for key in needed if cfg.get(key) is None]
        if missing:
            raise KeyError(f'ClipAudioPerturbation: audio_perturbation {kind!r} of clip {clip_id} lacks {missing}: '
                           f'{cfg!r}')
        if kind == 'swap':
            results['audio_path'] = cfg['other_audio_path']
        elif kind == 'silence':
            num_frames = results.get('num_frames')
            if not num_frames:
                raise KeyError(f'ClipAudioPerturbation: clip {clip_id} has no num_frames (the silence length)')
            # LoadClipAudio keeps the first (real) seconds; padded frames get zeros there.
            results['audio_waveform'] = np.zeros(int(num_frames) * TARGET_SAMPLE_RATE, np.float32)
            results['audio_waveform_source'] = f'silence in place of {path}'
        else:
            snr_db = cfg['snr_db']
            wave = self._wave(path, 'audio', clip_id)
            if kind == 'noise':
                mixed = add_white_noise(wave, snr_db, rng=cfg['seed'])
                what = f'white noise at {snr_db} dB'
            else:
                other = cfg['other_audio_path']
                mixed = mix_at_snr(wave, self._other_wave(other, clip_id), snr_db)
                what = f'off-screen sound {other} at {snr_db} dB'
            results['audio_waveform'] = mixed
            results['audio_waveform_source'] = f'{path} + {what}'
        results['audio_perturbation_applied'] = True
        return results
