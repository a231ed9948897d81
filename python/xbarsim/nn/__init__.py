"""PyTorch front end: analog layers and model conversion (docs/frontend.md).

Spec: analog-tile.md §0–§2; experiments.md §0–§2 (models and mapping).
"""
from . import functional
from .base import AnalogLayerBase, analog_layer_of, analog_layers
from .conv import AnalogConv1d, AnalogConv2d
from .convert import convert_to_analog
from .linear import AnalogLinear

__all__ = ["functional", "AnalogLayerBase", "AnalogLinear", "AnalogConv1d", "AnalogConv2d",
           "convert_to_analog", "analog_layer_of", "analog_layers"]
