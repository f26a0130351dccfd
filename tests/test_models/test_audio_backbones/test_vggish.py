import importlib.util
import os
from collections import OrderedDict
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from avsseg.models.audio_backbones import VGGish
from avsseg.registry import MODELS

CONVERTER = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'model_converters',
                         'vggish2avsseg.py')
CONV_KEYS = (0, 3, 6, 8, 11, 13)
CONV_SHAPES = [(64, 1), (128, 64), (256, 128), (256, 256), (512, 256), (512, 512)]
FC_SHAPES = [(4096, 12288), (4096, 4096), (128, 4096)]


def _converter():
    spec = importlib.util.spec_from_file_location('vggish2avsseg', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_torchvggish_state(seed=0):
    """A torchvggish-like state dict (its key names) with He-scaled random weights."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for idx, (out_c, in_c) in zip(CONV_KEYS, CONV_SHAPES):
        std = (2 / (9 * in_c))**0.5
        state[f'features.{idx}.weight'] = torch.randn(out_c, in_c, 3, 3, generator=gen) * std
        state[f'features.{idx}.bias'] = torch.randn(out_c, generator=gen) * 0.01
    for idx, (out_f, in_f) in zip((0, 2, 4), FC_SHAPES):
        state[f'embeddings.{idx}.weight'] = torch.randn(out_f, in_f, generator=gen) * (2 / in_f)**0.5
        state[f'embeddings.{idx}.bias'] = torch.randn(out_f, generator=gen) * 0.01
    return state


def _torchvggish_style_forward(state, x, final_relu=True, nhwc=True):
    """Independent forward written from torchvggish's description: NCHW convs, then transpose(1, 3) and
    transpose(1, 2) to [N, H, W, C] before flattening, as the TF model's NHWC layout requires."""
    for i, idx in enumerate(CONV_KEYS):
        x = F.relu(F.conv2d(x, state[f'features.{idx}.weight'], state[f'features.{idx}.bias'], padding=1))
        if i in (0, 1, 3, 5):
            x = F.max_pool2d(x, 2)
    assert x.shape[1:] == (512, 6, 4)
    if nhwc:
        x = x.transpose(1, 3).transpose(1, 2)
    x = x.contiguous().view(x.shape[0], -1)
    x = F.relu(F.linear(x, state['embeddings.0.weight'], state['embeddings.0.bias']))
    x = F.relu(F.linear(x, state['embeddings.2.weight'], state['embeddings.2.bias']))
    x = F.linear(x, state['embeddings.4.weight'], state['embeddings.4.bias'])
    return F.relu(x) if final_relu else x


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('vggish')
    state = _fake_torchvggish_state()
    raw = str(root / 'vggish-10086976.pth')
    torch.save(state, raw)
    rng = np.random.default_rng(0)
    pca = dict(pca_eigen_vectors=rng.standard_normal((128, 128)).astype(np.float32) * 0.5,
               pca_means=rng.standard_normal((128, 1)).astype(np.float32))
    pca_pth = str(root / 'vggish_pca_params-970ea276.pth')
    torch.save(pca, pca_pth)  # numpy arrays, like torchvggish's release asset
    converted = str(root / 'vggish_avsseg.pth')
    _converter().convert(raw, converted, pca_pth)
    npz = str(root / 'pca.npz')
    np.savez(npz, pca_eigen_vectors=pca['pca_eigen_vectors'], pca_means=pca['pca_means'].reshape(-1))
    return dict(state=state, raw=raw, converted=converted, pca=pca, npz=npz)


def _examples(n=2, seed=0):
    return torch.randn(n, 1, 96, 64, generator=torch.Generator().manual_seed(seed)) - 3.0


def test_architecture_and_parameter_count():
    model = VGGish(freeze=False)
    assert sum(p.numel() for p in model.parameters()) == 72_141_184
    keys = {k for k in model.state_dict()}
    expected = {f'features.{i}.{p}' for i in CONV_KEYS for p in ('weight', 'bias')}
    expected |= {f'embeddings.{i}.{p}' for i in (0, 2, 4) for p in ('weight', 'bias')}
    assert keys == expected
    out = model(_examples())
    assert out.shape == (2, 128)
    assert (out >= 0).all()  # final ReLU
    with pytest.raises(ValueError, match=r'\[N, 1, 96, 64\]'):
        model(torch.zeros(2, 96, 64))


def test_loads_converted_and_raw_torchvggish_exactly(checkpoints):
    state = checkpoints['state']
    x = _examples()
    for path in (checkpoints['converted'], checkpoints['raw']):
        model = VGGish(pretrained=path)
        loaded = model.state_dict()
        for key, value in state.items():
            assert torch.equal(loaded[key], value), key
        expected = _torchvggish_style_forward(state, x)
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
    # The flatten order matters: flattening NCHW directly would give other embeddings.
    assert expected.abs().max() > 0
    nchw = _torchvggish_style_forward(state, x, nhwc=False)
    assert not torch.allclose(nchw, expected, atol=1e-3)


def test_final_relu_off_gives_pre_activation(checkpoints):
    x = _examples(4)
    with_relu = VGGish(pretrained=checkpoints['raw'], final_relu=True)(x)
    pre = VGGish(pretrained=checkpoints['raw'], final_relu=False)(x)
    assert (pre < 0).any()
    torch.testing.assert_close(F.relu(pre), with_relu)
    torch.testing.assert_close(pre, _torchvggish_style_forward(checkpoints['state'], x, final_relu=False),
                               rtol=1e-4, atol=1e-5)


def test_frozen_stays_eval_without_grad(checkpoints):
    model = VGGish(pretrained=checkpoints['raw'])
    assert all(not p.requires_grad for p in model.parameters())
    parent = torch.nn.Sequential(model)
    parent.train()
    assert not any(m.training for m in model.modules())
    x = _examples().requires_grad_()
    out = model(x)
    assert not out.requires_grad and out.grad_fn is None

    trainable = VGGish(pretrained=checkpoints['raw'], freeze=False)
    parent = torch.nn.Sequential(trainable).train()
    assert trainable.training
    trainable(_examples()).sum().backward()
    assert all(p.grad is not None for p in trainable.parameters())


def test_pca_postprocessing_matches_hand_computation(checkpoints):
    x = _examples(3)
    raw = VGGish(pretrained=checkpoints['raw'], final_relu=False)(x).double().numpy()
    pca = checkpoints['pca']
    eigen = pca['pca_eigen_vectors'].astype(np.float64)
    means = pca['pca_means'].reshape(-1).astype(np.float64)
    projected = (eigen @ (raw.T - means[:, None])).T
    expected = np.round((np.clip(projected, -2.0, 2.0) + 2.0) * 255.0 / 4.0)
    assert (expected == 0).any() and (expected == 255).any() and ((expected > 0) & (expected < 255)).any()

    pca_pth = os.path.join(os.path.dirname(checkpoints['raw']), 'vggish_pca_params-970ea276.pth')
    for kwargs in (dict(pretrained=checkpoints['raw'], pca_params=checkpoints['npz']),
                   dict(pretrained=checkpoints['converted']),  # PCA tensors stored by the converter
                   # numpy arrays in a .pth load safely: avsseg allowlists numpy array reconstruction
                   dict(pretrained=checkpoints['raw'], pca_params=pca_pth)):
        out = VGGish(final_relu=False, pca=True, **kwargs)(x).double().numpy()
        assert out.shape == (3, 128)
        assert np.array_equal(out, np.round(out)) and out.min() >= 0 and out.max() <= 255
        # float32 vs float64 may round a value sitting on .5 differently; nothing else may differ.
        assert np.abs(out - expected).max() <= 1
        assert (out == expected).mean() > 0.99


def test_pca_and_file_errors(tmp_path, checkpoints):
    with pytest.raises(ValueError, match='pca_params'):
        VGGish(pretrained=checkpoints['raw'], pca=True)
    with pytest.raises(ValueError, match='pca=True'):
        VGGish(pca_params=checkpoints['npz'])
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        VGGish(pretrained=str(tmp_path / 'nowhere.pth'))
    with pytest.raises(ValueError, match='not a URL'):
        VGGish(pretrained='https://example.com/vggish.pth')
    pickled = str(tmp_path / 'pickled_object.pth')
    torch.save(dict(pca_eigen_vectors=Fraction(1, 2), pca_means=Fraction(1, 3)), pickled)
    with pytest.raises(RuntimeError, match='pickled_object.pth.*vggish2avsseg'):  # refused by the safe loader
        VGGish(pretrained=checkpoints['raw'], pca=True, pca_params=pickled)
    bad_shape = str(tmp_path / 'bad_shape.npz')
    np.savez(bad_shape, pca_eigen_vectors=np.zeros((128, 64)), pca_means=np.zeros(128))
    with pytest.raises(ValueError, match=r'bad_shape.npz.*\[128, 64\]'):
        VGGish(pretrained=checkpoints['raw'], pca=True, pca_params=bad_shape)
    partial = dict(checkpoints['state'])
    partial.pop('embeddings.4.bias')
    partial['extra.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'partial.pth')
    torch.save(partial, bad)
    with pytest.raises(KeyError, match=r"embeddings.4.bias"):
        VGGish(pretrained=bad)


def test_registry_build_and_init_weights_restores_pretrained(checkpoints):
    model = MODELS.build(dict(type='VGGish', pretrained=checkpoints['converted']))
    assert isinstance(model, VGGish)
    with torch.no_grad():
        model.features[0].weight.zero_()  # as a parent's init_cfg would overwrite it
    model.init_weights()
    assert torch.equal(model.features[0].weight, checkpoints['state']['features.0.weight'])
