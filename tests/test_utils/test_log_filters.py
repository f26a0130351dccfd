"""RunLogFilter: paramwise_options lines summarised into one (the full list in a file), mmengine boilerplate dropped."""
import logging

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from avsseg.utils import install_run_log_filter
from avsseg.utils.log_filters import PARAMWISE_FILE


class Capture(logging.Handler):

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def make_logger(name):
    logger = MMLogger.get_instance(name, log_level='INFO')
    capture = Capture()
    logger.addHandler(capture)
    return logger, capture


def test_paramwise_options_become_one_summary(tmp_path):
    logger, capture = make_logger('avsseg_test_paramwise')
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1), nn.Linear(4, 2))
    model[3].weight.requires_grad_(False)
    constructor = DefaultOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
        paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'2.': dict(lr_mult=0.1)}))

    constructor(model)  # without the filter: one line per setting of every parameter
    plain = [m for m in capture.messages if m.startswith('paramwise_options -- ')]
    assert len(plain) >= 8
    capture.messages.clear()

    install_run_log_filter(logger, str(tmp_path))
    constructor(model)
    assert not [m for m in capture.messages if m.startswith('paramwise_options -- ')]
    print_log('Iter(train) [1/10]', logger=logger)
    # the summary comes with the next record that passes (the optimizer's build messages, at DEBUG level)
    summary, frozen, iteration = [m for m in capture.messages if 'registry' not in m]
    assert summary == ('paramwise_cfg: own optimizer settings for 4 parameters (weight_decay=0.0 on 2, lr=0.0001 '
                       'on 2, weight_decay=0.05 on 2, lr_mult=0.1 on 2)')
    assert frozen == ('1 parameters with requires_grad=False are not optimised (first: 3.weight); every '
                      f'parameter in {tmp_path / PARAMWISE_FILE}')
    assert iteration == 'Iter(train) [1/10]'
    written = (tmp_path / PARAMWISE_FILE).read_text().splitlines()
    assert written[:len(plain)] == plain
    assert written[-1] == '3.weight is skipped since its requires_grad=False'


def test_boilerplate_dropped_and_restart_notice_kept_once():
    logger, capture = make_logger('avsseg_test_boilerplate')
    log_filter = install_run_log_filter(logger)
    for message in ('"FileClient" will be deprecated in future. Please use io functions in https://x',
                    '"HardDiskBackend" is the alias of "LocalBackend" and the former will be deprecated in future.',
                    'The prefix is not set in metric class AVSBinaryMetric.',
                    '`save_param_scheduler` is True but `self.param_schedulers` is None, so skip saving parameter '
                    'schedulers'):
        print_log(message, logger=logger, level=logging.WARNING)
    restart = 'Reach the end of the dataloader, it will be restarted and continue to iterate. It is recommended'
    for _ in range(3):
        print_log(restart, logger=logger, level=logging.WARNING)
    print_log('The prefix is not set in metric class X. Really', logger=logger, level=logging.WARNING)
    assert capture.messages == [restart, 'The prefix is not set in metric class X. Really']
    assert log_filter.dropped == 6
