"""COMBO through the tools on a synthetic S4 set with Maskiges: the README quickstart config (train.py, then
test.py with swapped audio) and the official combo_pvt_s4 config (tools/dist_train.sh, 2 processes; its
PVT-v2-b5 shrunk to a 1-block-per-stage PVT-v2 and VGGish left random, since no weights exist here and the full
encoders do not fit CI's time; pipeline, Maskige loading, head, losses and schedule are the config's own)."""
import os.path as osp
import subprocess

import pytest
from tool_runner import REPO, data_root_options, free_port, python_tool, run, tool_env

from avsseg.datasets.synthetic import generate_synthetic_avsbench

# The official config with its PVT-v2-b5 shrunk (embed_dims 16 x num_heads (1, 2, 5, 8) channels).
SHRUNK_PVT = ['model.backbone.backbone.embed_dims=16', 'model.backbone.backbone.num_layers=[1,1,1,1]',
              'model.backbone.in_channels=[16,32,80,128]', 'model.decode_head.in_channels=[16,32,80,128]']
LOADERS = [f'{s}_dataloader.{k}' for s in ('train', 'val', 'test')
           for k in ('num_workers=0', 'persistent_workers=False')]

QUICKSTART = osp.join(REPO, 'configs', 'combo', 'combo_tiny_synthetic_s4.py')
PVT_S4 = osp.join(REPO, 'configs', 'combo', 'combo_pvt_s4.py')


@pytest.fixture(scope='module')
def s4_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_s4_maskige')
    generate_synthetic_avsbench(str(root), 's4', seed=2, num_videos=8, image_size=32,
                                split_ratios=(0.5, 0.25, 0.25), maskige=True)
    return str(root)


def test_quickstart_config_trains_and_tests(s4_root, tmp_path):
    env = tool_env(tmp_path)
    work_dir = tmp_path / 'work'
    proc = run(python_tool('train.py', QUICKSTART, '--work-dir', work_dir, *data_root_options(s4_root),
                           'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1'),
               env)
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log and 'd0.loss_ada' in log and 'loss_dice' in log
    assert 'mJ' in log and (work_dir / 'iter_2.pth').is_file()
    proc = run(python_tool('test.py', QUICKSTART, work_dir / 'iter_2.pth', '--work-dir', tmp_path / 'test',
                           '--audio-perturb', 'swap', *data_root_options(s4_root)), env)
    log = proc.stdout + proc.stderr
    assert 'audio perturbation: swap' in log and 'mJ' in log


def test_train_tool_names_missing_weight_files(s4_root, tmp_path):
    proc = subprocess.run(
        python_tool('train.py', PVT_S4, '--work-dir', tmp_path / 'work', *data_root_options(s4_root)),
        env=tool_env(tmp_path), cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'pretrained/vggish-10086976.pth' in proc.stderr and 'pretrained/pvt_v2_b5.pth' in proc.stderr
    assert 'model.audio_backbone.pretrained=None model.backbone.backbone.init_cfg=None' in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr


def test_official_pvt_s4_config_trains_with_dist_train(s4_root, tmp_path):
    env = tool_env(tmp_path)
    env['PORT'] = str(free_port())
    work_dir = tmp_path / 'work'
    proc = run([
        'bash', osp.join(REPO, 'tools', 'dist_train.sh'), PVT_S4, '2', '--work-dir', str(work_dir),
        *data_root_options(s4_root), *SHRUNK_PVT, 'model.backbone.backbone.init_cfg=None',
        'model.audio_backbone.pretrained=None', 'total_batch_size=2', *LOADERS,
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1'
    ], env, timeout=600)
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    # 9 decoder layers: 10 predictions, d0..d8 and the final one; the inter-frame loss on all but the final
    assert 'Iter(train) [2/2]' in log and 'd8.loss_ada' in log and 'd9.' not in log
    assert 'mJ' in log and (work_dir / 'iter_2.pth').is_file()

    # test.py needs no pretraining files: the checkpoint holds every weight (run from a folder without them)
    proc = run(python_tool('test.py', PVT_S4, work_dir / 'iter_2.pth', '--work-dir', tmp_path / 'test',
                           *data_root_options(s4_root), *SHRUNK_PVT, *LOADERS), env, cwd=str(tmp_path))
    log = proc.stdout + proc.stderr
    assert 'pretrained/pvt_v2_b5.pth not found: model.backbone.backbone.init_cfg set to None' in log
    assert 'pretrained/vggish-10086976.pth not found' in log and 'mJ' in log
