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


def test_test_arguments(monkeypatch, tmp_path):
    args = parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--show-dir', 'vis', '--audio-perturb', 'noise',
                             '--snr', '5'], monkeypatch)
    assert (args.checkpoint, args.show_dir, args.audio_perturb, args.snr) == ('ckpt.pth', 'vis', 'noise', 5.0)
    assert args.offscreen_audio is None
    with pytest.raises(SystemExit):
        parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--audio-perturb', 'louder'], monkeypatch)
    with pytest.raises(SystemExit):
        parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--snr', '5'], monkeypatch)  # --snr without noise
    with pytest.raises(SystemExit):
        parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--audio-perturb', 'swap', '--snr', '5'], monkeypatch)
    clipper = tmp_path / 'clipper.wav'
    clipper.write_bytes(b'')
    args = parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', '--audio-perturb', 'offscreen', '--offscreen-audio',
                             str(clipper), '--snr', '-5'], monkeypatch)
    assert (args.audio_perturb, args.offscreen_audio, args.snr) == ('offscreen', str(clipper), -5.0)


@pytest.mark.parametrize('argv,message', [
    (['--offscreen-audio', 'CLIPPER'], "only applies to --audio-perturb offscreen, not 'none'"),
    (['--audio-perturb', 'noise', '--offscreen-audio', 'CLIPPER'], "not 'noise'"),
    (['--audio-perturb', 'offscreen', '--offscreen-audio', 'missing_clipper.wav'],
     'file not found: missing_clipper.wav'),
])
def test_offscreen_audio_argument_errors(argv, message, monkeypatch, tmp_path, capsys):
    clipper = tmp_path / 'clipper.wav'
    clipper.write_bytes(b'')
    argv = [str(clipper) if a == 'CLIPPER' else a for a in argv]
    with pytest.raises(SystemExit):
        parse(test_tool, ['test.py', 'cfg.py', 'ckpt.pth', *argv], monkeypatch)
    assert message in capsys.readouterr().err


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


def _perturb_args(kind, snr=None, offscreen_audio=None):
    return SimpleNamespace(audio_perturb=kind, snr=snr, offscreen_audio=offscreen_audio, config='x.py')


def test_audio_perturbation_wraps_every_test_dataset():
    cfg = Config.fromfile(TINY_S4)
    original = cfg.test_dataloader.dataset.to_dict()
    test_tool.set_audio_perturbation(cfg, _perturb_args('noise', snr=10.0))
    assert cfg.test_dataloader.dataset.to_dict() == dict(
        type='AudioPerturbedDataset', dataset=original, perturbation=dict(type='noise', seed=0, snr_db=10.0))
    assert cfg.val_dataloader.dataset.type != 'AudioPerturbedDataset'  # only the test set is perturbed
    cfg = Config.fromfile(TINY_S4)
    test_tool.set_audio_perturbation(cfg, _perturb_args('offscreen', offscreen_audio='clipper.wav'))
    assert cfg.test_dataloader.dataset.perturbation == dict(type='offscreen', seed=0, offscreen_audio='clipper.wav')
    # datasets inside ConcatDataset / RepeatDataset are wrapped one by one (those wrappers have no pipeline)
    wrapped = Config(dict(test_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[dict(type='A'), dict(type='RepeatDataset', times=2, dataset=dict(type='B'))]))))
    test_tool.set_audio_perturbation(wrapped, _perturb_args('swap'))
    inner = wrapped.test_dataloader.dataset.datasets
    assert inner[0].to_dict() == dict(type='AudioPerturbedDataset', dataset=dict(type='A'),
                                      perturbation=dict(type='swap', seed=0))
    assert inner[1].type == 'RepeatDataset' and inner[1].dataset.type == 'AudioPerturbedDataset'
    assert inner[1].dataset.dataset == dict(type='B')
    none = Config.fromfile(TINY_S4)
    test_tool.set_audio_perturbation(none, _perturb_args('none'))
    assert none.test_dataloader.dataset.to_dict() == Config.fromfile(TINY_S4).test_dataloader.dataset.to_dict()
    twice = Config(dict(test_dataloader=dict(dataset=dict(type='avsseg.AudioPerturbedDataset', dataset=dict(
        type='A'), perturbation=dict(type='silence')))))
    with pytest.raises(ValueError, match='already an AudioPerturbedDataset'):
        test_tool.set_audio_perturbation(twice, _perturb_args('swap'))


def test_every_config_supports_show_dir():
    """Every runnable config loads (no duplicate keys among its bases) and carries the hook --show-dir needs
    (train-only configs, which tools/test.py cannot run: test_dataloader None, such as BAVS's stand-in tagger,
    are only loaded)."""
    import glob
    paths = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
             if f'{osp.sep}_base_{osp.sep}' not in p]
    assert paths
    train_only = []
    for path in paths:
        cfg = Config.fromfile(path)
        assert cfg.default_scope == 'avsseg', path
        if cfg.get('test_dataloader', None) is None:
            train_only.append(osp.relpath(path, REPO))
            continue
        args = SimpleNamespace(show=False, show_dir='vis', wait_time=0, config=path)
        assert test_tool.trigger_visualization_hook(cfg, args).default_hooks.visualization.out_dir == 'vis'
    # a new train-only config is a choice to make here, not a config that lost its test loop by accident
    assert train_only == [osp.join('configs', 'bavs', 'bavs_tagger_tiny_synthetic_avss.py')]
