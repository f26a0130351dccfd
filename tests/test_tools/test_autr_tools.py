"""AuTR's zero-shot path through the tools on tiny generated sets (seed 002 Tab. 2/3 "0 % w/ P.T.", CI-sized):
toy sources -> build_avs_synthetic.py -> tools/train.py of the toy AVS-Synthetic config (a few iterations) ->
tools/test.py of the tiny S4 config with that checkpoint on a generated S4 set (strict load: the two configs have one
model). Two tool processes only, no validation during the short training, to keep it CI-sized."""
import importlib.util
import os.path as osp

import pytest
from tool_runner import REPO, python_tool, run, tool_env

from avsseg.datasets.synthetic import generate_synthetic_avsbench

TOOLS = osp.join(REPO, 'tools', 'dataset_converters')
TOY = osp.join(REPO, 'configs', 'autr', 'autr_tiny_toy-avs-synthetic.py')
TINY_S4 = osp.join(REPO, 'configs', 'autr', 'autr_tiny_synthetic_s4.py')
LOADERS = ('train', 'val', 'test')
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=100', 'default_hooks.logger.interval=1',
         'param_scheduler.0.end=2']
SHORT += [f'{s}_dataloader.{k}' for s in LOADERS for k in ('num_workers=0', 'batch_size=2')]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    src = _load('make_toy_avs_sources').write_sources(str(tmp_path_factory.mktemp('toy_sources')), num_images=12,
                                                      clips_per_label=2, image_size=48, seed=0)
    builder = _load('build_avs_synthetic')
    toy = str(tmp_path_factory.mktemp('toy_avs_synthetic') / 'set')
    builder.build(builder.parse_args([
        toy, '--category-map', src['category_map'], '--seg-format', 'coco', '--seg-ann', src['coco_ann'],
        '--seg-images', src['coco_images'], '--audio-csv', src['audio_csv'], '--audio-dir', src['audio_dir'],
        '--test-size', '2', '--val-size', '2', '--quiet'
    ]))
    s4 = str(tmp_path_factory.mktemp('synthetic_s4'))
    generate_synthetic_avsbench(s4, 's4', seed=3, num_videos=6, image_size=32, split_ratios=(0.5, 0.17, 0.33))
    return dict(toy=toy, s4=s4)


def test_zero_shot_path_through_the_tools(roots, tmp_path):
    env = tool_env(tmp_path)
    work = tmp_path / 'toy'
    proc = run(python_tool('train.py', TOY, '--work-dir', work, '--threads', '1', '--data-root', roots['toy'],
                           '--cfg-options', *SHORT), env)
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log and 'decode.loss_sound' in log and 'decode.d0.loss_dice' in log
    assert (work / 'iter_2.pth').is_file()
    proc = run(python_tool('test.py', TINY_S4, work / 'iter_2.pth', '--work-dir', tmp_path / 'test', '--data-root',
                           roots['s4'], '--cfg-options', 'test_dataloader.num_workers=0'), env)
    log = proc.stdout + proc.stderr
    assert 'mJ' in log and 'num_clips' in log and 'AVSBinaryMetric' in log
