"""Typed, frozen configuration dataclasses. Imports nothing else of xbarsim."""
from .devices import (ConstantStep, ExpStep, LinearStep, PiecewiseStep, PowStep, PulsedDevice, SoftBounds,
                      SoftBoundsReference)
from .io import IOConfig
from .mapping import MappingConfig
from .tile import TileConfig
from .update import UpdateConfig

__all__ = ["IOConfig", "TileConfig", "UpdateConfig", "PulsedDevice", "ConstantStep", "LinearStep", "SoftBounds",
           "SoftBoundsReference", "ExpStep", "PowStep", "PiecewiseStep", "MappingConfig"]
