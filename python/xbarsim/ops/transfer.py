"""Multi-tile ops: fused transfers between tiles and the reduction of the visible weight.

``transfer_`` runs every transfer event of one point of a step, in order, in one native call (one
CUDA launch): for each event it reads one line of the source tile with a one-hot input through the
transfer read path, turns the read into the written vector (``−y`` for residual learning and TT-v1,
or the thresholded digital buffer of TT-v2 / chopped TT-v2) and applies it to the same line of the
target tile as a pulsed rank-1 update. Event e draws exactly what
``analog_mvm(one_hot, W_source, io, seed=source seed, call=read_call)`` followed by
``pulsed_update(W_target, x_w, d_w, lr, seed=target seed, call=write_call)`` would draw, so the op equals
that sequence of single-vector ops (bit for bit when the transfer read has no input noise).

``reduce_tiles_`` computes ``W̄ = Σ_n γ_n W⁽ⁿ⁾`` in one pass, summing in tile order.

Spec: algorithms.md §1, §3.3, §3.5, §8.3, §8.4; analog-tile.md §1.9, §2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import torch

from .. import _core
from ..config.devices import PulsedDevice
from ..config.io import IOConfig
from ..config.update import UpdateConfig
from . import mvm as _mvm
from . import update as _update
from ._views import cuda_stream, view

__all__ = ["TransferTile", "PreparedTiles", "transfer_", "reduce_tiles_", "chi_accumulate_", "random_line", "uniform", "fill_normal_",
           "fill_uniform_", "EVENT_COLUMNS", "RATE_COLUMNS", "KINDS"]

#: Columns of the int64 event table: source, target, line, read call, write call, buffer index (−1: none).
EVENT_COLUMNS = ("source", "target", "line", "read_call", "write_call", "buffer")
#: Columns of the float64 rate table: write learning rate, buffer gain, buffer divisor.
RATE_COLUMNS = ("write_lr", "gain", "divisor")
KINDS = {"direct": 0, "buffered": 1, "chopped": 2}
MAX_TILES = 16


@dataclass(frozen=True)
class TransferTile:
    """The tensors and constants of one tile that transfers read or write (a tile's state, by reference).

    Attributes:
        weight: apparent weights ``[out, in]`` (what reads see).
        persistent: persistent weights (write-noise devices) or None.
        counters: int64 pulse counters (incremented when ``update.count_pulses``) or None.
        cells: the per-cell device tensors by name.
        piecewise: PiecewiseStep tables or None.
        device_model: the tile's resistive device model.
        seed: the tile's Philox key.
    """

    weight: torch.Tensor
    persistent: Optional[torch.Tensor]
    counters: Optional[torch.Tensor]
    cells: Mapping[str, torch.Tensor]
    piecewise: Optional[tuple[torch.Tensor, torch.Tensor]]
    device_model: PulsedDevice
    seed: int


def _opt_view(t: Optional[torch.Tensor]):
    return None if t is None else view(t)


def _read_path(io: IOConfig) -> IOConfig:
    """The read path the kernel runs: a perfect read becomes the identity stages (no DAC/ADC steps,
    no bounds, no noise, no management), so ``y = out_scale·W e_c`` exactly as analog_mvm's perfect mode."""
    if not io.is_perfect:
        return io
    return IOConfig(inp_bound=0.0, inp_res=-1.0, out_bound=0.0, out_res=-1.0, out_noise=0.0, out_scale=io.out_scale,
                    noise_management="none", bound_management="none")


class PreparedTiles:
    """The native arguments of a set of tiles (views, packed device configs), built once and reused.

    Building views costs more than a small transfer; a compound keeps one of these and rebuilds it
    when any of its tensors changes (``MultiTile.prepared_tiles``).
    """

    __slots__ = ("n", "weights", "persistents", "counters", "cells", "pw_up", "pw_down", "devices",
                 "granularities", "seeds", "device", "dtype")

    def __init__(self, tiles: Sequence[TransferTile], where: str = "transfer_") -> None:
        if not 1 <= len(tiles) <= MAX_TILES:
            raise ValueError(f"{where}: tiles must hold 1 to {MAX_TILES} tiles; got {len(tiles)}")
        self.n = len(tiles)
        self.weights = [view(t.weight) for t in tiles]
        self.persistents = [_opt_view(t.persistent) for t in tiles]
        self.counters = [_opt_view(t.counters) for t in tiles]
        self.cells = [_update.cell_views(t.cells, _update.device_cell_fields(t.device_model), where) for t in tiles]
        self.pw_up = [None if t.piecewise is None else view(t.piecewise[0]) for t in tiles]
        self.pw_down = [None if t.piecewise is None else view(t.piecewise[1]) for t in tiles]
        self.devices = [_update.pack_device(t.device_model) for t in tiles]
        self.granularities = [float(t.device_model.granularity()) for t in tiles]
        self.seeds = [int(t.seed) for t in tiles]
        self.device = tiles[0].weight.device
        self.dtype = tiles[0].weight.dtype


@torch.no_grad()
def transfer_(tiles: Sequence[TransferTile] | PreparedTiles, events: torch.Tensor, rates: torch.Tensor, *,
              io: IOConfig, update: UpdateConfig, transpose: bool = False, kind: str = "direct",
              buffers: Optional[torch.Tensor] = None, chop_in: Optional[torch.Tensor] = None,
              chop_out: Optional[torch.Tensor] = None, buffer_bl: int = 1, momentum: float = 0.0,
              forget_buffer: bool = True, no_buffer: bool = False, where: str = "transfer_") -> None:
    """Run the transfer events of one call, in order, in place on the tiles (and buffers).

    Args:
        tiles: the tiles of the compound (xbarsim order), at most 16, same shape, dtype and device, or
            their :class:`PreparedTiles`.
        events: int64 ``[E, 6]`` in host memory, columns :data:`EVENT_COLUMNS`.
        rates: float64 ``[E, 3]`` in host memory, columns :data:`RATE_COLUMNS`.
        io: the transfer read path (noise and bound management must be "none").
        update: pulsed-update parameters of the writes.
        transpose: read output lines (one-hot backward read, write ``x = −z, d = e_r``) instead of
            input lines (one-hot forward read, write ``x = e_c, d = −y``). Default False.
        kind: ``"direct"`` (write ``−y``), ``"buffered"`` (TT-v2) or ``"chopped"`` (c-TTv2).
        buffers: ``[n, out, in]`` digital buffers H (buffered kinds), updated in place.
        chop_in, chop_out: chopper signs ``[in]``, ``[out]`` (``"chopped"``).
        buffer_bl: clamp of the buffered pulse counts (BL_t).
        momentum, forget_buffer, no_buffer: buffer rules (algorithms.md §8.3, §8.4).
        where: the callable named in error messages.

    Raises:
        TypeError, ValueError: inconsistent tiles, tables or configs; nothing is changed.

    Spec: algorithms.md §3.3, §3.5, §8.3, §8.4.
    """
    if not isinstance(io, IOConfig):
        raise TypeError(f"{where}: io must be an IOConfig; got {type(io).__name__}")
    if not isinstance(update, UpdateConfig):
        raise TypeError(f"{where}: update must be an UpdateConfig; got {type(update).__name__}")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {tuple(KINDS)}; got {kind!r}")
    if not io.is_perfect and (io.noise_management != "none" or io.bound_management != "none"):
        raise ValueError(f"{where}: io must have noise_management and bound_management 'none'; "
                         f"got {io.noise_management!r}, {io.bound_management!r}")
    prepared = tiles if isinstance(tiles, PreparedTiles) else PreparedTiles(tiles, where)
    for name, t, dtype, cols in (("events", events, torch.int64, len(EVENT_COLUMNS)),
                                 ("rates", rates, torch.float64, len(RATE_COLUMNS))):
        if not isinstance(t, torch.Tensor) or t.dtype != dtype or t.dim() != 2 or t.shape[1] != cols:
            raise ValueError(f"{where}: {name} must be a {dtype} tensor of shape [E, {cols}]")
        if t.device.type != "cpu":
            raise ValueError(f"{where}: {name} must be in host memory; got {t.device}")
    if events.shape[0] != rates.shape[0]:
        raise ValueError(f"{where}: events and rates must have the same number of rows; "
                         f"got {events.shape[0]} and {rates.shape[0]}")
    if events.shape[0] == 0:
        return
    io = _read_path(io)
    if not bool(torch.isfinite(rates).all()):
        raise ValueError(f"{where}: rates must be finite")
    events = events.contiguous()
    rates = rates.contiguous()
    ev_v, rt_v, upd = view(events), view(rates), _update.pack_update(update)
    nbytes = _core.transfer_scratch_bytes(prepared.weights, prepared.granularities, ev_v, rt_v, upd)
    scratch = torch.empty(nbytes, dtype=torch.uint8, device=prepared.device)
    counters = prepared.counters if update.count_pulses else [None] * prepared.n
    stream = cuda_stream(scratch)
    _core.transfer(prepared.weights, prepared.persistents, counters, prepared.cells, prepared.pw_up,
                   prepared.pw_down, prepared.devices, prepared.granularities, prepared.seeds, ev_v, rt_v,
                   view(scratch), _mvm.io_params(io, bool(transpose)), float(io.out_scale), upd,
                   bool(transpose), KINDS[kind], _opt_view(buffers), _opt_view(chop_in), _opt_view(chop_out),
                   int(buffer_bl), float(momentum), bool(forget_buffer), bool(no_buffer), stream)


@torch.no_grad()
def reduce_tiles_(out: torch.Tensor, weights: Sequence[torch.Tensor], gammas: Sequence[float], *,
                  views: Optional[tuple] = None) -> torch.Tensor:
    """``out = Σ_n gammas[n]·weights[n]`` (summed in tile order, one pass; algorithms.md §1).

    ``views``: ``(view(out), [view(w) for w in weights])`` made earlier by the caller for the same
    tensors (skips rebuilding them).
    """
    if len(weights) != len(gammas) or not 1 <= len(weights) <= MAX_TILES:
        raise ValueError(f"reduce_tiles_: weights and gammas must have the same length in [1, {MAX_TILES}]; "
                         f"got {len(weights)} and {len(gammas)}")
    for g in gammas:
        if not math.isfinite(g):
            raise ValueError(f"reduce_tiles_: gammas must be finite; got {list(gammas)!r}")
    out_v, w_v = views if views is not None else (view(out), [view(w) for w in weights])
    _core.tile_reduce(out_v, w_v, [float(g) for g in gammas], cuda_stream(out))
    return out


@torch.no_grad()
def chi_accumulate_(chi: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float) -> torch.Tensor:
    """``chi += lr·dᵀx`` with the samples added in order (bit-identical on CPU and GPU; algorithms.md §8.6).

    Args:
        chi: ``[out, in]`` accumulator (updated in place).
        x: ``[m, in]``; d: ``[m, out]``, the dtype and device of ``chi``, contiguous.
    """
    _core.chi_accumulate(view(chi), view(x.contiguous()), view(d.contiguous()), float(lr), cuda_stream(chi))
    return chi


def random_line(seed: int, call: int, index: int, n_lines: int) -> int:
    """A uniformly random line in ``[0, n_lines)`` from ``uniform_at(seed, kTransfer, call, index)``."""
    return int(_core.random_line(int(seed), int(call), int(index), int(n_lines)))


def uniform(seed: int, call: int, index: int) -> float:
    """``uniform_at(seed, kTransfer, call, index)`` on [0, 1): host-side draws of the algorithms."""
    return float(_core.transfer_uniform(int(seed), int(call), int(index)))


@torch.no_grad()
def fill_uniform_(out: torch.Tensor, seed: int, call: int) -> torch.Tensor:
    """``out[i] = uniform_at(seed, kTransfer, call, i)`` (float32 tensor, any device)."""
    _core.transfer_fill(view(out), int(seed), int(call), "uniform", cuda_stream(out))
    return out


@torch.no_grad()
def fill_normal_(out: torch.Tensor, seed: int, call: int) -> torch.Tensor:
    """``out[i] = normal_at(seed, kTransfer, call, i)`` (float32 tensor, any device)."""
    _core.transfer_fill(view(out), int(seed), int(call), "normal", cuda_stream(out))
    return out
