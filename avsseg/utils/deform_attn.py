"""Which multi-scale deformable attention kernel runs: mmcv's compiled CUDA op or its pure-PyTorch version.

mmcv's ``MultiScaleDeformableAttention`` sends CUDA tensors to the compiled kernel whenever
``torch.cuda.is_available()``; an mmcv built without CUDA ops (``tools/setup_env.sh`` without ``FORCE_CUDA=1``) then
fails on a GPU. The choice is made once per process from what the installed mmcv contains.
"""
from typing import Optional

import torch
from mmengine.logging import print_log

_DECISION: Optional[str] = None


def mmcv_has_cuda_ops() -> bool:
    """Whether the installed ``mmcv._ext`` was compiled with CUDA (``get_compiling_cuda_version`` says so)."""
    from mmcv.ops import get_compiling_cuda_version
    version = get_compiling_cuda_version()
    return bool(version) and version != 'not available'


def select_deform_attn_kernel(has_cuda_ops: Optional[bool] = None, cuda_available: Optional[bool] = None) -> str:
    """Make mmcv's ``MultiScaleDeformableAttention`` use the CUDA kernel only when mmcv has it.

    Args:
        has_cuda_ops: whether mmcv's compiled ops include CUDA (default: :func:`mmcv_has_cuda_ops`).
        cuda_available: whether a GPU is usable (default: ``torch.cuda.is_available()``).

    Returns:
        ``'cuda'`` (compiled kernel for CUDA tensors) or ``'pytorch'`` (``multi_scale_deformable_attn_pytorch``
        for every device). Logged once per process when a GPU is present.
    """
    global _DECISION
    import mmcv.ops.multi_scale_deform_attn as msda
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if has_cuda_ops is None:
        has_cuda_ops = mmcv_has_cuda_ops() if cuda_available else False
    use_kernel = bool(cuda_available and has_cuda_ops)
    # mmcv reads this module-level flag in MultiScaleDeformableAttention.forward
    msda.IS_CUDA_AVAILABLE = use_kernel
    decision = 'cuda' if use_kernel else 'pytorch'
    if cuda_available and decision != _DECISION:
        reason = 'mmcv has CUDA ops' if use_kernel else 'this mmcv build has no CUDA ops (tools/setup_env.sh)'
        print_log(f'multi-scale deformable attention: {decision} implementation ({reason})', logger='current')
    _DECISION = decision
    return decision
