"""Tile state and ops."""
from .analog_tile import AnalogTile

__all__ = ["AnalogTile"]
