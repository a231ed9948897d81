"""Tiles: the contract every tile runtime meets (:class:`Tile`) and the physical tile (:class:`AnalogTile`).

Multi-tile algorithm runtimes implement :class:`Tile` in :mod:`xbarsim.algorithms`, which also builds
the runtime of a config (``xbarsim.algorithms.make_tile``).
"""
from .analog_tile import AnalogTile
from .base import Tile
from .device_state import DeviceState

__all__ = ["Tile", "AnalogTile", "DeviceState"]
