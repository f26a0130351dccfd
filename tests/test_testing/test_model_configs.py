"""avsseg.testing.get_config and tiny_model_cfg: every model family shrinks to tiny widths, keeps its structure and
switches, loads no weight file, builds and runs on demo clips."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import demo_clip_inputs, get_config, tiny_model_cfg
from avsseg.testing.model_configs import CONFIGS_ROOT

REPO = osp.join(osp.dirname(__file__), '..', '..')
# models build their data preprocessor through the default scope
init_default_scope('avsseg')


def _config_diff():
    spec = importlib.util.spec_from_file_location('config_diff', osp.join(REPO, 'tests', 'test_configs',
                                                                          'config_diff.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


flatten, differing_keys = _config_diff().flatten, _config_diff().differing_keys

MODEL_CONFIGS = ['tpavi/tpavi_r50_s4.py', 'tpavi/tpavi_pvt_ms3.py', 'tpavi/tpavi_r50_avss.py',
                 'tpavi/tpavi_tiny_synthetic_s4.py', 'combo/combo_r50_s4.py', 'combo/combo_pvt_avss.py',
                 'combo/ablations/combo_r50_s4_wo-sem.py', 'combo/combo_tiny_synthetic_s4.py']
# the last key of every path tiny_model_cfg may change: widths, depths, counts, padding and weight files
SIZE_KEYS = {'depth', 'stem_channels', 'base_channels', 'embed_dims', 'num_layers', 'num_heads', 'in_channels',
             'channels', 'out_channels', 'audio_channels', 'mid_channels', 'feat_channels', 'num_queries',
             'audio_mlp_channels', 'num_groups', 'num_points', 'feedforward_channels', 'num_feats', 'size',
             'size_divisor', 'init_cfg', 'pretrained', 'checkpoint', 'type', 'len'}


def test_get_config_reads_a_fresh_config_relative_to_configs():
    cfg = get_config('tpavi/tpavi_r50_s4.py')
    assert isinstance(cfg, Config) and cfg.filename == osp.join(CONFIGS_ROOT, 'tpavi', 'tpavi_r50_s4.py')
    cfg.model.neck.channels = 1
    assert get_config('tpavi/tpavi_r50_s4.py').model.neck.channels == 256
    assert get_config('_base_/models/combo_r50.py').model.decode_head.type == 'COMBOHead'
    with pytest.raises(FileNotFoundError, match=r'no config .*configs/tpavi/tpavi_r18_s4\.py'):
        get_config('tpavi/tpavi_r18_s4.py')


@pytest.mark.parametrize('name', MODEL_CONFIGS)
def test_structure_and_switches_stay_sizes_shrink(name):
    original = get_config(name).model
    before = original.to_dict()
    tiny = tiny_model_cfg(original)
    assert original.to_dict() == before  # a copy

    changed = differing_keys(before, tiny.to_dict())
    assert changed
    others = sorted(k for k in changed if not k.startswith('audio_backbone.') and k.split('.')[-1] not in SIZE_KEYS
                    and not k.split('.')[-1].isdigit())
    assert not others, others
    # no part changes its type but the audio backbone (and the dropped weight files)
    assert not [k for k in changed if k.endswith('.type') and not k.startswith('audio_backbone.')
                and '.init_cfg.' not in k]
    weights = [v for v in flatten(before).values() if v == 'Pretrained' or str(v).endswith(('.pth', '.pkl'))]
    assert bool(weights) == ('tiny' not in name)  # the recipes load ImageNet / AudioSet weights, the quickstarts not
    assert not [(k, v) for k, v in flatten(tiny.to_dict()).items()
                if v == 'Pretrained' or str(v).endswith(('.pth', '.pkl'))], 'a weight file is loaded'
    assert tiny.audio_backbone == dict(type='LogMelCNN', channels=(4, ), out_channels=16)

    torch.manual_seed(0)
    model = MODELS.build(tiny)
    assert sum(p.numel() for p in model.parameters()) < 2e6
    model.eval()
    with torch.no_grad():
        levels = model.backbone(*([torch.zeros(1, 3, 32, 32)] * (1 + len(model.backbone_extra_inputs))))
    assert [f.shape[1] for f in levels] == [16, 32, 64, 128]
    head = model.decode_head
    if hasattr(head, 'transformer_decoder'):
        assert head.num_queries == 4 and len(head.transformer_decoder.layers) == 3
        assert head.pixel_decoder.encoder.layers[0].self_attn.num_points == 2 and head.num_points == 64
    else:
        assert model.neck.channels == 16 and model.neck.tpavi_stages == tuple(original.neck.tpavi_stages)


@pytest.mark.parametrize('name', ['tpavi/tpavi_r50_avss.py', 'combo/combo_pvt_s4.py'])
def test_a_tiny_model_trains_and_predicts_on_demo_clips(name):
    tiny = tiny_model_cfg(get_config(name).model)
    torch.manual_seed(0)
    model = MODELS.build(tiny)
    model.init_weights()
    clip_args = dict(num_classes=tiny.decode_head.num_classes, aux_image_keys=model.backbone_extra_inputs,
                     labeled=[[True, False, True], [True, True, False]], padded=[[False] * 3, [False, False, True]])
    model.train()
    losses = model(**demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=True, **clip_args),
                   mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert model.audio_backbone.fc.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        results = model(**demo_clip_inputs(data_preprocessor=model.data_preprocessor, **clip_args), mode='predict')
    assert len(results) == 6 and all(r.pred_sem_seg.shape == (32, 32) for r in results)
    assert results[5].pred_sem_seg.data.sum() == 0  # the padded frame is background


def test_a_fixed_padding_size_becomes_a_divisor():
    full = get_config('_base_/models/combo_r50.py').model.data_preprocessor
    tiny = tiny_model_cfg(get_config('_base_/models/combo_r50.py').model).data_preprocessor
    assert full.size == (224, 224) and (tiny.size, tiny.size_divisor) == (None, 32)
    assert tiny.test_cfg == full.test_cfg and tiny.aux_image_keys == full.aux_image_keys


def test_the_tool_test_config_is_the_quickstart_tpavi_at_tiny_sizes():
    """tests/data/configs/tpavi_tiny_synthetic_s4.py inherits the quickstart config and writes out these sizes."""
    test_cfg = Config.fromfile(osp.join(REPO, 'tests', 'data', 'configs', 'tpavi_tiny_synthetic_s4.py'))
    quickstart = get_config('tpavi/tpavi_tiny_synthetic_s4.py')
    assert test_cfg.model.to_dict() == tiny_model_cfg(quickstart.model).to_dict()
    assert quickstart.train_pipeline[:3] == test_cfg.train_pipeline[:3]  # the same loaders


@pytest.mark.parametrize('unmixing,layers,queries', [
    (dict(num_layers=6), 1, 4), (dict(num_layers=0), 0, 4), (dict(num_layers=6, use_number_proj=False), 1, 5),
    (None, None, 4)])
def test_auss_head_shrinks_its_unmixing_and_keeps_its_switches(unmixing, layers, queries):
    """AUSS's A2U: one encoder layer (none stays none), and without the number projector its T queries."""
    model = get_config('_base_/models/tpavi_r50.py').model
    combo_head = get_config('_base_/models/combo_r50.py').model.decode_head
    model.neck = None
    model.decode_head = {k: v for k, v in combo_head.items() if k in (
        'in_channels', 'strides', 'feat_channels', 'out_channels', 'num_transformer_feat_level', 'pixel_decoder',
        'enforce_decoder_input_project', 'positional_encoding', 'transformer_decoder', 'train_cfg')}
    model.decode_head.update(
        type='AUSSHead', num_queries=5 if unmixing and unmixing.get('use_number_proj') is False else 300,
        loss_cls=dict(type='SoftmaxFocalLoss', gamma=2.0, class_weight=[1.0, 1.0], loss_weight=5.0),
        unmixing=unmixing and dict(type='AudioUnmixing', num_frames=5, num_heads=8, feedforward_channels=2048,
                                   **unmixing))
    tiny = tiny_model_cfg(model)
    assert tiny.decode_head.num_queries == queries
    if unmixing is not None:
        assert tiny.decode_head.unmixing.num_layers == layers and tiny.decode_head.unmixing.num_heads == 4
    built = MODELS.build(tiny).decode_head
    assert built.num_queries == queries and (built.unmixing is None) == (unmixing is None)


@pytest.mark.parametrize('key,part,message', [
    ('backbone', dict(type='MixVisionTransformer'), "backbone type 'MixVisionTransformer'"),
    ('audio_backbone', dict(type='BEATs'), "audio_backbone type 'BEATs'"),
    ('neck', dict(type='mmseg.FPN'), "neck type 'FPN'"),
    ('decode_head', dict(type='FCNHead'), "decode_head type 'FCNHead'"),
    ('auxiliary_head', [dict(type='FCNHead')], r"auxiliary_head\[0\] type 'FCNHead'"),
    ('backbone', dict(depth=50), 'backbone has no type name'),
])
def test_parts_without_tiny_sizes_are_named(key, part, message):
    model = get_config('_base_/models/tpavi_r50.py').model
    model[key] = part
    with pytest.raises(ValueError, match=message):
        tiny_model_cfg(model)
