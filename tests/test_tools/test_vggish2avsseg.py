import importlib.util
import os
import runpy
import sys
from collections import OrderedDict
from fractions import Fraction

import numpy as np
import pytest
import torch

CONVERTER = os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'model_converters', 'vggish2avsseg.py'))
SHAPES = OrderedDict([
    ('features.0.weight', (64, 1, 3, 3)), ('features.0.bias', (64, )), ('features.3.weight', (128, 64, 3, 3)),
    ('features.3.bias', (128, )), ('features.6.weight', (256, 128, 3, 3)), ('features.6.bias', (256, )),
    ('features.8.weight', (256, 256, 3, 3)), ('features.8.bias', (256, )),
    ('features.11.weight', (512, 256, 3, 3)), ('features.11.bias', (512, )),
    ('features.13.weight', (512, 512, 3, 3)), ('features.13.bias', (512, )),
    ('embeddings.0.weight', (4096, 12288)), ('embeddings.0.bias', (4096, )),
    ('embeddings.2.weight', (4096, 4096)), ('embeddings.2.bias', (4096, )),
    ('embeddings.4.weight', (128, 4096)), ('embeddings.4.bias', (128, ))
])


def _tool():
    spec = importlib.util.spec_from_file_location('vggish2avsseg', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp('torchvggish')
    gen = torch.Generator().manual_seed(0)
    state = OrderedDict((k, torch.randn(*s, generator=gen)) for k, s in SHAPES.items())
    src = str(root / 'vggish-10086976.pth')
    torch.save(state, src)
    rng = np.random.default_rng(0)
    pca = dict(pca_eigen_vectors=rng.standard_normal((128, 128)), pca_means=rng.standard_normal((128, 1)))
    pca_src = str(root / 'vggish_pca_params-970ea276.pth')
    torch.save(pca, pca_src)  # numpy arrays, as the torchvggish release asset
    return dict(root=root, state=state, src=src, pca=pca, pca_src=pca_src)


def test_convert_with_pca_round_trips(sources, tmp_path, capsys):
    dst = str(tmp_path / 'out' / 'vggish_avsseg.pth')
    allowlist_before = set(torch.serialization.get_safe_globals())
    _tool().main([sources['src'], dst, '--pca', sources['pca_src']])
    assert 'weights_only=False' not in capsys.readouterr().out  # plain numpy arrays load safely
    assert set(torch.serialization.get_safe_globals()) == allowlist_before  # the allowlist is left as it was
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    state = ckpt['state_dict']
    assert list(state) == list(SHAPES) + ['pca_eigen_vectors', 'pca_means']
    for key, value in sources['state'].items():
        assert torch.equal(state[key], value), key
    assert state['pca_means'].shape == (128, ) and state['pca_eigen_vectors'].shape == (128, 128)
    np.testing.assert_allclose(state['pca_means'].numpy(), sources['pca']['pca_means'].reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(state['pca_eigen_vectors'].numpy(), sources['pca']['pca_eigen_vectors'],
                               rtol=1e-6)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert ckpt['meta']['source'] == 'vggish-10086976.pth'


def test_convert_without_pca_and_from_npz(sources, tmp_path):
    tool = _tool()
    dst = str(tmp_path / 'plain.pth')
    state = tool.convert(sources['src'], dst)
    assert 'pca_means' not in state and len(torch.load(dst, weights_only=True)['state_dict']) == 18
    npz = str(tmp_path / 'vggish_pca_params.npz')
    np.savez(npz, pca_eigen_vectors=sources['pca']['pca_eigen_vectors'],
             pca_means=sources['pca']['pca_means'].reshape(-1))
    pca = tool.load_pca(npz)
    np.testing.assert_allclose(pca['pca_means'].numpy(), sources['pca']['pca_means'].reshape(-1), rtol=1e-6)
    assert pca['pca_eigen_vectors'].dtype == torch.float32


def test_convert_rejects_bad_inputs(sources, tmp_path):
    tool = _tool()
    # Small stand-ins: keys are checked before shapes, and shapes in key order.
    partial = {k: torch.zeros(1) for k in SHAPES if k != 'features.13.bias'}
    bad = str(tmp_path / 'partial.pth')
    torch.save(partial, bad)
    with pytest.raises(KeyError, match='partial.pth.*features.13.bias'):
        tool.convert(bad, str(tmp_path / 'x.pth'))
    wrong = {k: torch.zeros(*s) for k, s in SHAPES.items() if k.startswith('features.')}
    wrong.update({k: torch.zeros(1) for k in SHAPES if k.startswith('embeddings.')})
    wrong['features.6.weight'] = torch.zeros(64, 128, 3, 3)
    torch.save(wrong, bad)
    with pytest.raises(ValueError, match=r'features.6.weight has shape \[64, 128, 3, 3\]'):
        tool.convert(bad, str(tmp_path / 'x.pth'))
    pca_bad = str(tmp_path / 'pca_bad.npz')
    np.savez(pca_bad, pca_eigen_vectors=np.zeros((128, 128)))
    with pytest.raises(KeyError, match='pca_means'):
        tool.convert(sources['src'], str(tmp_path / 'x.pth'), pca_bad)
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        tool.convert(str(tmp_path / 'absent.pth'), str(tmp_path / 'x.pth'))
    assert not os.path.exists(tmp_path / 'x.pth')


def test_cli(sources, tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit):
        _tool().parse_args(['--help'])
    help_text = capsys.readouterr().out
    assert 'SECURITY' in help_text and 'weights_only=False' in help_text
    dst = str(tmp_path / 'cli.pth')
    # Run as a script (its __main__ block) with command-line arguments, in this interpreter.
    monkeypatch.setattr(sys, 'argv', [CONVERTER, sources['src'], dst])
    runpy.run_path(CONVERTER, run_name='__main__')
    assert '72,141,184 VGGish parameters' in capsys.readouterr().out
    assert torch.equal(torch.load(dst, weights_only=True)['state_dict']['features.0.weight'],
                       sources['state']['features.0.weight'])


def test_pca_file_with_other_objects_uses_trusted_fallback(sources, tmp_path, capsys):
    pca = dict(sources['pca'], note=Fraction(1, 2))  # a global outside the numpy allowlist
    pca_src = str(tmp_path / 'pca_with_extra.pth')
    torch.save(pca, pca_src)
    state = _tool().load_pca(pca_src)
    assert 'pca_with_extra.pth needs the unrestricted loader' in capsys.readouterr().out
    np.testing.assert_allclose(
        state['pca_eigen_vectors'].numpy(), sources['pca']['pca_eigen_vectors'], rtol=1e-6)
