from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .deform_attn import mmcv_has_cuda_ops, select_deform_attn_kernel
from .dist_utils import (CPUDistributedDataParallel, apply_total_batch_size, setup_cpu_distributed,
                         teardown_distributed)
from .weight_files import check_weight_files, drop_missing_weight_files, find_weight_files, missing_weight_files

__all__ = [
    'allow_mmengine_checkpoint_globals', 'apply_total_batch_size', 'CPUDistributedDataParallel', 'setup_cpu_distributed',
    'teardown_distributed', 'mmcv_has_cuda_ops', 'select_deform_attn_kernel',
    'check_weight_files', 'drop_missing_weight_files', 'find_weight_files', 'missing_weight_files'
]
