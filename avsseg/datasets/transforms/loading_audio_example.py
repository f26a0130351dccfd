"""Loading a clip's audio from a later VGGish example of its waveform (AVS-Synthetic: example 1, 0.96-1.92 s)."""
from typing import Dict

import numpy as np

from avsseg.registry import TRANSFORMS
from ..audio import MIN_EXAMPLE_SAMPLES, TARGET_SAMPLE_RATE, load_audio, to_mono_16k
from ..audio.vggish_log_mel import EXAMPLE_FRAMES, HOP_LENGTH
from .loading import LoadClipAudio

#: Samples between the starts of two consecutive VGGish examples (96 frames x 160 samples = 0.96 s at 16 kHz).
EXAMPLE_HOP_SAMPLES = EXAMPLE_FRAMES * HOP_LENGTH


@TRANSFORMS.register_module()
class LoadClipAudioFromExample(LoadClipAudio):
    """:class:`LoadClipAudio` that starts at VGGish example ``start_example`` of the waveform instead of example 0.

    The AVS-Synthetic loader of the authors' release feeds ``vggish_input.wavfile_to_examples(path)[1]``: the
    second 0.96 s example (0.96-1.92 s) of a 10 s VGGSound clip, whose first second often holds a fade-in or
    silence. VGGish examples do not overlap and start every 15360 samples at 16 kHz, so dropping the first
    ``start_example * 15360`` samples and computing examples from there gives exactly examples
    ``start_example, start_example + 1, ...`` of the whole waveform (same frames, same log-mel).

    Works with the test-time perturbations of :class:`~avsseg.datasets.AudioPerturbedDataset` (it is a
    :class:`LoadClipAudio`, so the wrapper accepts the pipeline): a perturbed waveform (``results['audio_waveform']``,
    noise or an off-screen sound mixed into the whole clip) is cut at the same offset; a swapped ``audio_path`` is
    read and cut; a silent waveform is kept as it is, since silence has the same log-mel at every offset.

    Required keys: as :class:`LoadClipAudio`. Added keys: ``audio`` (float32 ``[T, 1, 96, 64]``, examples
    ``start_example .. start_example + T - 1``).

    Args:
        start_example: index of the first VGGish example used (1 for AVS-Synthetic); 0 is :class:`LoadClipAudio`.
        pad_mode: see :class:`LoadClipAudio`; audio ending inside the last needed example is padded with a warning.
    """

    def __init__(self, start_example: int = 1, pad_mode: str = 'repeat'):
        super().__init__(pad_mode=pad_mode)
        if not isinstance(start_example, int) or isinstance(start_example, bool) or start_example < 0:
            raise ValueError(f'LoadClipAudioFromExample: start_example must be an int >= 0, got {start_example!r}')
        self.start_example = start_example

    def transform(self, results: Dict) -> Dict:
        if self.start_example == 0:
            return super().transform(results)
        clip_id = results.get('clip_id')
        path = results['audio_path']
        offset = self.start_example * EXAMPLE_HOP_SAMPLES
        where = f'VGGish example {self.start_example} ({offset / TARGET_SAMPLE_RATE:g} s) on'
        wave = results.get('audio_waveform')
        if wave is None:
            if str(path).lower().endswith('.pkl'):
                raise ValueError(f'LoadClipAudioFromExample: audio of clip {clip_id} is a pre-computed log-mel .pkl '
                                 f'({path}); it starts at {where} only from a waveform file')
            wave = to_mono_16k(*load_audio(path))
            source = f'{path} from {where}'
        else:
            wave = np.asarray(wave, dtype=np.float32)
            source = f'{results.get("audio_waveform_source") or path} from {where}'
        if not np.any(wave):
            pass  # silence (the 'silence' perturbation gives T seconds of it) has the same log-mel at any offset
        elif wave.shape[0] > offset:
            wave = wave[offset:]
        else:
            raise ValueError(f'LoadClipAudioFromExample: audio of clip {clip_id} ({source}) is '
                             f'{wave.shape[0] / TARGET_SAMPLE_RATE:.3f} s long, so it has no {where}; at least '
                             f'{(offset + MIN_EXAMPLE_SAMPLES) / TARGET_SAMPLE_RATE:.3f} s are needed')
        results['audio_waveform'] = wave
        results['audio_waveform_source'] = source
        return super().transform(results)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(start_example={self.start_example}, pad_mode={self.pad_mode!r})'
