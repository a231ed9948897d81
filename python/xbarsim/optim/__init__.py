"""Optimizers for models with analog layers (docs/frontend.md). Spec: experiments.md §0."""
from .analog_sgd import AnalogOptimizer, AnalogSGD

__all__ = ["AnalogOptimizer", "AnalogSGD"]
