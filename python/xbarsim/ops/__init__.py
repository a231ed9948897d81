"""Tensor ops of the analog tile: validated wrappers over the native core (xbarsim._core)."""
from ._checks import input_checks_enabled, set_input_checks
from .mvm import analog_mvm

__all__ = ["analog_mvm", "set_input_checks", "input_checks_enabled"]
