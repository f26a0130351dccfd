"""The mmcv build decision of tools/setup_env.sh (tools/setup_env_plan.py), with injected machine facts."""
import importlib.util
import itertools
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from tool_runner import REPO

PLAN_TOOL = osp.join(REPO, 'tools', 'setup_env_plan.py')


def _plan_module():
    spec = importlib.util.spec_from_file_location('setup_env_plan', PLAN_TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault('setup_env_plan', module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


plan_tool = _plan_module()
Facts = plan_tool.MachineFacts

GPU_NVCC = dict(python_tag='cp311', torch_version='2.11.0', torch_cuda='12.8', gpus=['sm90'], driver_gpus=['H100'],
                nvcc='/usr/local/cuda/bin/nvcc', nvcc_cuda='12.8')


def plan(**changes):
    return plan_tool.plan_mmcv_build(Facts(**{**GPU_NVCC, **changes}))


def test_gpu_with_matching_nvcc_builds_cuda_ops():
    p = plan()
    assert p.ops == 'cuda' and p.env == {'FORCE_CUDA': '1'}
    assert p.key == 'mmcv-2.1.0-torch2.11.0-cu12.8-sm90-cp311'
    assert 'compiled CUDA kernel' in p.notes[0]
    # a different minor version is accepted (as torch's extension builder does) and reported
    p = plan(nvcc_cuda='12.4')
    assert p.ops == 'cuda' and 'minor-version difference' in p.notes[-1]


@pytest.mark.parametrize('changes,reason', [
    (dict(nvcc=None, nvcc_cuda=None), 'no nvcc found'),
    (dict(nvcc_cuda='11.8'), 'major versions must match'),
])
def test_gpu_without_matching_nvcc_keeps_cpu_ops_and_says_pytorch_attention(changes, reason):
    p = plan(**changes)
    assert p.ops == 'cpu' and reason in p.reason and '1 GPU(s) usable' in p.reason
    assert p.key == 'mmcv-2.1.0-torch2.11.0-cpu-cp311'
    assert "pure-PyTorch multi-scale deformable attention on the GPU" in p.notes[0]
    # mmcv's setup.py compiles CUDA sources whenever torch sees a GPU: the CPU build must hide them
    assert p.env == {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}


def test_machines_without_a_usable_gpu_build_cpu_ops():
    p = plan(gpus=[], driver_gpus=[])
    assert (p.ops, p.reason) == ('cpu', 'no GPU found') and 'pure-PyTorch' in p.notes[0]
    p = plan(gpus=[], torch_cuda=None)  # nvidia-smi sees a GPU, torch is a CPU build
    assert p.ops == 'cpu' and 'nvidia-smi lists H100' in p.reason and 'CPU build' in p.reason
    p = plan(gpus=[])  # CUDA torch, GPU on the bus, torch.cuda.is_available() False
    assert p.ops == 'cpu' and 'check the driver' in p.reason
    p = plan(torch_cuda=None, gpus=[], driver_gpus=[])
    assert p.ops == 'cpu' and p.key.endswith('-cpu-cp311')


def test_force_cuda():
    assert plan(force_cuda='0').ops == 'cpu'
    assert plan(force_cuda='0').reason == 'FORCE_CUDA=0'
    assert plan(force_cuda='1').ops == 'cuda'
    # a build machine without a GPU compiles for the architectures it is told
    p = plan(force_cuda='1', gpus=[], driver_gpus=[], arch_list='8.0;9.0+PTX')
    assert p.ops == 'cuda' and p.key == 'mmcv-2.1.0-torch2.11.0-cu12.8-sm80.sm90+PTX-cp311'
    for changes, message in [(dict(gpus=[]), 'TORCH_CUDA_ARCH_LIST is unset'), (dict(nvcc=None), 'no nvcc found'),
                             (dict(nvcc_cuda='11.8'), 'major versions must match'),
                             (dict(torch_cuda=None), 'CPU build')]:
        with pytest.raises(plan_tool.PlanError, match=message):
            plan(force_cuda='1', **changes)
    with pytest.raises(plan_tool.PlanError, match="FORCE_CUDA='yes'"):
        plan(force_cuda='yes')
    with pytest.raises(plan_tool.PlanError, match='torch is not installed'):
        plan(torch_version=None)


def test_cpu_and_cuda_builds_never_share_a_key():
    keys = {}
    for torch_cuda, gpus, nvcc_cuda, arch_list, force in itertools.product(
            [None, '12.8', '13.0'], [[], ['sm80'], ['sm90', 'sm90'], ['sm90', 'sm80']], [None, '12.8', '13.0'],
            [None, '9.0'], [None, '0', '1']):
        try:
            p = plan(torch_cuda=torch_cuda, gpus=gpus, nvcc_cuda=nvcc_cuda, nvcc=nvcc_cuda and '/x/bin/nvcc',
                     arch_list=arch_list, force_cuda=force)
        except plan_tool.PlanError:
            continue
        flavour = p.key.split('-')[3]
        assert (flavour == 'cpu') == (p.ops == 'cpu'), p.key
        if p.ops == 'cuda':  # CUDA version and target architectures are part of the key
            assert flavour == f'cu{torch_cuda}' and p.key.split('-')[4] == plan_tool.arch_tag(arch_list, gpus)
        keys.setdefault(p.key, set()).add(p.ops)
    assert all(len(ops) == 1 for ops in keys.values())
    assert {'cpu', 'cuda'} == set().union(*keys.values())
    # same GPUs in another order, or twice: one key
    assert plan(gpus=['sm90', 'sm80']).key == plan(gpus=['sm80', 'sm90', 'sm90']).key
    assert plan_tool.arch_tag(' 8.6 9.0a ', []) == 'sm86.sm90a'


def test_nvcc_release(tmp_path):
    nvcc = tmp_path / 'nvcc'
    nvcc.write_text('#!/bin/sh\necho "Cuda compilation tools, release 12.4, V12.4.131"\n')
    nvcc.chmod(0o755)
    assert plan_tool.nvcc_release(str(nvcc)) == '12.4'
    nvcc.write_text('#!/bin/sh\nexit 1\n')
    assert plan_tool.nvcc_release(str(nvcc)) is None


def _run(cmd, **env):
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, 'PYTHON': sys.executable, **env})


def test_shell_assignments_as_setup_env_reads_them():
    facts = json.dumps(dict(GPU_NVCC, nvcc_cuda='11.8'))
    script = (f'eval "$({sys.executable} tools/setup_env_plan.py --shell --facts \'{facts}\')"; '
              'echo "$MMCV_OPS|$MMCV_KEY|$MMCV_CPU_KEY|$MMCV_BUILD_ENV|$MMCV_REASON"')
    proc = _run(['bash', '-c', script], FORCE_CUDA='')
    assert proc.returncode == 0, proc.stderr
    ops, key, cpu_key, build_env, reason = proc.stdout.strip().split('|')
    assert (ops, key, cpu_key) == ('cpu', 'mmcv-2.1.0-torch2.11.0-cpu-cp311', key)
    assert build_env == 'FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=' and 'CUDA 11.8' in reason
    # an impossible forced build: exit 2 with the reason, nothing to evaluate
    proc = _run([sys.executable, PLAN_TOOL, '--shell', '--facts', json.dumps(dict(GPU_NVCC, nvcc=None))],
                FORCE_CUDA='1')
    assert proc.returncode == 2 and proc.stdout == '' and 'no nvcc found' in proc.stderr
    proc = _run([sys.executable, PLAN_TOOL, '--facts', '[1]'])
    assert proc.returncode == 2 and 'not a JSON object' in proc.stderr


def test_setup_env_print_plan_installs_nothing():
    proc = _run(['bash', 'tools/setup_env.sh', '--print-plan'])
    assert proc.returncode == 0, proc.stderr
    assert 'wheel cache key: mmcv-2.1.0-torch' in proc.stdout and 'mmcv 2.1.0 with' in proc.stdout
    assert '[setup_env]' not in proc.stdout  # returned before any setup step
    proc = _run(['bash', 'tools/setup_env.sh', '--print'])
    assert proc.returncode == 2 and 'usage' in proc.stderr
