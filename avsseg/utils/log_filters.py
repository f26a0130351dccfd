"""Shorter training logs: one summary instead of a line per parameter, and no mmengine boilerplate on every run.

mmengine 0.10.7's optimizer constructor logs ``paramwise_options -- <parameter>:<key>=<value>`` for every setting
of every parameter that ``paramwise_cfg`` touches (496 lines for COMBO R50 before the first iteration) and a
warning per frozen parameter (230 more); every run also warns that ``FileClient`` and ``HardDiskBackend`` will be
deprecated (``CheckpointHook`` creates them), that the metric classes have no prefix, and at every end of an
epoch of an iteration-based loop that the data loader restarts. :class:`RunLogFilter` is attached to the run's
logger by ``tools/train.py``: the per-parameter lines go to ``<log_dir>/paramwise_options.log`` and the log gets
one summary line, the boilerplate is dropped, the restart notice is kept once. Nothing else is touched.
"""
import logging
import os.path as osp
import re
from collections import Counter
from typing import List, Optional

PARAMWISE = re.compile(r'^paramwise_options -- (?P<name>\S+):(?P<key>\w+)=(?P<value>.*)$')
FROZEN = re.compile(r'^(?P<name>\S+) is skipped since its requires_grad=False$')
# Printed by mmengine on every run; none of them asks the user to do anything.
BOILERPLATE = (
    re.compile(r'^"FileClient" will be deprecated in future\.'),
    re.compile(r'^"HardDiskBackend" is the alias of "LocalBackend"'),
    re.compile(r'^The prefix is not set in metric class \w+\.$'),
    # configs without a learning-rate schedule (the official TPAVI recipes), at every checkpoint
    re.compile(r'^`save_param_scheduler` is True but `self.param_schedulers` is None'),
)
# Shown the first time only.
ONCE = (re.compile(r'^Reach the end of the dataloader, it will be restarted'), )
PARAMWISE_FILE = 'paramwise_options.log'


class RunLogFilter(logging.Filter):
    """Filter for a run's MMLogger (see the module docstring).

    Args:
        logger: the logger the filter is attached to (the summary is logged through it).
        log_dir: where ``paramwise_options.log`` is written; None keeps the lines in memory only.
    """

    def __init__(self, logger: logging.Logger, log_dir: Optional[str] = None):
        super().__init__()
        self.logger = logger
        self.log_dir = log_dir
        self._paramwise: List[str] = []
        self._frozen: List[str] = []
        self._seen_once = set()
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if PARAMWISE.match(message):
            self._paramwise.append(message)
            return False
        match = FROZEN.match(message)
        if match:
            self._frozen.append(match['name'])
            return False
        if any(p.match(message) for p in BOILERPLATE):
            self.dropped += 1
            return False
        for pattern in ONCE:
            if pattern.match(message):
                if pattern.pattern in self._seen_once:
                    self.dropped += 1
                    return False
                self._seen_once.add(pattern.pattern)
        self.flush()
        return True

    def summary(self) -> List[str]:
        """The summary lines of the collected per-parameter lines (empty when there are none)."""
        lines = []
        if self._paramwise:
            settings = Counter()
            names = set()
            for line in self._paramwise:
                match = PARAMWISE.match(line)
                names.add(match['name'])
                settings[f'{match["key"]}={match["value"]}'] += 1
            common = ', '.join(f'{setting} on {count}' for setting, count in settings.most_common(6))
            more = f' and {len(settings) - 6} other settings' if len(settings) > 6 else ''
            lines.append(f'paramwise_cfg: own optimizer settings for {len(names)} parameters ({common}{more})')
        if self._frozen:
            lines.append(f'{len(self._frozen)} parameters with requires_grad=False are not optimised '
                         f'(first: {self._frozen[0]})')
        return lines

    def flush(self) -> None:
        """Write the collected lines to ``paramwise_options.log`` and log the summary (once per batch of lines)."""
        if not self._paramwise and not self._frozen:
            return
        lines = self.summary()
        where = ''
        if self.log_dir is not None:
            path = osp.join(self.log_dir, PARAMWISE_FILE)
            with open(path, 'a') as f:
                f.writelines(line + '\n' for line in self._paramwise)
                f.writelines(f'{name} is skipped since its requires_grad=False\n' for name in self._frozen)
            where = f'; every parameter in {path}'
        self._paramwise, self._frozen = [], []
        for i, line in enumerate(lines):
            self.logger.info(line + (where if i == len(lines) - 1 else ''))


def install_run_log_filter(logger: logging.Logger, log_dir: Optional[str] = None) -> RunLogFilter:
    """Attach a :class:`RunLogFilter` to ``logger`` (the Runner's ``runner.logger``) and return it."""
    log_filter = RunLogFilter(logger, log_dir)
    logger.addFilter(log_filter)
    return log_filter
