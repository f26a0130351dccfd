"""Helpers for tests that run avsseg's command-line tools in subprocesses (not a test module)."""
import os
import os.path as osp
import socket
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_S4 = osp.join(REPO, 'tests', 'data', 'configs', 'tpavi_tiny_synthetic_s4.py')

# Imported at interpreter start-up (sitecustomize): makes `import pkg_resources` fail in the tools' processes,
# so the tool tests also show that nothing on their path needs it (setuptools >= 82 no longer ships it).
BLOCK_PKG_RESOURCES = "import sys\nsys.modules['pkg_resources'] = None\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env(tmp_path, extra_pythonpath=()) -> dict:
    """Environment for a tool subprocess: repo (and extras) on PYTHONPATH, pkg_resources blocked, CPU only."""
    shim = osp.join(str(tmp_path), '_no_pkg_resources')
    os.makedirs(shim, exist_ok=True)
    with open(osp.join(shim, 'sitecustomize.py'), 'w') as f:
        f.write(BLOCK_PKG_RESOURCES)
    paths = [shim, REPO, *extra_pythonpath]
    if os.environ.get('PYTHONPATH'):
        paths.append(os.environ['PYTHONPATH'])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return env


def data_root_options(data_root: str) -> list:
    splits = ('train', 'val', 'test')
    return ['--cfg-options'] + [f'{split}_dataloader.dataset.data_root={data_root}' for split in splits]


def run(cmd, env, timeout=300, cwd=REPO) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(map(str, cmd))} failed ({proc.returncode}):\n'
                             f'--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


def python_tool(name: str, *args) -> list:
    return [sys.executable, osp.join(REPO, 'tools', name), *map(str, args)]
