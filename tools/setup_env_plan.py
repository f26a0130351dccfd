"""Which mmcv build ``tools/setup_env.sh`` makes on this machine, and under which wheel-cache key.

``setup_env.sh`` calls this after torch is installed; the decision itself (:func:`plan_mmcv_build`) is a pure
function of the machine's facts (:class:`MachineFacts`), so it is tested with injected facts::

    python tools/setup_env_plan.py                # the plan for this machine, in words
    python tools/setup_env_plan.py --shell        # shell assignments for setup_env.sh (exit 2: no valid plan)
    python tools/setup_env_plan.py --facts '{"torch_cuda": "12.1", "gpus": ["sm80"], "nvcc_cuda": "12.1"}'

Rules:

- CUDA ops are built when a GPU is usable by torch, torch is a CUDA build and an nvcc of the same CUDA major
  version as torch's is found where torch's extension builder looks (``torch.utils.cpp_extension.CUDA_HOME``:
  ``CUDA_HOME`` / ``CUDA_PATH``, the ``nvcc`` on ``PATH``, ``/usr/local/cuda``). torch refuses a different major
  version and accepts a different minor one, which is reported.
- Otherwise mmcv gets CPU ops, and on a GPU avsseg's models run mmcv's pure-PyTorch multi-scale deformable
  attention (``avsseg.utils.deform_attn``). mmcv's ``setup.py`` compiles CUDA ops whenever
  ``torch.cuda.is_available()``, so a CPU build on a GPU machine hides the GPUs (``CUDA_VISIBLE_DEVICES=``).
- ``FORCE_CUDA=1`` demands the CUDA build (and fails with the reason when it is impossible); ``FORCE_CUDA=0``
  demands the CPU build. Without a visible GPU a forced CUDA build needs ``TORCH_CUDA_ARCH_LIST``.
- Cache key: ``mmcv-<mmcv>-torch<torch>-cpu-cp<py>`` for CPU ops, ``mmcv-<mmcv>-torch<torch>-cu<cuda>-<archs>-cp<py>``
  for CUDA ops (the GPU architectures compiled for: ``TORCH_CUDA_ARCH_LIST`` or the visible GPUs'), so a CPU and
  a CUDA build, or builds for different GPUs, never share a wheel.
"""
import argparse
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

MMCV_VERSION = '2.1.0'


class PlanError(RuntimeError):
    """No valid build plan (e.g. ``FORCE_CUDA=1`` without an nvcc matching torch's CUDA)."""


@dataclass
class MachineFacts:
    """What the build decision depends on.

    Args:
        python_tag: e.g. ``'cp311'``.
        torch_version: installed torch without its local label (``'2.11.0'``); None when torch is not installed.
        torch_cuda: ``torch.version.cuda`` (``'13.0'``), None for a CPU build of torch.
        gpus: compute capabilities of the GPUs torch can use (``['sm90']``); empty when
            ``torch.cuda.is_available()`` is False.
        driver_gpus: GPU names ``nvidia-smi`` lists (a GPU can be present while torch cannot use it).
        nvcc: path of the nvcc torch's extension builder would use, None when there is none.
        nvcc_cuda: that nvcc's CUDA release (``'13.0'``).
        force_cuda: the ``FORCE_CUDA`` environment variable (None when unset).
        arch_list: the ``TORCH_CUDA_ARCH_LIST`` environment variable (None when unset).
    """
    python_tag: str = f'cp{sys.version_info.major}{sys.version_info.minor}'
    torch_version: Optional[str] = None
    torch_cuda: Optional[str] = None
    gpus: List[str] = field(default_factory=list)
    driver_gpus: List[str] = field(default_factory=list)
    nvcc: Optional[str] = None
    nvcc_cuda: Optional[str] = None
    force_cuda: Optional[str] = None
    arch_list: Optional[str] = None


@dataclass
class BuildPlan:
    """The mmcv build to make.

    Attributes:
        ops: ``'cuda'`` (CPU and CUDA ops) or ``'cpu'``.
        key: wheel-cache folder name (``mmcv-...``).
        env: environment variables for the build (``FORCE_CUDA``, ``CUDA_VISIBLE_DEVICES``).
        reason: why this build, in one sentence.
        notes: what follows for the user (the deformable-attention path, how to get CUDA ops).
    """
    ops: str
    key: str
    env: Dict[str, str]
    reason: str
    notes: List[str]


def _major_minor(version: Optional[str]) -> Optional[str]:
    match = re.match(r'(\d+)\.(\d+)', version or '')
    return f'{match.group(1)}.{match.group(2)}' if match else None


def arch_tag(arch_list: Optional[str], gpus: List[str]) -> Optional[str]:
    """The GPU-architecture part of a CUDA cache key: from ``TORCH_CUDA_ARCH_LIST`` (``'8.0;9.0+PTX'`` ->
    ``'sm80.sm90+PTX'``), else the visible GPUs' capabilities (``['sm90', 'sm80']`` -> ``'sm80.sm90'``), None
    when neither says which architectures a build would target."""
    if arch_list and arch_list.strip():
        archs = []
        for item in re.split(r'[;\s,]+', arch_list.strip()):
            if not item:
                continue
            match = re.fullmatch(r'(\d+)\.(\d+)([a-z]?)(\+PTX)?', item)
            archs.append(f'sm{match.group(1)}{match.group(2)}{match.group(3)}{match.group(4) or ""}'
                         if match else re.sub(r'[^A-Za-z0-9+]', '', item))
        return '.'.join(archs) or None
    return '.'.join(sorted(set(gpus))) or None


def cache_key(facts: MachineFacts, ops: str, mmcv_version: str = MMCV_VERSION) -> str:
    """Wheel-cache folder name; ``'cpu'`` builds never share it with ``'cuda'`` ones."""
    if ops == 'cpu':
        flavour = 'cpu'
    else:
        flavour = f'cu{_major_minor(facts.torch_cuda)}-{arch_tag(facts.arch_list, facts.gpus)}'
    return f'mmcv-{mmcv_version}-torch{facts.torch_version}-{flavour}-{facts.python_tag}'


def plan_mmcv_build(facts: MachineFacts, mmcv_version: str = MMCV_VERSION) -> BuildPlan:
    """Decide the mmcv build from the machine's facts (see the module docstring for the rules).

    Raises:
        PlanError: torch is not installed, or ``FORCE_CUDA=1`` while a CUDA build is impossible (the message
            says why), or ``FORCE_CUDA`` has a value other than 0 or 1.
    """
    if facts.torch_version is None:
        raise PlanError('torch is not installed: setup_env.sh installs requirements/torch.txt first, then decides '
                        'the mmcv build')
    if facts.force_cuda not in (None, '', '0', '1'):
        raise PlanError(f'FORCE_CUDA={facts.force_cuda!r}: use 1 (CUDA ops required), 0 (CPU ops) or leave it unset '
                        '(decided from the machine)')
    pytorch_attn = ('avsseg runs mmcv\'s pure-PyTorch multi-scale deformable attention on the GPU '
                    '(avsseg.utils.deform_attn; slower than the CUDA kernel, same results)')
    torch_cuda = _major_minor(facts.torch_cuda)
    nvcc_cuda = _major_minor(facts.nvcc_cuda)
    # Why CUDA ops cannot be built (None: they can).
    blocker = None
    if torch_cuda is None:
        blocker = f'torch {facts.torch_version} is a CPU build'
    elif facts.nvcc is None or nvcc_cuda is None:
        blocker = f'no nvcc found (torch is built with CUDA {torch_cuda}; set CUDA_HOME to a CUDA {torch_cuda} toolkit)'
    elif nvcc_cuda.split('.')[0] != torch_cuda.split('.')[0]:
        blocker = (f'nvcc {facts.nvcc} is CUDA {nvcc_cuda}, torch is built with CUDA {torch_cuda} (the major versions '
                   'must match; set CUDA_HOME to a matching toolkit)')
    elif arch_tag(facts.arch_list, facts.gpus) is None:
        blocker = 'no GPU is visible and TORCH_CUDA_ARCH_LIST is unset, so no GPU architecture to compile for'
    forced = facts.force_cuda == '1'
    if forced and blocker:
        raise PlanError(f'FORCE_CUDA=1 but mmcv\'s CUDA ops cannot be built: {blocker}')

    if forced or (facts.force_cuda != '0' and facts.gpus and blocker is None):
        notes = ['MultiScaleDeformableAttention uses mmcv\'s compiled CUDA kernel on the GPU']
        if nvcc_cuda != torch_cuda:
            notes.append(f'nvcc is CUDA {nvcc_cuda}, torch CUDA {torch_cuda}: a minor-version difference, which '
                         'torch accepts')
        reason = ('FORCE_CUDA=1' if forced else f'{len(facts.gpus)} GPU(s) usable by torch') + \
            f', torch CUDA {torch_cuda}, nvcc {facts.nvcc} (CUDA {nvcc_cuda})'
        return BuildPlan('cuda', cache_key(facts, 'cuda', mmcv_version), {'FORCE_CUDA': '1'}, reason, notes)

    # CPU ops. mmcv's setup.py builds CUDA ops whenever torch sees a GPU: hide them for this build.
    env = {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}
    if facts.force_cuda == '0':
        reason = 'FORCE_CUDA=0'
        notes = [pytorch_attn] if facts.gpus else []
    elif facts.gpus:
        reason = f'{len(facts.gpus)} GPU(s) usable by torch, but {blocker}'
        notes = [pytorch_attn, 'rerun tools/setup_env.sh once a matching nvcc is available to build the CUDA ops']
    elif facts.driver_gpus:
        reason = (f'nvidia-smi lists {", ".join(facts.driver_gpus)} but torch cannot use it (' +
                  (f'torch {facts.torch_version} is a CPU build' if torch_cuda is None else
                   f'torch.cuda.is_available() is False with torch CUDA {torch_cuda}: check the driver') + ')')
        notes = ['everything runs on the CPU until torch can use the GPU']
    else:
        reason = 'no GPU found'
        notes = ['models run on the CPU; MultiScaleDeformableAttention uses mmcv\'s pure-PyTorch version']
    return BuildPlan('cpu', cache_key(facts, 'cpu', mmcv_version), env, reason, notes)


# ------------------------------------------------------------------------------------------- facts of this machine
def _run(cmd: List[str], timeout: float = 30) -> Optional[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def nvcc_release(nvcc: str) -> Optional[str]:
    """CUDA release of an nvcc binary (``'12.1'`` from ``Cuda compilation tools, release 12.1, V12.1.105``)."""
    out = _run([nvcc, '--version'])
    match = re.search(r'release (\d+\.\d+)', out or '')
    return match.group(1) if match else None


def detect_facts(env: Optional[Dict[str, str]] = None) -> MachineFacts:
    """Facts of this machine: torch (when installed), its GPUs, nvidia-smi, nvcc, ``FORCE_CUDA`` and
    ``TORCH_CUDA_ARCH_LIST``."""
    env = os.environ if env is None else env
    facts = MachineFacts(force_cuda=env.get('FORCE_CUDA'), arch_list=env.get('TORCH_CUDA_ARCH_LIST'))
    smi = shutil.which('nvidia-smi')
    if smi:
        out = _run([smi, '--query-gpu=name', '--format=csv,noheader'])
        facts.driver_gpus = [line.strip() for line in (out or '').splitlines() if line.strip()]
    try:
        import torch
    except ImportError:
        return facts
    facts.torch_version = torch.__version__.split('+')[0]
    facts.torch_cuda = torch.version.cuda
    if torch.cuda.is_available():
        facts.gpus = [f'sm{major}{minor}' for major, minor in
                      (torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count()))]
    # the toolkit torch's extension builder (and so mmcv's setup.py) would use
    import logging
    logging.disable(logging.WARNING)  # cpp_extension warns when no CUDA runtime is loaded
    try:
        from torch.utils.cpp_extension import CUDA_HOME
    finally:
        logging.disable(logging.NOTSET)
    nvcc = osp.join(CUDA_HOME, 'bin', 'nvcc') if CUDA_HOME else None
    if nvcc and os.access(nvcc, os.X_OK):
        facts.nvcc, facts.nvcc_cuda = nvcc, nvcc_release(nvcc)
    return facts


def _env_words(env: Dict[str, str]) -> str:
    return ' '.join(f'{k}={v}' for k, v in env.items())


def describe(facts: MachineFacts, plan: Optional[BuildPlan], error: Optional[str] = None) -> str:
    gpus = ', '.join(facts.gpus) or 'none'
    lines = [f'torch {facts.torch_version or "(not installed)"} (CUDA {facts.torch_cuda or "none"}), '
             f'GPUs usable by torch: {gpus}, nvidia-smi: {", ".join(facts.driver_gpus) or "none"}, '
             f'nvcc: {facts.nvcc or "none"}' + (f' (CUDA {facts.nvcc_cuda})' if facts.nvcc else '')]
    if error:
        lines.append(f'no mmcv build: {error}')
    else:
        lines.append(f'mmcv {MMCV_VERSION} with {plan.ops.upper()} ops ({plan.reason})')
        lines.append(f'wheel cache key: {plan.key}')
        lines += [f'note: {note}' for note in plan.notes]
    return '\n'.join(lines)


def shell_assignments(plan: BuildPlan, cpu_plan: BuildPlan) -> str:
    """``NAME=value`` lines (shell-quoted) that ``setup_env.sh`` evaluates: the plan, and the CPU build it falls
    back to when a CUDA build fails."""
    values = dict(MMCV_OPS=plan.ops, MMCV_KEY=plan.key, MMCV_BUILD_ENV=_env_words(plan.env), MMCV_REASON=plan.reason,
                  MMCV_NOTES='; '.join(plan.notes), MMCV_CPU_KEY=cpu_plan.key,
                  MMCV_CPU_BUILD_ENV=_env_words(cpu_plan.env))
    return '\n'.join(f'{name}={shlex.quote(value)}' for name, value in values.items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='The mmcv build tools/setup_env.sh makes on this machine.')
    parser.add_argument('--shell', action='store_true', help='print shell assignments for setup_env.sh')
    parser.add_argument('--facts', default=None,
                        help='JSON object of MachineFacts fields that replace the detected ones (for tests and '
                        'for asking "what if")')
    parser.add_argument('--mmcv-version', default=MMCV_VERSION)
    args = parser.parse_args(argv)
    facts = detect_facts()
    if args.facts:
        try:
            overrides = json.loads(args.facts)
            if not isinstance(overrides, dict):
                raise ValueError('not a JSON object')
            facts = MachineFacts(**{**asdict(facts), **overrides})
        except (ValueError, TypeError) as err:
            parser.error(f'--facts: {err}')
    try:
        plan = plan_mmcv_build(facts, args.mmcv_version)
    except PlanError as err:
        print(f'[setup_env] {err}' if args.shell else describe(facts, None, str(err)), file=sys.stderr)
        return 2
    if args.shell:
        cpu_plan = plan_mmcv_build(MachineFacts(**{**asdict(facts), 'force_cuda': '0'}), args.mmcv_version)
        print(shell_assignments(plan, cpu_plan))
    else:
        print(describe(facts, plan))
    return 0


if __name__ == '__main__':
    sys.exit(main())
