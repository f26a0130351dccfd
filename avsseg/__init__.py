"""avsseg: audio-visual segmentation on MMEngine / MMSeg / MMDet."""
from .utils.checkpoint_compat import allow_mmengine_checkpoint_globals
from .version import __version__

# torch >= 2.6 loads checkpoints with weights_only=True; mmengine 0.10.7 checkpoints pickle a few
# non-tensor objects. Allowlisting exactly those keeps the safe loader on for resume and load_from.
allow_mmengine_checkpoint_globals()

__all__ = ['__version__']
