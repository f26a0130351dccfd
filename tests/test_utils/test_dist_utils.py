"""CPU (gloo) distributed runs: the DDP wrapper, the process-group setup and a real 2-process training."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from torch import nn

from avsseg.registry import MODEL_WRAPPERS
from avsseg.utils import CPUDistributedDataParallel, setup_cpu_distributed
from avsseg.utils.dist_utils import _launcher_env

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason='the gloo path is only taken without CUDA')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class SyncBNModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.SyncBatchNorm(4)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.bn(self.conv(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


@pytest.fixture
def single_rank_group(tmp_path):
    torch_dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0, world_size=1)
    yield
    torch_dist.destroy_process_group()


@pytest.fixture
def clean_dist_env(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'SLURM_PROCID', 'SLURM_NTASKS',
                'SLURM_NODELIST', 'SLURM_LOCALID', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                'OMPI_COMM_WORLD_LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_wrapper_is_registered():
    assert MODEL_WRAPPERS.get('CPUDistributedDataParallel') is CPUDistributedDataParallel


def test_plain_ddp_rejects_device_ids_for_cpu_modules(single_rank_group):
    # the failure the wrapper exists for (mmengine's Runner always injects device_ids=[LOCAL_RANK])
    from mmengine.model import MMDistributedDataParallel
    with pytest.raises(ValueError, match='device_ids'):
        MMDistributedDataParallel(module=nn.Linear(2, 2), device_ids=[0])


def test_wrapper_drops_device_ids_and_reverts_sync_bn(single_rank_group):
    wrapped = CPUDistributedDataParallel(module=SyncBNModel(), device_ids=[0], broadcast_buffers=False)
    assert wrapped.device_ids is None
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in wrapped.modules())
    assert isinstance(wrapped.module.bn, nn.modules.batchnorm._BatchNorm)
    optim = OptimWrapper(torch.optim.SGD(wrapped.parameters(), lr=0.1))
    before = wrapped.module.conv.weight.detach().clone()
    data = dict(inputs=[torch.randn(3, 6, 6) for _ in range(2)])
    losses = wrapped.train_step(data, optim)
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(before, wrapped.module.conv.weight)  # gradients reached the optimizer


def test_setup_is_noop_without_launcher():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()


@needs_no_cuda
def test_setup_initialises_gloo_and_selects_wrapper(clean_dist_env):
    env = clean_dist_env
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(free_port())).items():
        env.setenv(key, value)
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=120)), find_unused_parameters=True))
    try:
        assert setup_cpu_distributed(cfg, 'pytorch') is True
        assert torch_dist.is_initialized()
        assert torch_dist.get_backend() == 'gloo'
        assert torch_dist.get_world_size() == 1
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.env_cfg.dist_cfg.timeout == 120
        assert cfg.model_wrapper_cfg == dict(
            type='avsseg.utils.dist_utils.CPUDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=True)
        # a config's own plain DDP wrapper is swapped but keeps its arguments
        cfg2 = Config(dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel', broadcast_buffers=True)))
        assert setup_cpu_distributed(cfg2, 'pytorch') is True  # group already there: not re-created
        assert cfg2.model_wrapper_cfg == dict(
            type='avsseg.utils.dist_utils.CPUDistributedDataParallel', broadcast_buffers=True)
        # Runner.wrap_model looks the type up in mmengine's root registry, then builds it in the default scope
        from mmengine.registry import MODEL_WRAPPERS as ROOT_WRAPPERS
        from mmengine.registry import DefaultScope
        assert ROOT_WRAPPERS.get(cfg.model_wrapper_cfg.type) is CPUDistributedDataParallel
        with DefaultScope.overwrite_default_scope('avsseg'):
            wrapped = ROOT_WRAPPERS.build(dict(cfg.model_wrapper_cfg), default_args=dict(
                module=SyncBNModel(), device_ids=[0]))
        assert type(wrapped) is CPUDistributedDataParallel and wrapped.device_ids is None
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


@needs_no_cuda
def test_cpu_process_group_gets_a_short_default_timeout(clean_dist_env, monkeypatch):
    """gloo waits 30 minutes for a hung rank by default; CPU runs get CPU_DIST_TIMEOUT_S unless dist_cfg sets one."""
    import datetime

    from avsseg.utils import CPU_DIST_TIMEOUT_S
    env = clean_dist_env
    for key, value in dict(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT='1').items():
        env.setenv(key, value)
    calls = []
    monkeypatch.setattr(torch_dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(torch_dist, 'init_process_group', lambda **kwargs: calls.append(kwargs))
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'pytorch')
    assert CPU_DIST_TIMEOUT_S == 600 and cfg.env_cfg.dist_cfg.timeout == 600
    assert calls[-1]['timeout'] == datetime.timedelta(seconds=600) and calls[-1]['backend'] == 'gloo'
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=45))))
    setup_cpu_distributed(cfg, 'pytorch')
    assert calls[-1]['timeout'] == datetime.timedelta(seconds=45) and cfg.env_cfg.dist_cfg.timeout == 45


@needs_no_cuda
def test_setup_reports_missing_launcher_env(clean_dist_env):
    cfg = Config(dict())
    with pytest.raises(KeyError, match='RANK'):
        setup_cpu_distributed(cfg, 'pytorch')
    assert not torch_dist.is_initialized()


@needs_no_cuda
def test_setup_rejects_other_init_backends(clean_dist_env):
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl', init_backend='deepspeed'))))
    with pytest.raises(ValueError, match='deepspeed'):
        setup_cpu_distributed(cfg, 'pytorch')


def test_slurm_environment(clean_dist_env, tmp_path):
    env = clean_dist_env
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    scontrol = fake_bin / 'scontrol'
    # `scontrol show hostname LIST` prints one host per line; the first is the master
    scontrol.write_text('#!/bin/sh\n[ "$1 $2 $3" = "show hostname node-[3-4]" ] || exit 1\n'
                        'printf "node-3\\nnode-4\\n"\n')
    scontrol.chmod(0o755)
    env.setenv('PATH', f'{fake_bin}{os.pathsep}{os.environ["PATH"]}')
    env.setenv('SLURM_PROCID', '3')
    env.setenv('SLURM_NTASKS', '4')
    env.setenv('SLURM_NODELIST', 'node-[3-4]')
    env.setenv('SLURM_LOCALID', '1')
    assert _launcher_env('slurm', dict(port=29777)) == (3, 4, 1)
    assert os.environ['MASTER_ADDR'] == 'node-3'
    assert os.environ['MASTER_PORT'] == '29777'
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK']) == ('3', '4', '1')


def test_mpi_environment(clean_dist_env):
    env = clean_dist_env
    env.setenv('OMPI_COMM_WORLD_RANK', '2')
    env.setenv('OMPI_COMM_WORLD_SIZE', '3')
    env.setenv('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    with pytest.raises(KeyError, match='MASTER_ADDR'):
        _launcher_env('mpi', {})
    env.setenv('MASTER_ADDR', '10.0.0.1')
    assert _launcher_env('mpi', {}) == (2, 3, 0)
    assert os.environ['MASTER_PORT'] == '29500'
    with pytest.raises(ValueError, match='launcher'):
        _launcher_env('torchrun', {})


TWO_RANK_SCRIPT = textwrap.dedent('''
    import json, sys
    import torch
    import torch.distributed as dist
    from mmengine.config import Config
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch import nn
    from torch.utils.data import Dataset

    import avsseg  # noqa: F401
    from avsseg.utils import setup_cpu_distributed, teardown_distributed


    class Data(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            g = torch.Generator().manual_seed(i)
            return dict(inputs=torch.randn(4, generator=g), data_samples=torch.randn(1, generator=g))


    class Net(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)
            self.bn = nn.SyncBatchNorm(1)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            out = self.bn(self.fc(torch.stack(inputs)))
            if mode == 'loss':
                return dict(loss=(out - torch.stack(data_samples)).pow(2).mean())
            return out


    out_dir = sys.argv[1]
    # what tools/train.py does before building the Runner
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'pytorch')
    runner = Runner(
        model=Net(), work_dir=out_dir, launcher='pytorch', env_cfg=cfg.env_cfg, default_scope='avsseg',
        train_dataloader=dict(dataset=Data(), sampler=dict(type='DefaultSampler', shuffle=True), batch_size=2,
                              num_workers=0),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.5)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        randomness=dict(seed=0, diff_rank_seed=True), cfg=cfg)
    init = {k: v.clone() for k, v in runner.model.module.state_dict().items()}
    seen = []
    real_train_step = runner.model.train_step

    def train_step(data, optim_wrapper):
        seen.append(torch.stack(data['inputs']).sum().item())
        return real_train_step(data, optim_wrapper)

    runner.model.train_step = train_step
    runner.train()
    weight = runner.model.module.fc.weight.detach().reshape(-1)
    gathered = [torch.zeros_like(weight) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, weight)
    json.dump(dict(
        rank=dist.get_rank(), world_size=runner.world_size, backend=dist.get_backend(),
        wrapper=type(runner.model).__name__, device_ids=runner.model.device_ids,
        has_sync_bn=any(isinstance(m, nn.SyncBatchNorm) for m in runner.model.modules()),
        changed=not torch.equal(init['fc.weight'], runner.model.module.fc.weight),
        same_across_ranks=all(torch.equal(g, gathered[0]) for g in gathered), seen=seen,
        iter=runner.iter), open(f'{out_dir}/rank{dist.get_rank()}.json', 'w'))
    # as tools/train.py does: a gloo group still alive at interpreter exit can abort a rank ("terminate called
    # without an active exception")
    del runner
    teardown_distributed()
''')


@needs_no_cuda
def test_two_process_gloo_training(tmp_path):
    script = tmp_path / 'two_rank_train.py'
    script.write_text(TWO_RANK_SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
         str(script), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    for r, info in enumerate(ranks):
        assert info['rank'] == r and info['world_size'] == 2 and info['backend'] == 'gloo'
        assert info['wrapper'] == 'CPUDistributedDataParallel' and info['device_ids'] is None
        assert not info['has_sync_bn']
        assert info['changed'] and info['same_across_ranks'] and info['iter'] == 2
    # the ranks trained on different batches, so equal weights mean the gradients were all-reduced
    assert ranks[0]['seen'] != ranks[1]['seen']
    assert (tmp_path / 'iter_2.pth').is_file()


def test_total_batch_size_is_split_over_processes(monkeypatch):
    from avsseg.utils import apply_total_batch_size
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '4')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '29500')
    cfg = Config(dict(total_batch_size=8, train_dataloader=dict(batch_size=8)))
    apply_total_batch_size(cfg, 'pytorch')
    assert cfg.train_dataloader.batch_size == 2
    cfg = Config(dict(total_batch_size=8, train_dataloader=dict(batch_size=8)))
    apply_total_batch_size(cfg, 'none')
    assert cfg.train_dataloader.batch_size == 8
    # no total: the per-process batch stays as configured (mmengine's meaning)
    cfg = Config(dict(train_dataloader=dict(batch_size=3)))
    apply_total_batch_size(cfg, 'pytorch')
    assert cfg.train_dataloader.batch_size == 3
    monkeypatch.setenv('WORLD_SIZE', '3')
    with pytest.raises(ValueError, match='cannot be split over 3'):
        apply_total_batch_size(Config(dict(total_batch_size=8, train_dataloader=dict(batch_size=8))), 'pytorch')
    with pytest.raises(ValueError, match='total_batch_size=N instead'):
        apply_total_batch_size(Config(dict(total_batch_size=8, train_dataloader=dict(batch_size=8))), 'none',
                               {'train_dataloader.batch_size': 2})


def test_recipes_state_the_official_total_batch():
    for name, total in (('combo/combo_r50_s4', 8), ('combo/combo_pvt_ms3', 8), ('combo/combo_r50_avss', 8),
                        ('tpavi/tpavi_pvt_s4', 4), ('tpavi/tpavi_r50_ms3', 4), ('tpavi/tpavi_pvt_avss', 4)):
        cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
        assert cfg.total_batch_size == total, name
