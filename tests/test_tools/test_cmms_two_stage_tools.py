"""CMMS (seed 001) through the tools on a tiny synthetic S4 set: stage 1 (PSOS) and stage 2 (AVSC, the frozen stage 1
loaded from the stage-1 checkpoint) train with tools/train.py; tools/test.py then needs only the stage-2 checkpoint
(the stage-1 file is deleted first), with real and silenced audio; the w/o-AVSC config tests the stage-1 checkpoint."""
import json
import os
import os.path as osp

import pytest
from tool_runner import REPO, python_tool, run, tool_env

from avsseg.datasets.synthetic import generate_synthetic_avsbench

STAGE1 = osp.join(REPO, 'configs', 'cmms', 'cmms_psos_tiny_synthetic_s4_stage1.py')
STAGE2 = osp.join(REPO, 'configs', 'cmms', 'cmms_avsc_tiny_synthetic_s4_stage2.py')
WO_AVSC = osp.join(REPO, 'configs', 'cmms', 'cmms_wo-avsc_tiny_synthetic_s4.py')
SMALL = ['train_dataloader.num_workers=0', 'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
         'train_dataloader.batch_size=2', 'model.decode_head.num_queries=4',
         'model.decode_head.train_cfg.num_points=256']


def metrics_of(work_dir):
    found = [osp.join(d, f) for d, _, files in os.walk(work_dir) for f in files if f.endswith('.json')
             and not f.startswith('vis')]
    with open(sorted(found)[-1]) as f:
        return json.loads(f.read().splitlines()[-1])


@pytest.mark.timeout(600)
def test_both_stages_through_train_and_test(tmp_path):
    data_root = tmp_path / 'synthetic_s4'
    generate_synthetic_avsbench(str(data_root), 's4', seed=0, num_videos=8, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25))
    env = tool_env(tmp_path)
    common = ['--data-root', data_root, '--threads', '1', '--iters', '2']
    # from scratch: the config's initialisation is a trained checkpoint
    run(python_tool('train.py', STAGE1, '--work-dir', tmp_path / 's1', *common, '--cfg-options', *SMALL,
                    'load_from=None'), env)
    stage1_ckpt = tmp_path / 's1' / 'iter_2.pth'
    assert stage1_ckpt.exists()
    run(python_tool('train.py', STAGE2, '--work-dir', tmp_path / 's2', *common, '--cfg-options', *SMALL,
                    f'model.stage1_checkpoint={stage1_ckpt}'), env)
    stage2_ckpt = tmp_path / 's2' / 'iter_2.pth'
    assert stage2_ckpt.exists()
    work = tmp_path / 'test_wo_avsc'
    run(python_tool('test.py', WO_AVSC, stage1_ckpt, '--data-root', data_root, '--work-dir', work,
                    '--cfg-options', 'test_dataloader.num_workers=0', 'model.decode_head.num_queries=4'), env)
    assert 'instances/I_per_frame' in metrics_of(work)
    os.remove(stage1_ckpt)  # the stage-2 checkpoint holds every weight
    for perturb in ('none', 'silence'):
        work = tmp_path / f'test_{perturb}'
        run(python_tool('test.py', STAGE2, stage2_ckpt, '--data-root', data_root, '--work-dir', work,
                        '--audio-perturb', perturb, '--cfg-options', *SMALL[:3],
                        f'model.stage1_checkpoint={stage1_ckpt}', 'model.decode_head.num_queries=4'), env)
        metrics = metrics_of(work)
        assert 0 <= metrics['mean_bg_frac'] <= 1 and 0 <= metrics['mJ'] <= 1
