"""AUSS's rising confidence threshold delta (Ling et al., "Hear to Segment", Eq. 22)."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from avsseg.registry import HOOKS

DELTA_MODES = ('rising', 'fixed')


def rising_delta(iteration: int, start: float = 0.55, step: float = 0.1 / 17, interval: int = 5000) -> float:
    """Eq. 22: ``start + step * floor(iteration / interval)`` (0.55 at 0-4,999 ... 0.65 at 85,000-89,999)."""
    return start + step * (iteration // interval)


@HOOKS.register_module()
class DeltaScheduleHook(Hook):
    """Sets the AQDL/AQML threshold ``delta`` of the decode head before every training iteration.

    ``mode='rising'`` follows Eq. 22 (``start`` 0.55, ``step`` 0.1/17 every ``interval`` iterations: 18 steps over
    the paper's 90k); ``interval=None`` takes ``max_iters // num_intervals`` of the run, so shorter runs rise over
    the same range. ``mode='fixed'`` keeps ``fixed`` (Table 5: 0.6). Driven by ``runner.iter``, so a resumed run
    continues where it stopped, and a new run (the MS3 stage of the curriculum) starts again at ``start``.

    Args:
        mode: ``'rising'`` or ``'fixed'``.
        start: delta at iteration 0.
        step: increase per interval.
        interval: iterations per step, or None for ``max_iters // num_intervals``.
        num_intervals: number of intervals the run is divided into when ``interval`` is None (18 as 90k / 5k).
        fixed: delta in the fixed mode.
        attr: attribute of the decode head that holds delta.
    """

    priority = 'NORMAL'

    def __init__(self, mode: str = 'rising', start: float = 0.55, step: float = 0.1 / 17,
                 interval: Optional[int] = 5000, num_intervals: int = 18, fixed: float = 0.6, attr: str = 'delta'):
        if mode not in DELTA_MODES:
            raise ValueError(f'DeltaScheduleHook: mode must be one of {DELTA_MODES}, got {mode!r}')
        if interval is not None and interval < 1 or num_intervals < 1:
            raise ValueError(f'DeltaScheduleHook: interval and num_intervals must be >= 1, got {interval}, '
                             f'{num_intervals}')
        self.mode = mode
        self.start = start
        self.step = step
        self.interval = interval
        self.num_intervals = num_intervals
        self.fixed = fixed
        self.attr = attr

    def delta_at(self, iteration: int, max_iters: int) -> float:
        """Delta of the given iteration in a run of ``max_iters`` iterations."""
        if self.mode == 'fixed':
            return self.fixed
        interval = self.interval or max(max_iters // self.num_intervals, 1)
        return rising_delta(iteration, self.start, self.step, interval)

    def _head(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'decode_head', None)
        if head is None or not hasattr(head, self.attr):
            raise AttributeError(f'DeltaScheduleHook: the model\'s decode_head ({type(head).__name__}) has no '
                                 f'attribute {self.attr!r} to schedule (AUSSHead has `delta`)')
        return head

    def before_train(self, runner) -> None:
        self._head(runner)  # a wrong model is an error before the first iteration

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        setattr(self._head(runner), self.attr, self.delta_at(runner.iter, runner.max_iters))
