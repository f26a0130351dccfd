# A child registry does not import its parents' lazy locations, so mmseg's and mmdet's models are imported
# here to make e.g. type='mmdet.HungarianAssigner' or mmseg's ResNet resolvable from avsseg configs.
import mmdet.models  # noqa: F401
import mmseg.models  # noqa: F401

from .audio_backbones import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .data_preprocessor import AVSDataPreprocessor
from .decode_heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403

__all__ = ['AVSDataPreprocessor']
