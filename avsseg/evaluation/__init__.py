from .class_count import check_model_classes, head_class_counts
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403

__all__ = ['check_model_classes', 'head_class_counts']
