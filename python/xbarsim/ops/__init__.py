"""Tensor ops of the analog tile: validated wrappers over the native core (xbarsim._core)."""
from .update import clip_weights, populate_device, pulsed_update
