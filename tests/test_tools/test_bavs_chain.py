"""The BAVS tiny chain through the tools: stand-in tagger and stage 1 trained 2 iterations each with tools/train.py
(in this process, on 8 generated clips), compose_two_stage.py, tools/test.py on real and silenced audio (AVIS) and
top-1 (w/o AVIS). 142 s on a 2-core machine shared with two trainings; not yet under the 30 s CI budget."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'bavs')


def load_tool(*parts):
    path = osp.join(REPO, 'tools', *parts)
    spec = importlib.util.spec_from_file_location(osp.splitext(parts[-1])[0] + '_under_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(module, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [module.__file__, *argv])
    module.main()


def scores(work_dir):
    """The metrics of the newest run under ``work_dir`` (mmengine's ``{timestamp}/{timestamp}.json``)."""
    runs = sorted(p for p in __import__('glob').glob(osp.join(work_dir, '*', '*.json')))
    assert runs, f'no metrics json under {work_dir}'
    with open(runs[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])


@pytest.mark.timeout(300)
def test_tagger_stage1_compose_test(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    data = str(tmp_path / 'syn_avss')
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters', 'synthetic_avsbench.py'), data,
                    '--subset', 'avss', '--num-videos', '8', '--image-size', '48', '--split-ratios', '0.5', '0.25',
                    '0.25'], check=True, capture_output=True, env=dict(__import__('os').environ, PYTHONPATH=REPO))
    silent = load_tool('dataset_converters', 'make_silent_labels.py')
    assert silent.main([data, '--captioner', 'oracle-synthetic']) in (0, None)
    train = load_tool('train.py')
    small = ['--threads', '1', '--data-root', data, '--cfg-options', 'train_dataloader.num_workers=0',
             'train_dataloader.batch_size=2']
    tagger_dir, stage1_dir = str(tmp_path / 'tagger'), str(tmp_path / 'stage1')
    run_main(train, [osp.join(CFG, 'bavs_tagger_tiny_synthetic_avss.py'), '--work-dir', tagger_dir, '--iters', '2',
                     *small], monkeypatch)
    # the silent-label file of the generated data (index 3 of the train pipeline is LoadSilentObjectLabels)
    run_main(train, [osp.join(CFG, 'bavs_psos_tiny_synthetic_avss_stage1.py'), '--work-dir', stage1_dir, '--iters',
                     '2', *small, f'train_dataloader.dataset.pipeline.3.data_root={data}',
                     'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0'], monkeypatch)
    composed = str(tmp_path / 'bavs_tiny.pth')
    compose = load_tool('model_converters', 'compose_two_stage.py')
    stage2 = osp.join(CFG, 'bavs_avis_tiny_synthetic_avss.py')
    compose.main(['--stage1', osp.join(stage1_dir, 'iter_2.pth'), '--tagger', osp.join(tagger_dir, 'iter_2.pth'),
                  '--config', stage2, '-o', composed])
    assert torch.load(composed, weights_only=True)['meta']['compose_two_stage']['tree_sha256']
    test = load_tool('test.py')
    opts = ['--data-root', data, '--cfg-options', 'test_dataloader.num_workers=0']
    for name, extra in (('real', []), ('silence', ['--audio-perturb', 'silence'])):
        out = str(tmp_path / f'test_{name}')
        run_main(test, [stage2, composed, '--work-dir', out, *extra, *opts], monkeypatch)
        metrics = scores(out)
        assert 'mIoU' in metrics and 'instances/I' in metrics, metrics
    out = str(tmp_path / 'test_top1')
    run_main(test, [osp.join(CFG, 'bavs_wo-avis_tiny_synthetic_avss.py'), composed, '--work-dir', out, *opts],
             monkeypatch)
    assert 'mIoU' in scores(out)
