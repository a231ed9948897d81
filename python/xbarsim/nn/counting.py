"""Operation counts of a model: read its tile runtimes' counters, or count inside a context.

A tile runtime counts when its config says ``TileConfig(count_ops=True)`` (the counts are then part of
its state and survive checkpoints and resume) or while :func:`counting` holds it (temporary counts,
not saved). :func:`counts` reads every counting runtime of a model, per analog layer and in total, as
exact integers. ``xbarsim.cost`` re-exports these functions and turns the counts into per-sample
``OpCounts`` (``xbarsim.cost.measured_op_counts``); the training loop writes them per epoch.

What is counted and the formulas of the digital operations: :mod:`xbarsim.tile.op_counts`. Pulses and
coincidences come from the physical tiles' native pulse counters, split by the tile's role: the
gradient tile's (``gradient_*``) and the tiles written by transfers (``transfer_*``).

Spec: hardware-cost.md §8 (counted mode); analog-tile.md §2.9 (pulse counters).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping, Optional

import torch

from ..algorithms import MultiTile
from ..ops.update import COUNTER_NAMES
from ..tile import Tile
from ..tile import op_counts as _op_counts
from .base import analog_layers

__all__ = ["counts", "counting", "Counting", "COUNT_KEYS", "STATE_KEYS", "MAX_KEYS", "diff_counts", "sum_counts",
           "counting_runtimes"]

#: Pulse entries of a count dict: the gradient tile's and the transfer-written tiles' native counters.
PULSE_KEYS = tuple(f"{role}_{name}" for role in ("gradient", "transfer") for name in COUNTER_NAMES)
#: Digital storage by kind (elements), and their sum.
STORAGE_KEYS = ("stored_vectors", "stored_buffer", "stored_choppers", "stored_chi", "stored_elements")
#: Shape entries: tile runtimes (blocks), tiles summed by one read of W̄ (γ ≠ 0), the layer's lines.
SHAPE_KEYS = ("blocks", "tiles_read", "out_size", "in_size")
#: Every entry of a count dict, in order.
COUNT_KEYS = _op_counts.OP_COUNT_NAMES + PULSE_KEYS + STORAGE_KEYS + SHAPE_KEYS
#: Entries that are maxima or states, not sums over time: a later count replaces them (diff_counts),
#: and over blocks or layers they combine by maximum (tiles_read, max_update_vectors) or by sum.
STATE_KEYS = frozenset(STORAGE_KEYS + SHAPE_KEYS) | _op_counts.MAX_COUNTS
MAX_KEYS = frozenset({"tiles_read", "max_update_vectors"})


def _is_physical_subtile(name: str, multi_prefixes: list[str]) -> bool:
    return any(name.startswith(p + "tiles.") for p in multi_prefixes)


def counting_runtimes(model: torch.nn.Module) -> list[tuple[str, Tile]]:
    """Every tile runtime of ``model`` (module name, runtime), physical tiles of multi-tile runtimes
    excluded (their runtime counts for them)."""
    found: list[tuple[str, Tile]] = []
    multi: list[str] = []
    for name, mod in model.named_modules():
        if not isinstance(mod, Tile) or _is_physical_subtile(name, multi):
            continue
        found.append((name, mod))
        if isinstance(mod, MultiTile):
            multi.append(name + "." if name else "")
    return found


def _runtime_counts(rt: Tile, pulses: Mapping[int, list[int]]) -> dict[str, int]:
    out = dict.fromkeys(COUNT_KEYS, 0)
    out.update(zip(_op_counts.OP_COUNT_NAMES, (int(v) for v in rt.op_counts.tolist())))  # type: ignore[union-attr]
    for k, (tile, role) in enumerate(rt.pulse_sources()):
        for name, value in zip(COUNTER_NAMES, pulses[id(tile)]):
            out[f"{role}_{name}"] += value
        if rt._pulse_baseline is not None:
            for name, value in zip(COUNTER_NAMES, rt._pulse_baseline[k].tolist()):
                out[f"{role}_{name}"] -= int(value)
    storage = rt.digital_storage()
    for kind, n in storage.items():
        out[f"stored_{kind}"] += int(n)
    out["stored_elements"] = sum(int(n) for n in storage.values())
    gammas = rt.gammas() if hasattr(rt, "gammas") else (1.0,)
    out.update(blocks=1, tiles_read=max(sum(1 for g in gammas if g != 0), 1), out_size=rt.out_size,
               in_size=rt.in_size)
    return out


def sum_counts(parts: list[dict[str, int]], *, shape: str = "max") -> dict[str, int]:
    """Combine count dicts (blocks of a layer, layers of a model): sums, maxima for :data:`MAX_KEYS`;
    ``out_size``/``in_size`` by ``shape`` ("max" or "sum")."""
    out = dict.fromkeys(COUNT_KEYS, 0)
    for part in parts:
        for key in COUNT_KEYS:
            v = int(part.get(key, 0))
            if key in MAX_KEYS or (shape == "max" and key in ("out_size", "in_size")):
                out[key] = max(out[key], v)
            else:
                out[key] += v
    return out


def counts(model: torch.nn.Module) -> dict[str, Any]:
    """The operation counts of every counting tile runtime of ``model``, per analog layer and in total.

    Returns ``{"layers": {name: {key: int}}, "total": {key: int}}`` with the keys of
    :data:`COUNT_KEYS`: the runtime counters (:data:`xbarsim.tile.op_counts.OP_COUNT_NAMES`), the
    pulse counters of the gradient and the transfer-written tiles (``gradient_input_pulses``, ...,
    ``transfer_pulse_slots``), the digital storage in elements (``stored_*``) and the shape
    (``blocks``, ``tiles_read``, ``out_size``, ``in_size``). A layer sums its blocks (mapping grid):
    its ``out_size``/``in_size`` are the layer's (the analog bias line included). A tile runtime that
    is not inside a layer is its own entry (its module name, ``"tile"`` for ``model`` itself).
    Counts since the runtime started counting: since construction with ``count_ops``, since entering
    :func:`counting` otherwise. Reading the native pulse counters synchronises a GPU once.

    Raises:
        ValueError: no tile runtime of ``model`` counts.

    Spec: hardware-cost.md §8.
    """
    runtimes = [(n, rt) for n, rt in counting_runtimes(model) if rt.op_counts is not None]
    if not runtimes:
        raise ValueError("counts: model must hold a counting tile runtime (TileConfig(count_ops=True) or "
                         "inside xbarsim.cost.counting(model)); none counts")
    sources = [tile for _, rt in runtimes for tile, _ in rt.pulse_sources()]
    values = torch.stack([t.pulse_counters.detach().to("cpu") for t in sources]).tolist() if sources else []
    pulses = {id(t): [int(v) for v in row] for t, row in zip(sources, values)}
    per_rt = {id(rt): _runtime_counts(rt, pulses) for _, rt in runtimes}
    layers: dict[str, dict[str, int]] = {}
    claimed: set[int] = set()
    for name, layer in analog_layers(model):
        blocks = [per_rt[id(b)] for b in layer.blocks if id(b) in per_rt]
        if not blocks:
            continue
        claimed.update(id(b) for b in layer.blocks)
        entry = sum_counts(blocks, shape="max")
        entry["out_size"] = int(layer.out_size)
        entry["in_size"] = int(layer.in_size) + int(bool(getattr(layer, "analog_bias", False)))
        layers[name or "layer"] = entry
    for name, rt in runtimes:
        if id(rt) not in claimed:
            layers[name or "tile"] = per_rt[id(rt)]
    return {"layers": layers, "total": sum_counts(list(layers.values()), shape="sum")}


def diff_counts(now: Mapping[str, Any], before: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """``now − before`` for the summed entries, ``now`` for the states and maxima; both are
    :func:`counts` results (``before`` None: ``now``). Layers missing in ``before`` count from 0."""
    if before is None:
        return {"layers": {k: dict(v) for k, v in now["layers"].items()}, "total": dict(now["total"])}

    def one(a: Mapping[str, int], b: Optional[Mapping[str, int]]) -> dict[str, int]:
        b = b or {}
        return {k: int(v) if k in STATE_KEYS else int(v) - int(b.get(k, 0)) for k, v in a.items()}

    return {"layers": {k: one(v, before["layers"].get(k)) for k, v in now["layers"].items()},
            "total": one(now["total"], before.get("total"))}


class Counting:
    """The counts of a :func:`counting` block: :meth:`counts` inside it (since entering) and after it
    (frozen at exit)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self._start: Optional[dict] = None
        self._final: Optional[dict] = None

    def counts(self) -> dict[str, Any]:
        """Counts since the block was entered, as :func:`counts` returns them."""
        if self._final is not None:
            return self._final
        return diff_counts(counts(self.model), self._start)


@contextlib.contextmanager
def counting(model: torch.nn.Module) -> Iterator[Counting]:
    """Count the operations of every tile runtime of ``model`` inside the block.

    Runtimes built with ``TileConfig(count_ops=True)`` keep counting as always (the block reports their
    counts since it was entered); the others get temporary counters (not in ``state_dict``: use
    ``count_ops`` for counts that must survive a checkpoint), which are dropped at exit. Examples::

        >>> with xbarsim.cost.counting(model) as c:
        ...     train_one_epoch(model)
        >>> c.counts()["total"]["forward_mvms"]

    Spec: hardware-cost.md §8.
    """
    started: list[Tile] = []
    for _, rt in counting_runtimes(model):
        if rt.op_counts is None:
            rt.register_buffer("op_counts", _op_counts.new_op_counts(), persistent=False)
            rt._pulse_baseline = [tile.pulse_counters.detach().clone() for tile, _ in rt.pulse_sources()]
            started.append(rt)
    session = Counting(model)
    try:
        session._start = counts(model)
        yield session
        session._final = diff_counts(counts(model), session._start)
    finally:
        for rt in started:
            rt._buffers["op_counts"] = None
            rt._non_persistent_buffers_set.discard("op_counts")
            rt._pulse_baseline = None
