"""avsseg: audio-visual segmentation on MMEngine / MMSeg / MMDet."""
from .utils.checkpoint_compat import allow_mmengine_checkpoint_globals
from .utils.config_scope import enable_avsseg_config_scope
from .version import __version__

# torch >= 2.6 loads checkpoints with weights_only=True; mmengine 0.10.7 checkpoints pickle a few
# non-tensor objects. Allowlisting exactly those keeps the safe loader on for resume and load_from.
allow_mmengine_checkpoint_globals()
# `_base_ = ['avsseg::combo/combo_r50_s4.py']` in configs outside the repository (mmengine's scope:: needs
# pkg_resources and an OpenMMLab .mim folder).
enable_avsseg_config_scope()

__all__ = ['__version__']
