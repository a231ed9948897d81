"""Tensor ops of the analog tile: validated wrappers over the native core (xbarsim._core).

Only this package imports ``xbarsim._core``; everything above it calls these functions.
"""
from ._checks import input_checks_enabled, input_checks_mode, raise_deferred_input_errors, set_input_checks
from .elementwise import true_divide
from .mvm import analog_mvm, max_bm_rounds
from .runtime import build_info, cuda_available, num_threads, set_num_threads
from .update import clip_weights, device_process, populate_device, pulsed_update

__all__ = ["analog_mvm", "max_bm_rounds", "pulsed_update", "populate_device", "clip_weights", "device_process",
           "set_input_checks", "input_checks_enabled", "input_checks_mode", "raise_deferred_input_errors", "true_divide", "build_info", "cuda_available",
           "set_num_threads", "num_threads"]
