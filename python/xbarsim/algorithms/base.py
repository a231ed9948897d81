"""MultiTile: the runtime of a multi-tile algorithm, a :class:`~xbarsim.tile.Tile` over several physical tiles.

A weight matrix trained by a multi-tile algorithm lives on ``n_tiles`` physical analog tiles (an
``nn.ModuleList`` of :class:`~xbarsim.AnalogTile`, one per tile, each with its own seed and its own
device-to-device population) plus the algorithm's digital state (buffers, counters, pointers).
Forward and backward read the **visible weight** ``weight`` (W̄) through the layer's IOConfig
("reduced" read mode: W̄ is recomputed after every update, then read like one tile).

Tile numbering: tile 0 is the most significant tile; the last tile is the gradient tile.

Spec: algorithms.md §0, §1, §5, §11.
"""
from __future__ import annotations

import abc
from typing import Any, Sequence

import torch

from ..config import TileConfig, UpdateConfig
from ..config.algorithms import SingleTile
from ..config.seeds import child_seed
from ..ops import _checks
from ..ops import transfer as _transfer
from ..ops import true_divide
from ..ops import update as _update
from ..tile import AnalogTile, Tile
from ..tile import op_counts as _op_counts

__all__ = ["MultiTile", "transfer_tile"]


def transfer_tile(tile: AnalogTile) -> _transfer.TransferTile:
    """The tensors of ``tile`` that the transfer op reads and writes (by reference)."""
    return _transfer.TransferTile(weight=tile.weight, persistent=tile.weight_persistent,
                                  counters=tile.pulse_counters, cells=tile.device_state.cells(),
                                  piecewise=tile.device_state.piecewise(), device_model=tile.config.device_model,
                                  seed=tile.seed)


class MultiTile(Tile):
    """Base of the multi-tile algorithm runtimes.

    Args:
        out_size, in_size: shape of the weight matrix.
        config: the TileConfig; ``config.algorithm`` selects the algorithm.
        seed: seed of the runtime's own draws (reads of W̄, random line choices); physical tile k is
            seeded with ``child_seed(seed, k)`` (:mod:`xbarsim.config.seeds`).
        device, dtype: placement of the state (float32 or float64).

    Attributes:
        tiles: the physical tiles (the paper's tiles), tile 0 = most significant.
        weight: the visible weight W̄ ``[out_size, in_size]`` (recomputed after every update).
    """

    def __init__(self, out_size: int, in_size: int, config: TileConfig, seed: int = 0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(out_size, in_size, config, seed, device=device, dtype=dtype)
        self.algorithm = config.algorithm
        n = self.algorithm.num_tiles()
        if n > _transfer.MAX_TILES:
            raise ValueError(f"{type(self).__name__}: n_tiles must be <= {_transfer.MAX_TILES}; got {n}")
        # The physical tiles never count operations themselves: the runtime counts for them (their
        # pulses still reach their pulse counters, through the update configs the runtime hands them).
        self.tiles = torch.nn.ModuleList(
            AnalogTile(out_size, in_size, self.sub_config(k).replace(count_ops=False), child_seed(seed, k),
                       device=device, dtype=dtype)
            for k in range(n))
        self._prepared: _transfer.PreparedTiles | None = None  # native arguments of the tiles (a cache)
        self._prepared_key: tuple = ()
        self._reduce_views: tuple = ((), None)
        self._register_algorithm_state(device=device, dtype=dtype)
        self.refresh_weight()

    def _register_algorithm_state(self, *, device: Any, dtype: torch.dtype) -> None:
        """Register the algorithm's buffers and host-side counters (before W̄ is first computed)."""

    # --- native arguments of the tiles (a cache, rebuilt whenever a tensor changes) -------------------
    def prepared_tiles(self) -> _transfer.PreparedTiles:
        """The tiles' native transfer arguments, rebuilt when any of their tensors or seeds changed."""
        key = self._tiles_tensor_key()
        if self._prepared is None or self._prepared_key != key:
            self._prepared = _transfer.PreparedTiles([transfer_tile(t) for t in self.tiles])
            self._prepared_key = key
        return self._prepared

    def _tiles_tensor_key(self) -> tuple:
        """Identity and address of every buffer of every physical tile (weights, counters, cells, tables)
        and the seeds: cheap to build on every update, and different whenever a view could be stale
        (``.to()``, ``load_state_dict(assign=True)``, a buffer replaced or its storage swapped)."""
        key: list = []
        for tile in self.tiles:
            for buffers in (tile._buffers, tile.device_state._buffers):
                for value in buffers.values():
                    key += (id(value), 0 if value is None else value.data_ptr())
            key.append(tile.seed)
        return tuple(key)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_prepared"] = None  # views are not copyable; they are rebuilt on use
        state["_prepared_key"] = ()
        state["_reduce_views"] = ((), None)
        return state

    # --- configuration ---------------------------------------------------------------------------
    def sub_config(self, index: int) -> TileConfig:
        """TileConfig of physical tile ``index`` (the runtime's, as a single tile)."""
        return self.config.replace(algorithm=SingleTile())

    @property
    def n_tiles(self) -> int:
        return len(self.tiles)

    @property
    def gradient_tile(self) -> AnalogTile:
        """The tile that receives the gradient pulses (the last one)."""
        return self.tiles[-1]  # type: ignore[return-value]

    @abc.abstractmethod
    def gammas(self) -> Sequence[float]:
        """Significance of each tile in the visible weight (xbarsim order)."""

    # --- weights ---------------------------------------------------------------------------------
    @torch.no_grad()
    def refresh_weight(self) -> None:
        """Recompute the visible weight W̄ = Σ_n γ_n W⁽ⁿ⁾ (one fused pass; algorithms.md §1)."""
        weights = [t.weight for t in self.tiles]
        key = (id(self.weight), self.weight.data_ptr(), tuple((id(w), w.data_ptr()) for w in weights))
        if self._reduce_views[0] != key:  # views of W̄ and the tiles' weights, rebuilt when one was replaced
            self._reduce_views = (key, (_transfer.view(self.weight), [_transfer.view(w) for w in weights]))
        _transfer.reduce_tiles_(self.weight, weights, self.gammas(), views=self._reduce_views[1])
        self.count_reduction(self.gammas())

    def count_reduction(self, gammas: Sequence[float], extra_per_cell: int = 0) -> None:
        """Count one digital recomputation of W̄ (read mode "reduced"): ``(2k − 1)·out·in`` for the
        k ≥ 2 tiles with γ ≠ 0, 0 for one tile; ``extra_per_cell`` more per cell (algorithms.md §1)."""
        if self.op_counts is None:
            return
        k = sum(1 for g in gammas if g != 0)
        per_cell = (2 * k - 1 if k >= 2 else 0) + extra_per_cell
        _op_counts.add(self.op_counts, flops_reduce=per_cell * self.out_size * self.in_size)

    def counted_update(self, update: UpdateConfig) -> UpdateConfig:
        """``update`` with pulse counting on while the runtime counts (else unchanged)."""
        return update if self.op_counts is None else _op_counts.counting_update(update)

    def pulse_sources(self) -> list[tuple[AnalogTile, str]]:
        """Every physical tile: the last receives the gradient pulses, the others transfer writes."""
        last = self.n_tiles - 1
        return [(t, "gradient" if k == last else "transfer") for k, t in enumerate(self.tiles)]

    def get_tile_weights(self) -> torch.Tensor:
        """The weights of every physical tile, ``[n_tiles, out_size, in_size]``, tile 0 first (copies)."""
        return torch.stack([t.weight.detach() for t in self.tiles]).clone()

    def _program(self, weight: torch.Tensor) -> None:
        """Program the digital weights: every tile zeroed, tile 0 ← ``W / gamma_vec[0]`` (clipped to its
        cells' bounds), then W̄ recomputed (algorithms.md §5). Counters and pointers are not reset."""
        w = weight.to(self.weight.device, self.weight.dtype)
        zeros = torch.zeros_like(self.weight)
        for k, tile in enumerate(self.tiles):
            tile.set_weights(true_divide(w, self.gammas()[0]) if k == 0 else zeros)
        self.refresh_weight()

    @torch.no_grad()
    def set_tile_weights(self, weights: torch.Tensor) -> None:
        """Set every physical tile (``[n_tiles, out_size, in_size]``, clipped to the cells' bounds)."""
        where = f"{type(self).__name__}.set_tile_weights"
        _checks.check_weights(where, "weights", weights, (("n_tiles", self.n_tiles), ("out_size", self.out_size),
                                                          ("in_size", self.in_size)))
        for k, tile in enumerate(self.tiles):
            tile.set_weights(weights[k].to(self.weight.device, self.weight.dtype))
        self.refresh_weight()

    # --- device processes (analog-tile.md §3.5), on every physical tile --------------------------------
    @torch.no_grad()
    def decay_weights(self, alpha: float = 1.0) -> None:
        """:meth:`AnalogTile.decay_weights` on every physical tile, then W̄ recomputed."""
        self._on_every_tile("decay_weights", alpha)

    @torch.no_grad()
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """:meth:`AnalogTile.diffuse_weights` on every physical tile, then W̄ recomputed."""
        self._on_every_tile("diffuse_weights", alpha)

    def _on_every_tile(self, method: str, alpha: float) -> None:
        _update.check_process_alpha(alpha, f"{type(self).__name__}.{method}")  # before any tile changes
        for tile in self.tiles:
            getattr(tile, method)(alpha)
        self.refresh_weight()

    @torch.no_grad()
    def reset_columns(self, columns: Any = None) -> None:
        """:meth:`AnalogTile.reset_columns` on every physical tile, then W̄ recomputed."""
        mask = None if columns is None else _update.column_mask(columns, self.in_size, self.weight.device,
                                                                f"{type(self).__name__}.reset_columns")
        for tile in self.tiles:
            tile.reset_columns(mask.bool() if mask is not None else None)
        self.refresh_weight()

    # --- update ----------------------------------------------------------------------------------
    def _batch(self, x: Any, d: Any, lr: Any, where: str) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Validate an update's arguments before any state changes; flatten to ``[m, in]``, ``[m, out]``."""
        return _update.check_update_batch(x, d, lr, self.weight, where)

    def extra_repr(self) -> str:
        return (f"out_size={self.out_size}, in_size={self.in_size}, n_tiles={self.n_tiles}, seed={self.seed}, "
                f"algorithm={type(self.algorithm).__name__}")
