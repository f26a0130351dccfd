"""Audio I/O (soundfile / PyAV), VGGish's log-mel front end, official ``.pkl`` loading and perturbations."""
from .io import TARGET_SAMPLE_RATE, load_audio, to_mono_16k
from .perturbation import (AUDIO_PERTURBATIONS, DEFAULT_PERTURBATION_SNR_DB, SILENT_REFERENCE_POWER,
                           WAVEFORM_PERTURBATIONS, add_white_noise, mix_at_snr)
from .safe_pickle import load_log_mel_pkl, load_pickled_tensor
from .vggish_log_mel import (EXAMPLE_SECONDS, MIN_EXAMPLE_SAMPLES, AudioPaddingWarning, LowSampleRateWarning,
                             VGGishLogMel, clip_log_mel, empty_mel_bands, fit_examples, vggish_mel_matrix,
                             waveform_to_examples)
from .warning_log import warn_to_log

__all__ = [
    'load_audio', 'to_mono_16k', 'TARGET_SAMPLE_RATE', 'VGGishLogMel', 'vggish_mel_matrix',
    'waveform_to_examples', 'clip_log_mel', 'fit_examples', 'AudioPaddingWarning', 'LowSampleRateWarning',
    'empty_mel_bands', 'warn_to_log', 'EXAMPLE_SECONDS',
    'MIN_EXAMPLE_SAMPLES', 'load_log_mel_pkl', 'load_pickled_tensor', 'mix_at_snr', 'add_white_noise',
    'SILENT_REFERENCE_POWER', 'AUDIO_PERTURBATIONS', 'WAVEFORM_PERTURBATIONS', 'DEFAULT_PERTURBATION_SNR_DB'
]
