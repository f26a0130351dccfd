"""Every AuTR config parses, follows the paper's recipe (spec sheet §3.3, §4, §8.3), builds (shrunk) and runs a
training step and a prediction, and each child config changes exactly the switch it is named after."""
import glob
import importlib.util
import os.path as osp
import re

import pytest
import torch
from config_diff import differing_keys
from mmengine.config import Config
from mmengine.registry import init_default_scope

from avsseg.registry import MODELS
from avsseg.testing import demo_clip_inputs, tiny_model_cfg

ROOT = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'autr')
TOOLS = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters')
TOP = ['autr_r50_s4', 'autr_pvt_s4', 'autr_r50_ms3', 'autr_pvt_ms3']
RATIOS = (10, 20, 30)
FEW_SHOT = [f'autr_pvt_s4_r{r}' for r in RATIOS]
FT_SYNTHETIC = [f'autr_pvt_s4_ft-synthetic_r{r}' for r in (*RATIOS, 100)]
OPEN_SET = ['autr_r50_s4_openset', 'autr_pvt_s4_openset']
TINY = ['autr_tiny_synthetic_s4', 'autr_tiny_toy-avs-synthetic']
PVT_KEYS = ('model.backbone.backbone.', 'model.backbone.init_cfg.checkpoint', 'model.neck.in_channels',
            'model.decode_head.in_channels', 'pvt_v2_b5')
# models build their data preprocessor through the default scope
init_default_scope('avsseg')


def _load(name):
    return Config.fromfile(osp.join(ROOT, f'{name}.py'))


def _types(pipeline):
    return [t['type'] for t in pipeline]


def test_every_autr_config_is_covered():
    found = {osp.splitext(osp.basename(p))[0] for p in glob.glob(osp.join(ROOT, '**', '*.py'), recursive=True)}
    expected = {*TOP, *FEW_SHOT, *FT_SYNTHETIC, *OPEN_SET, *TINY, 'autr_pvt_ms3_ft-s4', 'autr_pvt_avs-synthetic'}
    assert found == expected


def test_every_config_names_its_paper_number_in_the_readme():
    readme = open(osp.join(ROOT, 'README.md')).read()
    for name in {osp.splitext(osp.basename(p))[0] for p in glob.glob(osp.join(ROOT, '*.py'))}:
        assert f'`{name}.py`' in readme, name


@pytest.mark.parametrize('name', TOP)
def test_top_level_configs_follow_the_paper_recipe(name):
    cfg = _load(name)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 5e-4)
    assert cfg.optim_wrapper.clip_grad.max_norm == 0.1 and not cfg.get('param_scheduler')  # constant lr (A11)
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 50
    assert cfg.total_batch_size == 8 and cfg.default_hooks.checkpoint.save_best == 'mJ'
    model = cfg.model
    assert model.backbone.type == 'FrozenBackbone' and model.audio_backbone.type == 'VGGish'
    assert model.audio_backbone.freeze
    assert (model.neck.type, model.neck.channels, model.neck.fuse, model.neck.audio_tokens) == (
        'AVFFNeck', 256, 'mul', 'frame')
    head = model.decode_head
    assert (head.type, head.feat_channels, head.num_queries, head.select) == ('AuTRHead', 256, 5, 'clip')
    assert head.encoder.num_layers == head.decoder.num_layers == 4
    assert head.pixel_decoder.mask_channels == 256 and head.mask_head.controller_layers == 2
    assert (head.loss_sound.loss_weight, head.loss_mask.loss_weight, head.loss_dice.loss_weight) == (2.0, 1.0, 1.0)
    costs = {c.type: c.weight for c in head.train_cfg.assigner.match_costs}
    assert costs == {'ClipSoundingCost': 2.0, 'mmdet.FocalLossCost': 1.0, 'DiceCoefficientCost': 1.0}
    train = _types(cfg.train_dataloader.dataset.pipeline)
    assert ('ClipSelectLabelledFrames' in train) == name.endswith('s4')  # S4 trains on T = 1, MS3 on all 5
    assert not any('Random' in t or 'PhotoMetric' in t for t in train)  # no augmentation on AVSBench (A11)
    assert cfg.test_evaluator.fscore_batch_clips == 4


@pytest.mark.parametrize('name', ['autr_r50_s4', 'autr_pvt_ms3'])
def test_tiny_model_trains_and_predicts(name):
    """The recipe's model at tiny sizes: loss terms of every decoder layer, the frozen backbone gets no gradient,
    prediction is one channel per frame."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(_load(name).model))
    model.init_weights()
    num_frames = 1 if name.endswith('s4') else 2
    data = demo_clip_inputs(model.data_preprocessor, training=True, num_clips=2, num_frames=num_frames, size=32)
    losses = model(**data, mode='loss')
    num_layers = model.decode_head.num_transformer_decoder_layers
    assert {f'decode.d{i}.loss_sound' for i in range(num_layers - 1)} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.neck.audio_mlp.layers[0].weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model(**demo_clip_inputs(model.data_preprocessor, num_clips=1, num_frames=3, size=32), mode='predict')
    assert len(out) == 3 and out[0].seg_logits.data.shape[0] == 1


@pytest.mark.parametrize('subset', ['s4', 'ms3'])
def test_pvt_config_is_the_r50_config_with_the_backbone_swapped(subset):
    pvt = _load(f'autr_pvt_{subset}')
    diff = differing_keys(_load(f'autr_r50_{subset}').to_dict(), pvt.to_dict())
    assert all(k.startswith(PVT_KEYS) for k in diff), sorted(diff)
    assert pvt.model.backbone.backbone.type == 'PVTv2' and pvt.model.backbone.backbone.num_layers == [3, 6, 40, 3]
    assert pvt.model.backbone.init_cfg.checkpoint == 'pretrained/pvt_v2_b5.pth'
    assert pvt.model.neck.in_channels == [64, 128, 320, 512] and pvt.model.decode_head.in_channels[0] == 64


def test_ms3_fine_tuning_loads_the_last_s4_checkpoint():
    child = _load('autr_pvt_ms3_ft-s4')
    assert differing_keys(_load('autr_pvt_ms3').to_dict(), child.to_dict()) == {'load_from'}
    assert child.load_from == f'work_dirs/autr_pvt_s4/epoch_{_load("autr_pvt_s4").train_cfg.max_epochs}.pth'


def test_synthetic_pretraining_recipe_and_same_model_as_s4():
    cfg = _load('autr_pvt_avs-synthetic')
    assert cfg.train_cfg.max_epochs == 10 and cfg.total_batch_size == 1 and cfg.train_dataloader.batch_size == 1
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, cfg.optim_wrapper.clip_grad.max_norm) == ('AdamW', 1e-4, 5e-4, 0.1)
    assert cfg.train_dataloader.dataset.type == 'AVSSyntheticDataset'
    assert 'RandomFlip' in str(cfg.train_dataloader.dataset.pipeline)
    assert {'type': 'LoadClipAudioFromExample', 'start_example': 1} in cfg.test_dataloader.dataset.pipeline
    # zero-shot = tools/test.py autr_pvt_s4.py with this checkpoint: the two models must be the same
    assert cfg.model == _load('autr_pvt_s4').model


def _subset_tool():
    spec = importlib.util.spec_from_file_location('avsbench_subset', osp.join(TOOLS, 'avsbench_subset.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('ratio', RATIOS)
def test_few_shot_configs_change_only_the_train_csv_that_the_tool_writes(ratio):
    child = _load(f'autr_pvt_s4_r{ratio}')
    assert differing_keys(_load('autr_pvt_s4').to_dict(), child.to_dict()) == {'train_dataloader.dataset.ann_file'}
    csv_name = child.train_dataloader.dataset.ann_file
    # the command in the header writes exactly this file with this ratio
    header = open(osp.join(ROOT, f'autr_pvt_s4_r{ratio}.py')).read()
    written = re.search(r'few-shot \S+ \\\n#\s+DATA_ROOT/(\S+) --ratio (\S+) --seed (\d+)', header)
    assert written and written.group(1) == csv_name and float(written.group(2)) == ratio / 100
    assert csv_name == f's4_meta_data_{ratio}pct_seed{written.group(3)}.csv'


@pytest.mark.parametrize('ratio', (*RATIOS, 100))
def test_fine_tuning_from_synthetic_changes_only_load_from(ratio):
    parent = _load('autr_pvt_s4' if ratio == 100 else f'autr_pvt_s4_r{ratio}')
    child = _load(f'autr_pvt_s4_ft-synthetic_r{ratio}')
    assert differing_keys(parent.to_dict(), child.to_dict()) == {'load_from'}
    synthetic = _load('autr_pvt_avs-synthetic')
    assert child.load_from == f'work_dirs/autr_pvt_avs-synthetic/epoch_{synthetic.train_cfg.max_epochs}.pth'


@pytest.mark.parametrize('backbone', ['r50', 'pvt'])
def test_open_set_split_is_the_tools_seeded_draw(backbone):
    child = _load(f'autr_{backbone}_s4_openset')
    diff = differing_keys(_load(f'autr_{backbone}_s4').to_dict(), child.to_dict())
    assert {k.split('.')[0] if k.endswith('categories.len') or k[-1].isdigit() else k for k in diff} == {
        'train_dataloader.dataset.ann_file', 'val_dataloader.dataset.ann_file', 'test_dataloader.dataset.ann_file',
        'seen_categories', 'unseen_categories'}
    assert child.train_dataloader.dataset.ann_file == 's4_open_set_seed0_seen.csv'
    assert child.test_dataloader.dataset.ann_file == 's4_open_set_seed0_unseen.csv'
    s4_categories = Config.fromfile(osp.join(ROOT, '..', '_base_', 'models', 'psos_r50.py')).s4_categories
    rows = [[f'v{i}', '0', c, 'train'] for i, c in enumerate(s4_categories)]
    _, _, seen = _subset_tool().open_set(rows, 11, 0)
    assert list(child.seen_categories) == seen and len(child.unseen_categories) == 12
    assert set(child.seen_categories) | set(child.unseen_categories) == set(s4_categories)


def test_tiny_configs_share_one_model():
    s4, toy = _load('autr_tiny_synthetic_s4'), _load('autr_tiny_toy-avs-synthetic')
    assert s4.model == toy.model  # the toy pre-training checkpoint is tested with the S4 config (zero-shot path)
    assert toy.train_dataloader.dataset.type == 'AVSSyntheticDataset'
    assert 'ClipSelectLabelledFrames' in _types(s4.train_dataloader.dataset.pipeline)
    head = s4.model.decode_head
    assert (head.num_queries, head.feat_channels, head.encoder.num_layers, head.decoder.num_layers) == (3, 64, 1, 2)
    assert s4.model.backbone.type == 'ResNet'  # trained from scratch: a frozen random backbone would be useless
    model = MODELS.build(s4.model)
    assert model.decode_head.mask_head.controller.num_layers == 2


def test_tiny_model_cfg_keeps_every_switch_of_the_recipe():
    """tiny_model_cfg changes only widths, depths, counts and weight files of an AuTR recipe (fusion, audio tokens,
    query selection, loss weights and matching costs stay)."""
    original = _load('autr_pvt_s4').model
    tiny = tiny_model_cfg(original)
    sizes = {'depth', 'stem_channels', 'base_channels', 'embed_dims', 'num_layers', 'num_heads', 'in_channels',
             'channels', 'audio_channels', 'feat_channels', 'num_queries', 'num_groups', 'num_points',
             'feedforward_channels', 'mask_channels', 'init_cfg', 'checkpoint', 'pretrained', 'len'}
    changed = differing_keys(original.to_dict(), tiny.to_dict())
    others = sorted(k for k in changed if not k.startswith('audio_backbone.') and k.split('.')[-1] not in sizes
                    and not k.split('.')[-1].isdigit() and '.init_cfg.' not in k)
    assert not others, others
    assert tiny.neck.fuse == 'mul' and tiny.decode_head.select == 'clip' and tiny.backbone.type == 'FrozenBackbone'
    assert tiny.decode_head.train_cfg == original.decode_head.train_cfg
