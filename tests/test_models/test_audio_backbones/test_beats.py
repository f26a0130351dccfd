import importlib.util
import json
import math
import os

import pytest
import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as ta_kaldi

from avsseg.models.audio_backbones.beats import BEATS_DEFAULT_CFG, BEATs, relative_position_bucket
from avsseg.registry import MODELS

CONVERTER = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'model_converters',
                         'beats2avsseg.py')

# spec sheet seed001.md 6.4, plus the switches the released checkpoints are expected to turn on
TINY = dict(input_patch_size=16, encoder_layers=1, encoder_embed_dim=32, encoder_ffn_embed_dim=64,
            encoder_attention_heads=2, conv_pos=16, conv_pos_groups=4, relative_position_embedding=True,
            num_buckets=32, max_distance=64, gru_rel_pos=True, deep_norm=True, finetuned_model=True,
            predictor_class=527)
MIDS = [f'/m/{i:05d}' for i in range(527)]


def _converter():
    spec = importlib.util.spec_from_file_location('beats2avsseg', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unilm_keys(layers, finetuned=True, proj=True):
    """State-dict keys of unilm's BEATs (BEATs.py / backbone.py) with relative position bias, gated, post-LN."""
    keys = {'patch_embedding.weight', 'layer_norm.weight', 'layer_norm.bias', 'encoder.pos_conv.0.weight_g',
            'encoder.pos_conv.0.weight_v', 'encoder.pos_conv.0.bias', 'encoder.layer_norm.weight',
            'encoder.layer_norm.bias'}
    if proj:
        keys |= {'post_extract_proj.weight', 'post_extract_proj.bias'}
    if finetuned:
        keys |= {'predictor.weight', 'predictor.bias'}
    for i in range(layers):
        p = f'encoder.layers.{i}.'
        for lin in ('self_attn.k_proj', 'self_attn.v_proj', 'self_attn.q_proj', 'self_attn.out_proj',
                    'self_attn.grep_linear', 'fc1', 'fc2'):
            keys |= {p + lin + '.weight', p + lin + '.bias'}
        for norm in ('self_attn_layer_norm', 'final_layer_norm'):
            keys |= {p + norm + '.weight', p + norm + '.bias'}
        keys |= {p + 'self_attn.grep_a', p + 'self_attn.relative_attention_bias.weight'}
    return keys


def _randomise(model, seed=0):
    """Every parameter random (LayerNorm affine, biases, grep_a included), so no term of the forward is inert."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            # a large position-bias table makes the (gated) bias shape the attention
            scale = 0.5 if name.endswith('weight_g') else 3.0 if 'relative_attention_bias' in name else 0.2
            param.copy_(torch.randn(param.shape, generator=gen) * scale + (1.0 if 'norm' in name else 0.0))
    return model


@pytest.fixture(scope='module')
def official(tmp_path_factory):
    """A fake released checkpoint: unilm's layout and key names, random tensors."""
    model = _randomise(BEATs(cfg=TINY, freeze=False))
    state = model.state_dict()
    cfg = dict(BEATS_DEFAULT_CFG, **TINY)
    path = tmp_path_factory.mktemp('beats') / 'BEATs_tiny_finetuned.pt'
    torch.save(dict(cfg=cfg, model=state, label_dict={i: m for i, m in enumerate(MIDS)}), path)
    return str(path), state


def _wave(n=3, seed=1):
    return torch.randn(n, 16000, generator=torch.Generator().manual_seed(seed)) * 0.1


def _reference_forward(state, cfg, wave):
    """BEATs written out from the paper / unilm's equations on a state dict (independent of the module code).
    Returns (tokens [N, P, D], logits [N, C])."""
    fb = torch.stack([
        ta_kaldi.fbank(w[None] * 2**15, num_mel_bins=128, sample_frequency=16000, frame_length=25, frame_shift=10)
        for w in wave
    ])
    fb = (fb - 15.41663) / (2 * 6.55582)
    x = F.conv2d(fb[:, None], state['patch_embedding.weight'], stride=cfg['input_patch_size'])
    x = x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)
    x = F.layer_norm(x, x.shape[-1:], state['layer_norm.weight'], state['layer_norm.bias'])
    x = F.linear(x, state['post_extract_proj.weight'], state['post_extract_proj.bias'])
    v, g = state['encoder.pos_conv.0.weight_v'], state['encoder.pos_conv.0.weight_g']
    w = g * v / torch.sqrt((v**2).sum(dim=(0, 1), keepdim=True))
    k = cfg['conv_pos']
    conv = F.conv1d(x.transpose(1, 2), w, state['encoder.pos_conv.0.bias'], padding=k // 2,
                    groups=cfg['conv_pos_groups'])
    conv = conv[:, :, :x.shape[1]]  # an even kernel gives one extra step, dropped at the end
    x = x + F.gelu(conv).transpose(1, 2)
    x = F.layer_norm(x, x.shape[-1:], state['encoder.layer_norm.weight'], state['encoder.layer_norm.bias'])
    n, length, dim = x.shape
    heads = cfg['encoder_attention_heads']
    hd = dim // heads
    alpha = (2 * cfg['encoder_layers'])**0.25
    # bucket table written out for num_buckets=32, max_distance=64 (half 16, exact below 8)
    rel = torch.arange(length)[None, :] - torch.arange(length)[:, None]
    dist = rel.abs()
    log_bucket = 8 + torch.floor(torch.log(dist.clamp(min=1) / 8.0) / math.log(64 / 8) * 8).long()
    bucket = torch.where(dist < 8, dist, log_bucket.clamp(max=15)) + 16 * (rel > 0).long()
    for i in range(cfg['encoder_layers']):
        p = f'encoder.layers.{i}.'

        def lin(name, t):
            return F.linear(t, state[p + name + '.weight'], state[p + name + '.bias'])

        def ln(name, t):
            return F.layer_norm(t, t.shape[-1:], state[p + name + '.weight'], state[p + name + '.bias'])

        q = lin('self_attn.q_proj', x).view(n, length, heads, hd).transpose(1, 2)
        kk = lin('self_attn.k_proj', x).view(n, length, heads, hd).transpose(1, 2)
        vv = lin('self_attn.v_proj', x).view(n, length, heads, hd).transpose(1, 2)
        bias = state[p + 'self_attn.relative_attention_bias.weight'][bucket].permute(2, 0, 1)  # [H, L, L]
        gate_in = lin('self_attn.grep_linear', q)  # [N, H, L, 8]
        ga = torch.sigmoid(gate_in[..., :4].sum(-1, keepdim=True))
        gb = torch.sigmoid(gate_in[..., 4:].sum(-1, keepdim=True))
        gate = ga * (gb * state[p + 'self_attn.grep_a'] - 1.0) + 2.0
        att = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(hd) + gate * bias, dim=-1)
        a = lin('self_attn.out_proj', (att @ vv).transpose(1, 2).reshape(n, length, dim))
        x = ln('self_attn_layer_norm', x * alpha + a)
        f = lin('fc2', F.gelu(lin('fc1', x)))
        x = ln('final_layer_norm', x * alpha + f)
    logits = F.linear(x, state['predictor.weight'], state['predictor.bias']).mean(dim=1)
    return x, logits


def test_relative_position_bucket_hand_case():
    # num_buckets 32 -> 16 per direction; offsets < 8 exact; 8 + floor(8 * log(d / 8) / log(64 / 8)) beyond, <= 15;
    # positive offsets (key after query) in the upper half
    rel = torch.tensor([0, 1, -1, 7, -7, 8, -8, 16, -16, -32, -63, -64, -1000, 1000])
    expected = torch.tensor([0, 17, 1, 23, 7, 24, 8, 26, 10, 13, 15, 15, 15, 31])
    assert torch.equal(relative_position_bucket(rel, 32, 64), expected)
    # the released sizes (320 / 800): 80 exact offsets, the log range reaches 159 at 800
    big = relative_position_bucket(torch.tensor([79, 80, 799, 800, -100000]), 320, 800)
    assert big.tolist() == [160 + 79, 160 + 80, 160 + 159, 160 + 159, 159]


def test_tiny_shapes_and_registry():
    wave = _wave(2)
    emb = MODELS.build(dict(type='BEATs', cfg=TINY))
    assert emb(wave).shape == (2, 32)
    assert emb.extract_features(wave).shape == (2, 48, 32)  # 98 x 128 fbank -> 6 x 8 patches
    tagger = BEATs(cfg=TINY, output='logits')
    assert tagger(wave).shape == (2, 527)
    assert set(tagger.state_dict()) == _unilm_keys(1)
    deeper = BEATs(cfg=dict(TINY, encoder_layers=2, embed_dim=32, finetuned_model=False))
    assert set(deeper.state_dict()) == _unilm_keys(2, finetuned=False, proj=False)
    # one relative-position table shared by every layer (unilm), though each layer's key is saved
    assert (deeper.encoder.layers[0].self_attn.relative_attention_bias is
            deeper.encoder.layers[1].self_attn.relative_attention_bias)


def test_matches_reference_forward(official):
    path, state = official
    model = BEATs(pretrained=path, output='logits')
    wave = _wave(3)
    ref_tokens, ref_logits = _reference_forward(state, model.cfg, wave)
    tokens = model.extract_features(wave)
    assert torch.allclose(tokens, ref_tokens, atol=1e-5)
    assert torch.allclose(model(wave), ref_logits, atol=1e-5)
    model.output = 'embedding'
    assert torch.allclose(model(wave), ref_tokens.mean(1), atol=1e-5)
    # the comparison is sensitive to the gate and the relative-position table: changing either moves the
    # reference's tokens by over 10x the tolerance
    for key in ('encoder.layers.0.self_attn.grep_a', 'encoder.layers.0.self_attn.relative_attention_bias.weight'):
        perturbed = dict(state)
        perturbed[key] = state[key] + torch.rand(state[key].shape, generator=torch.Generator().manual_seed(3)) + 0.5
        assert (_reference_forward(perturbed, model.cfg, wave)[0] - tokens).abs().max() > 1e-4, key


def test_probs_are_sigmoid_of_logits(official):
    path, _ = official
    wave = _wave(2)
    logits = BEATs(pretrained=path, output='logits')(wave)
    probs = BEATs(pretrained=path, output='probs')(wave)
    assert torch.allclose(probs, torch.sigmoid(logits), atol=1e-6)
    assert ((probs > 0) & (probs < 1)).all()


def test_official_checkpoint_loads_with_labels(official):
    path, state = official
    model = BEATs(pretrained=path, cfg=dict(TINY, dropout=0.0))  # training-only fields may differ
    assert model.label_mids == MIDS
    assert model.cfg['dropout'] == 0.0
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize('ext', ['.safetensors', '.pth'])
def test_converter_round_trip(official, tmp_path, ext, capsys):
    path, state = official
    conv = _converter()
    dst = str(tmp_path / f'beats_tiny{ext}')
    assert conv.main([path, dst]) == 0
    printed = capsys.readouterr().out.split('config: cfg=')[1].strip()
    arch = eval(printed, {'dict': dict})
    assert BEATs(pretrained=path, cfg=arch).cfg == BEATs(cfg=arch).cfg  # the printed cfg builds the same model
    converted = BEATs(pretrained=dst, output='probs')
    original = BEATs(pretrained=path, output='probs')
    assert converted.cfg == original.cfg and converted.label_mids == MIDS
    wave = _wave(2)
    assert torch.equal(converted(wave), original(wave))
    if ext == '.pth':
        saved = torch.load(dst, weights_only=True)
        assert set(saved) == {'cfg', 'model', 'label_dict', 'meta'}
        assert set(saved['model']) == set(state)
    else:
        from safetensors import safe_open
        with safe_open(dst, framework='pt') as f:
            meta = f.metadata()
            assert set(f.keys()) == set(state)
        assert json.loads(meta['beats_cfg']) == original.cfg
        assert meta['source'] == os.path.basename(path)
    with pytest.raises(FileExistsError):
        conv.main([path, dst])


def test_converter_rejects_wrong_files(official, tmp_path):
    conv = _converter()
    path, state = official
    mmengine_ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict={'audio_backbone.' + k: v for k, v in state.items()}, meta={}), mmengine_ckpt)
    with pytest.raises(ValueError, match=r'epoch_1\.pth.*not a BEATs checkpoint.*load_from'):
        conv.convert(str(mmengine_ckpt), str(tmp_path / 'out.safetensors'))
    truncated = tmp_path / 'truncated.pt'
    model = {k: v for k, v in state.items() if not k.startswith('predictor.')}
    torch.save(dict(cfg=dict(BEATS_DEFAULT_CFG, **TINY), model=model), truncated)
    with pytest.raises(KeyError, match=r"truncated\.pt.*missing keys \['predictor\.bias'"):
        conv.convert(str(truncated), str(tmp_path / 'out.safetensors'))
    with pytest.raises(ValueError, match='.safetensors'):
        conv.convert(path, str(tmp_path / 'out.bin'))
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        conv.convert(str(tmp_path / 'nope.pt'), str(tmp_path / 'out.safetensors'))


def test_bad_weight_files_and_cfgs(official, tmp_path):
    path, state = official
    with pytest.raises(ValueError, match='not a URL'):
        BEATs(pretrained='https://example.com/BEATs.pt')
    with pytest.raises(ValueError, match=r'disagrees with the checkpoint.*encoder_embed_dim'):
        BEATs(pretrained=path, cfg=dict(encoder_embed_dim=64))
    with pytest.raises(KeyError, match='encoder_layer'):
        BEATs(cfg=dict(TINY, encoder_layer=2))
    with pytest.raises(ValueError, match='input_patch_size'):
        BEATs(cfg={k: v for k, v in TINY.items() if k != 'input_patch_size'})
    with pytest.raises(ValueError, match='fine-tuned'):
        BEATs(cfg=dict(TINY, finetuned_model=False), output='probs')
    with pytest.raises(ValueError, match='differs from the file'):
        BEATs(pretrained=path, label_dict=MIDS[::-1])
    with pytest.raises(ValueError, match='527 classes'):
        BEATs(cfg=TINY, label_dict=MIDS[:10])
    two_layer_cfg = dict(BEATS_DEFAULT_CFG, **dict(TINY, encoder_layers=2))
    two_layer = BEATs(cfg=two_layer_cfg, freeze=False).state_dict()
    two_layer['encoder.layers.1.self_attn.relative_attention_bias.weight'] = torch.zeros(32, 2)
    torch.save(dict(cfg=two_layer_cfg, model=two_layer), tmp_path / 'tab.pt')
    with pytest.raises(ValueError, match=r'tab\.pt.*relative_attention_bias tables differ'):
        BEATs(pretrained=str(tmp_path / 'tab.pt'))
    with pytest.raises(ValueError, match=r'waveforms \[N, L\]'):
        BEATs(cfg=TINY)(torch.zeros(2, 1, 16000))
    # a checkpoint's cfg field BEATs does not know is dropped with a warning naming it, never silently
    torch.save(dict(cfg=dict(BEATS_DEFAULT_CFG, **TINY, mask_prob=0.75), model=state), tmp_path / 'extra.pt')
    with pytest.warns(UserWarning, match=r"extra\.pt.*unknown to BEATs: \['mask_prob'\]"):
        BEATs(pretrained=str(tmp_path / 'extra.pt'))
    from safetensors.torch import save_file
    save_file({k: v.clone() for k, v in state.items()}, str(tmp_path / 'plain.safetensors'))
    with pytest.raises(ValueError, match=r'plain\.safetensors.*beats2avsseg'):
        BEATs(pretrained=str(tmp_path / 'plain.safetensors'))


def test_label_dict_from_audioset_csv(official, tmp_path):
    path, _ = official
    csv = tmp_path / 'class_labels_indices.csv'
    csv.write_text('index,mid,display_name\n' + ''.join(f'{i},{m},"name {i}"\n' for i, m in enumerate(MIDS)))
    assert BEATs(cfg=TINY, label_dict=str(csv)).label_mids == MIDS
    assert BEATs(pretrained=path, label_dict=str(csv)).label_mids == MIDS  # agrees with the file's label_dict
    csv.write_text('index,mid,display_name\n' + ''.join(f'{i},{m},"name {i}"\n' for i, m in enumerate(MIDS[::-1])))
    with pytest.raises(ValueError, match='differs from the file'):
        BEATs(pretrained=path, label_dict=str(csv))


def test_freeze_and_trainable(official):
    path, _ = official
    frozen = BEATs(pretrained=path, cfg=dict(TINY, dropout=0.5))
    frozen.train()
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    wave = _wave(2)
    out = frozen(wave)
    assert not out.requires_grad and torch.equal(out, frozen(wave))  # eval: dropout off

    trainable = BEATs(pretrained=path, freeze=False, output='logits')
    trainable.train()
    assert trainable.training
    trainable(wave).sum().backward()
    assert all(p.grad is not None for p in trainable.parameters())


def test_init_weights_reloads_pretrained(official):
    path, state = official
    model = BEATs(pretrained=path)
    with torch.no_grad():
        model.patch_embedding.weight.zero_()  # what a parent's init_cfg could do
    model.init_weights()
    assert torch.equal(model.patch_embedding.weight, state['patch_embedding.weight'])


def test_in_an_audio_visual_segmentor_on_waveform_windows(official):
    """inputs['audio'] [B*T, 16000] reaches BEATs; padded frames' features are zeroed; after the segmentor's
    init_weights the file's weights are still there; the frozen encoder gets no gradient while the rest trains."""
    from mmengine.registry import init_default_scope

    from avsseg.testing import demo_clip_inputs, get_config, tiny_model_cfg
    path, state = official
    init_default_scope('avsseg')
    torch.manual_seed(0)
    cfg = tiny_model_cfg(get_config('_base_/models/tpavi_r50.py').model)
    cfg.audio_backbone = dict(type='BEATs', pretrained=path, cfg=TINY, output='embedding')
    cfg.neck.audio_channels = 32
    model = MODELS.build(cfg)
    model.init_weights()
    for key, value in model.audio_backbone.state_dict().items():
        assert torch.equal(value, state[key]), key
    model.train()
    data = demo_clip_inputs(data_preprocessor=model.data_preprocessor, training=True, num_frames=3, size=64,
                            labeled=[[True, False, False], [True, True, False]],
                            padded=[[False, False, False], [False, False, True]], audio_shape=(16000, ))
    audio = model.extract_audio_feat(data['inputs']['audio'], [s.metainfo for s in data['data_samples']])
    assert audio.shape == (6, 32) and not audio[5].any() and audio[:5].abs().sum(dim=1).gt(0).all()
    torch.testing.assert_close(audio[:5], model.audio_backbone(data['inputs']['audio'][:5]))
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None for p in model.audio_backbone.parameters())
    assert model.neck.tpavi_blocks['0'].out_norm.weight.grad.abs().sum() > 0
