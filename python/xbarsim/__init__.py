"""xbarsim: a circuit-level simulator of analog crossbar arrays for in-memory training.

Layers of the package, top to bottom: ``nn``/``optim`` (PyTorch front end), ``algorithms``
(multi-tile learning rules), ``tile`` (tile state and ops), ``config`` (typed dataclasses),
``ops`` (validated tensor ops over the native core ``_core``).
"""
from . import algorithms, devices, ops, presets
from ._build import build_info, cuda_available
from ._core import __version__
from .config import IOConfig, TileConfig, UpdateConfig
from .tile import AnalogTile
from .config import MappingConfig
from .errors import CheckpointMismatchError
from . import nn, optim, data, models
from .train.checkpoint import load, save

__all__ = ["__version__", "build_info", "cuda_available", "ops", "algorithms", "devices", "presets", "IOConfig", "TileConfig",
           "UpdateConfig", "AnalogTile"]
__all__ += ["MappingConfig", "CheckpointMismatchError", "nn", "optim", "data", "models", "save", "load"]
