"""DistBuffersSyncHook in a real 2-process gloo run: validation and checkpoint see the same BatchNorm statistics."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch

from avsseg.engine.hooks import DistBuffersSyncHook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

SCRIPT = textwrap.dedent('''
    import json, sys
    import torch
    import torch.distributed as dist
    from mmengine.config import Config
    from mmengine.evaluator import BaseMetric, Evaluator
    from mmengine.hooks import Hook
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
            # very different items, so each rank's batches give other BatchNorm statistics
            return dict(inputs=torch.full((2, ), float(i) ** 2), data_samples=torch.zeros(1))


    class Net(BaseModel):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)
            self.fc = nn.Linear(2, 1)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            out = self.fc(self.bn(torch.stack(inputs)))
            if mode == 'loss':
                return dict(loss=out.pow(2).mean())
            return [dict(pred=o.detach()) for o in out] if mode == 'predict' else out


    class Score(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(float(s['pred']) for s in data_samples)

        def compute_metrics(self, results):
            return dict(score=sum(results))


    class RecordStats(Hook):
        priority = 'VERY_LOW'  # after DistBuffersSyncHook

        def before_val_epoch(self, runner):
            self.at_val = runner.model.module.bn.running_mean.tolist()


    out_dir, hooks = sys.argv[1], json.loads(sys.argv[2])
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'pytorch')
    recorder = RecordStats()
    runner = Runner(
        model=Net(), work_dir=out_dir, launcher='pytorch', env_cfg=cfg.env_cfg, default_scope='avsseg',
        train_dataloader=dict(dataset=Data(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2,
                              num_workers=0),
        val_dataloader=dict(dataset=Data(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2,
                            num_workers=0),
        val_evaluator=Evaluator([Score()]), val_cfg=dict(type='ValLoop'),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        custom_hooks=[*hooks, recorder], randomness=dict(seed=0, diff_rank_seed=True), cfg=cfg)
    runner.train()
    json.dump(dict(at_val=recorder.at_val, timeout=cfg.env_cfg.dist_cfg.timeout),
              open(f'{out_dir}/rank{dist.get_rank()}.json', 'w'))
    del runner, recorder
    teardown_distributed()  # as the tools do: a gloo group alive at interpreter exit can abort the process
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def two_ranks(tmp_path, hooks):
    script = tmp_path / 'two_ranks.py'
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', f'--master_port={free_port()}',
         str(script), str(tmp_path), json.dumps(hooks)],
        env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    saved = torch.load(tmp_path / 'iter_2.pth', map_location='cpu')
    return ranks, saved


@pytest.mark.skipif(torch.cuda.is_available(), reason='the gloo path is only taken without CUDA')
def test_validation_and_checkpoint_use_the_averaged_statistics(tmp_path):
    (tmp_path / 'with').mkdir()
    ranks, saved = two_ranks(tmp_path / 'with', [dict(type='DistBuffersSyncHook'), dict(type='RNGStateHook')])
    assert ranks[0]['at_val'] == ranks[1]['at_val']  # every rank scores its clips with the same statistics ...
    assert saved['state_dict']['bn.running_mean'].tolist() == ranks[0]['at_val']  # ... which the checkpoint holds
    assert ranks[0]['timeout'] == 600  # the documented default for CPU process groups
    # RNGStateHook gathered both ranks' states for the checkpoint rank 0 wrote (diff_rank_seed: they differ)
    states = saved['rng_state']['ranks']
    assert len(states) == 2 and not torch.equal(states[0]['torch'], states[1]['torch'])

    (tmp_path / 'without').mkdir()
    ranks, saved = two_ranks(tmp_path / 'without', [])
    assert ranks[0]['at_val'] != ranks[1]['at_val']  # what the hook fixes
    assert saved['state_dict']['bn.running_mean'].tolist() == ranks[0]['at_val']


def test_single_process_runs_do_nothing():
    hook = DistBuffersSyncHook()
    runner = SimpleNamespace(iter=1, epoch=0, hooks=[], val_loop=None, train_loop=SimpleNamespace(),
                             model=torch.nn.BatchNorm1d(2))
    hook.after_train_epoch(runner)  # no process group: returns without a collective call
    hook.before_val_epoch(runner)
