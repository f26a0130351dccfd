"""Matching costs for mmdet's assigners (one class per file)."""
from .clip_sounding_cost import ClipSoundingCost
from .dice_coefficient_cost import DiceCoefficientCost

__all__ = ['ClipSoundingCost', 'DiceCoefficientCost']
