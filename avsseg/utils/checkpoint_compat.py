"""Safe checkpoint loading for mmengine 0.10.7 under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7 calls ``torch.load`` without
``weights_only`` and its checkpoints pickle a few non-tensor objects (the message hub's ``HistoryBuffer``
objects, numpy arrays and scalars in them and in ``meta``), so ``resume``/``load_from`` fail with
``Unsupported global``. Instead of turning the safe loader off (which would run arbitrary pickled code from any
checkpoint a user is handed), exactly those globals are allowlisted:

- ``mmengine.logging.history_buffer.HistoryBuffer``;
- numpy's array/scalar reconstruction (``_reconstruct``, ``scalar``, ``ndarray``, ``dtype`` and the dtype
  classes), under both the numpy 2 (``numpy._core``) and numpy 1 (``numpy.core``) names;
- ``builtins.getattr``, **mapped to a restricted function**: ``HistoryBuffer.__getstate__`` pickles its
  statistics methods (``HistoryBuffer.min`` ...), which protocol 2 writes as ``getattr(HistoryBuffer, 'min')``.
  The real ``getattr`` would let a checkpoint reach any attribute of any allowlisted object (module globals
  through ``__globals__``, ``builtins`` through ``getattr.__self__``), so the name resolves to
  :func:`_history_buffer_method`, which returns only plain methods of ``HistoryBuffer`` and refuses the rest.
"""
import inspect
import pickle
import types

import numpy as np
import torch

_DONE = False


def _numpy_globals():
    out = []
    try:  # numpy >= 2
        from numpy._core import multiarray
        prefixes = ('numpy._core.multiarray', 'numpy.core.multiarray')
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
        prefixes = ('numpy.core.multiarray', )
    # Checkpoints written under numpy 1.x name these ``numpy.core...``; numpy 2 ones ``numpy._core...``.
    for prefix in prefixes:
        out.append((multiarray._reconstruct, f'{prefix}._reconstruct'))
        out.append((multiarray.scalar, f'{prefix}.scalar'))
    out.append(np.ndarray)
    out.append(np.dtype)
    dtype_classes = {type(np.dtype(name)) for name in (
        'float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
        'uint64', 'bool')}
    out.extend(sorted(dtype_classes, key=lambda c: c.__name__))
    return out


def _history_buffer_method(obj, name: str):
    """``getattr`` as mmengine checkpoints need it: only ``getattr(HistoryBuffer, '<method>')``.

    Args:
        obj: must be ``HistoryBuffer`` (or a subclass).
        name: a public method defined on it (``min``, ``max``, ``current``, ``mean`` or a registered one).

    Returns:
        The function ``obj.<name>``.

    Raises:
        pickle.UnpicklingError: for any other object or attribute.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if not (isinstance(obj, type) and issubclass(obj, HistoryBuffer)):
        raise pickle.UnpicklingError(f'checkpoint asks for getattr({obj!r}, {name!r}); only methods of '
                                     f'HistoryBuffer are allowed')
    if not isinstance(name, str) or name.startswith('_'):
        raise pickle.UnpicklingError(f'checkpoint asks for getattr(HistoryBuffer, {name!r}); only public '
                                     f'methods are allowed')
    try:
        attr = inspect.getattr_static(obj, name)
    except AttributeError as err:
        raise pickle.UnpicklingError(f'checkpoint asks for HistoryBuffer.{name}, which does not exist') from err
    if not isinstance(attr, (types.FunctionType, staticmethod, classmethod)):
        raise pickle.UnpicklingError(f'checkpoint asks for HistoryBuffer.{name}, which is not a method')
    return getattr(obj, name)


def allow_mmengine_checkpoint_globals() -> None:
    """Allowlist the globals found in mmengine runner checkpoints for ``torch.load(weights_only=True)``."""
    global _DONE
    if _DONE or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    torch.serialization.add_safe_globals(
        [HistoryBuffer, (_history_buffer_method, 'builtins.getattr'), *_numpy_globals()])
    _DONE = True
