from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .config_scope import enable_avsseg_config_scope, repo_root
from .deform_attn import mmcv_has_cuda_ops, select_deform_attn_kernel
from .dist_utils import (CPU_DIST_TIMEOUT_S, CPUDistributedDataParallel, apply_total_batch_size, setup_cpu_distributed,
                         teardown_distributed)
from .log_filters import RunLogFilter, install_run_log_filter
from .run_options import fix_persistent_workers, set_data_root
from .schedule import checkpoint_due, scale_schedule, validation_due_after_iter
from .threads import choose_num_threads, forked_worker_init, setup_num_threads, usable_cpu_count
from .weight_files import check_weight_files, drop_missing_weight_files, find_weight_files, missing_weight_files
from .work_dir import WorkDirError, prepare_work_dir, resolve_last_checkpoint

__all__ = [
    'allow_mmengine_checkpoint_globals', 'apply_total_batch_size', 'CPU_DIST_TIMEOUT_S', 'CPUDistributedDataParallel',
    'setup_cpu_distributed', 'teardown_distributed', 'mmcv_has_cuda_ops', 'select_deform_attn_kernel',
    'check_weight_files', 'drop_missing_weight_files', 'find_weight_files', 'missing_weight_files',
    'enable_avsseg_config_scope', 'repo_root', 'RunLogFilter', 'install_run_log_filter', 'fix_persistent_workers',
    'set_data_root', 'checkpoint_due', 'scale_schedule', 'validation_due_after_iter', 'choose_num_threads',
    'forked_worker_init', 'setup_num_threads', 'usable_cpu_count', 'WorkDirError', 'prepare_work_dir',
    'resolve_last_checkpoint'
]
