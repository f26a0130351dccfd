"""Training-free task utilities of the models (TASK_UTILS)."""
from .avis import AudioVisualSemanticIntegration
from .match_costs import *  # noqa: F401,F403

__all__ = ['AudioVisualSemanticIntegration']
