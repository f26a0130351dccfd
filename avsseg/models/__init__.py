# A child registry does not import its parents' lazy locations, so mmseg's and mmdet's models are imported
# here to make e.g. type='mmdet.HungarianAssigner' or mmseg's ResNet resolvable from avsseg configs.
import mmdet.models  # noqa: F401
import mmseg.models  # noqa: F401

from avsseg.utils import select_deform_attn_kernel
from .audio_backbones import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .data_preprocessor import AVSDataPreprocessor
from .decode_heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403

# A CPU-only mmcv build on a GPU machine: MSDeformAttn falls back to mmcv's pure-PyTorch version.
select_deform_attn_kernel()

__all__ = ['AVSDataPreprocessor']
