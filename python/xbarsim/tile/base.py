"""Tile: the contract every tile runtime meets, and the state and reads they share.

A *tile runtime* holds one weight matrix ``W[out_size, in_size]`` of a layer: :class:`~xbarsim.AnalogTile`
(one physical crossbar, analog SGD) or, for a multi-tile algorithm, a runtime of
:mod:`xbarsim.algorithms` that keeps several physical tiles and reads their visible weight W̄. Layers,
optimizers, checkpoints and the training loop see only this contract:

* state: ``weight`` (the visible weight every read sees), ``rng_counter`` (the RNG call counter, a 0-dim
  int64 tensor in host memory: every random op consumes one value, which keys its draws),
  ``nm_running_max`` (the running maxima of "average_abs_max" noise management, forward and backward),
  and the config, seed and shape in ``get_extra_state``: everything is in ``state_dict()``;
* reads: ``forward(x)`` and ``backward(d)`` through the config's IO (one counter value each);
* operation counters ``op_counts`` (:mod:`xbarsim.tile.op_counts`) when ``config.count_ops`` is on
  (or inside ``xbarsim.cost.counting``), else None;
* ``update(x, d, lr)``, ``get_weights()``, ``set_weights(weight)``, the device processes
  (``decay_weights``, ``diffuse_weights``, ``reset_columns``) and ``signal_warm_start()``.

Spec: analog-tile.md §0 (shapes), §1 (reads), §3.5 (device processes), §4 (RNG numbering);
algorithms.md §0 (tile runtimes).
"""
from __future__ import annotations

import abc
from typing import Any, Optional

import torch

from ..config import IOConfig, TileConfig
from ..config.seeds import check_seed
from ..ops import _checks
from ..ops import mvm as _mvm
from . import op_counts as _op_counts

__all__ = ["Tile", "counted_read", "check_tile_shape"]


def counted_read(io: IOConfig, x: torch.Tensor, weight: torch.Tensor, *, seed: int, counter: torch.Tensor,
                 nm_state: torch.Tensor, transpose: bool, where: str = "analog_mvm",
                 x_name: str = "x", op_counts: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One analog read keyed by the current value of ``counter``, which then advances by one.

    The counter advances only after the read succeeded, so a rejected input changes nothing. Every
    read of a tile, the layers' custom ops included, goes through here. A tile's weights are finite by
    construction (set_weights rejects NaN/inf; every op keeps them within the cells' bounds), so their
    check is skipped; the input is checked. ``where`` and ``x_name`` name the callable and the input in
    error messages (``AnalogTile.backward: d must ...``). ``op_counts``: the tile's operation counters
    (None: not counting), which count the MVMs of every bound-management round, their DAC and ADC
    conversions and the digital operations of noise and bound management
    (:func:`xbarsim.tile.op_counts.count_read`).
    """
    rounds: Optional[list[int]] = None if op_counts is None else []
    out = _mvm.analog_mvm(x, weight, io, transpose, seed=seed, call=int(counter), nm_state=nm_state, where=where,
                          x_name=x_name, weight_is_finite=True, rounds=rounds)
    counter.add_(1)
    if rounds is not None:
        _op_counts.count_read(op_counts, io, transpose, rounds, *_op_counts.read_lines(weight.shape, transpose))
    return out


def check_tile_shape(where: str, out_size: object, in_size: object) -> None:
    for name, value in (("out_size", out_size), ("in_size", in_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive int; got {value!r}")


class Tile(torch.nn.Module, metaclass=abc.ABCMeta):
    """Base of the tile runtimes: state, reads and checkpoint entries shared by every algorithm.

    Args:
        out_size: number of output lines (rows of W).
        in_size: number of input lines (columns of W).
        config: the tile configuration.
        seed: seed of every random draw of this runtime (Philox key), in [0, 2**64).
        device, dtype: where and in which precision the state lives (float32 or float64).

    Attributes:
        weight: the visible weight ``[out_size, in_size]`` that reads see (a buffer; do not write it:
            use :meth:`set_weights`).
        rng_counter: the RNG call counter (0-dim int64, always in host memory so that reading it never
            synchronises a GPU).
        nm_running_max: running maxima of "average_abs_max" noise management ``[2]`` (forward,
            backward); negative means "not initialised yet" (the first vector sets it).
        op_counts: the operation counters (int64 ``[len(OP_COUNT_NAMES)]`` in host memory, named by
            :data:`xbarsim.tile.op_counts.OP_COUNT_NAMES`) when ``config.count_ops`` is on, else None
            (no state-dict entry).

    Shape:
        forward: ``x[..., in_size] -> y[..., out_size]``; backward: ``d[..., out_size] -> z[..., in_size]``.
    """

    weight: torch.Tensor
    rng_counter: torch.Tensor
    nm_running_max: torch.Tensor
    op_counts: Optional[torch.Tensor]

    def __init__(self, out_size: int, in_size: int, config: TileConfig, seed: int = 0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        name = type(self).__name__
        check_tile_shape(name, out_size, in_size)
        if not isinstance(config, TileConfig):
            raise TypeError(f"{name}: config must be a TileConfig; got {type(config).__name__}")
        check_seed(name, seed)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name}: dtype must be torch.float32 or torch.float64; got {dtype}")
        device = _checks.check_device(name, "device", device)
        self.out_size = out_size
        self.in_size = in_size
        self.config = config
        self.seed = seed
        self.register_buffer("weight", torch.zeros(out_size, in_size, device=device, dtype=dtype))
        self.register_buffer("rng_counter", torch.zeros((), dtype=torch.int64))
        self.register_buffer("nm_running_max", torch.full((2,), -1.0, device=device, dtype=dtype))
        self.register_buffer("op_counts", _op_counts.new_op_counts() if config.count_ops else None)
        self._pulse_baseline: Optional[list[torch.Tensor]] = None  # set by xbarsim.cost.counting

    # --- RNG call counter -------------------------------------------------------------------------
    def next_call(self) -> int:
        """Consume one value of the RNG call counter (one per random op) and return it."""
        call = int(self.rng_counter)
        self.rng_counter.add_(1)
        return call

    def _apply(self, fn, recurse=True):
        # .to(), .cuda(), .double(), ...: every tensor follows except the call counter and the operation
        # counters, which stay int64 in host memory (read or added to on every op; on a GPU that would
        # synchronise the host).
        counter, ops = self.rng_counter, self.op_counts
        out = super()._apply(fn, recurse)
        self._buffers["rng_counter"] = counter
        self._buffers["op_counts"] = ops
        return out

    # --- reads (analog-tile.md §1) -----------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog forward ``y = W x`` through the forward IOConfig (analog-tile.md §1.3)."""
        return counted_read(self.config.forward, x, self.weight, seed=self.seed, counter=self.rng_counter,
                            nm_state=self.nm_running_max[0:1], transpose=False,
                            where=f"{type(self).__name__}.forward", op_counts=self.op_counts)

    def backward(self, d: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog backward ``z = Wᵀ d`` through the backward IOConfig, bound management off (§1.4)."""
        return counted_read(self.config.backward.for_backward(), d, self.weight, seed=self.seed,
                            counter=self.rng_counter, nm_state=self.nm_running_max[1:2], transpose=True,
                            where=f"{type(self).__name__}.backward", x_name="d", op_counts=self.op_counts)

    # --- weights -------------------------------------------------------------------------------------
    def get_weights(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(weight, None)``: a copy of the visible weight ``[out_size, in_size]``; a tile has no bias.

        Every ``get_weights`` of xbarsim (tiles and layers) returns ``(weight, bias)``.
        """
        return self.weight.detach().clone(), None

    def set_weights(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> None:
        """Program the weight ``[out_size, in_size]`` (finite; clipped to the cells' bounds).

        ``bias`` must be None (a tile has no bias; layers keep theirs). Every ``set_weights`` of
        xbarsim takes ``(weight, bias=None)``.
        """
        where = f"{type(self).__name__}.set_weights"
        if bias is not None:
            raise ValueError(f"{where}: bias must be None (a tile has no bias); got {type(bias).__name__}")
        self.check_weights(weight, where)
        with torch.no_grad():
            self._program(weight.detach())

    def check_weights(self, weight: Any, where: str) -> None:
        """TypeError/ValueError unless ``weight`` is a finite floating-point tensor ``[out_size, in_size]``
        on a cpu or cuda device (a meta tensor has no values to check)."""
        _checks.check_weights(where, "weight", weight, (("out_size", self.out_size), ("in_size", self.in_size)))

    @abc.abstractmethod
    def _program(self, weight: torch.Tensor) -> None:
        """Write a checked weight into the physical tiles and refresh ``weight``."""

    # --- update and device processes -------------------------------------------------------------------
    @abc.abstractmethod
    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        """Apply the mini-batch ``(x[..., in_size], d[..., out_size])`` with learning rate ``lr``."""

    @abc.abstractmethod
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Decay the weights towards the cells' reset bias (analog-tile.md §3.5)."""

    @abc.abstractmethod
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """Add the device's diffusion noise to the weights (analog-tile.md §3.5)."""

    @abc.abstractmethod
    def reset_columns(self, columns: Any = None) -> None:
        """Reset the weights of the selected input lines (analog-tile.md §3.5)."""

    def signal_warm_start(self) -> bool:
        """Raise the plateau signal of the warm start; False if this runtime has none."""
        return False

    # --- operation counters (xbarsim.tile.op_counts) ------------------------------------------------------
    @property
    def counting(self) -> bool:
        """True while the runtime counts its operations (``op_counts`` is a tensor)."""
        return self.op_counts is not None

    def pulse_sources(self) -> list[tuple[Any, str]]:
        """The physical tiles whose pulse counters belong to this runtime, each with its role:
        ``"gradient"`` (gradient pulses) or ``"transfer"`` (transfer writes). Default: none."""
        return []

    def digital_storage(self) -> dict[str, int]:
        """Digitally stored elements by kind: ``vectors`` (one x and one d vector, ``in + out``: the
        paper's "2D"); runtimes add their buffers (H, χ, choppers, batch buffers).

        Spec: hardware-cost.md §1.3, §4 (Table 6; the paper writes 2n for in + out).
        """
        return {"vectors": self.in_size + self.out_size}

    # --- checkpoints -------------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        """Host-side state of the algorithm (counters, pointers) for the checkpoint; runtimes extend it."""
        return {}

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`algorithm_state` (called by ``load_state_dict``)."""

    def get_extra_state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "seed": self.seed, "shape": (self.out_size, self.in_size),
                "algorithm": self.algorithm_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        name = type(self).__name__
        shape = tuple(state["shape"])
        if shape != (self.out_size, self.in_size):
            raise ValueError(f"{name}.load_state_dict: checkpoint tile shape {shape} does not match "
                             f"this tile's {(self.out_size, self.in_size)}")
        if TileConfig.from_dict(state["config"]) != self.config:
            raise ValueError(f"{name}.load_state_dict: checkpoint config differs from this tile's config")
        self.seed = check_seed(f"{name}.load_state_dict", int(state["seed"]))
        self.load_algorithm_state(state.get("algorithm", {}))

    def extra_repr(self) -> str:
        return f"out_size={self.out_size}, in_size={self.in_size}, seed={self.seed}"
