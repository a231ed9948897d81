"""xbarsim: a circuit-level simulator of analog crossbar arrays for in-memory training.

Layers of the package, top to bottom: ``nn``/``optim`` (PyTorch front end), ``algorithms``
(multi-tile learning rules), ``tile`` (tile state and ops), ``config`` (typed dataclasses),
``ops`` (validated tensor ops over the native core ``_core``).
"""
from . import algorithms, data, devices, models, nn, ops, optim, presets
from .config import IOConfig, MappingConfig, TileConfig, UpdateConfig
from .errors import CheckpointMismatchError
from .ops.runtime import __version__, build_info, cuda_available
from .tile import AnalogTile, Tile
from .train.checkpoint import load, save

__all__ = [
    "__version__", "build_info", "cuda_available",
    "IOConfig", "UpdateConfig", "TileConfig", "MappingConfig", "Tile", "AnalogTile",
    "CheckpointMismatchError", "save", "load",
    "ops", "devices", "presets", "algorithms", "nn", "optim", "data", "models",
]
