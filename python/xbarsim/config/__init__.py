"""Typed, frozen configuration dataclasses. Imports nothing else of xbarsim."""
from .io import IOConfig
from .tile import TileConfig

__all__ = ["IOConfig", "TileConfig"]
