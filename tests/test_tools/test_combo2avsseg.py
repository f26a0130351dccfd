"""combo2avsseg: a fake official COMBO state dict (detectron2 key names, built here from the official module
layout) must convert into exactly the avsseg COMBO model's state dict, and the converted weights must compute
what the official modules compute."""
import importlib.util
import os
import os.path as osp
import pickle
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from avsseg.structures import AVFeatures

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PR = 'sem_seg_head.predictor.'
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'combo2avsseg.py')
BASE_MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'combo_r50.py')

# tiny architecture shared by the fake official checkpoint and the avsseg config below
BASE, STAGES, DIMS = 8, (3, 4, 6, 3), 32
CHANNELS = [BASE * 4 * 2**i for i in range(4)]  # 32, 64, 128, 256
ENC_FFN, DEC_FFN, HEADS, POINTS, LEVELS = 64, 64, 8, 4, 3
ENC_LAYERS, DEC_LAYERS, QUERIES, CLASSES, MLP_HIDDEN, AUDIO = 1, 2, 4, 2, 16, 128

TINY_CONFIG = f"""
_base_ = [{BASE_MODEL!r}]
model = dict(
    audio_backbone=dict(pretrained=None),
    backbone=dict(
        backbone=dict(base_channels={BASE}, stem_channels={BASE}, init_cfg=None),
        in_channels={CHANNELS}),
    decode_head=dict(
        in_channels={CHANNELS}, feat_channels={DIMS}, out_channels={DIMS}, num_queries={QUERIES},
        pixel_decoder=dict(
            encoder=dict(num_layers={ENC_LAYERS}, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims={DIMS}),
                ffn_cfg=dict(embed_dims={DIMS}, feedforward_channels={ENC_FFN}))),
            positional_encoding=dict(num_feats={DIMS // 2})),
        positional_encoding=dict(num_feats={DIMS // 2}),
        transformer_decoder=dict(num_layers={DEC_LAYERS}, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims={DIMS}), cross_attn_cfg=dict(embed_dims={DIMS}),
            ffn_cfg=dict(embed_dims={DIMS}, feedforward_channels={DEC_FFN}))),
        audio_mlp_channels={MLP_HIDDEN},
        fusion=dict(embed_dims={DIMS}),
        train_cfg=dict(num_points=64)))
"""


def _tool():
    spec = importlib.util.spec_from_file_location('combo2avsseg', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_state_dict(seed=0):
    """Key names and shapes of the official COMBO R50 model (detectron2 ResNet, MaskFormerHead with
    MSDeformAttnPixelDecoder, AVFuse MHA-B, audio_mlp, MultiScaleMaskedTransformerDecoder, VGGish)."""
    shapes = OrderedDict()

    def resnet(prefix):
        shapes[f'{prefix}stem.conv1.weight'] = (BASE, 3, 7, 7)
        for p in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}stem.conv1.norm.{p}'] = (BASE, )
        in_ch = BASE
        for s, blocks in enumerate(STAGES):
            planes = BASE * 2**s
            for b in range(blocks):
                block = f'{prefix}res{s + 2}.{b}.'
                if b == 0:
                    shapes[block + 'shortcut.weight'] = (planes * 4, in_ch, 1, 1)
                for k, shape in ((1, (planes, in_ch if b == 0 else planes * 4, 1, 1)), (2, (planes, planes, 3, 3)),
                                 (3, (planes * 4, planes, 1, 1))):
                    shapes[block + f'conv{k}.weight'] = shape
                    for p in ('weight', 'bias', 'running_mean', 'running_var'):
                        shapes[block + f'conv{k}.norm.{p}'] = (shape[0], )
                if b == 0:
                    for p in ('weight', 'bias', 'running_mean', 'running_var'):
                        shapes[block + f'shortcut.norm.{p}'] = (planes * 4, )
            in_ch = planes * 4

    resnet('backbone.')
    resnet('pre_sam_backbone.')
    for i, c in enumerate(CHANNELS):
        shapes[f'scale_factor_module.{i}.fc1.weight'] = (c // 16, c)
        shapes[f'scale_factor_module.{i}.fc1.bias'] = (c // 16, )
        shapes[f'scale_factor_module.{i}.fc2.weight'] = (c, c // 16)
        shapes[f'scale_factor_module.{i}.fc2.bias'] = (c, )
    vggish = [(0, 64, 1), (3, 128, 64), (6, 256, 128), (8, 256, 256), (11, 512, 256), (13, 512, 512)]
    for idx, out_c, in_c in vggish:
        shapes[f'audio_backbone.features.{idx}.weight'] = (out_c, in_c, 3, 3)
        shapes[f'audio_backbone.features.{idx}.bias'] = (out_c, )
    for idx, out_c, in_c in ((0, 4096, 12288), (2, 4096, 4096), (4, 128, 4096)):
        shapes[f'audio_backbone.embeddings.{idx}.weight'] = (out_c, in_c)
        shapes[f'audio_backbone.embeddings.{idx}.bias'] = (out_c, )

    pd = 'sem_seg_head.pixel_decoder.'
    for i, c in enumerate(CHANNELS[1:][::-1]):  # res5 -> res3
        shapes[f'{pd}input_proj.{i}.0.weight'] = (DIMS, c, 1, 1)
        shapes[f'{pd}input_proj.{i}.0.bias'] = (DIMS, )
        shapes[f'{pd}input_proj.{i}.1.weight'] = (DIMS, )
        shapes[f'{pd}input_proj.{i}.1.bias'] = (DIMS, )
    shapes[f'{pd}transformer.level_embed'] = (LEVELS, DIMS)
    for j in range(ENC_LAYERS):
        layer = f'{pd}transformer.encoder.layers.{j}.'
        for name, out_c in (('sampling_offsets', HEADS * LEVELS * POINTS * 2),
                            ('attention_weights', HEADS * LEVELS * POINTS), ('value_proj', DIMS),
                            ('output_proj', DIMS)):
            shapes[layer + f'self_attn.{name}.weight'] = (out_c, DIMS)
            shapes[layer + f'self_attn.{name}.bias'] = (out_c, )
        for name, shape in (('norm1', (DIMS, )), ('norm2', (DIMS, ))):
            shapes[layer + f'{name}.weight'] = shape
            shapes[layer + f'{name}.bias'] = shape
        shapes[layer + 'linear1.weight'] = (ENC_FFN, DIMS)
        shapes[layer + 'linear1.bias'] = (ENC_FFN, )
        shapes[layer + 'linear2.weight'] = (DIMS, ENC_FFN)
        shapes[layer + 'linear2.bias'] = (DIMS, )
    shapes[f'{pd}mask_features.weight'] = (DIMS, DIMS, 1, 1)
    shapes[f'{pd}mask_features.bias'] = (DIMS, )
    shapes[f'{pd}adapter_1.weight'] = (DIMS, CHANNELS[0], 1, 1)
    shapes[f'{pd}adapter_1.norm.weight'] = (DIMS, )
    shapes[f'{pd}adapter_1.norm.bias'] = (DIMS, )
    shapes[f'{pd}layer_1.weight'] = (DIMS, DIMS, 3, 3)
    shapes[f'{pd}layer_1.norm.weight'] = (DIMS, )
    shapes[f'{pd}layer_1.norm.bias'] = (DIMS, )

    fu = 'sem_seg_head.fusion_module.'
    shapes[f'{fu}audio_pos.weight'] = (1, AUDIO)
    shapes[f'{fu}level_embed.weight'] = (1, DIMS)
    shapes[f'{fu}b_attn.layer_norm_v_list.0.weight'] = (DIMS, )
    shapes[f'{fu}b_attn.layer_norm_v_list.0.bias'] = (DIMS, )
    shapes[f'{fu}b_attn.layer_norm_a_list.0.weight'] = (AUDIO, )
    shapes[f'{fu}b_attn.layer_norm_a_list.0.bias'] = (AUDIO, )
    for name, shape in (('v_proj', (DIMS, DIMS)), ('a_proj', (DIMS, AUDIO)), ('values_v_proj', (DIMS, DIMS)),
                        ('values_a_proj', (DIMS, AUDIO)), ('out_v_proj', (DIMS, DIMS)),
                        ('out_a_proj', (AUDIO, DIMS))):
        shapes[f'{fu}b_attn.attn_list.0.{name}.weight'] = shape
        shapes[f'{fu}b_attn.attn_list.0.{name}.bias'] = (shape[0], )
    shapes[f'{fu}b_attn.gamma_v_list.0'] = (DIMS, )
    shapes[f'{fu}b_attn.gamma_a'] = (AUDIO, )
    at = 'sem_seg_head.audio_transformation.embeddings.'
    for idx, shape in ((0, (MLP_HIDDEN, AUDIO)), (2, (MLP_HIDDEN, MLP_HIDDEN)), (4, (DIMS, MLP_HIDDEN))):
        shapes[f'{at}{idx}.weight'] = shape
        shapes[f'{at}{idx}.bias'] = (shape[0], )

    pr = 'sem_seg_head.predictor.'
    for i in range(DEC_LAYERS):
        for group, attn in (('transformer_self_attention_layers', 'self_attn'),
                            ('transformer_cross_attention_layers', 'multihead_attn')):
            shapes[f'{pr}{group}.{i}.{attn}.in_proj_weight'] = (3 * DIMS, DIMS)
            shapes[f'{pr}{group}.{i}.{attn}.in_proj_bias'] = (3 * DIMS, )
            shapes[f'{pr}{group}.{i}.{attn}.out_proj.weight'] = (DIMS, DIMS)
            shapes[f'{pr}{group}.{i}.{attn}.out_proj.bias'] = (DIMS, )
            shapes[f'{pr}{group}.{i}.norm.weight'] = (DIMS, )
            shapes[f'{pr}{group}.{i}.norm.bias'] = (DIMS, )
        ffn = f'{pr}transformer_ffn_layers.{i}.'
        shapes[ffn + 'linear1.weight'] = (DEC_FFN, DIMS)
        shapes[ffn + 'linear1.bias'] = (DEC_FFN, )
        shapes[ffn + 'linear2.weight'] = (DIMS, DEC_FFN)
        shapes[ffn + 'linear2.bias'] = (DIMS, )
        shapes[ffn + 'norm.weight'] = (DIMS, )
        shapes[ffn + 'norm.bias'] = (DIMS, )
    shapes[f'{pr}decoder_norm.weight'] = (DIMS, )
    shapes[f'{pr}decoder_norm.bias'] = (DIMS, )
    shapes[f'{pr}query_feat.weight'] = (QUERIES, DIMS)
    shapes[f'{pr}query_embed.weight'] = (QUERIES, DIMS)
    shapes[f'{pr}level_embed.weight'] = (LEVELS, DIMS)
    shapes[f'{pr}class_embed.weight'] = (CLASSES + 1, DIMS)
    shapes[f'{pr}class_embed.bias'] = (CLASSES + 1, )
    for k in range(3):
        shapes[f'{pr}mask_embed.layers.{k}.weight'] = (DIMS, DIMS)
        shapes[f'{pr}mask_embed.layers.{k}.bias'] = (DIMS, )
    shapes['criterion.empty_weight'] = (CLASSES + 1, )

    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes.items():
        value = torch.randn(*shape, generator=gen) * 0.2
        if key.endswith('running_var'):
            value = value.abs() + 0.5
        state[key] = value
    return state


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    tool = _tool()
    root = tmp_path_factory.mktemp('combo_ckpt')
    config = root / 'combo_tiny.py'
    config.write_text(TINY_CONFIG)
    model = tool.build_model(str(config))
    model_state = model.state_dict()
    official = official_state_dict()
    src = str(root / 'model_final.pth')
    torch.save(dict(model=official, iteration=89999, optimizer=dict(state={}, param_groups=[])), src)
    dst = str(root / 'converted.pth')
    # the CLI builds the config's model to check the result; reuse the one built above (same config)
    build, tool.build_model_state = tool.build_model_state, lambda *args, **kwargs: model_state
    try:
        tool.main([src, dst, '--config', str(config)])
    finally:
        tool.build_model_state = build
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    # what tools/test.py does with a checkpoint (mmengine's loader, safe torch.load)
    from mmengine.runner import load_checkpoint
    load_checkpoint(model, dst, map_location='cpu', strict=True)
    model.eval()
    return dict(tool=tool, official=official, ckpt=ckpt, model=model, model_state=model_state, config=str(config))


def test_full_coverage(converted):
    ckpt, model = converted['ckpt'], converted['model']
    state = ckpt['state_dict']
    assert set(state) == set(model.state_dict())
    assert ckpt['meta']['dropped_keys'] == ['criterion.empty_weight']
    assert ckpt['meta']['missing_keys'] == []
    official = converted['official']
    torch.testing.assert_close(state['backbone.image_encoder.conv1.weight'], official['backbone.stem.conv1.weight'])
    torch.testing.assert_close(state['backbone.separate_maskige_encoder.layer4.2.bn3.running_var'],
                               official['pre_sam_backbone.res5.2.conv3.norm.running_var'])
    torch.testing.assert_close(state['backbone.image_encoder.layer1.0.downsample.1.weight'],
                               official['backbone.res2.0.shortcut.norm.weight'])
    torch.testing.assert_close(state['decode_head.pixel_decoder.level_encoding.weight'],
                               official['sem_seg_head.pixel_decoder.transformer.level_embed'])
    torch.testing.assert_close(state['decode_head.mask_embed.4.weight'],
                               official['sem_seg_head.predictor.mask_embed.layers.2.weight'])
    torch.testing.assert_close(state['decode_head.cls_embed.bias'], official['sem_seg_head.predictor.class_embed.bias'])
    torch.testing.assert_close(state['audio_backbone.embeddings.4.bias'], official['audio_backbone.embeddings.4.bias'])


def test_gates_and_audio_mlp_compute_the_official_functions(converted):
    official, model = converted['official'], converted['model']
    x = torch.randn(2, CHANNELS[1], 3, 3)
    w1, b1 = official['scale_factor_module.1.fc1.weight'], official['scale_factor_module.1.fc1.bias']
    w2, b2 = official['scale_factor_module.1.fc2.weight'], official['scale_factor_module.1.fc2.bias']
    weight = torch.sigmoid(F.linear(F.relu(F.linear(x.mean((2, 3)), w1, b1)), w2, b2))  # channel_weighted_block
    with torch.no_grad():
        torch.testing.assert_close(model.backbone.gates[1](x), weight[:, :, None, None] * x)

    a = torch.randn(3, AUDIO)
    e = 'sem_seg_head.audio_transformation.embeddings.'
    h = F.relu(F.linear(a, official[e + '0.weight'], official[e + '0.bias']))
    h = F.relu(F.linear(h, official[e + '2.weight'], official[e + '2.bias']))
    expected = F.linear(h, official[e + '4.weight'], official[e + '4.bias'])
    with torch.no_grad():
        torch.testing.assert_close(model.decode_head.audio_mlp(a), expected)


def _official_bfm(official, fusion, feat, audio):
    """The official AVFuse (MHA-B, one level) written from fuse_helper.BiAttentionBlock, in eval mode."""
    p = 'sem_seg_head.fusion_module.'
    ba = p + 'b_attn.'
    n, c, h, w = feat.shape
    pos = fusion.positional_encodings[0](feat.new_zeros((n, h, w), dtype=torch.bool)).flatten(2).transpose(1, 2)
    tokens = (feat + official[p + 'level_embed.weight'][0].view(1, -1, 1, 1)).flatten(2).transpose(1, 2)
    v = F.layer_norm(tokens, (c, ), official[ba + 'layer_norm_v_list.0.weight'],
                     official[ba + 'layer_norm_v_list.0.bias'])
    a = F.layer_norm(audio[:, None], (AUDIO, ), official[ba + 'layer_norm_a_list.0.weight'],
                     official[ba + 'layer_norm_a_list.0.bias'])

    def lin(x, name):
        return F.linear(x, official[f'{ba}attn_list.0.{name}.weight'], official[f'{ba}attn_list.0.{name}.bias'])

    head_dim = DIMS // HEADS

    def heads(x):
        return x.view(n, -1, HEADS, head_dim).transpose(1, 2)  # [n, heads, L, hd]

    q = heads(lin(v + pos, 'v_proj') * head_dim**-0.5)
    k = heads(lin(a + official[p + 'audio_pos.weight'][None], 'a_proj'))
    vv, va = heads(lin(v, 'values_v_proj')), heads(lin(a, 'values_a_proj'))
    attn = q @ k.transpose(-1, -2)  # [n, heads, L_v, 1]
    out_v = attn.softmax(dim=2) @ va  # softmax over the visual positions (official dim=1 of [n*heads, L_v, 1])
    attn_t = attn.transpose(-1, -2)
    out_a = (attn_t - attn_t.max(-1, keepdim=True)[0]).softmax(-1) @ vv
    merge = lambda x: x.transpose(1, 2).reshape(n, x.shape[2], DIMS)  # noqa: E731
    v_new = v + official[ba + 'gamma_v_list.0'] * lin(merge(out_v), 'out_v_proj')
    a_new = a + official[ba + 'gamma_a'] * lin(merge(out_a), 'out_a_proj')
    return v_new.transpose(1, 2).reshape(n, c, h, w), a_new[:, 0]


def test_fusion_computes_the_official_bfm(converted):
    official, fusion = converted['official'], converted['model'].decode_head.fusion
    torch.manual_seed(0)
    feat, audio = torch.randn(2, DIMS, 3, 4), torch.randn(2, AUDIO)
    # gammas are 1e-4 in a fresh model; the fake checkpoint's random ones make every path visible
    expected_v, expected_a = _official_bfm(official, fusion, feat, audio)
    with torch.no_grad():
        fused = fusion(AVFeatures((feat, ), audio=audio, num_frames=2))
    (got_v, ), got_a = fused, fused.audio
    torch.testing.assert_close(got_v, expected_v, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got_a, expected_a, rtol=1e-4, atol=1e-5)


def test_decoder_layer_computes_the_official_layer(converted):
    official, head = converted['official'], converted['model'].decode_head
    pr = 'sem_seg_head.predictor.'

    def mha(prefix):
        m = torch.nn.MultiheadAttention(DIMS, HEADS)
        m.load_state_dict({k: official[prefix + k] for k in
                           ('in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias')})
        return m.eval()

    def norm(x, prefix):
        return F.layer_norm(x, (DIMS, ), official[prefix + 'norm.weight'], official[prefix + 'norm.bias'])

    torch.manual_seed(1)
    tgt, qpos = torch.randn(QUERIES, 2, DIMS), torch.randn(QUERIES, 2, DIMS)
    mem, pos = torch.randn(6, 2, DIMS), torch.randn(6, 2, DIMS)
    i = 1
    cross, selfa = f'{pr}transformer_cross_attention_layers.{i}.', f'{pr}transformer_self_attention_layers.{i}.'
    ffn = f'{pr}transformer_ffn_layers.{i}.'
    with torch.no_grad():
        # official MultiScaleMaskedTransformerDecoder layer (post-norm): cross-attn -> self-attn -> FFN
        x = norm(tgt + mha(cross + 'multihead_attn.')(tgt + qpos, mem + pos, mem)[0], cross)
        x = norm(x + mha(selfa + 'self_attn.')(x + qpos, x + qpos, x)[0], selfa)
        h = F.linear(F.relu(F.linear(x, official[ffn + 'linear1.weight'], official[ffn + 'linear1.bias'])),
                     official[ffn + 'linear2.weight'], official[ffn + 'linear2.bias'])
        expected = norm(x + h, ffn)
        got = head.transformer_decoder.layers[i](
            query=tgt.transpose(0, 1), key=mem.transpose(0, 1), value=mem.transpose(0, 1),
            query_pos=qpos.transpose(0, 1), key_pos=pos.transpose(0, 1), cross_attn_mask=None,
            query_key_padding_mask=None, key_padding_mask=None)
    torch.testing.assert_close(got.transpose(0, 1), expected, rtol=1e-4, atol=1e-5)


def test_converted_model_runs(converted):
    model = converted['model']
    with torch.no_grad():
        feats = model.backbone(torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64))
        cls, masks = model.decode_head(AVFeatures(feats, audio=torch.randn(2, AUDIO), num_frames=2))
    assert cls[-1].shape == (2, QUERIES, CLASSES + 1) and masks[-1].shape == (2, QUERIES, 16, 16)
    assert all(torch.isfinite(t).all() for t in cls + masks)


def test_loading_formats_and_errors(converted, tmp_path):
    tool, official, model_state = converted['tool'], converted['official'], converted['model_state']
    small = OrderedDict((k, v) for k, v in official.items() if k.startswith('sem_seg_head.predictor.'))
    # detectron2 .pkl: numpy arrays, read without running pickled code; only 'model' is kept
    pkl = str(tmp_path / 'model.pkl')
    with open(pkl, 'wb') as f:
        pickle.dump(dict(model={k: v.numpy() for k, v in small.items()}, __author__='x',
                         matching_heuristics=True), f)
    loaded = tool.load_official(pkl)
    assert set(loaded) == set(small)
    torch.testing.assert_close(loaded[f'{PR}class_embed.weight'], small[f'{PR}class_embed.weight'])

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo hacked', ))

    evil = str(tmp_path / 'evil.pkl')
    with open(evil, 'wb') as f:
        pickle.dump(dict(model=dict(x=Evil())), f)
    with pytest.raises(ValueError, match='not allowed'):
        tool.load_official(evil)
    evil_pth = str(tmp_path / 'evil.pth')
    torch.save(dict(model=dict(x=torch.zeros(1)), trainer=Evil()), evil_pth)
    with pytest.raises(ValueError, match='--unsafe-load'):
        tool.load_official(evil_pth)
    with pytest.raises(FileNotFoundError):
        tool.load_official(str(tmp_path / 'none.pth'))

    # unknown official keys are an error unless explicitly dropped
    extra = OrderedDict(official)
    extra[f'{PR}some_new_layer.weight'] = torch.zeros(2)
    with pytest.raises(tool.ConversionError, match='some_new_layer'):
        tool.convert_state_dict(extra)
    state, dropped = tool.convert_state_dict(extra, allow_unexpected=True)
    assert f'{PR}some_new_layer.weight' in dropped

    # model keys absent from the checkpoint are an error unless allowed
    partial = OrderedDict((k, v) for k, v in official.items() if not k.startswith('sem_seg_head.fusion_module.'))
    state, _ = tool.convert_state_dict(partial)
    with pytest.raises(tool.ConversionError, match='decode_head.fusion'):
        tool.check_against_model(state, model_state)
    missing = tool.check_against_model(state, model_state, allow_missing=True)
    assert missing and all(k.startswith('decode_head.fusion.') for k in missing)
    # a shape mismatch is reported with both shapes
    bad = OrderedDict(official)
    bad[f'{PR}query_feat.weight'] = torch.zeros(QUERIES + 1, DIMS)
    state, _ = tool.convert_state_dict(bad)
    with pytest.raises(tool.ConversionError, match=r'query_feat.weight: checkpoint \[5, 32\] vs model \[4, 32\]'):
        tool.check_against_model(state, model_state)


def test_pvt_backbone_keys_are_converted():
    tool = _tool()
    d = 8
    official = OrderedDict([
        ('backbone.patch_embed1.proj.weight', torch.randn(d, 3, 7, 7)),
        ('backbone.patch_embed1.proj.bias', torch.randn(d)),
        ('backbone.patch_embed1.norm.weight', torch.randn(d)),
        ('backbone.block1.0.attn.q.weight', torch.randn(d, d)),
        ('backbone.block1.0.attn.kv.weight', torch.randn(2 * d, d)),
        ('backbone.block1.0.mlp.fc1.weight', torch.randn(4 * d, d)),
        ('backbone.block1.0.mlp.dwconv.dwconv.weight', torch.randn(4 * d, 1, 3, 3)),
        ('backbone.norm1.weight', torch.randn(d)),
    ])
    state, _ = tool.convert_state_dict(official)
    p = 'backbone.image_encoder.'
    assert state[p + 'layers.0.0.projection.weight'].shape == (d, 3, 7, 7)
    assert state[p + 'layers.0.0.norm.weight'].shape == (d, )
    # q and kv are concatenated into the in-projection of mmcv's MultiheadAttention
    torch.testing.assert_close(state[p + 'layers.0.1.0.attn.attn.in_proj_weight'],
                               torch.cat([official['backbone.block1.0.attn.q.weight'],
                                          official['backbone.block1.0.attn.kv.weight']]))
    assert state[p + 'layers.0.1.0.ffn.layers.0.weight'].shape == (4 * d, d, 1, 1)
    assert p + 'layers.0.1.0.ffn.layers.1.weight' in state
    assert p + 'layers.0.2.weight' in state


def test_official_switches_reproduce_the_released_query_layout(converted):
    """The converted model, with the switch the converter records, builds the queries as the released decoder."""
    ckpt, model, official = converted['ckpt'], converted['model'], converted['official']
    options = ckpt['meta']['official_cfg_options']
    assert options == {'model.decode_head.query_layout': 'official'}
    head = model.decode_head
    assert head.query_layout == 'paper'  # the config default follows the paper
    head.query_layout = options['model.decode_head.query_layout']
    try:
        bt = 5  # one test clip of 5 frames, as the official test loader batches
        feats = AVFeatures([torch.zeros(bt, 1, 1, 1)], audio=torch.randn(bt, AUDIO), num_frames=bt)
        with torch.no_grad():
            query_feat, _ = head.init_queries(feats, bt)
            audio = head.audio_mlp(feats.audio)[:, None]  # [bt, 1, C], as official after audio_transformation
            # official transformer_decoder.py: output [Q, bt, C] + audio.repeat(1, Q, 1).reshape(Q, -1, C)
            output = official[f'{PR}query_feat.weight'].unsqueeze(1).repeat(1, bt, 1)
            output = output + audio.repeat(1, QUERIES, 1).reshape(QUERIES, -1, DIMS)
        torch.testing.assert_close(query_feat, output.transpose(0, 1))
    finally:
        head.query_layout = 'paper'
