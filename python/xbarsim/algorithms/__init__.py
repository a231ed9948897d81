"""Multi-tile learning algorithms: residual learning (the paper's method) and its baselines.

Configs (set as ``TileConfig(algorithm=...)``): :class:`SingleTile` (analog SGD on one tile, the
default), :class:`ResidualLearning`, :class:`TikiTaka` (TT-v1), :class:`TikiTakaV2`,
:class:`ChoppedTikiTakaV2`, :class:`MixedPrecision`; the cascades share :class:`TransferCompound`.
:func:`make_tile` builds the runtime of a config (a :class:`~xbarsim.tile.Tile`: an
:class:`~xbarsim.AnalogTile` or a :class:`MultiTile`); :class:`PlateauDetector` and
:func:`signal_warm_start` drive the warm start from the training loop.

Tile numbering: tile 0 is the most significant tile, tile N = n_tiles − 1 the gradient tile.

Spec: algorithms.md.
"""
from ..config.algorithms import (
    AlgorithmConfig,
    ChoppedTikiTakaV2,
    MixedPrecision,
    ResidualLearning,
    SingleTile,
    TikiTaka,
    TikiTakaV2,
    TransferCompound,
)
from .base import MultiTile
from .factory import make_tile
from .mixed_precision import MixedPrecisionTile
from .plateau import PLATEAU_RULES, PlateauDetector, signal_warm_start
from .residual_learning import ResidualLearningTile, TikiTakaTile
from .tiki_taka_v2 import ChoppedTikiTakaV2Tile, TikiTakaV2Tile

__all__ = [
    "AlgorithmConfig", "SingleTile", "TransferCompound", "ResidualLearning", "TikiTaka", "TikiTakaV2",
    "ChoppedTikiTakaV2", "MixedPrecision", "make_tile", "MultiTile", "ResidualLearningTile", "TikiTakaTile",
    "TikiTakaV2Tile", "ChoppedTikiTakaV2Tile", "MixedPrecisionTile", "PlateauDetector", "PLATEAU_RULES",
    "signal_warm_start",
]
