"""tools/gpu_check.sh on a machine without a GPU: its arguments and its refusal to run (the GPU part needs one)."""
import os
import subprocess
import sys

import pytest
from tool_runner import REPO


def _gpu_check(*args, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, CUDA_VISIBLE_DEVICES='')  # no GPU, whatever the machine
    return subprocess.run(['bash', 'tools/gpu_check.sh', *args, '--work-dir', str(tmp_path / 'work')], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_help(tmp_path):
    proc = _gpu_check('--help', tmp_path=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith('usage: bash tools/gpu_check.sh')
    assert '--iters N' in proc.stdout and '--allow-cpu' in proc.stdout


@pytest.mark.parametrize('args,message', [
    (['--iters', '0'], '--iters needs a positive integer'),
    (['--iters', 'five'], '--iters needs a positive integer'),
    (['--configs'], '--configs needs at least one config'),
    (['--configs', 'configs/combo/no_such_config.py'], 'config not found: configs/combo/no_such_config.py'),
    (['--fast'], 'unknown argument: --fast'),
])
def test_bad_arguments(args, message, tmp_path):
    proc = _gpu_check(*args, tmp_path=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / 'work').exists()


def test_no_gpu_is_refused_before_anything_is_generated(tmp_path):
    proc = _gpu_check('--iters', '2', tmp_path=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert '[gpu_check] no CUDA GPU' in proc.stderr and 'This check needs one' in proc.stderr
    assert not (tmp_path / 'work').exists()
