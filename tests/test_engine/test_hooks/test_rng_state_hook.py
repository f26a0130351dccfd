"""RNGStateHook: generator states in checkpoints, restored on resume, validation invisible to the generators."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import avsseg  # noqa: F401  (checkpoint allowlist)
from avsseg.engine.hooks import RNGStateHook
from avsseg.engine.hooks.rng_state_hook import get_rng_state, set_rng_state
from avsseg.registry import HOOKS


@pytest.fixture(autouse=True)
def no_epoch_pause(monkeypatch):
    """mmengine's IterBasedTrainLoop sleeps 2 s at every end of the data loader; these runs cross a dozen."""
    import mmengine.runner.loops as loops
    monkeypatch.setattr(loops, 'time', SimpleNamespace(sleep=lambda seconds: None))


class RandomClips(Dataset):
    """Items jittered with numpy and python random draws, as augmentations in a worker-less data loader are."""

    def __len__(self):
        return 6

    def __getitem__(self, idx):
        x = torch.full((3, ), float(idx)) + float(np.random.rand()) + random.random()
        return dict(inputs=x, data_samples=torch.tensor([idx % 2], dtype=torch.float32))


class RandomModel(BaseModel):
    """Draws from torch's generator in every forward (as COMBO samples its loss points), also when predicting."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.linear(x * torch.rand_like(x))
        if mode == 'loss':
            return dict(loss=(out - torch.stack(data_samples)).pow(2).mean())
        return [dict(pred=o.detach()) for o in out] if mode == 'predict' else out


class MeanMetric(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(float(s['pred']) for s in data_samples)

    def compute_metrics(self, results):
        return dict(score=float(np.mean(results)))


class Crash(Hook):
    """Stops the process's training after an iteration, as a kill would (nothing after it is saved)."""

    def __init__(self, after):
        self.after = after

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.after:
            raise KeyboardInterrupt


def make_runner(work_dir, with_hook=True, custom_hooks=(), by_epoch=False, **kwargs):
    hooks = ([dict(type='RNGStateHook')] if with_hook else []) + list(custom_hooks)
    if by_epoch:  # the official TPAVI recipes: epochs, validated and saved after each
        kwargs.update(
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=1),
            default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1)))
    torch.manual_seed(0)  # the same initial weights in every run (the Runner seeds after the model exists)
    return Runner(
        model=RandomModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=RandomClips(), sampler=dict(type='DefaultSampler', shuffle=True), batch_size=4, num_workers=0),
        val_dataloader=dict(
            dataset=RandomClips(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=3, num_workers=0),
        val_evaluator=Evaluator([MeanMetric()]),
        val_cfg=dict(type='ValLoop'),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
        custom_hooks=hooks,
        randomness=dict(seed=0),
        default_scope='avsseg',
        **{
            'train_cfg': dict(type='IterBasedTrainLoop', max_iters=7, val_interval=3),
            'default_hooks': dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3)),
            **kwargs
        })


def train_interrupted_and_resumed(tmp_path, with_hook):
    reference = make_runner(tmp_path / 'reference', with_hook)
    reference.train()
    with pytest.raises(KeyboardInterrupt):
        make_runner(tmp_path / 'run', with_hook, custom_hooks=[Crash(after=5)]).train()
    resumed = make_runner(tmp_path / 'run', with_hook, resume=True)
    resumed.train()
    return reference.model.linear.weight.detach(), resumed.model.linear.weight.detach()


def test_resume_is_bit_exact(tmp_path):
    reference, resumed = train_interrupted_and_resumed(tmp_path, with_hook=True)
    # the run crashed in iteration 5 and resumed from the checkpoint of iteration 3, after its validation
    assert torch.equal(reference, resumed)
    checkpoint = torch.load(tmp_path / 'run' / 'iter_3.pth')  # weights_only=True: the states are allowlisted
    state = checkpoint['rng_state']['ranks'][0]
    assert set(state) == {'python', 'numpy', 'torch', 'cuda'}


class CrashInEpoch(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.epoch == 2 and batch_idx == 0:  # in the third epoch, after the checkpoint of the second
            raise KeyboardInterrupt


def test_epoch_based_resume_is_bit_exact(tmp_path):
    reference = make_runner(tmp_path / 'reference', by_epoch=True)
    reference.train()
    with pytest.raises(KeyboardInterrupt):
        make_runner(tmp_path / 'run', by_epoch=True, custom_hooks=[CrashInEpoch()]).train()
    resumed = make_runner(tmp_path / 'run', by_epoch=True, resume=True)
    resumed.train()
    assert resumed.epoch == 4
    assert torch.equal(reference.model.linear.weight, resumed.model.linear.weight)


def test_without_the_hook_the_resumed_run_diverges(tmp_path):
    reference, resumed = train_interrupted_and_resumed(tmp_path, with_hook=False)
    assert not torch.equal(reference, resumed)


def test_validation_does_not_change_the_training_draws(tmp_path):
    hook = RNGStateHook()
    torch.manual_seed(1)
    before = get_rng_state()
    hook.before_val(None)
    torch.rand(5), np.random.rand(), random.random()
    hook.after_val(None)
    after = get_rng_state()
    assert torch.equal(before['torch'], after['torch']) and before['python'] == after['python']
    assert np.array_equal(before['numpy'][1], after['numpy'][1]) and before['numpy'][2] == after['numpy'][2]


def test_set_rng_state_roundtrip():
    state = get_rng_state()
    expected = (torch.rand(3), np.random.rand(2), random.random())
    set_rng_state(state)
    again = (torch.rand(3), np.random.rand(2), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1]) and expected[2] == again[2]


def test_load_from_does_not_restore_and_foreign_checkpoints_warn(tmp_path, caplog):
    runner = make_runner(tmp_path / 'a')
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, RNGStateHook))
    # load_from (a new run from the weights): the states are not restored
    fine_tune = make_runner(tmp_path / 'b', load_from=str(tmp_path / 'a' / 'iter_6.pth'))
    fine_tune.train()
    assert fine_tune.iter == 7
    # a checkpoint of another number of processes, or without states, resumes with a warning
    checkpoint = torch.load(tmp_path / 'a' / 'iter_6.pth')
    checkpoint['rng_state']['ranks'].append(checkpoint['rng_state']['ranks'][0])
    torch.save(checkpoint, tmp_path / 'two_ranks.pth')
    del checkpoint['rng_state']
    torch.save(checkpoint, tmp_path / 'no_states.pth')
    for name, message in (('two_ranks.pth', 'holds the generator states of 2 process(es), this run has 1'),
                          ('no_states.pth', 'the checkpoint holds no generator states')):
        resumed = make_runner(tmp_path / name[:-4], load_from=str(tmp_path / name), resume=True)
        warnings = []
        resumed.logger.warning = warnings.append
        resumed.train()
        assert any(message in w and 'not bit-exact' in w for w in warnings), warnings
    assert HOOKS.get('RNGStateHook') is RNGStateHook and hook.priority == 'HIGH'
