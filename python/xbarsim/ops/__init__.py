"""Tensor ops of the analog tile: validated wrappers over the native core (xbarsim._core)."""
