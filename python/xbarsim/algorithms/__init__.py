"""Multi-tile learning algorithms: residual learning (the paper's method) and its baselines.

Configs (set as ``TileConfig(algorithm=...)``): :class:`SingleTile` (analog SGD on one tile, the
default), :class:`ResidualLearning`, :class:`TikiTaka` (TT-v1), :class:`TikiTakaV2`,
:class:`ChoppedTikiTakaV2`, :class:`MixedPrecision`. :func:`make_tile` builds the runtime of a config;
:class:`PlateauDetector` and :func:`signal_warm_start` drive the warm start from the training loop.

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
)
from .base import MultiTile, sub_tile_seed
from .factory import make_tile
from .mixed_precision import MixedPrecisionTile
from .plateau import PLATEAU_RULES, PlateauDetector, signal_warm_start
from .residual_learning import ResidualLearningTile, TikiTakaTile, TransferCascadeTile
from .schedule import CascadeSchedule, Segment, TransferEvent
from .tiki_taka_v2 import ChoppedTikiTakaV2Tile, TikiTakaV2Tile

__all__ = [
    "AlgorithmConfig", "SingleTile", "ResidualLearning", "TikiTaka", "TikiTakaV2", "ChoppedTikiTakaV2",
    "MixedPrecision", "MultiTile", "TransferCascadeTile", "ResidualLearningTile", "TikiTakaTile", "TikiTakaV2Tile",
    "ChoppedTikiTakaV2Tile", "MixedPrecisionTile", "make_tile", "sub_tile_seed", "PlateauDetector",
    "PLATEAU_RULES", "signal_warm_start", "CascadeSchedule", "Segment", "TransferEvent",
]
