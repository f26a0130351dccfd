"""compose_two_stage.py: one checkpoint with the stage-1 PSOS and the tagger, loaded strictly by the stage-2 config."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import get_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE2 = osp.join(REPO, 'configs', 'bavs', 'bavs_avis_tiny_synthetic_avss.py')
init_default_scope('avsseg')


def _tool():
    path = osp.join(REPO, 'tools', 'model_converters', 'compose_two_stage.py')
    spec = importlib.util.spec_from_file_location('compose_two_stage', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(scope='module')
def parts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('compose')
    torch.manual_seed(0)
    stage1 = MODELS.build(get_config('bavs/bavs_psos_tiny_synthetic_avss_stage1.py').model).eval()
    tagger = MODELS.build(get_config('bavs/bavs_tagger_tiny_synthetic_avss.py').model).eval()
    with torch.no_grad():  # non-default BN statistics, so a lost buffer would show
        tagger.audio_backbone.encoder.stages[0][0].bn.running_mean.uniform_(-1, 1)
    s1 = str(tmp / 'stage1.pth')
    tg = str(tmp / 'tagger.pth')
    torch.save(dict(state_dict=stage1.state_dict(), meta=dict(iter=2)), s1)
    torch.save(dict(state_dict=tagger.state_dict(), meta=dict(iter=2)), tg)
    return dict(tmp=tmp, stage1=stage1, tagger=tagger, s1=s1, tg=tg)


def load_stage2(path):
    model = MODELS.build(get_config('bavs/bavs_avis_tiny_synthetic_avss.py').model).eval()
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    return model, ckpt['meta']['compose_two_stage']


def check_same(model, parts):
    wave = torch.randn(3, 16000) * 0.1
    with torch.no_grad():
        assert torch.equal(model.audio_backbone(wave), parts['tagger'].audio_backbone.logits(wave).sigmoid())
    own = model.state_dict()
    for k, v in parts['stage1'].state_dict().items():
        assert torch.equal(own[k], v), k


def test_compose_from_training_checkpoints(parts, capsys):
    out = str(parts['tmp'] / 'bavs.pth')
    assert tool.main(['--stage1', parts['s1'], '--tagger', parts['tg'], '--config', STAGE2, '-o', out]) == 0
    assert 'loaded strictly' in capsys.readouterr().out
    model, meta = load_stage2(out)
    check_same(model, parts)
    assert meta['tree_sha256'] == tool.sha256sum(osp.join(REPO, 'configs/bavs/trees/synthetic_av_tree.json'))
    assert meta['stage1_sha256'] == tool.sha256sum(parts['s1'])


@pytest.mark.parametrize('fmt', ['pth', 'safetensors'])
def test_compose_from_a_standalone_tagger_file(parts, fmt):
    weights = parts['tagger'].audio_backbone.state_dict()
    path = str(parts['tmp'] / f'tagger_module.{fmt}')
    if fmt == 'pth':
        torch.save(dict(model=weights), path)
    else:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in weights.items()}, path)
    out = str(parts['tmp'] / f'bavs_{fmt}.pth')
    tool.main(['--stage1', parts['s1'], '--tagger', path, '--config', STAGE2, '-o', out])
    check_same(load_stage2(out)[0], parts)


def test_errors(parts):
    bad = str(parts['tmp'] / 'stage1_with_audio.pth')
    torch.save(dict(state_dict=parts['tagger'].state_dict()), bad)
    with pytest.raises(ValueError, match='already holds audio_backbone'):
        tool.main(['--stage1', bad, '--tagger', parts['tg'], '-o', str(parts['tmp'] / 'x.pth')])
    with pytest.raises(KeyError, match='--tagger-prefix'):
        tool.main(['--stage1', parts['s1'], '--tagger', parts['tg'], '--tagger-prefix', 'nothing.', '-o',
                   str(parts['tmp'] / 'x.pth')])
    small = {k: v for k, v in parts['stage1'].state_dict().items() if 'query_embed' not in k}
    torch.save(dict(state_dict=small), bad)
    out = str(parts['tmp'] / 'never.pth')
    with pytest.raises(ValueError, match='missing'):
        tool.main(['--stage1', bad, '--tagger', parts['tg'], '--config', STAGE2, '-o', out])
    assert not osp.exists(out)
    with pytest.raises(FileNotFoundError, match='tagger file'):
        tool.main(['--stage1', parts['s1'], '--tagger', str(parts['tmp'] / 'none.pth'), '-o', out])
