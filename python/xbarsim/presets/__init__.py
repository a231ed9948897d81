"""Presets: device models of the literature and aihwkit's preset IO/update parameters.

Spec: analog-tile.md §5.
"""
from .devices import (DEVICE_PRESETS, PCM, Capacitor, EcRam, EcRamMO, GokmenVlasov, Idealized, PaperSoftBounds,
                      ReRamArrayHfO2, ReRamArrayOM, ReRamES, ReRamSB)
from . import paper
from .io import PresetIO, PresetUpdate

__all__ = ["ReRamArrayHfO2", "ReRamArrayOM", "ReRamSB", "ReRamES", "Capacitor", "EcRam", "EcRamMO", "PCM",
           "Idealized", "GokmenVlasov", "PaperSoftBounds", "DEVICE_PRESETS", "PresetIO", "PresetUpdate", "paper"]
