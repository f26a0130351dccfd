"""Warnings about input data that also reach the run's log file."""
import logging
import warnings
from typing import List, Type

from mmengine.logging import MMLogger


def _log_file_handlers() -> List[logging.Handler]:
    logger = MMLogger.get_current_instance()
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


def warn_to_log(message: str, category: Type[Warning] = UserWarning, stacklevel: int = 2) -> None:
    """Issue ``message`` as a Python warning of ``category`` and write it to the current run's ``.log`` file.

    A Python warning alone goes to stderr only, so a run's log would not say that some audio was padded or
    resampled from a low rate. The warning keeps its category (``pytest.warns`` and ``warnings`` filters see it,
    and stderr shows it once); the same line is written at WARNING level to the file handlers of mmengine's
    current ``MMLogger`` (the runner's, which writes ``<work_dir>/<timestamp>/<timestamp>.log``), not to its console
    handler, so the console does not show it twice. Outside a run there is no file handler and only the warning is
    issued. Dataloader workers are forked with the runner's logger and write to the same file.

    Args:
        message: the text, naming the file concerned.
        category: the warning class.
        stacklevel: as in :func:`warnings.warn`, counted from the caller of this function.
    """
    warnings.warn(message, category, stacklevel=stacklevel + 1)
    handlers = _log_file_handlers()
    if not handlers:
        return
    logger = MMLogger.get_current_instance()
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 0, f'{category.__name__}: {message}', None,
                               None)
    for handler in handlers:
        if record.levelno >= handler.level:
            handler.handle(record)
