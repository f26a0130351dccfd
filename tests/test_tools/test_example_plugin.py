"""The out-of-tree plugin (projects/example_plugin) registers an audio backbone through custom_imports and
trains through tools/train.py."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from tool_runner import REPO, data_root_options, python_tool, run, tool_env

import avsseg  # noqa: F401
from avsseg.datasets.synthetic import generate_synthetic_avsbench

PLUGIN_DIR = osp.join(REPO, 'projects', 'example_plugin')
PLUGIN_CFG = osp.join(PLUGIN_DIR, 'configs', 'tpavi_meanpool-audio_tiny_synthetic-s4.py')


def test_plugin_lives_outside_avsseg():
    import avsseg as pkg
    assert not osp.abspath(PLUGIN_DIR).startswith(osp.dirname(osp.abspath(pkg.__file__)))


def test_plugin_config_is_the_quickstart_config_with_the_audio_backbone_swapped():
    """The example inherits a config of configs/ (not test data) and changes only the part the plugin adds."""
    plugin = Config.fromfile(PLUGIN_CFG, import_custom_modules=False).to_dict()
    quickstart = Config.fromfile(osp.join(REPO, 'configs', 'tpavi', 'tpavi_tiny_synthetic_s4.py')).to_dict()
    assert plugin.pop('custom_imports') == dict(imports=['avsseg_example_plugin'], allow_failed_imports=False)
    encoder = plugin['model'].pop('audio_backbone')
    assert encoder['type'] == 'MeanPoolAudioEncoder' and encoder['out_channels'] == quickstart['model']['neck'][
        'audio_channels']
    quickstart['model'].pop('audio_backbone')
    assert plugin == quickstart


def test_plugin_trains_through_tools(tmp_path):
    data_root = tmp_path / 'data'
    generate_synthetic_avsbench(str(data_root), 's4', seed=2, num_videos=6, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25))
    work_dir = tmp_path / 'work'
    proc = run(python_tool('train.py', PLUGIN_CFG, '--work-dir', work_dir, *data_root_options(str(data_root)),
                           'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'),
               tool_env(tmp_path, extra_pythonpath=[PLUGIN_DIR]))
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log
    state = torch.load(work_dir / 'iter_2.pth', map_location='cpu')['state_dict']
    # the plugin's encoder is the model's audio backbone: [N, 1, 96, 64] -> mean/std of 64 bands -> 64 -> 128
    assert state['audio_backbone.mlp.0.weight'].shape == (64, 128)
    assert state['audio_backbone.mlp.2.weight'].shape == (128, 64)
    assert not any(k.startswith('audio_backbone.stages') for k in state)  # LogMelCNN of the base is gone


def test_plugin_config_without_plugin_on_path_fails_clearly(tmp_path):
    with pytest.raises(AssertionError, match='avsseg_example_plugin'):
        run(python_tool('train.py', PLUGIN_CFG, '--work-dir', tmp_path / 'w'), tool_env(tmp_path))


def test_encoder_unit(tmp_path):
    import sys
    sys.path.insert(0, PLUGIN_DIR)
    try:
        from avsseg_example_plugin import MeanPoolAudioEncoder

        from avsseg.registry import MODELS
        assert MODELS.get('MeanPoolAudioEncoder') is MeanPoolAudioEncoder
        enc = MeanPoolAudioEncoder(num_mel_bins=4, hidden_channels=3, out_channels=2)
        x = torch.randn(5, 1, 7, 4, requires_grad=True)
        out = enc(x)
        assert out.shape == (5, 2)
        # statistics pooling by hand
        stats = torch.cat([x[:, 0].mean(1), torch.sqrt(x[:, 0].var(1, unbiased=False) + enc.eps)], 1)
        torch.testing.assert_close(out, enc.mlp(stats))
        # temporal order inside a patch does not matter
        torch.testing.assert_close(enc(x.flip(2)), out)
        out.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
        # silence (constant input) keeps finite gradients thanks to eps
        z = torch.zeros(2, 1, 7, 4, requires_grad=True)
        enc(z).sum().backward()
        assert torch.isfinite(z.grad).all()
        with pytest.raises(ValueError, match=r'\[N, 1, T, 4\]'):
            enc(torch.randn(2, 1, 7, 5))
    finally:
        sys.path.remove(PLUGIN_DIR)
