"""mmengine resume / load_from under torch >= 2.6 with the safe (weights_only=True) loader kept on."""
import io
import os
import os.path as osp
import pickle
import re
import tokenize

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import avsseg  # noqa: F401  (applies the allowlist)
from avsseg.utils.checkpoint_compat import _history_buffer_method, allow_mmengine_checkpoint_globals

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class ToyClips(Dataset):
    """Four items with AVSBench-like dataset meta (saved into every checkpoint's meta)."""
    metainfo = dict(classes=('background', 'object'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(4, 3, generator=gen)
        self.y = torch.randn(4, 1, generator=gen)

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)
        self.bn = nn.BatchNorm1d(1)  # buffers (running stats, num_batches_tracked) in the state dict

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.bn(self.linear(inputs))
        if mode == 'loss':
            target = torch.stack(data_samples) if isinstance(data_samples, list) else data_samples
            return dict(loss=((out - target)**2).mean())
        if mode == 'predict':
            return [dict(pred=o.detach()) for o in out]
        return out


class NumpyMetric(BaseMetric):
    """Returns numpy scalars and arrays, as real metrics do; save_best stores them in the message hub."""

    def process(self, data_batch, data_samples):
        self.results.extend(float(s['pred']) for s in data_samples)

    def compute_metrics(self, results):
        return dict(mJ=np.float64(np.mean(results)), mF=np.float32(0.5))


class FirstIterRecorder(Hook):

    def __init__(self):
        self.first = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.first is None:
            self.first = runner.iter


def make_runner(work_dir, name, max_iters=2, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=ToyClips(), sampler=dict(type='DefaultSampler', shuffle=True), batch_size=2, num_workers=0),
        val_dataloader=dict(
            dataset=ToyClips(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2, num_workers=0),
        val_evaluator=Evaluator([NumpyMetric()]),
        val_cfg=dict(type='ValLoop'),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2)),
        param_scheduler=[dict(type='PolyLR', power=0.9, eta_min=0, begin=0, end=4, by_epoch=False)],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1, save_best='mJ', rule='greater'),
            logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        default_scope='avsseg',
        **kwargs)


@pytest.fixture
def no_force_unsafe(monkeypatch):
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    monkeypatch.delenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', raising=False)


@pytest.fixture
def torch_load_calls(monkeypatch):
    """Records the weights_only argument of every torch.load call (mmengine looks torch.load up per call)."""
    calls = []
    real = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get('weights_only', 'default'))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, 'load', spy)
    return calls


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ckpt')
    runner = make_runner(work_dir, 'toy_train')
    runner.train()
    ckpt = work_dir / 'iter_2.pth'
    assert ckpt.is_file()
    return work_dir, ckpt, {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_checkpoint_holds_non_tensor_globals_that_need_the_allowlist(trained, no_force_unsafe):
    """Without the allowlist the real runner checkpoint does not load: the test below is not vacuous."""
    _, ckpt, _ = trained
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer|numpy|getattr'):
            torch.load(ckpt)
    finally:
        torch.serialization.add_safe_globals(saved)
    checkpoint = torch.load(ckpt)  # allowlisted again
    assert checkpoint['meta']['dataset_meta']['classes'] == ('background', 'object')
    hub = checkpoint['message_hub']
    buffer = hub['log_scalars']['train/loss']
    assert type(buffer).__name__ == 'HistoryBuffer' and len(buffer.data[0]) == 2
    assert buffer.statistics('mean') == pytest.approx(float(np.mean(buffer.data[0])))
    assert isinstance(hub['runtime_info']['best_score'], np.floating)


def test_resume_with_safe_loader(trained, tmp_path, no_force_unsafe, torch_load_calls):
    work_dir, ckpt, _ = trained
    resume_dir = tmp_path / 'resume'
    resume_dir.mkdir()
    # an interrupted run's work_dir: its checkpoint and mmengine's pointer to it
    (resume_dir / 'iter_2.pth').write_bytes(ckpt.read_bytes())
    (resume_dir / 'last_checkpoint').write_text(str(resume_dir / 'iter_2.pth'))
    recorder = FirstIterRecorder()
    runner = make_runner(resume_dir, 'toy_resume', max_iters=4, resume=True, custom_hooks=[recorder])
    runner.train()
    assert recorder.first == 2, 'training did not continue from the checkpoint'
    assert runner.iter == 4
    assert (resume_dir / 'iter_4.pth').is_file()
    assert torch_load_calls and all(w in ('default', True, None) for w in torch_load_calls)


def test_load_from_with_safe_loader(trained, tmp_path, no_force_unsafe, torch_load_calls):
    _, ckpt, weights = trained
    runner = make_runner(tmp_path, 'toy_load_from', load_from=str(ckpt))
    runner.load_or_resume()
    loaded = runner.model.state_dict()
    for key, value in weights.items():
        torch.testing.assert_close(loaded[key], value)
    assert runner.iter == 0  # load_from loads weights only
    assert torch_load_calls and all(w in ('default', True, None) for w in torch_load_calls)


class Evil:
    """Pickles to a call of os.system: a checkpoint carrying it must never be unpickled."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


def test_checkpoint_with_disallowed_global_is_refused(trained, tmp_path, no_force_unsafe):
    # torch >= 2.6 defaults torch.load to weights_only=True; mmengine 0.10.7 relies on that default
    assert tuple(int(p) for p in torch.__version__.split('.')[:2]) >= (2, 6)
    _, ckpt, weights = trained
    marker = tmp_path / 'pwned'
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=weights, meta=dict(note=Evil(f'touch {marker}'))), bad)
    runner = make_runner(tmp_path / 'wd', 'toy_refuse', load_from=str(bad))
    with pytest.raises(pickle.UnpicklingError, match='system'):
        runner.load_or_resume()
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(bad)
    assert not marker.exists()


def test_allowlist_is_exactly_numpy_history_buffer_and_restricted_getattr():
    allow_mmengine_checkpoint_globals()  # idempotent
    allow_mmengine_checkpoint_globals()
    names = {}
    for entry in torch.serialization.get_safe_globals():
        obj, name = entry if isinstance(entry, tuple) else (entry, f'{entry.__module__}.{entry.__qualname__}')
        names[name] = obj
        module = getattr(obj, '__module__', '') or ''
        if module.split('.')[0] == 'torch':
            continue  # torch registers some of its own classes
        assert module.startswith('numpy') or module in ('mmengine.logging.history_buffer',
                                                        'avsseg.utils.checkpoint_compat'), entry
    # the only non-numpy, non-HistoryBuffer name is getattr, and it is not the real one
    assert names['builtins.getattr'] is _history_buffer_method
    assert getattr not in names.values()


class Getattr:
    """Pickles to getattr(target, name) (what protocol 2 writes for HistoryBuffer.min and friends)."""

    def __init__(self, target, name):
        self.target, self.name = target, name

    def __reduce__(self):
        return (getattr, (self.target, self.name))


def test_restricted_getattr(no_force_unsafe):
    from mmengine.logging.history_buffer import HistoryBuffer

    def roundtrip(obj):
        buf = io.BytesIO()
        torch.save(obj, buf)
        buf.seek(0)
        return torch.load(buf)

    assert roundtrip(Getattr(HistoryBuffer, 'mean')) is HistoryBuffer.mean
    assert roundtrip({'m': Getattr(HistoryBuffer, 'min')})['m'] is HistoryBuffer.min
    # gadgets the real getattr would give: module globals, builtins, private attributes
    for target, name in [(HistoryBuffer, '__init__'), (HistoryBuffer, '_statistics_methods'),
                         (HistoryBuffer, 'nonexistent'), (getattr, '__self__'), (np.ndarray, 'view')]:
        with pytest.raises(pickle.UnpicklingError):
            roundtrip(Getattr(target, name))
    with pytest.raises(pickle.UnpicklingError, match='only methods of HistoryBuffer'):
        _history_buffer_method(np.ndarray, 'view')


def _python_and_shell_files():
    """The avsseg package, the runner tools (tools/*.py, tools/*.sh), projects/ and configs/."""
    for top in ('avsseg', 'projects', 'configs'):
        for root, _, files in os.walk(osp.join(REPO, top)):
            for name in files:
                if name.endswith(('.py', '.sh')):
                    yield osp.join(root, name)
    tools = osp.join(REPO, 'tools')
    for name in os.listdir(tools):
        if name.endswith(('.py', '.sh')):
            yield osp.join(tools, name)


def _unsafe_loads(path):
    """Code (not comments or docs) that passes weights_only=False or sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.sh'):
        return [f'{path}:{n}' for n, line in enumerate(text.splitlines(), 1)
                if 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' in line.split('#')[0]]
    found = []
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)]
    for i, tok in enumerate(tokens):
        if (tok.type == tokenize.NAME and tok.string == 'weights_only' and i + 2 < len(tokens)
                and tokens[i + 1].string == '=' and tokens[i + 2].string == 'False'):
            found.append(f'{path}:{tok.start[0]}')
        elif tok.type == tokenize.STRING and re.fullmatch(
                r'[rbuRBU]*[\'"]+TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD[\'"]+', tok.string):
            found.append(f'{path}:{tok.start[0]}')
    return found


def test_unsafe_load_detector(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('import os, torch\n# weights_only=False in a comment is fine\n'
                   'x = torch.load("a", weights_only = False)\n'
                   'os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"\n')
    assert _unsafe_loads(str(bad)) == [f'{bad}:3', f'{bad}:4']


def test_no_unsafe_loading_anywhere():
    """No torch.load(weights_only=False) and no env switch that turns the safe loader off."""
    offenders, scanned = [], 0
    for path in _python_and_shell_files():
        scanned += 1
        offenders.extend(_unsafe_loads(path))
    assert scanned > 10
    assert not offenders, offenders
