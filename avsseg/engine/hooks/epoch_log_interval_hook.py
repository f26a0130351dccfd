"""Cap the logging interval at one pass over the data, so that short epochs and validations print progress."""
from mmengine.hooks import Hook, LoggerHook

from avsseg.registry import HOOKS
from avsseg.utils.schedule import epoch_length


@HOOKS.register_module()
class EpochLogIntervalHook(Hook):
    """Lowers ``LoggerHook.interval`` to the iterations of one training epoch, one validation pass or the whole
    run, whichever is shortest (and, for a test run, to the batches of the test), and says so in the log.

    ``LoggerHook`` prints a training line every ``interval`` iterations *of the epoch* (epoch-based loops) and a
    validation or test line every ``interval`` batches, so an interval longer than the epoch prints nothing but the
    epoch's end (an AVSS epoch of 42 iterations at the schedule's interval 50 printed nothing for 10 minutes on a
    CPU). The schedules keep their interval for the real datasets; the cap only acts where the data is small
    (synthetic sets, a few processes, short runs).
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _cap(runner, lengths: dict) -> None:
        name, shortest = min(lengths.items(), key=lambda item: item[1])
        if shortest < 1:
            return
        for hook in runner.hooks:
            if isinstance(hook, LoggerHook) and hook.interval > shortest:
                runner.logger.info(f'EpochLogIntervalHook: log interval {hook.interval} -> {shortest} '
                                   f'({name} has {shortest} iteration(s))')
                hook.interval = int(shortest)

    def before_train(self, runner) -> None:
        lengths = {'a training epoch': epoch_length(runner.train_dataloader), 'the run': runner.max_iters}
        if runner.val_loop is not None:
            lengths['a validation'] = epoch_length(runner.val_loop.dataloader)
        self._cap(runner, lengths)

    def before_test(self, runner) -> None:
        self._cap(runner, {'the test': epoch_length(runner.test_loop.dataloader)})
