"""make_tile: the one place where a TileConfig's algorithm becomes a tile runtime.

Spec: algorithms.md §0 (numbering), §8 (which algorithm runs on which tiles).
"""
from __future__ import annotations

import torch

from ..config import TileConfig
from ..config.algorithms import (
    ChoppedTikiTakaV2,
    MixedPrecision,
    ResidualLearning,
    SingleTile,
    TikiTaka,
    TikiTakaV2,
)
from ..tile import AnalogTile, Tile
from .mixed_precision import MixedPrecisionTile
from .residual_learning import ResidualLearningTile, TikiTakaTile
from .tiki_taka_v2 import ChoppedTikiTakaV2Tile, TikiTakaV2Tile

__all__ = ["make_tile", "RUNTIMES"]

#: Runtime class of every algorithm config (the most derived config class first).
RUNTIMES: dict[type, type] = {
    TikiTakaV2: TikiTakaV2Tile,
    TikiTaka: TikiTakaTile,
    ChoppedTikiTakaV2: ChoppedTikiTakaV2Tile,
    ResidualLearning: ResidualLearningTile,
    MixedPrecision: MixedPrecisionTile,
}


def make_tile(out_size: int, in_size: int, config: TileConfig | None = None, seed: int = 0, *,
              device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> Tile:
    """Build the tile runtime of ``config.algorithm`` for a weight matrix ``[out_size, in_size]``.

    ``SingleTile`` (analog SGD, the default) gives a plain :class:`~xbarsim.AnalogTile`; every other
    algorithm a :class:`~xbarsim.algorithms.MultiTile`. Both meet the :class:`~xbarsim.tile.Tile`
    contract (``forward``, ``backward``, ``update(x, d, lr)``, ``get_weights``, ``set_weights``, the
    device processes, ``state_dict``); a MultiTile adds ``tiles`` and ``get_tile_weights``.

    Examples::

        >>> cfg = xbarsim.TileConfig(algorithm=xbarsim.algorithms.ResidualLearning(n_tiles=3, gamma=0.5))
        >>> tile = xbarsim.algorithms.make_tile(8, 4, cfg, seed=1)
        >>> tile.get_tile_weights().shape
        torch.Size([3, 8, 4])
    """
    if config is None:
        config = TileConfig()
    if not isinstance(config, TileConfig):
        raise TypeError(f"make_tile: config must be a TileConfig; got {type(config).__name__}")
    algo = config.algorithm
    if isinstance(algo, SingleTile):
        return AnalogTile(out_size, in_size, config, seed, device=device, dtype=dtype)
    for cls in type(algo).__mro__:
        runtime = RUNTIMES.get(cls)
        if runtime is not None:
            return runtime(out_size, in_size, config, seed, device=device, dtype=dtype)
    raise TypeError(f"make_tile: config.algorithm must be one of SingleTile, "
                    f"{', '.join(c.__name__ for c in RUNTIMES)}; got {type(algo).__name__}")
