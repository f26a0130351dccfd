"""Argument handling of tools/train.py and tools/test.py (in-process, no training)."""
import importlib.util
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from tool_runner import REPO, TINY_S4


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'avsseg_tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


test_tool = load_tool('test')
train_tool = load_tool('train')


def parse(module, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', argv)
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    return module.parse_args()


def test_train_arguments(monkeypatch):
    args = parse(train_tool, ['train.py', 'cfg.py', '--resume', '--amp', '--launcher', 'pytorch',
                              '--local-rank', '3', '--cfg-options', 'a.b=1'], monkeypatch)
    assert args.resume and args.amp and args.launcher == 'pytorch' and args.cfg_options == {'a.b': 1}
    import os
    assert os.environ['LOCAL_RANK'] == '3'  # torch >= 2.0 launchers pass --local-rank
    args = parse(train_tool, ['train.py', 'cfg.py', '--local_rank', '1'], monkeypatch)
    assert args.local_rank == 1 and not args.resume and args.launcher == 'none'


def test_test_arguments(monkeypatch):
    args = parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--show-dir', 'vis', '--audio-perturb', 'noise',
                             '--snr', '5'], monkeypatch)
    assert (args.checkpoint, args.show_dir, args.audio_perturb, args.snr) == ('ckpt.pth', 'vis', 'noise', 5.0)
    with pytest.raises(SystemExit):
        parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--audio-perturb', 'louder'], monkeypatch)
    with pytest.raises(SystemExit):
        parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--snr', '5'], monkeypatch)  # --snr without noise


def test_show_dir_turns_on_the_hook():
    cfg = Config.fromfile(TINY_S4)
    assert cfg.default_hooks.visualization.draw is False
    args = SimpleNamespace(show=True, show_dir='vis', wait_time=0.5, config='tiny.py')
    hook = test_tool.trigger_visualization_hook(cfg, args).default_hooks.visualization
    assert (hook.draw, hook.interval, hook.show, hook.wait_time, hook.out_dir) == (True, 1, True, 0.5, 'vis')


def test_show_dir_needs_the_avs_hook():
    args = SimpleNamespace(show=False, show_dir='vis', wait_time=0, config='x.py')
    with pytest.raises(RuntimeError, match='default_hooks.visualization'):
        test_tool.trigger_visualization_hook(Config(dict(default_hooks=dict())), args)
    cfg = Config(dict(default_hooks=dict(visualization=dict(type='SegVisualizationHook'))))
    with pytest.raises(RuntimeError, match='AVSVisualizationHook'):
        test_tool.trigger_visualization_hook(cfg, args)
    cfg = Config(dict(default_hooks=dict(visualization=dict(type='avsseg.AVSVisualizationHook'))))
    assert test_tool.trigger_visualization_hook(cfg, args).default_hooks.visualization.out_dir == 'vis'


def test_audio_perturbation_reaches_every_test_dataset():
    args = SimpleNamespace(audio_perturb='noise', snr=10.0, config='x.py')
    cfg = Config.fromfile(TINY_S4)
    test_tool.set_audio_perturbation(cfg, args)
    assert cfg.test_dataloader.dataset.audio_perturbation == dict(type='noise', seed=0, snr_db=10.0)
    assert 'audio_perturbation' not in cfg.val_dataloader.dataset  # only the test set is perturbed
    wrapped = Config(dict(test_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[dict(type='A'), dict(type='RepeatDataset', dataset=dict(type='B'))]))))
    test_tool.set_audio_perturbation(wrapped, SimpleNamespace(audio_perturb='swap', snr=None, config='x.py'))
    inner = wrapped.test_dataloader.dataset.datasets
    assert inner[0].audio_perturbation == dict(type='swap', seed=0)
    assert inner[1].dataset.audio_perturbation == dict(type='swap', seed=0)
    none = Config.fromfile(TINY_S4)
    test_tool.set_audio_perturbation(none, SimpleNamespace(audio_perturb='none', snr=None, config='x.py'))
    assert 'audio_perturbation' not in none.test_dataloader.dataset


def test_every_config_supports_show_dir():
    """Every runnable config loads (no duplicate keys among its bases) and carries the hook --show-dir needs."""
    import glob
    paths = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
             if f'{osp.sep}_base_{osp.sep}' not in p]
    assert paths
    for path in paths:
        cfg = Config.fromfile(path)
        assert cfg.default_scope == 'avsseg', path
        args = SimpleNamespace(show=False, show_dir='vis', wait_time=0, config=path)
        assert test_tool.trigger_visualization_hook(cfg, args).default_hooks.visualization.out_dir == 'vis'
