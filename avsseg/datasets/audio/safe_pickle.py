"""Safe loading of the official AVSBench ``audio_log_mel/*.pkl`` files.

Those files are ``pickle.dump`` of a torch tensor ``[5, 1, 96, 64]`` (not ``torch.save``). ``pickle.load``
would run whatever a pickle names, so a restricted unpickler is used. A pickled CPU tensor references only:

- ``torch._utils._rebuild_tensor_v2`` (storage, offset, size, stride, requires_grad, hooks[, metadata]);
- ``torch.storage._load_from_bytes`` (the storage, serialised by ``torch.save``'s legacy format);
- ``collections.OrderedDict`` (the empty backward-hook dict);
- ``_codecs.encode`` (how protocols 0-2 carry bytes objects).

``torch.storage._load_from_bytes`` itself calls ``torch.load(weights_only=False)`` on the embedded bytes,
which could run code; it is replaced by the same load with ``weights_only=True`` (torch's own restricted
unpickler), so nothing outside tensor rebuilding can execute.
"""
import codecs
import collections
import io
import os
import pickle

import numpy as np
import torch
import torch._utils

from .vggish_log_mel import EXAMPLE_FRAMES, NUM_MEL_BINS, fit_examples


def _storage_from_bytes(data: bytes):
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError(f'a tensor storage must be bytes, got {type(data).__name__}')
    try:
        return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    except Exception as err:
        # torch's message advises retrying with weights_only=False, which is exactly what must not be done
        # for an untrusted file; only the reason is kept.
        lines = str(err).splitlines()
        reason = next((ln.strip() for ln in lines if 'Unsupported' in ln or 'GLOBAL' in ln),
                      lines[0] if lines else type(err).__name__)
        raise pickle.UnpicklingError(f'the embedded tensor storage was refused by torch\'s weights-only '
                                     f'loader ({reason})') from None


def _latin1_encode(text, encoding='latin1'):
    # Protocols 0-2 store bytes as ``_codecs.encode(str, 'latin1')``; other codecs (zlib, ...) are refused.
    if not isinstance(text, str) or encoding.replace('-', '_').lower() not in ('latin1', 'latin_1'):
        raise pickle.UnpicklingError(f'_codecs.encode is only allowed for latin1 text, got {encoding!r}')
    return codecs.encode(text, 'latin1')


_ALLOWED = {
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('_codecs', 'encode'): _latin1_encode,
}


class TensorOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds plain torch tensors and refuses every other global."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f'global {module}.{name} is not allowed (only pickled torch tensors can be loaded)') from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError('persistent ids are not allowed in a pickled tensor')


def load_pickled_tensor(path: str) -> torch.Tensor:
    """Loads a ``pickle.dump``-ed torch tensor without running arbitrary code.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a pickled tensor or names a global other than the tensor ones.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'log-mel pickle not found: {path!r}')
    try:
        with open(path, 'rb') as f:
            obj = TensorOnlyUnpickler(f).load()
    except Exception as err:  # any failure of an untrusted file is reported with its name
        raise ValueError(f'cannot load {path!r} as a pickled torch tensor: {err}') from err
    if not isinstance(obj, torch.Tensor):
        raise ValueError(f'{path!r} holds a {type(obj).__name__}, expected a torch tensor [K, 1, 96, 64]')
    return obj


def load_log_mel_pkl(path: str, num_segments: int, pad_mode: str = 'repeat') -> np.ndarray:
    """Official AVSBench log-mel ``.pkl`` -> float32 ``[T, 1, 96, 64]``.

    The tensor must be ``[K, 1, 96, 64]`` with finite values; it is trimmed to the first ``num_segments``
    examples or padded (last example repeated, or zeros with ``pad_mode='zero'``) with an
    :class:`~avsseg.datasets.audio.AudioPaddingWarning`, like ``clip_log_mel``.
    """
    tensor = load_pickled_tensor(path)
    shape = tuple(tensor.shape)
    if len(shape) != 4 or shape[1:] != (1, EXAMPLE_FRAMES, NUM_MEL_BINS) or shape[0] == 0:
        raise ValueError(f'{path}: expected a log-mel tensor [K, 1, {EXAMPLE_FRAMES}, {NUM_MEL_BINS}] with '
                         f'K >= 1, got {list(shape)}')
    if not tensor.is_floating_point():
        raise ValueError(f'{path}: expected floating-point log-mel values, got {tensor.dtype}')
    examples = tensor.detach().cpu().to(torch.float32).numpy()
    bad = ~np.isfinite(examples)
    if bad.any():
        raise ValueError(f'{path}: the log-mel tensor contains {int(bad.sum())} NaN/inf value(s)')
    return fit_examples(examples, num_segments, path, pad_mode)
