"""tools/model_converters/avsbench2avsseg.py on synthetic official state dicts.

The official key names and shapes are written here from the module structure of OpenNLPLab/AVSBench
``Pred_endecoder`` (``conv{k}.conv2d_list``, ``tpavi_b{k}``, ``path{k}.resConfUnit{1,2}``, ``output_conv``),
``pvt.py`` (``patch_embed{i}``, ``block{i}.{j}``, ``norm{i}``) and ``resnet.py`` (``B2_ResNet``).
"""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torchvision
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS

# models build their data preprocessor through the default scope
init_default_scope('avsseg')

ROOT = osp.join(osp.dirname(__file__), '..', '..')
_spec = importlib.util.spec_from_file_location(
    'avsbench2avsseg', osp.join(ROOT, 'tools', 'model_converters', 'avsbench2avsseg.py'))
converter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(converter)


def _official_tpavi_parts(vis_dims, channel, num_classes, align_bias=True):
    """Keys/shapes of everything after the backbone in the official Pred_endecoder."""
    sd = OrderedDict()
    inter = channel // 2
    for k, cin in enumerate(vis_dims, start=1):
        for j in range(4):
            sd[f'conv{k}.conv2d_list.{j}.weight'] = (channel, cin, 3, 3)
            sd[f'conv{k}.conv2d_list.{j}.bias'] = (channel, )
    for k in range(1, 5):
        for unit in (1, 2):
            for conv in (1, 2):
                sd[f'path{k}.resConfUnit{unit}.conv{conv}.weight'] = (channel, channel, 3, 3)
                sd[f'path{k}.resConfUnit{unit}.conv{conv}.bias'] = (channel, )
    for k in range(1, 5):
        p = f'tpavi_b{k}.'
        sd[p + 'align_channel.weight'] = (channel, 128)
        if align_bias:
            sd[p + 'align_channel.bias'] = (channel, )
        sd[p + 'norm_layer.weight'] = (channel, )
        sd[p + 'norm_layer.bias'] = (channel, )
        sd[p + 'g.weight'] = (inter, channel, 1, 1, 1)
        sd[p + 'g.bias'] = (inter, )
        sd[p + 'W_z.0.weight'] = (channel, inter, 1, 1, 1)
        sd[p + 'W_z.0.bias'] = (channel, )
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            sd[p + f'W_z.1.{name}'] = (channel, )
        sd[p + 'W_z.1.num_batches_tracked'] = ()
        for name in ('theta', 'phi'):
            sd[p + f'{name}.weight'] = (inter, channel, 1, 1, 1)
            sd[p + f'{name}.bias'] = (inter, )
    sd['output_conv.0.weight'] = (128, channel, 3, 3)
    sd['output_conv.0.bias'] = (128, )
    sd['output_conv.2.weight'] = (32, 128, 3, 3)
    sd['output_conv.2.bias'] = (32, )
    sd['output_conv.4.weight'] = (num_classes, 32, 1, 1)
    sd['output_conv.4.bias'] = (num_classes, )
    return sd


def _official_pvt(embed_dims, depths, mlp_ratio=4, sr_ratios=(8, 4, 2, 1)):
    sd = OrderedDict()
    prev = 3
    for i, (c, depth, sr) in enumerate(zip(embed_dims, depths, sr_ratios), start=1):
        k = 7 if i == 1 else 3
        sd[f'patch_embed{i}.proj.weight'] = (c, prev, k, k)
        sd[f'patch_embed{i}.proj.bias'] = (c, )
        sd[f'patch_embed{i}.norm.weight'] = (c, )
        sd[f'patch_embed{i}.norm.bias'] = (c, )
        hidden = c * mlp_ratio
        for j in range(depth):
            p = f'block{i}.{j}.'
            for norm in ('norm1', 'norm2'):
                sd[p + f'{norm}.weight'] = (c, )
                sd[p + f'{norm}.bias'] = (c, )
            sd[p + 'attn.q.weight'] = (c, c)
            sd[p + 'attn.q.bias'] = (c, )
            sd[p + 'attn.kv.weight'] = (2 * c, c)
            sd[p + 'attn.kv.bias'] = (2 * c, )
            sd[p + 'attn.proj.weight'] = (c, c)
            sd[p + 'attn.proj.bias'] = (c, )
            if sr > 1:
                sd[p + 'attn.sr.weight'] = (c, c, sr, sr)
                sd[p + 'attn.sr.bias'] = (c, )
                sd[p + 'attn.norm.weight'] = (c, )
                sd[p + 'attn.norm.bias'] = (c, )
            sd[p + 'mlp.fc1.weight'] = (hidden, c)
            sd[p + 'mlp.fc1.bias'] = (hidden, )
            sd[p + 'mlp.dwconv.dwconv.weight'] = (hidden, 1, 3, 3)
            sd[p + 'mlp.dwconv.dwconv.bias'] = (hidden, )
            sd[p + 'mlp.fc2.weight'] = (c, hidden)
            sd[p + 'mlp.fc2.bias'] = (c, )
        sd[f'norm{i}.weight'] = (c, )
        sd[f'norm{i}.bias'] = (c, )
        prev = c
    return sd


def _official_b2_resnet():
    """B2_ResNet = torchvision ResNet-50 names with layer3/4 renamed ``_1`` plus a second ``_2`` branch."""
    sd = OrderedDict()
    for k, v in torchvision.models.resnet50(weights=None).state_dict().items():
        if k.startswith('fc.'):
            continue
        for layer in ('layer3', 'layer4'):
            if k.startswith(layer + '.'):
                sd['resnet.' + k.replace(layer, layer + '_1', 1)] = tuple(v.shape)
                sd['resnet.' + k.replace(layer, layer + '_2', 1)] = tuple(v.shape)
                break
        else:
            sd['resnet.' + k] = tuple(v.shape)
    return sd


def _materialise(shapes, prefix=''):
    # one distinct constant per tensor: cheap for the 90M-parameter R50 model, and value checks stay meaningful
    return OrderedDict((prefix + k, torch.full(s, float(i)) if s else torch.tensor(i))
                       for i, (k, s) in enumerate(shapes.items()))


def _model(backbone, channels, num_classes=1, align_bias=True):
    head = dict(type='AVSBenchHead', in_channels=channels, num_classes=2 if num_classes == 1 else num_classes,
                out_channels=num_classes, threshold=0.5 if num_classes == 1 else None,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=num_classes == 1))
    if backbone == 'r50':
        bb = dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3), style='pytorch')
        dims = [256, 512, 1024, 2048]
    else:
        bb = dict(type='mmdet.PyramidVisionTransformerV2', embed_dims=8, num_layers=[1, 1, 2, 1],
                  num_heads=[1, 2, 5, 8], mlp_ratios=[4, 4, 4, 4], qkv_bias=True, norm_cfg=dict(type='LN', eps=1e-6))
        dims = [8, 16, 40, 64]
    return MODELS.build(dict(
        type='AudioVisualSegmentor', backbone=bb, decode_head=head,
        neck=dict(type='TPAVINeck', in_channels=dims, channels=channels, align_bias=align_bias))), dims


def _check(model, converted):
    expected = model.state_dict()
    assert set(converted) == set(expected)
    for k, v in expected.items():
        assert converted[k].shape == v.shape, k
    model.load_state_dict(converted, strict=True)


def test_convert_r50_checkpoint_with_module_prefix():
    model, dims = _model('r50', channels=16)  # the official width is 256; the mapping does not depend on it
    shapes = _official_b2_resnet()
    shapes.update(_official_tpavi_parts(dims, 16, 1))
    state = converter.unwrap(_materialise(shapes, prefix='module.'))
    converted, dropped, unmatched = converter.convert(state, 'r50')
    assert not unmatched
    assert dropped and all('layer3_2' in k or 'layer4_2' in k for k in dropped)
    _check(model, converted)
    # values are carried over, not just shapes
    torch.testing.assert_close(converted['backbone.layer3.0.conv1.weight'],
                               state['resnet.layer3_1.0.conv1.weight'])
    torch.testing.assert_close(converted['decode_head.fusion_blocks.3.out_unit.conv2.bias'],
                               state['path4.resConfUnit2.conv2.bias'])
    torch.testing.assert_close(converted['neck.tpavi_blocks.1.bn_out.running_var'],
                               state['tpavi_b2.W_z.1.running_var'])


def test_convert_pvt_avss_checkpoint():
    model, dims = _model('pvt', channels=16, num_classes=71, align_bias=False)
    shapes = OrderedDict(('encoder_backbone.' + k, s) for k, s in _official_pvt(dims, [1, 1, 2, 1]).items())
    shapes.update(_official_tpavi_parts(dims, 16, 71, align_bias=False))
    state = _materialise(shapes)
    converted, dropped, unmatched = converter.convert(dict(state_dict=state)['state_dict'], 'pvt')
    assert not unmatched and not dropped
    _check(model, converted)
    # q and kv are merged into one in_proj
    q = state['encoder_backbone.block3.1.attn.q.weight']
    kv = state['encoder_backbone.block3.1.attn.kv.weight']
    torch.testing.assert_close(converted['backbone.layers.2.1.1.attn.attn.in_proj_weight'], torch.cat([q, kv]))


def test_main_reports_unmatched_keys(tmp_path, capsys):
    shapes = _official_tpavi_parts([8, 16, 40, 64], 16, 1)
    state = _materialise(shapes)
    state['encoder_backbone.block1.0.attn.q.weight'] = torch.zeros(8, 8)
    state['some_head.weight'] = torch.zeros(3)
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'converted.pth')
    torch.save(state, src)
    # wrong backbone: PVT keys and the unknown key are reported, nothing is written
    assert converter.main([src, dst, '--backbone', 'r50']) == 1
    err = capsys.readouterr().err
    assert 'some_head.weight' in err and 'encoder_backbone.block1.0.attn.q.weight' in err
    assert not osp.exists(dst)
    assert converter.main([src, dst, '--backbone', 'r50', '--allow-missing']) == 0
    out = torch.load(dst, weights_only=True)
    assert 'neck.tpavi_blocks.0.audio_proj.weight' in out['state_dict']
    assert 'some_head.weight' not in out['state_dict']


def test_unknown_backbone_rejected():
    with pytest.raises(ValueError, match='backbone'):
        converter.convert({}, 'swin')


def test_official_pvt_imagenet_weights_load_through_init_cfg(tmp_path):
    """``pretrained/pvt_v2_b5.pth`` (official PVT-v2 layout) needs no conversion step: mmdet's backbone converts
    it in ``init_weights``. Checked on a tiny PVT-v2 with the official key structure."""
    from mmengine.config import ConfigDict
    dims = [8, 16, 40, 64]
    shapes = _official_pvt(dims, [1, 1, 2, 1])
    g = torch.Generator().manual_seed(0)
    state = OrderedDict((k, torch.randn(s, generator=g)) for k, s in shapes.items())
    state['head.weight'] = torch.randn(1000, 64, generator=g)  # classifier of the ImageNet file, unused
    path = str(tmp_path / 'pvt_v2_tiny.pth')
    torch.save(state, path)
    backbone = MODELS.build(ConfigDict(
        type='mmdet.PyramidVisionTransformerV2', embed_dims=8, num_layers=[1, 1, 2, 1], num_heads=[1, 2, 5, 8],
        mlp_ratios=[4, 4, 4, 4], qkv_bias=True, norm_cfg=dict(type='LN', eps=1e-6),
        init_cfg=dict(type='Pretrained', checkpoint=path)))
    backbone.init_weights()
    loaded = backbone.state_dict()
    from mmdet.models.backbones.pvt import pvt_convert
    assert set(pvt_convert(state)) == set(loaded)  # every backbone tensor comes from the file
    torch.testing.assert_close(loaded['layers.0.0.projection.weight'], state['patch_embed1.proj.weight'])
    torch.testing.assert_close(loaded['layers.3.1.0.ffn.layers.4.weight'],
                               state['block4.0.mlp.fc2.weight'][..., None, None])
    torch.testing.assert_close(loaded['layers.2.1.1.attn.attn.in_proj_weight'],
                               torch.cat([state['block3.1.attn.q.weight'], state['block3.1.attn.kv.weight']]))
    torch.testing.assert_close(loaded['layers.1.2.weight'], state['norm2.weight'])
