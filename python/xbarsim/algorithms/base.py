"""MultiTile: the runtime of a multi-tile algorithm, with the interface of :class:`~xbarsim.AnalogTile`.

A layer's weight matrix that is trained by a multi-tile algorithm lives on ``n_tiles`` physical
analog tiles (an ``nn.ModuleList`` of :class:`AnalogTile`, one per tile, each with its own seed and
its own device-to-device population) plus the algorithm's digital state (buffers, counters,
pointers). Forward and backward read the **visible weight** ``weight`` (W̄) through the layer's
IOConfig ("reduced" read mode: W̄ is recomputed after every update, then read like one tile).

Tile numbering: tile 0 is the most significant tile; the last tile is the gradient tile.

Spec: algorithms.md §0, §1, §5, §11.
"""
from __future__ import annotations

from typing import Any

import torch

from ..config import TileConfig
from ..config.algorithms import SingleTile
from ..ops import _checks
from ..ops import mvm as _mvm
from ..ops import transfer as _transfer
from ..ops import update as _update
from ..tile import AnalogTile

__all__ = ["MultiTile", "sub_tile_seed", "transfer_tile"]

_MASK64 = (1 << 64) - 1


def sub_tile_seed(seed: int, index: int) -> int:
    """Seed of physical tile ``index`` of a compound with seed ``seed`` (splitmix64 of seed + index + 1).

    Every tile gets its own Philox key, hence its own device population and its own pulse draws.
    """
    z = (seed + 0x9E3779B97F4A7C15 * (index + 1)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def transfer_tile(tile: AnalogTile) -> _transfer.TransferTile:
    """The tensors of ``tile`` that the transfer op reads and writes (by reference)."""
    return _transfer.TransferTile(weight=tile.weight, persistent=tile.weight_persistent,
                                  counters=tile.pulse_counters, cells=tile.device_state.cells(),
                                  piecewise=tile.device_state.piecewise(), device=tile.config.device,
                                  seed=tile.seed)


class MultiTile(torch.nn.Module):
    """Base of the multi-tile algorithm runtimes (same interface as :class:`AnalogTile`).

    Args:
        out_size, in_size: shape of the weight matrix.
        config: the layer's TileConfig; ``config.algorithm`` selects the algorithm.
        seed: seed of the compound (reads of W̄, random line choices); tile k uses
            :func:`sub_tile_seed` (seed, k).
        device, dtype: placement of the state (float32 or float64).

    Attributes:
        tiles: the physical tiles, tile 0 = most significant.
        weight: the visible weight W̄ ``[out_size, in_size]`` (recomputed after every update).
    """

    weight: torch.Tensor
    nm_running_max: torch.Tensor

    def __init__(self, out_size: int, in_size: int, config: TileConfig, seed: int = 0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("out_size", out_size), ("in_size", in_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int; got {value!r}")
        if not isinstance(config, TileConfig):
            raise TypeError(f"{name}: config must be a TileConfig; got {type(config).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"{name}: seed must be an int in [0, 2**64); got {seed!r}")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name}: dtype must be torch.float32 or torch.float64; got {dtype}")
        device = _checks.check_device(name, "device", device)
        self.out_size = out_size
        self.in_size = in_size
        self.config = config
        self.algorithm = config.algorithm
        self.seed = seed
        self.rng_calls = 0
        n = self.algorithm.num_tiles()
        if n > _transfer.MAX_TILES:
            raise ValueError(f"{name}: n_tiles must be <= {_transfer.MAX_TILES}; got {n}")
        self.tiles = torch.nn.ModuleList(
            AnalogTile(out_size, in_size, self.sub_config(k), sub_tile_seed(seed, k), device=device, dtype=dtype)
            for k in range(n))
        self.register_buffer("weight", torch.zeros(out_size, in_size, device=device, dtype=dtype))
        self.register_buffer("nm_running_max", torch.full((2,), -1.0, device=device, dtype=dtype))
        self._prepared: _transfer.PreparedTiles | None = None  # native arguments of the tiles (a cache)
        self._reduce_views: tuple | None = None
        self.refresh_weight()

    # --- caches of native arguments (rebuilt whenever the tensors move) ----------------------------
    def _tiles_key(self) -> tuple:
        return tuple((t.weight.data_ptr(), t.weight.device, t.weight.dtype, t.seed,
                      None if t.weight_persistent is None else t.weight_persistent.data_ptr()) for t in self.tiles)

    def prepared_tiles(self) -> _transfer.PreparedTiles:
        """The tiles' native transfer arguments, rebuilt when a tile's storage, device or seed changed."""
        if self._prepared is None or self._prepared.key != self._tiles_key():
            self._prepared = _transfer.PreparedTiles([transfer_tile(t) for t in self.tiles])
        return self._prepared

    def _apply(self, fn, recurse=True):  # .to(), .cuda(), .double(): tensors are replaced
        self._prepared = None
        self._reduce_views = None
        return super()._apply(fn, recurse)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_prepared"] = None  # views are not copyable; they are rebuilt on use
        state["_reduce_views"] = None
        return state

    # --- configuration ---------------------------------------------------------------------------
    def sub_config(self, index: int) -> TileConfig:
        """TileConfig of physical tile ``index`` (the layer's, as a single tile)."""
        return self.config.replace(algorithm=SingleTile())

    @property
    def n_tiles(self) -> int:
        return len(self.tiles)

    @property
    def gradient_tile(self) -> AnalogTile:
        """The tile that receives the gradient pulses (the last one)."""
        return self.tiles[-1]  # type: ignore[return-value]

    def gammas(self) -> tuple[float, ...]:
        """Significance of each tile in the visible weight (xbarsim order)."""
        return tuple(self.algorithm.gammas())  # type: ignore[attr-defined]

    # --- RNG and state ---------------------------------------------------------------------------
    def next_call(self) -> int:
        call = self.rng_calls
        self.rng_calls += 1
        return call

    def algorithm_state(self) -> dict[str, Any]:
        """Python-side algorithm state (counters, pointers) for the checkpoint; subclasses extend."""
        return {}

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        pass

    def get_extra_state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "seed": self.seed, "rng_calls": self.rng_calls,
                "shape": (self.out_size, self.in_size), "algorithm": self.algorithm_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        name = type(self).__name__
        shape = tuple(state["shape"])
        if shape != (self.out_size, self.in_size):
            raise ValueError(f"{name}.load_state_dict: checkpoint tile shape {shape} does not match "
                             f"this tile's {(self.out_size, self.in_size)}")
        if TileConfig.from_dict(state["config"]) != self.config:
            raise ValueError(f"{name}.load_state_dict: checkpoint config differs from this tile's config")
        self.seed = int(state["seed"])
        self.rng_calls = int(state["rng_calls"])
        self.load_algorithm_state(state.get("algorithm", {}))

    # --- weights ---------------------------------------------------------------------------------
    @torch.no_grad()
    def refresh_weight(self) -> None:
        """Recompute the visible weight W̄ = Σ_n γ_n W⁽ⁿ⁾ (one fused pass; algorithms.md §1)."""
        weights = [t.weight for t in self.tiles]
        key = (self.weight.data_ptr(), self._tiles_key())
        if self._reduce_views is None or self._reduce_views[0] != key:
            self._reduce_views = (key, (_transfer.view(self.weight), [_transfer.view(w) for w in weights]))
        _transfer.reduce_tiles_(self.weight, weights, self.gammas(), views=self._reduce_views[1])

    # --- device processes (analog-tile.md §3.5), on every sub-tile ----------------------------------
    @torch.no_grad()
    def decay_weights(self, alpha: float = 1.0) -> None:
        """:meth:`AnalogTile.decay_weights` on every sub-tile, then W̄ recomputed."""
        self._on_every_tile("decay_weights", alpha)

    @torch.no_grad()
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """:meth:`AnalogTile.diffuse_weights` on every sub-tile, then W̄ recomputed."""
        self._on_every_tile("diffuse_weights", alpha)

    def _on_every_tile(self, method: str, alpha: float) -> None:
        _update.check_process_alpha(alpha, f"MultiTile.{method}")  # before any sub-tile changes
        for tile in self.tiles:
            getattr(tile, method)(alpha)
        self.refresh_weight()

    @torch.no_grad()
    def reset_columns(self, columns: Any = None) -> None:
        """:meth:`AnalogTile.reset_columns` on every sub-tile, then W̄ recomputed."""
        mask = None if columns is None else _update.column_mask(columns, self.in_size, self.weight.device,
                                                                "MultiTile.reset_columns")
        for tile in self.tiles:
            tile.reset_columns(mask.bool() if mask is not None else None)
        self.refresh_weight()

    def get_weights(self) -> torch.Tensor:
        """A copy of the visible weight W̄ ``[out_size, in_size]``."""
        return self.weight.detach().clone()

    def get_tile_weights(self) -> torch.Tensor:
        """The weights of every physical tile, ``[n_tiles, out_size, in_size]``, tile 0 first (copies)."""
        return torch.stack([t.weight.detach() for t in self.tiles]).clone()

    def _check_weights(self, weights: Any, where: str) -> None:
        _checks.check_weights(where, "weights", weights, (("out_size", self.out_size), ("in_size", self.in_size)))

    @torch.no_grad()
    def set_weights(self, weights: torch.Tensor) -> None:
        """Program the digital weights: every tile zeroed, tile 0 ← ``W / gamma_vec[0]`` (clipped to its
        cells' bounds), then W̄ recomputed (algorithms.md §5). Counters and pointers are not reset."""
        where = f"{type(self).__name__}.set_weights"
        self._check_weights(weights, where)
        w = weights.detach().to(self.weight.device, self.weight.dtype)
        zeros = torch.zeros_like(self.weight)
        g0 = self.gammas()[0]
        for k, tile in enumerate(self.tiles):
            tile.set_weights(w / g0 if k == 0 else zeros)
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

    # --- read path -------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog forward ``y = W̄ x`` through the forward IOConfig (analog-tile.md §1.3)."""
        y = _mvm.analog_mvm(x, self.weight, self.config.forward, transpose=False, seed=self.seed,
                            call=self.rng_calls, nm_state=self.nm_running_max[0:1],
                            where=f"{type(self).__name__}.forward")
        self.next_call()
        return y

    def backward(self, d: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog backward ``z = W̄ᵀ d`` through the backward IOConfig, bound management off (§1.4)."""
        z = _mvm.analog_mvm(d, self.weight, self.config.backward.for_backward(), transpose=True, seed=self.seed,
                            call=self.rng_calls, nm_state=self.nm_running_max[1:2],
                            where=f"{type(self).__name__}.backward", x_name="d")
        self.next_call()
        return z

    # --- update ----------------------------------------------------------------------------------
    def _batch(self, x: Any, d: Any, lr: Any, where: str) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Validate an update's arguments before any state changes; flatten to ``[m, in]``, ``[m, out]``."""
        return _update.check_update_batch(x, d, lr, self.weight, where)

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        raise NotImplementedError  # pragma: no cover - every algorithm defines its update

    # --- warm start ------------------------------------------------------------------------------
    def signal_warm_start(self) -> bool:
        """Raise the plateau signal of the warm start; False if this algorithm has none."""
        return False

    def extra_repr(self) -> str:
        return (f"out_size={self.out_size}, in_size={self.in_size}, n_tiles={self.n_tiles}, seed={self.seed}, "
                f"algorithm={type(self.algorithm).__name__}")
