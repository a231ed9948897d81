"""Device models of the pulsed update: the dataclasses of :mod:`xbarsim.config.devices`.

Spec: analog-tile.md §3.
"""
from .config.devices import (DEVICE_MODELS, ConstantStep, ExpStep, LinearStep, PiecewiseStep, PowStep,
                             PulsedDevice, SoftBounds, SoftBoundsPmax, SoftBoundsReference)

__all__ = ["PulsedDevice", "ConstantStep", "LinearStep", "SoftBounds", "SoftBoundsReference", "ExpStep",
           "PowStep", "PiecewiseStep", "SoftBoundsPmax", "DEVICE_MODELS"]
