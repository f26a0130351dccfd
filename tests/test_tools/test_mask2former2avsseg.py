"""mask2former2avsseg: a tiny detectron2 Mask2Former state dict (key names written out here from the
facebookresearch/Mask2Former modules: D2SwinTransformer, MSDeformAttnPixelDecoder, MultiScaleMaskedTransformerDecoder)
and a tiny mmdet 3.x Mask2Former (built by mmdet) must convert into the tiny PSOS model's state dict, class head
excepted; the Swin patch-merging reorder must compute what the official layer computes."""
import importlib.util
import os.path as osp
import pickle
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'mask2former2avsseg.py')
BASE_MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'psos_swin-b.py')

# tiny architecture shared by the fake sources and the avsseg config below
EMBED, DEPTHS, HEADS, WINDOW = 16, (2, 2, 2, 2), (1, 2, 4, 8), 4
CHANNELS = [EMBED * 2**i for i in range(4)]  # 16, 32, 64, 128
DIMS, ENC_FFN, DEC_FFN, ATT_HEADS, POINTS, LEVELS = 32, 64, 64, 8, 4, 3
ENC_LAYERS, DEC_LAYERS, QUERIES, K, COCO_CLASSES = 1, 2, 4, 5, 133

TINY_CONFIG = f"""
_base_ = [{BASE_MODEL!r}]
model = dict(
    backbone=dict(pretrain_img_size=64, embed_dims={EMBED}, depths={list(DEPTHS)}, num_heads={list(HEADS)},
                  window_size={WINDOW}, drop_path_rate=0.0, init_cfg=None),
    decode_head=dict(
        in_channels={CHANNELS}, feat_channels={DIMS}, out_channels={DIMS}, num_queries={QUERIES}, num_classes={K},
        loss_cls=dict(class_weight=[1.0] * {K} + [0.1]),
        pixel_decoder=dict(
            encoder=dict(num_layers={ENC_LAYERS}, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims={DIMS}),
                ffn_cfg=dict(embed_dims={DIMS}, feedforward_channels={ENC_FFN}))),
            positional_encoding=dict(num_feats={DIMS // 2})),
        positional_encoding=dict(num_feats={DIMS // 2}),
        transformer_decoder=dict(num_layers={DEC_LAYERS}, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims={DIMS}), cross_attn_cfg=dict(embed_dims={DIMS}),
            ffn_cfg=dict(embed_dims={DIMS}, feedforward_channels={DEC_FFN}))),
        train_cfg=dict(num_points=64)))
"""


def _tool():
    spec = importlib.util.spec_from_file_location('mask2former2avsseg', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return _tool()


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp('cfg') / 'psos_swin_tiny.py'
    path.write_text(TINY_CONFIG)
    return str(path)


def official_index(window):
    """relative_position_index as microsoft/Swin-Transformer (and D2SwinTransformer) compute it."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += window - 1
    rel[:, :, 1] += window - 1
    rel[:, :, 0] *= 2 * window - 1
    return rel.sum(-1)


def d2_state_dict(queries=QUERIES, seed=0):
    """Key names and shapes of a detectron2 Mask2Former with a D2SwinTransformer backbone (random values)."""
    shapes = OrderedDict()
    ints = {}
    b = 'backbone.'
    shapes[b + 'patch_embed.proj.weight'] = (EMBED, 3, 4, 4)
    shapes[b + 'patch_embed.proj.bias'] = (EMBED, )
    shapes[b + 'patch_embed.norm.weight'] = shapes[b + 'patch_embed.norm.bias'] = (EMBED, )
    for i, (depth, heads) in enumerate(zip(DEPTHS, HEADS)):
        dim = CHANNELS[i]
        for j in range(depth):
            blk = f'{b}layers.{i}.blocks.{j}.'
            for norm in ('norm1', 'norm2'):
                shapes[blk + norm + '.weight'] = shapes[blk + norm + '.bias'] = (dim, )
            shapes[blk + 'attn.relative_position_bias_table'] = ((2 * WINDOW - 1)**2, heads)
            ints[blk + 'attn.relative_position_index'] = official_index(WINDOW)
            shapes[blk + 'attn.qkv.weight'], shapes[blk + 'attn.qkv.bias'] = (3 * dim, dim), (3 * dim, )
            shapes[blk + 'attn.proj.weight'], shapes[blk + 'attn.proj.bias'] = (dim, dim), (dim, )
            shapes[blk + 'mlp.fc1.weight'], shapes[blk + 'mlp.fc1.bias'] = (4 * dim, dim), (4 * dim, )
            shapes[blk + 'mlp.fc2.weight'], shapes[blk + 'mlp.fc2.bias'] = (dim, 4 * dim), (dim, )
        if i < 3:
            shapes[f'{b}layers.{i}.downsample.reduction.weight'] = (2 * dim, 4 * dim)
            shapes[f'{b}layers.{i}.downsample.norm.weight'] = (4 * dim, )
            shapes[f'{b}layers.{i}.downsample.norm.bias'] = (4 * dim, )
        shapes[f'{b}norm{i}.weight'] = shapes[f'{b}norm{i}.bias'] = (dim, )
    p = 'sem_seg_head.pixel_decoder.'
    for j in range(LEVELS):  # input_proj.0 is the lowest resolution (res5)
        shapes[f'{p}input_proj.{j}.0.weight'] = (DIMS, CHANNELS[3 - j], 1, 1)
        for n in ('0.bias', '1.weight', '1.bias'):
            shapes[f'{p}input_proj.{j}.{n}'] = (DIMS, )
    shapes[p + 'transformer.level_embed'] = (LEVELS, DIMS)
    for layer in range(ENC_LAYERS):
        e = f'{p}transformer.encoder.layers.{layer}.'
        shapes[e + 'self_attn.sampling_offsets.weight'] = (ATT_HEADS * LEVELS * POINTS * 2, DIMS)
        shapes[e + 'self_attn.sampling_offsets.bias'] = (ATT_HEADS * LEVELS * POINTS * 2, )
        shapes[e + 'self_attn.attention_weights.weight'] = (ATT_HEADS * LEVELS * POINTS, DIMS)
        shapes[e + 'self_attn.attention_weights.bias'] = (ATT_HEADS * LEVELS * POINTS, )
        for n in ('value_proj', 'output_proj'):
            shapes[f'{e}self_attn.{n}.weight'], shapes[f'{e}self_attn.{n}.bias'] = (DIMS, DIMS), (DIMS, )
        shapes[e + 'linear1.weight'], shapes[e + 'linear1.bias'] = (ENC_FFN, DIMS), (ENC_FFN, )
        shapes[e + 'linear2.weight'], shapes[e + 'linear2.bias'] = (DIMS, ENC_FFN), (DIMS, )
        for n in ('norm1', 'norm2'):
            shapes[f'{e}{n}.weight'] = shapes[f'{e}{n}.bias'] = (DIMS, )
    # one FPN level (res2): d2's Conv2d with a GN norm has no bias
    shapes[p + 'adapter_1.weight'] = (DIMS, CHANNELS[0], 1, 1)
    shapes[p + 'adapter_1.norm.weight'] = shapes[p + 'adapter_1.norm.bias'] = (DIMS, )
    shapes[p + 'layer_1.weight'] = (DIMS, DIMS, 3, 3)
    shapes[p + 'layer_1.norm.weight'] = shapes[p + 'layer_1.norm.bias'] = (DIMS, )
    shapes[p + 'mask_features.weight'], shapes[p + 'mask_features.bias'] = (DIMS, DIMS, 1, 1), (DIMS, )
    q = 'sem_seg_head.predictor.'
    for layer in range(DEC_LAYERS):
        for part, attn in (('transformer_self_attention_layers', 'self_attn'),
                           ('transformer_cross_attention_layers', 'multihead_attn')):
            a = f'{q}{part}.{layer}.'
            shapes[f'{a}{attn}.in_proj_weight'], shapes[f'{a}{attn}.in_proj_bias'] = (3 * DIMS, DIMS), (3 * DIMS, )
            shapes[f'{a}{attn}.out_proj.weight'], shapes[f'{a}{attn}.out_proj.bias'] = (DIMS, DIMS), (DIMS, )
            shapes[a + 'norm.weight'] = shapes[a + 'norm.bias'] = (DIMS, )
        f = f'{q}transformer_ffn_layers.{layer}.'
        shapes[f + 'linear1.weight'], shapes[f + 'linear1.bias'] = (DEC_FFN, DIMS), (DEC_FFN, )
        shapes[f + 'linear2.weight'], shapes[f + 'linear2.bias'] = (DIMS, DEC_FFN), (DIMS, )
        shapes[f + 'norm.weight'] = shapes[f + 'norm.bias'] = (DIMS, )
    shapes[q + 'decoder_norm.weight'] = shapes[q + 'decoder_norm.bias'] = (DIMS, )
    shapes[q + 'query_feat.weight'] = shapes[q + 'query_embed.weight'] = (queries, DIMS)
    shapes[q + 'level_embed.weight'] = (LEVELS, DIMS)
    shapes[q + 'class_embed.weight'], shapes[q + 'class_embed.bias'] = (COCO_CLASSES + 1, DIMS), (COCO_CLASSES + 1, )
    for j in range(3):
        shapes[f'{q}mask_embed.layers.{j}.weight'], shapes[f'{q}mask_embed.layers.{j}.bias'] = (DIMS, DIMS), (DIMS, )
    shapes['criterion.empty_weight'] = (COCO_CLASSES + 1, )
    gen = torch.Generator().manual_seed(seed)
    out = OrderedDict((k, torch.randn(s, generator=gen)) for k, s in shapes.items())
    out.update(ints)
    return out


#: detectron2 key -> PSOS key, written out by hand (not derived from the converter's tables)
EXPECTED_D2 = {
    'backbone.patch_embed.proj.weight': 'backbone.patch_embed.projection.weight',
    'backbone.patch_embed.norm.bias': 'backbone.patch_embed.norm.bias',
    'backbone.layers.0.blocks.0.attn.relative_position_bias_table':
    'backbone.stages.0.blocks.0.attn.w_msa.relative_position_bias_table',
    'backbone.layers.2.blocks.1.attn.qkv.weight': 'backbone.stages.2.blocks.1.attn.w_msa.qkv.weight',
    'backbone.layers.3.blocks.1.attn.proj.bias': 'backbone.stages.3.blocks.1.attn.w_msa.proj.bias',
    'backbone.layers.1.blocks.0.mlp.fc1.weight': 'backbone.stages.1.blocks.0.ffn.layers.0.0.weight',
    'backbone.layers.1.blocks.1.mlp.fc2.bias': 'backbone.stages.1.blocks.1.ffn.layers.1.bias',
    'backbone.layers.2.blocks.0.norm2.weight': 'backbone.stages.2.blocks.0.norm2.weight',
    'backbone.norm3.weight': 'backbone.norm3.weight',
    'sem_seg_head.pixel_decoder.input_proj.0.0.weight': 'decode_head.pixel_decoder.input_convs.0.conv.weight',
    'sem_seg_head.pixel_decoder.input_proj.2.1.bias': 'decode_head.pixel_decoder.input_convs.2.gn.bias',
    'sem_seg_head.pixel_decoder.transformer.level_embed': 'decode_head.pixel_decoder.level_encoding.weight',
    'sem_seg_head.pixel_decoder.transformer.encoder.layers.0.self_attn.sampling_offsets.weight':
    'decode_head.pixel_decoder.encoder.layers.0.self_attn.sampling_offsets.weight',
    'sem_seg_head.pixel_decoder.transformer.encoder.layers.0.linear1.weight':
    'decode_head.pixel_decoder.encoder.layers.0.ffn.layers.0.0.weight',
    'sem_seg_head.pixel_decoder.transformer.encoder.layers.0.norm2.bias':
    'decode_head.pixel_decoder.encoder.layers.0.norms.1.bias',
    'sem_seg_head.pixel_decoder.adapter_1.weight': 'decode_head.pixel_decoder.lateral_convs.0.conv.weight',
    'sem_seg_head.pixel_decoder.layer_1.norm.weight': 'decode_head.pixel_decoder.output_convs.0.gn.weight',
    'sem_seg_head.pixel_decoder.mask_features.weight': 'decode_head.pixel_decoder.mask_feature.weight',
    'sem_seg_head.predictor.transformer_self_attention_layers.1.self_attn.in_proj_weight':
    'decode_head.transformer_decoder.layers.1.self_attn.attn.in_proj_weight',
    'sem_seg_head.predictor.transformer_self_attention_layers.0.norm.weight':
    'decode_head.transformer_decoder.layers.0.norms.1.weight',
    'sem_seg_head.predictor.transformer_cross_attention_layers.1.multihead_attn.out_proj.bias':
    'decode_head.transformer_decoder.layers.1.cross_attn.attn.out_proj.bias',
    'sem_seg_head.predictor.transformer_cross_attention_layers.0.norm.bias':
    'decode_head.transformer_decoder.layers.0.norms.0.bias',
    'sem_seg_head.predictor.transformer_ffn_layers.1.linear2.weight':
    'decode_head.transformer_decoder.layers.1.ffn.layers.1.weight',
    'sem_seg_head.predictor.transformer_ffn_layers.0.norm.weight':
    'decode_head.transformer_decoder.layers.0.norms.2.weight',
    'sem_seg_head.predictor.decoder_norm.bias': 'decode_head.transformer_decoder.post_norm.bias',
    'sem_seg_head.predictor.query_feat.weight': 'decode_head.query_feat.weight',
    'sem_seg_head.predictor.query_embed.weight': 'decode_head.query_embed.weight',
    'sem_seg_head.predictor.level_embed.weight': 'decode_head.level_embed.weight',
    'sem_seg_head.predictor.mask_embed.layers.1.weight': 'decode_head.mask_embed.2.weight',
    'sem_seg_head.predictor.mask_embed.layers.2.bias': 'decode_head.mask_embed.4.bias',
}


def _psos(tiny_config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import avsseg.models  # noqa: F401
    from avsseg.registry import MODELS
    init_default_scope('avsseg')
    return MODELS.build(Config.fromfile(tiny_config).model)


def _load_like_load_from(model, path):
    """What mmengine's load_from does (non-strict), returning the missing / unexpected keys."""
    saved = torch.load(path, map_location='cpu', weights_only=True)
    result = model.load_state_dict(saved['state_dict'], strict=False)
    return saved, sorted(result.missing_keys), sorted(result.unexpected_keys)


def _save_pkl(state, path):
    with open(path, 'wb') as f:
        pickle.dump({'model': {k: v.numpy() for k, v in state.items()}, '__author__': 'test'}, f)


def test_detectron2_pkl_converts_into_the_psos_model(tool, tiny_config, tmp_path, capsys):
    src_state = d2_state_dict()
    src, dst = tmp_path / 'model_final.pkl', tmp_path / 'out.pth'
    _save_pkl(src_state, src)
    assert tool.main([str(src), str(dst), '--config', tiny_config]) == 0
    printed = capsys.readouterr().out
    assert 'left uninitialised in the model: decode_head.cls_embed.weight, decode_head.cls_embed.bias' in printed
    assert 'dropped class head (cls_embed): 2 keys' in printed and 'dropped criterion: 1 keys' in printed

    model = _psos(tiny_config)
    init_cls = model.decode_head.cls_embed.weight.detach().clone()
    saved, missing, unexpected = _load_like_load_from(model, dst)
    assert unexpected == [] and missing == ['decode_head.cls_embed.bias', 'decode_head.cls_embed.weight']
    assert torch.equal(model.decode_head.cls_embed.weight, init_cls)  # the class head keeps its init
    state = model.state_dict()
    for d2_key, key in EXPECTED_D2.items():
        assert torch.equal(state[key], src_state[d2_key]), (d2_key, key)
    # every source tensor except the class head and the loss buffer reached the model (the merges reordered)
    assert len(saved['state_dict']) == len(src_state) - 3
    meta = saved['meta']
    assert meta['source_format'] == 'detectron2' and meta['queries'] == dict(source=4, target=4, mode='error')
    assert meta['dropped']['class head (cls_embed)'] == ['sem_seg_head.predictor.class_embed.weight',
                                                         'sem_seg_head.predictor.class_embed.bias']
    assert meta['dropped']['criterion'] == ['criterion.empty_weight']
    assert meta['uninitialised'] == ['decode_head.cls_embed.weight', 'decode_head.cls_embed.bias']

    # the runner's load_from path (mmengine's non-strict load_checkpoint) gives the same weights
    from mmengine.runner import load_checkpoint
    fresh = _psos(tiny_config)
    load_checkpoint(fresh, str(dst), map_location='cpu', strict=False)
    for key, value in state.items():
        if not key.startswith('decode_head.cls_embed.'):
            assert torch.equal(fresh.state_dict()[key], value), key


def test_patch_merging_reorder_computes_the_official_layer(tool, tiny_config, tmp_path):
    """The official PatchMerging concatenates x0 (even, even), x1 (odd, even), x2 (even, odd), x3 (odd, odd); mmdet
    unfolds in another channel order, so the converted reduction / norm must give the same output."""
    src_state = d2_state_dict(seed=1)
    src, dst = tmp_path / 'model_final.pkl', tmp_path / 'out.pth'
    _save_pkl(src_state, src)
    tool.convert(str(src), str(dst), tiny_config)
    model = _psos(tiny_config).eval()
    _load_like_load_from(model, dst)
    for stage in range(3):
        dim, size = CHANNELS[stage], 4
        x = torch.randn(2, size * size, dim)
        grid = x.view(2, size, size, dim)
        cat = torch.cat([grid[:, 0::2, 0::2], grid[:, 1::2, 0::2], grid[:, 0::2, 1::2], grid[:, 1::2, 1::2]], -1)
        pre = f'backbone.layers.{stage}.downsample.'
        ref = F.layer_norm(cat.view(2, -1, 4 * dim), (4 * dim, ), src_state[pre + 'norm.weight'],
                           src_state[pre + 'norm.bias']) @ src_state[pre + 'reduction.weight'].t()
        out, out_size = model.backbone.stages[stage].downsample(x, (size, size))
        assert out_size == (2, 2)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_detectron2_pth_and_a_changed_index_layout(tool, tiny_config, tmp_path):
    src_state = d2_state_dict()
    bad = OrderedDict(src_state)
    key = 'backbone.layers.1.blocks.0.attn.relative_position_index'
    bad[key] = bad[key].flip(0).contiguous()
    src = tmp_path / 'model_final.pth'
    torch.save({'model': bad, 'iteration': 5}, src)
    with pytest.raises(tool.ConversionError, match='integer buffers differ.*stages.1.blocks.0.attn.w_msa'):
        tool.convert(str(src), str(tmp_path / 'out.pth'), tiny_config)
    torch.save({'model': src_state, 'iteration': 5}, src)
    saved = tool.convert(str(src), str(tmp_path / 'out.pth'), tiny_config)
    assert saved['meta']['source_format'] == 'detectron2'


def _mmdet_mask2former(tiny_config):
    """A tiny mmdet 3.x Mask2Former detector (COCO panoptic 80 + 53 classes), built by mmdet."""
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.config import Config, ConfigDict
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    tiny = Config.fromfile(tiny_config).model
    head = dict(tiny.decode_head)
    for key in ('num_classes', 'loss_cls', 'loss_soas', 'soas_layers', 'soas_set', 'silent_exclusion', 'output',
                'instance_filter', 'align_corners', 'ignore_index', 'train_cfg', 'type'):
        head.pop(key, None)
    head['pixel_decoder']['type'] = 'MSDeformAttnPixelDecoder'
    head.update(type='Mask2FormerHead', num_things_classes=80, num_stuff_classes=53,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0, reduction='mean',
                              class_weight=[1.0] * 133 + [0.1]),
                loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='mean', loss_weight=5.0),
                loss_dice=dict(type='DiceLoss', use_sigmoid=True, activate=True, reduction='mean', naive_dice=True,
                               eps=1.0, loss_weight=5.0))
    backbone = dict(tiny.backbone, type='SwinTransformer')
    model = MODELS.build(ConfigDict(
        type='Mask2Former', backbone=backbone, panoptic_head=head,
        panoptic_fusion_head=dict(type='MaskFormerFusionHead', num_things_classes=80, num_stuff_classes=53,
                                  loss_panoptic=None, init_cfg=None),
        train_cfg=dict(num_points=64, oversample_ratio=3.0, importance_sample_ratio=0.75,
                       assigner=dict(type='HungarianAssigner', match_costs=[
                           dict(type='ClassificationCost', weight=2.0),
                           dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                           dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)]),
                       sampler=dict(type='MaskPseudoSampler')),
        test_cfg=dict(panoptic_on=True, semantic_on=False, instance_on=True, max_per_image=100, iou_thr=0.8,
                      filter_low_score=True)))
    init_default_scope('avsseg')
    return model


@pytest.fixture(scope='module')
def mmdet_state(tiny_config):
    torch.manual_seed(0)
    return _mmdet_mask2former(tiny_config).state_dict()


def test_mmdet_checkpoint_converts_into_the_psos_model(tool, tiny_config, tmp_path, mmdet_state, capsys):
    src, dst = tmp_path / 'mask2former.pth', tmp_path / 'out.pth'
    state = OrderedDict(mmdet_state)
    state['panoptic_fusion_head.dummy'] = torch.zeros(1)  # mmdet's fusion head has no weights; any is dropped
    # an mmengine runner checkpoint: HistoryBuffer objects in message_hub (avsseg's weights_only allowlist)
    from mmengine.logging import HistoryBuffer
    history = HistoryBuffer()
    history.update(1.5)
    torch.save({'state_dict': state, 'meta': {'mmdet_version': '3.3.0', 'dataset_meta': {'classes': ('a', )}},
                'message_hub': {'log_scalars': {'train/loss': history}}}, src)
    assert tool.main([str(src), str(dst), '--config', tiny_config]) == 0
    assert 'dropped panoptic_fusion_head: 1 keys' in capsys.readouterr().out
    model = _psos(tiny_config)
    saved, missing, unexpected = _load_like_load_from(model, dst)
    assert unexpected == [] and missing == ['decode_head.cls_embed.bias', 'decode_head.cls_embed.weight']
    out = model.state_dict()
    for key, value in mmdet_state.items():
        if key.startswith('panoptic_head.cls_embed.'):
            continue
        target = key.replace('panoptic_head.', 'decode_head.', 1)
        assert torch.equal(out[target], value), key
    assert saved['meta']['source_format'] == 'mmdet'
    assert saved['meta']['dropped']['class head (cls_embed)'] == ['panoptic_head.cls_embed.weight',
                                                                  'panoptic_head.cls_embed.bias']


def test_query_count_mismatch(tool, tiny_config, tmp_path):
    """200 -> 100 in the real files; 8 -> 4 here."""
    src_state = d2_state_dict(queries=2 * QUERIES)
    src = tmp_path / 'model_final.pkl'
    _save_pkl(src_state, src)
    with pytest.raises(tool.ConversionError, match=r'the source has 8 queries, the PSOS model 4: pass --queries'):
        tool.convert(str(src), str(tmp_path / 'a.pth'), tiny_config)
    assert tool.main([str(src), str(tmp_path / 'a.pth'), '--config', tiny_config]) == 1  # CLI: error, no file
    assert not (tmp_path / 'a.pth').exists()

    saved = tool.convert(str(src), str(tmp_path / 'first.pth'), tiny_config, queries='first')
    q = 'sem_seg_head.predictor.'
    assert torch.equal(saved['state_dict']['decode_head.query_feat.weight'], src_state[q + 'query_feat.weight'][:4])
    assert torch.equal(saved['state_dict']['decode_head.query_embed.weight'], src_state[q + 'query_embed.weight'][:4])
    assert saved['meta']['queries'] == dict(source=8, target=4, mode='first')
    assert saved['meta']['uninitialised'] == ['decode_head.cls_embed.weight', 'decode_head.cls_embed.bias']

    saved = tool.convert(str(src), str(tmp_path / 'drop.pth'), tiny_config, queries='drop')
    assert 'decode_head.query_feat.weight' not in saved['state_dict']
    assert sorted(saved['meta']['uninitialised']) == sorted(
        ['decode_head.cls_embed.weight', 'decode_head.cls_embed.bias', 'decode_head.query_feat.weight',
         'decode_head.query_embed.weight'])
    model = _psos(tiny_config)
    _, missing, unexpected = _load_like_load_from(model, tmp_path / 'drop.pth')
    assert unexpected == [] and len(missing) == 4

    small = d2_state_dict(queries=2)
    _save_pkl(small, src)
    with pytest.raises(tool.ConversionError, match='only 2 queries'):
        tool.convert(str(src), str(tmp_path / 'b.pth'), tiny_config, queries='first')


def test_wrong_files_are_clear_errors(tool, tiny_config, tmp_path, mmdet_state):
    out = str(tmp_path / 'out.pth')
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'encoder.weight': torch.zeros(2)}}, other)
    with pytest.raises(tool.ConversionError, match=r'other.pth.*not a Mask2Former checkpoint'):
        tool.convert(str(other), out, tiny_config)
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(ValueError, match='notes.pth.* is not a checkpoint'):
        tool.convert(str(text), out, tiny_config)
    with pytest.raises(FileNotFoundError, match='missing.pkl'):
        tool.convert(str(tmp_path / 'missing.pkl'), out, tiny_config)
    # unknown source keys, a key the model lacks, a shape mismatch, a missing model key: each listed
    state = d2_state_dict()
    state['sem_seg_head.predictor.extra.weight'] = torch.zeros(1)
    _save_pkl(state, tmp_path / 'm.pkl')
    with pytest.raises(tool.ConversionError, match='no PSOS counterpart: sem_seg_head.predictor.extra.weight'):
        tool.convert(str(tmp_path / 'm.pkl'), out, tiny_config)
    state = OrderedDict(mmdet_state)
    state['panoptic_head.mask_embed.0.weight'] = torch.zeros(3, 3)
    del state['backbone.norm2.bias']
    torch.save({'state_dict': state}, tmp_path / 'bad.pth')
    with pytest.raises(tool.ConversionError) as err:
        tool.convert(str(tmp_path / 'bad.pth'), out, tiny_config)
    assert 'shape mismatches: decode_head.mask_embed.0.weight: source [3, 3]' in str(err.value)
    assert 'not in the source (only the class head may be): backbone.norm2.bias' in str(err.value)
    old = OrderedDict(mmdet_state)
    old['panoptic_head.transformer_decoder.layers.0.attentions.0.attn.in_proj_weight'] = torch.zeros(1)
    torch.save({'state_dict': old}, tmp_path / 'old.pth')
    with pytest.raises(tool.ConversionError, match='mmdet 2.x layer names'):
        tool.convert(str(tmp_path / 'old.pth'), out, tiny_config)
    assert not osp.exists(out)
    _save_pkl(d2_state_dict(), tmp_path / 'ok.pkl')
    tool.convert(str(tmp_path / 'ok.pkl'), out, tiny_config)
    with pytest.raises(FileExistsError, match='--overwrite'):
        tool.convert(str(tmp_path / 'ok.pkl'), out, tiny_config)
