"""EpochLogIntervalHook: the log interval is capped at one training epoch or one validation, whichever is shorter."""
from types import SimpleNamespace

from mmengine.hooks import LoggerHook

from avsseg.engine.hooks import EpochLogIntervalHook


def make_runner(train_batches, val_batches, interval=50, max_iters=10000, test_batches=None):
    logged = []
    logger_hook = LoggerHook(interval=interval)
    runner = SimpleNamespace(
        train_dataloader=list(range(train_batches)),
        val_loop=None if val_batches is None else SimpleNamespace(dataloader=list(range(val_batches))),
        test_loop=None if test_batches is None else SimpleNamespace(dataloader=list(range(test_batches))),
        max_iters=max_iters,
        hooks=[logger_hook],
        logger=SimpleNamespace(info=logged.append))
    return runner, logger_hook, logged


def test_interval_capped_at_an_epoch():
    # an AVSS epoch of 42 iterations with the schedule's interval 50 printed nothing but the epoch's end
    runner, logger_hook, logged = make_runner(42, None)
    EpochLogIntervalHook().before_train(runner)
    assert logger_hook.interval == 42
    assert logged == ['EpochLogIntervalHook: log interval 50 -> 42 (a training epoch has 42 iteration(s))']


def test_short_validation_caps_it_too_and_long_sets_keep_it():
    runner, logger_hook, logged = make_runner(100, 23)
    EpochLogIntervalHook().before_train(runner)
    assert logger_hook.interval == 23 and 'a validation has 23' in logged[0]
    runner, logger_hook, logged = make_runner(1000, 500)
    EpochLogIntervalHook().before_train(runner)
    assert logger_hook.interval == 50 and logged == []


def test_short_runs_and_tests():
    # a 10-iteration run of a config whose interval is 50 printed no training line at all
    runner, logger_hook, logged = make_runner(150, 23, max_iters=10)
    EpochLogIntervalHook().before_train(runner)
    assert logger_hook.interval == 10 and 'the run has 10' in logged[0]
    runner, logger_hook, logged = make_runner(150, None, test_batches=23)
    EpochLogIntervalHook().before_test(runner)
    assert logger_hook.interval == 23 and 'the test has 23' in logged[0]
