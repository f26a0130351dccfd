from .norm_decay_optim_wrapper_constructor import NormDecayOptimWrapperConstructor

__all__ = ['NormDecayOptimWrapperConstructor']
