"""StrictLoadCheckpointHook: a checkpoint must fill the model exactly, except frozen weights loaded from files."""
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from torch import nn

from avsseg.engine.hooks import StrictLoadCheckpointHook
from avsseg.engine.hooks.strict_load_checkpoint_hook import frozen_from_file_modules
from avsseg.registry import HOOKS


class FrozenFromFile(nn.Module):
    """Stands for VGGish(pretrained=..., freeze=True): weights read from a file when built, never trained."""

    def __init__(self, pretrained='pretrained/audio.pth', freeze=True):
        super().__init__()
        self.pretrained = pretrained
        self.freeze = freeze
        self.fc = nn.Linear(3, 2)
        if freeze:
            self.fc.requires_grad_(False)


class Tiny(nn.Module):

    def __init__(self, audio=None, width=4):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width))
        self.decode_head = nn.Conv2d(width, 2, 1)
        self.audio_backbone = audio if audio is not None else FrozenFromFile()


def _runner(model):
    return SimpleNamespace(model=model, logger=mock.Mock())


def test_matching_checkpoint_passes():
    model = Tiny()
    hook = StrictLoadCheckpointHook(checkpoint='ok.pth')
    runner = _runner(model)
    hook.after_load_checkpoint(runner, dict(state_dict=Tiny().state_dict(), meta=dict()))
    # a plain state dict and DataParallel-style prefixes are read as Runner.load_checkpoint reads them
    hook.after_load_checkpoint(runner, {f'module.{k}': v for k, v in Tiny().state_dict().items()})
    runner.logger.info.assert_not_called()


def test_checkpoint_of_another_model_names_the_keys():
    """mmengine would load it with strict=False and evaluate a mostly random model."""
    other = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 2, 1))
    with pytest.raises(RuntimeError) as err:
        StrictLoadCheckpointHook(checkpoint='work_dirs/other/iter_100.pth').after_load_checkpoint(
            _runner(Tiny()), dict(state_dict=other.state_dict()))
    msg = str(err.value)
    assert 'checkpoint work_dirs/other/iter_100.pth does not match the model' in msg
    assert '9 model weight(s) the checkpoint does not hold' in msg
    assert 'backbone.* 7, decode_head.* 2' in msg and 'backbone.0.weight' in msg and 'decode_head.bias' in msg
    assert '4 checkpoint key(s) the model does not have' in msg and '0.weight' in msg and '2.bias' in msg
    assert 'audio_backbone' in msg  # named as the exception, not as missing


def test_shape_mismatch_and_partial_checkpoint():
    state = Tiny(width=6).state_dict()
    with pytest.raises(RuntimeError, match=r'shape mismatch.*\n.*backbone\.0\.weight: checkpoint \(6, 3, 3, 3\), '
                       r'model \(4, 3, 3, 3\)'):
        StrictLoadCheckpointHook().check(Tiny(), state)
    state = Tiny().state_dict()
    del state['backbone.1.num_batches_tracked']
    with pytest.raises(RuntimeError, match=r'1 model weight\(s\).*\n    backbone\.1\.num_batches_tracked'):
        StrictLoadCheckpointHook().check(Tiny(), state)


def test_frozen_weights_from_a_file_may_be_absent_and_are_listed():
    """Official AVSBench checkpoints leave VGGish out: its weights come from its pretrained file."""
    model = Tiny()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('audio_backbone.')}
    runner = _runner(model)
    StrictLoadCheckpointHook().after_load_checkpoint(runner, dict(state_dict=state))
    runner.logger.info.assert_called_once()
    logged = runner.logger.info.call_args[0][0]
    assert logged.startswith('audio_backbone: 2 weight(s) not in the checkpoint, kept from pretrained/audio.pth')


@pytest.mark.parametrize('audio', [FrozenFromFile(pretrained=None), FrozenFromFile(freeze=False)])
def test_weights_not_frozen_from_a_file_must_be_in_the_checkpoint(audio):
    """Without a file (tools/test.py drops missing ones) or when trained, the checkpoint must hold them."""
    model = Tiny(audio=audio)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('audio_backbone.')}
    with pytest.raises(RuntimeError, match=r'2 model weight\(s\) .*\(audio_backbone\.\* 2\)'):
        StrictLoadCheckpointHook().check(model, state)


def test_vggish_is_recognised_as_frozen_from_file():
    from avsseg.models.audio_backbones import VGGish
    with torch.device('meta'), pytest.warns(UserWarning, match='no pretrained weights'):
        vggish = VGGish(pretrained=None, freeze=True)
    assert frozen_from_file_modules(nn.ModuleDict(dict(audio_backbone=vggish))) == {}
    vggish.pretrained = 'pretrained/vggish-10086976.pth'  # as after loading that file
    assert frozen_from_file_modules(nn.ModuleDict(dict(audio_backbone=vggish))) == {
        'audio_backbone': 'pretrained/vggish-10086976.pth'}


def test_registered_with_priority():
    hook = HOOKS.build(dict(type='StrictLoadCheckpointHook', checkpoint='a.pth'))
    assert isinstance(hook, StrictLoadCheckpointHook) and hook.priority == 'VERY_HIGH'
