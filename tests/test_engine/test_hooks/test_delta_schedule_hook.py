from types import SimpleNamespace

import pytest
import torch

from avsseg.engine.hooks import DeltaScheduleHook
from avsseg.engine.hooks.delta_schedule_hook import rising_delta
from avsseg.registry import HOOKS


@pytest.mark.parametrize('iteration, expected', [(0, 0.55), (4999, 0.55), (5000, 0.555882), (10000, 0.561765),
                                                 (40000, 0.597059), (85000, 0.65), (89999, 0.65),
                                                 (90000, 0.655882)])
def test_eq22_boundaries(iteration, expected):
    assert rising_delta(iteration) == pytest.approx(expected, abs=1e-6)
    assert DeltaScheduleHook().delta_at(iteration, 90000) == pytest.approx(expected, abs=1e-6)


def test_fixed_mode_and_interval_from_the_run_length():
    assert all(DeltaScheduleHook(mode='fixed').delta_at(i, 90000) == 0.6 for i in (0, 5000, 89999))
    hook = HOOKS.build(dict(type='DeltaScheduleHook', interval=None))
    # 180 iterations -> interval 10: the same 18 steps as 90k / 5k
    assert hook.delta_at(9, 180) == pytest.approx(0.55) and hook.delta_at(10, 180) == pytest.approx(0.555882, 1e-5)
    assert hook.delta_at(179, 180) == pytest.approx(0.65)
    with pytest.raises(ValueError, match='mode'):
        DeltaScheduleHook(mode='linear')


def test_sets_the_head_attribute_from_runner_iter():
    head = torch.nn.Module()
    head.delta = 0.0
    model = torch.nn.Module()
    model.decode_head = head
    hook = DeltaScheduleHook()
    runner = SimpleNamespace(model=model, iter=40000, max_iters=90000)  # e.g. resumed at 40k
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    assert head.delta == pytest.approx(0.597059, abs=1e-6)
    del head.delta
    with pytest.raises(AttributeError, match="no attribute 'delta'"):
        hook.before_train(runner)
