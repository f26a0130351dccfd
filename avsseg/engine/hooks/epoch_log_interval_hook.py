"""Cap the logging interval at one pass over the data, so that short epochs and validations print progress."""
from mmengine.hooks import Hook, LoggerHook

from avsseg.registry import HOOKS
from avsseg.utils.schedule import epoch_length


@HOOKS.register_module()
class EpochLogIntervalHook(Hook):
    """Lowers ``LoggerHook.interval`` to the iterations of one training epoch or one validation pass, whichever
    is shorter, and says so in the log.

    ``LoggerHook`` prints a training line every ``interval`` iterations *of the epoch* (epoch-based loops) and a
    validation line every ``interval`` batches of the validation, so an interval longer than the epoch prints
    nothing but the epoch's end (an AVSS epoch of 42 iterations at the schedule's interval 50 printed nothing for
    10 minutes on a CPU). The schedules keep their interval for the real datasets; the cap only acts where the data
    is small (synthetic sets, a few processes, short runs).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        lengths = {'a training epoch': epoch_length(runner.train_dataloader)}
        if runner.val_loop is not None:
            lengths['a validation'] = epoch_length(runner.val_loop.dataloader)
        name, shortest = min(lengths.items(), key=lambda item: item[1])
        if shortest < 1:
            return
        for hook in runner.hooks:
            if isinstance(hook, LoggerHook) and hook.interval > shortest:
                runner.logger.info(f'EpochLogIntervalHook: log interval {hook.interval} -> {shortest} '
                                   f'({name} has {shortest} iteration(s))')
                hook.interval = int(shortest)
