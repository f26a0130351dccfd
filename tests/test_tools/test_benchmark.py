import glob
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


TINY_TEST_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'tpavi_tiny_synthetic_s4.py')


def test_size_of_the_test_pipeline():
    tool = _tool()
    # the small configs resize to 96x96 while their dataset base keeps crop_size=(224, 224)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'combo', 'combo_tiny_synthetic_s4.py'))
    assert tool.infer_clip_setting(cfg) == (5, (96, 96), 'first')
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[dict(type='ClipResize', scale=(128, 64))]))))
    assert tool._fixed_test_size(cfg) == (64, 128)  # mmcv's (w, h)
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[dict(type='ClipResize', scale=(4096, 224),
                                                                       keep_ratio=True)]))))
    assert tool._fixed_test_size(cfg) is None


def test_all_rows():
    tool = _tool()
    rows = tool.default_rows(REPO, 'cpu')
    tiny = [r for r in rows if not r['gpu_only']]
    assert tiny == rows[:len(tiny)] and tiny  # the measurable rows first
    assert {osp.basename(r['config']) for r in tiny} == {
        osp.basename(p) for p in glob.glob(osp.join(REPO, 'configs', '*', '*_tiny_*.py'))}
    full = [r for r in rows if r['gpu_only'] and not r['cfg_options']]
    expected = {osp.basename(p) for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
                if '_tiny_' not in p and '_base_' not in p}
    assert {osp.basename(r['config']) for r in full} == expected and 'combo_pvt_avss.py' in expected
    cp_rows = [r for r in rows if r['cfg_options']]
    assert [r['label'].rsplit(': ', 1)[1] for r in cp_rows] == ['encoders', 'head', 'encoders+head']
    for r in cp_rows:
        assert r['config'].endswith('combo_pvt_avss.py') and r['precision'] == 'amp' and r['gpu_only']
        assert r['cfg_options']['total_batch_size'] == 8
    assert cp_rows[2]['cfg_options'] == {'model.backbone.with_cp': True, 'model.decode_head.with_cp': True,
                                         'total_batch_size': 8}
    assert tool.default_rows(REPO, 'cuda')[0]['gpu_only']  # on a GPU the full configs come first
    rows = tool.default_rows(REPO, 'cpu', ('fp32', 'amp'))
    first = osp.splitext(osp.basename(tiny[0]['config']))[0]
    assert [r['label'] for r in rows[:2]] == [f'{first} (fp32)', f'{first} (amp)']
    with pytest.raises(ValueError, match='precision'):
        tool.Row('x.py', precision='fp16')
    table = tool.format_table([dict(label='combo_pvt_s4', skipped='batch 8: needs a GPU (not run here)')], 'cpu')
    assert table.splitlines()[-1] == '| combo_pvt_s4 | batch 8: needs a GPU (not run here) | | | | | | | |'
    assert 'peak RSS GiB' in table and 'CUDA max allocated' in tool.format_table([], 'cuda')


def test_precision_and_subset():
    tool = _tool()
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', loss_scale='dynamic', optimizer=dict(type='SGD'))))
    tool.apply_precision(cfg, 'fp32')
    assert dict(cfg.optim_wrapper) == dict(type='OptimWrapper', optimizer=dict(type='SGD'))
    tool.apply_precision(cfg, 'amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.loss_scale == 'dynamic'
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='RepeatDataset', dataset=dict(
        type='AVSBenchSemanticDataset')))))
    assert tool.subset_of(cfg, 'a.py') == 'avss'
    cfg.train_dataloader.dataset.dataset.type = 'VOCDataset'
    with pytest.raises(ValueError, match="a.py: train_dataloader.dataset.type='VOCDataset'"):
        tool.subset_of(cfg, 'a.py')


def test_all_arguments():
    tool = _tool()
    args = tool.parse_args(['--all'])
    assert (args.iters, args.warmup, args.batch_size, args.precision) == (10, 2, None, ['config'])
    args = tool.parse_args(['cfg.py'])
    assert (args.iters, args.warmup, args.batch_size) == (5, 1, 2)
    for argv in ([], ['cfg.py', '--all'], ['cfg.py', '--configs', 'a.py'], ['cfg.py', '--count-gpu-rows'],
                 ['--all', '--shape', '64'], ['--all', '--precision', 'fp16'], ['--all', '--infer-iters', '0']):
        with pytest.raises(SystemExit):
            tool.parse_args(argv)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    """Synthetic sets for the --all tests (generated by the first test that needs them)."""
    return str(tmp_path_factory.mktemp('benchmark_data'))


def test_largest_batch_that_fits(data_dir, monkeypatch):
    tool = _tool()
    from mmengine.registry import init_default_scope

    import avsseg.datasets  # noqa: F401
    init_default_scope('avsseg')
    roots = tool.synthetic_data(data_dir, ['s4'], 4)
    batches = []

    def train_until(fits):
        def measure_train(model, cfg, device, iters, warmup):
            batches.append(cfg.train_dataloader.batch_size)
            if cfg.train_dataloader.batch_size > fits:
                raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')
            return dict(sec_per_step=1.0)
        return measure_train

    row = tool.Row(TINY_TEST_CONFIG, cfg_options={'train_dataloader.batch_size': 4})
    monkeypatch.setattr(tool, 'measure_train', train_until(1))
    r = tool.measure_row(row, REPO, torch.device('cpu'), roots, 1, 0, 1)
    assert batches == [4, 2, 1] and r['train'] == dict(sec_per_step=1.0)
    assert (r['batch_size'], r['config_batch_size']) == (1, 4)
    assert r['batch_note'] == 'largest that fits (config: 4, out of memory)'
    batches.clear()
    monkeypatch.setattr(tool, 'measure_train', train_until(0))
    r = tool.measure_row(row, REPO, torch.device('cpu'), roots, 1, 0, 1)
    assert batches == [4, 2, 1] and r['train'] is None and r['batch_note'] == 'out of memory at batch 1'
    assert '| out of memory | out of memory |' in tool.format_table([r], 'cuda')


def test_benchmark_all_fills_the_doc(tmp_path, data_dir, capsys):
    tool = _tool()
    doc = tmp_path / 'benchmarks.md'
    doc.write_text('# head\n<!-- benchmark --all: cpu begin -->\nold table\n<!-- benchmark --all: cpu end -->\ntail\n')
    threads = torch.get_num_threads()
    results = tool.main(['--all', '--configs', TINY_TEST_CONFIG, '--precision', 'config', 'amp', '--iters', '2',
                         '--warmup', '0', '--infer-iters', '1', '--device', 'cpu', '--threads', '1', '--data-dir',
                         data_dir, '--update-doc', str(doc), '--json', str(tmp_path / 'r.json')])
    assert torch.get_num_threads() == threads
    assert [r['label'] for r in results] == ['tpavi_tiny_synthetic_s4', 'tpavi_tiny_synthetic_s4 (amp)']
    r = results[0]
    # the config's batch (2 clips of 5 frames) and test-pipeline size (32x32), from the generated synthetic set
    assert (r['batch_size'], r['config_batch_size'], r['num_frames'], r['test_input_size']) == (2, 2, 5, [32, 32])
    assert r['train']['input_size'] == [32, 32] and r['train']['num_workers'] == 0
    assert 0 < r['train']['data_sec_per_step'] < r['train']['sec_per_step']
    assert r['train']['data_share'] == pytest.approx(r['train']['data_sec_per_step'] / r['train']['sec_per_step'])
    assert r['train']['loader_restarts'] == 0  # the set holds enough training clips for the timed steps
    assert r['params']['total'] == sum(t for t, _ in r['params']['modules'].values())
    assert list(r['params']['modules']) == ['backbone', 'audio_backbone', 'neck', 'decode_head']
    assert r['gflops_per_frame'] > 0 and r['inference']['sec_per_frame'] > 0
    assert r['train']['peak_memory_bytes'] > 0 and r['inference']['peak_memory_bytes'] > 0
    assert results[1]['train']['optim_wrapper'] == 'OptimWrapper (AmpOptimWrapper replaced by OptimWrapper on CPU)'
    assert osp.isfile(osp.join(data_dir, 's4', 'synthetic_s4.json'))
    text = doc.read_text()
    assert text.startswith('# head\n<!-- benchmark --all: cpu begin -->\nMeasured ') and text.endswith(
        '<!-- benchmark --all: cpu end -->\ntail\n')
    assert 'old table' not in text and '| tpavi_tiny_synthetic_s4 | 2 x 5, 32x32 |' in text
    assert f'--data-dir {data_dir}' in text  # the command that reproduces it
    assert '| tpavi_tiny_synthetic_s4 |' in capsys.readouterr().out
    with pytest.raises(ValueError, match='no "<!-- benchmark --all: gpu begin -->"'):
        tool.update_doc(str(doc), 'gpu', 'x')
