"""Reading audio without a system FFmpeg: soundfile for sound files, PyAV for audio inside video containers.

``torchaudio.load`` is not used: from torchaudio 2.9 it delegates to torchcodec, which needs a system FFmpeg
4-9. soundfile's wheel bundles libsndfile (WAV/FLAC/OGG/MP3/...), and PyAV's wheel bundles FFmpeg, so both
work on a bare machine.
"""
import os
from typing import List, Tuple

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from .vggish_log_mel import NUM_MEL_BINS, LowSampleRateWarning, empty_mel_bands
from .warning_log import warn_to_log

#: VGGish's sample rate.
TARGET_SAMPLE_RATE = 16000

#: Extensions libsndfile reads; everything else goes through PyAV (mp4, m4a, aac, mkv, webm, ...).
SOUNDFILE_EXTENSIONS = frozenset({
    '.wav', '.wave', '.flac', '.ogg', '.oga', '.mp3', '.aif', '.aiff', '.aifc', '.au', '.snd', '.caf', '.w64',
    '.rf64'
})

# torchaudio's documented equivalent of resampy's 'kaiser_best' filter, the resampler VGGish's own front end
# (vggish_input.waveform_to_examples) uses, so wav files at other rates give near-identical examples.
_KAISER_BEST = dict(
    lowpass_filter_width=64,
    rolloff=0.9475937167399596,
    resampling_method='sinc_interp_kaiser',
    beta=14.769656459379492)


def _read_soundfile(path: str) -> Tuple[np.ndarray, int]:
    data, sr = sf.read(path, dtype='float32', always_2d=True)  # [samples, channels], ints scaled to [-1, 1)
    return np.ascontiguousarray(data.T), int(sr)


def _read_pyav(path: str) -> Tuple[np.ndarray, int]:
    import av  # imported lazily: only container formats need it

    try:
        container = av.open(path)
    except av.error.FFmpegError as err:
        raise RuntimeError(f'cannot open media file {path!r}: {err}') from err
    with container:
        if not container.streams.audio:
            raise ValueError(f'{path!r} has no audio stream')
        stream = container.streams.audio[0]
        chunks: List[np.ndarray] = []
        sample_rate = None
        resampler = None
        try:
            for frame in container.decode(stream):
                if sample_rate is None:
                    sample_rate = frame.sample_rate
                    # Convert any sample format (s16, s32p, flt, ...) to planar float32 at the native rate
                    # and layout, so ``to_ndarray`` is always [channels, samples].
                    if frame.format.name != 'fltp':
                        resampler = av.AudioResampler(format='fltp', layout=frame.layout, rate=sample_rate)
                frames = resampler.resample(frame) if resampler is not None else [frame]
                chunks.extend(f.to_ndarray() for f in frames)
            if resampler is not None:
                chunks.extend(f.to_ndarray() for f in resampler.resample(None))
        except av.error.FFmpegError as err:
            raise RuntimeError(f'cannot decode the audio stream of {path!r}: {err}') from err
        if sample_rate is None or not chunks:
            raise ValueError(f'the audio stream of {path!r} decodes to zero samples')
        wave = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
        # AAC encoders pad the last packet to a whole frame (e.g. 48128 decoded samples for 48000 encoded);
        # the container's stream duration gives the real length, so the padding is cut off.
        if stream.duration is not None and stream.time_base is not None:
            num_samples = int(round(float(stream.duration * stream.time_base) * sample_rate))
            if 0 < num_samples < wave.shape[1]:
                wave = wave[:, :num_samples]
    return np.ascontiguousarray(wave), int(sample_rate)


def load_audio(path: str) -> Tuple[np.ndarray, int]:
    """Reads an audio file, or the first audio stream of a video file.

    WAV/FLAC/OGG/MP3 (and other libsndfile formats) are read with soundfile; if libsndfile cannot read
    the file (e.g. a WAV holding a compressed codec) PyAV is tried. MP4/M4A/AAC/MKV/WEBM and other
    containers are decoded with PyAV. Integer PCM is scaled to [-1, 1) (int16 / 32768), as VGGish's
    ``wavfile_to_examples`` does. A file below 16 kHz gives a :class:`LowSampleRateWarning` naming it, its rate and
    the VGGish mel bands that will stay empty (also written to the run's log, see
    :func:`~avsseg.datasets.audio.warning_log.warn_to_log`).

    Args:
        path: file path.

    Returns:
        tuple: ``(wave, sample_rate)`` with ``wave`` float32 ``[channels, samples]``.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file cannot be read or decoded.
        ValueError: the file has no audio stream or decodes to zero samples.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'audio file not found: {path!r}')
    ext = os.path.splitext(path)[1].lower()
    if ext in SOUNDFILE_EXTENSIONS:
        try:
            wave, sr = _read_soundfile(path)
        except (sf.LibsndfileError, RuntimeError, TypeError) as sf_err:
            try:
                wave, sr = _read_pyav(path)
            except (RuntimeError, ValueError) as av_err:
                raise RuntimeError(f'cannot read audio file {path!r}: soundfile said "{sf_err}"; '
                                   f'PyAV said "{av_err}"') from av_err
    else:
        wave, sr = _read_pyav(path)
    if wave.shape[1] == 0:
        raise ValueError(f'audio file {path!r} has zero samples')
    if sr <= 0:
        raise ValueError(f'audio file {path!r} reports an invalid sample rate {sr}')
    if sr < TARGET_SAMPLE_RATE:
        empty = empty_mel_bands(sr)
        warn_to_log(
            f'{path}: sample rate {sr} Hz is below the {TARGET_SAMPLE_RATE} Hz VGGish expects; resampling cannot '
            f'restore what lies above {sr / 2:g} Hz, so {empty} of the {NUM_MEL_BINS} mel bands stay empty '
            '(a 16 kHz or higher recording of the clip gives the features the models were trained on)',
            LowSampleRateWarning,
            stacklevel=2)
    return wave, sr


def to_mono_16k(wave: np.ndarray, sr: int) -> np.ndarray:
    """Downmixes to mono (mean over channels) and resamples to 16 kHz.

    Resampling uses ``torchaudio.functional.resample`` with the Kaiser-windowed sinc filter that matches
    resampy's ``kaiser_best``, the resampler of VGGish's reference front end.

    Args:
        wave: float ``[channels, samples]`` or ``[samples]``.
        sr: sample rate of ``wave``.

    Returns:
        np.ndarray: float32 ``[samples_16k]``.
    """
    wave = np.asarray(wave)
    if wave.ndim == 2:
        wave = wave.mean(axis=0)
    elif wave.ndim != 1:
        raise ValueError(f'expected a waveform [channels, samples] or [samples], got shape {wave.shape}')
    wave = wave.astype(np.float32, copy=False)
    sr = int(sr)
    if sr <= 0:
        raise ValueError(f'invalid sample rate {sr}')
    if sr == TARGET_SAMPLE_RATE or wave.size == 0:
        return np.ascontiguousarray(wave)
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(wave)), sr, TARGET_SAMPLE_RATE, **_KAISER_BEST)
    return out.numpy().astype(np.float32, copy=False)
