from .checkpoint_compat import allow_mmengine_checkpoint_globals
from .dist_utils import CPUDistributedDataParallel, setup_cpu_distributed, teardown_distributed

__all__ = [
    'allow_mmengine_checkpoint_globals', 'CPUDistributedDataParallel', 'setup_cpu_distributed', 'teardown_distributed'
]
