"""Tensor ops of the analog tile: validated wrappers over the native core (xbarsim._core)."""
from ._checks import input_checks_enabled, set_input_checks
from .mvm import analog_mvm
from .update import clip_weights, device_process, populate_device, pulsed_update

__all__ = ["analog_mvm", "pulsed_update", "populate_device", "clip_weights", "device_process", "set_input_checks",
           "input_checks_enabled"]
