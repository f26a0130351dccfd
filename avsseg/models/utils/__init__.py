"""Model helpers."""
from .checkpoint import checkpoint_call

__all__ = ['checkpoint_call']
