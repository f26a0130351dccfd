import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'benchmark.py')
BASE_MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'combo_r50.py')

# A tiny COMBO: ResNet-50 layout at 1/8 width, 32-channel head, 1 encoder / 2 decoder layers, small log-mel CNN.
TINY_COMBO = f"""
_base_ = [{BASE_MODEL!r}]
model = dict(
    audio_backbone=dict(_delete_=True, type='LogMelCNN', channels=(16, 32, 64), out_channels=128),
    backbone=dict(backbone=dict(base_channels=8, stem_channels=8, init_cfg=None), in_channels=[32, 64, 128, 256]),
    decode_head=dict(
        in_channels=[32, 64, 128, 256], feat_channels=32, out_channels=32, num_queries=4,
        pixel_decoder=dict(
            encoder=dict(num_layers=1, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=32), ffn_cfg=dict(embed_dims=32, feedforward_channels=64))),
            positional_encoding=dict(num_feats=16)),
        positional_encoding=dict(num_feats=16),
        transformer_decoder=dict(num_layers=2, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=32), cross_attn_cfg=dict(embed_dims=32),
            ffn_cfg=dict(embed_dims=32, feedforward_channels=64))),
        audio_mlp_channels=16,
        fusion=dict(embed_dims=32),
        train_cfg=dict(num_points=64)))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4), clip_grad=dict(max_norm=0.01))
"""


def _tool():
    spec = importlib.util.spec_from_file_location('benchmark', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log_mel_cnn_flops_per_example():
    """2 x multiply-accumulates of LogMelCNN(16, 32, 64) on one [1, 96, 64] example: bias-free 3x3 convs, each
    followed by a 2x2 pool, then a 64 -> 128 linear layer."""
    macs, h, w, c_in = 0, 96, 64, 1
    for c_out in (16, 32, 64):
        macs += h * w * c_out * c_in * 9
        c_in, h, w = c_out, h // 2, w // 2
    return 2 * (macs + 64 * 128)


def test_benchmark_tiny_combo(tmp_path, capsys):
    tool = _tool()
    threads = torch.get_num_threads()
    config = tmp_path / 'combo_tiny.py'
    config.write_text(TINY_COMBO)
    result = tool.main([str(config), '--batch-size', '1', '--num-frames', '2', '--shape', '64', '--iters', '1',
                        '--warmup', '0', '--device', 'cpu', '--threads', '1', '--json', str(tmp_path / 'r.json')])
    assert result['torch_threads'] == 1 and torch.get_num_threads() == threads  # restored afterwards
    assert result['num_frames'] == 2 and result['input_size'] == [64, 64] and result['batch_size'] == 1
    rows = {r['name']: r for r in result['params']['modules']}
    for name in ('backbone', 'audio_backbone', 'decode_head', 'backbone.image_encoder',
                 'backbone.separate_maskige_encoder', 'backbone.gates', 'decode_head.pixel_decoder',
                 'decode_head.transformer_decoder', 'decode_head.fusion', 'decode_head.audio_mlp'):
        assert name in rows, name
    # tiny leaf modules of a parent are merged into one row
    assert 'decode_head.query_embed' in rows['decode_head.(others)']['members']
    top = [r for r in result['params']['modules'] if r['depth'] == 0]
    assert sum(r['params'] for r in result['params']['modules'] if r['name'].startswith('decode_head.')) == \
        rows['decode_head']['params']
    assert sum(r['params'] for r in top) == result['params']['total']
    # the two Siam encoders have one architecture
    assert rows['backbone.image_encoder']['params'] == rows['backbone.separate_maskige_encoder']['params']
    assert rows['audio_backbone']['params'] == rows['audio_backbone']['trainable'] > 0
    flops = result['flops_per_frame']
    assert flops['modules']['audio_backbone'] == pytest.approx(_log_mel_cnn_flops_per_example())
    assert flops['modules']['backbone.image_encoder'] == pytest.approx(
        flops['modules']['backbone.separate_maskige_encoder'])
    assert 0 < flops['modules']['decode_head'] < flops['total']
    # the head calls its decoder layers one by one: the decoder's FLOPs are the sum of its layers'
    assert flops['modules']['decode_head.transformer_decoder'] > 0
    assert flops['total'] >= sum(flops['modules'][r['name']] for r in top) * 0.999
    for phase in ('train', 'inference'):
        assert result[phase]['peak_memory_bytes'] > 0
    assert result['train']['sec_per_step'] > 0
    assert result['inference']['sec_per_frame'] == pytest.approx(result['inference']['sec_per_batch'] / 2)
    out = capsys.readouterr().out
    assert 'train step' in out and 'GFLOPs/frame' in out and 'decode_head.fusion' in out
    assert osp.isfile(tmp_path / 'r.json')


def test_clip_setting_from_dataset_config():
    tool = _tool()
    cfg = Config(dict(crop_size=(96, 128), model=dict(),
                      train_dataloader=dict(dataset=dict(type='AVSBenchS4Dataset', split='train'))))
    assert tool.infer_clip_setting(cfg) == (5, (96, 128), 'first')
    cfg = Config(dict(model=dict(data_preprocessor=dict(size=(64, 64))),
                      train_dataloader=dict(dataset=dict(type='AVSBenchSemanticDataset', max_frames=10))))
    assert tool.infer_clip_setting(cfg) == (10, (64, 64), 'all')
    with pytest.raises(SystemExit):
        tool.parse_args(['x.py', '--batch-size', '0'])
