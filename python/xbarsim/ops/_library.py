"""torch.library registrations of xbarsim's ops (namespace ``xbarsim::``).

Two kinds of ops live here:

* **Tensor ops** — ``xbarsim::analog_mvm`` and ``xbarsim::pulsed_update_``: functional wrappers of
  :func:`xbarsim.ops.mvm.analog_mvm` and :func:`xbarsim.ops.update.pulsed_update`. Randomness enters
  as explicit ``seed``/``call`` integers and configs cross the schema packed as JSON strings
  (:func:`pack_config`), so the ops are replayable and compose with ``torch.compile``.
* **Layer ops** — ``xbarsim::layer_forward_`` and ``xbarsim::layer_backward_``: the analog reads of a
  whole layer (every block of its mapping grid) inside the layers' autograd function
  (``xbarsim.nn``). They are state-honest: every tensor they read is an argument, and every tensor
  they write is a *declared mutated* argument — the blocks' RNG call counters (0-dim int64), their
  noise-management running maxima and, for the backward, the layer's record counter, which counts
  the ``(x, d)`` batches appended to the layer's record buffer for the optimizer. So the compiler
  neither reorders nor drops them, and compiled graphs are reused across steps (counters are
  tensors, never guarded on). The static part of a layer (its configs, mapping, seeds, record
  buffer) is reached through an integer *handle*, constant for the layer's lifetime. Objects
  registered here implement ``_forward_op(x, weights, counters, nm_states, log)`` and
  ``_backward_op(d, x, weights, counters, nm_states, record_count, need_grad_input, copy_record)``, which must
  read and write state only through those arguments; this module imports nothing above ``ops``.

Every op has a fake (meta) implementation returning empty tensors of the right shape, dtype and
device, and is checked with ``torch.library.opcheck`` in the tests. The layer ops mutate their
inputs, so they carry no registered autograd formula: ``xbarsim.nn`` wraps them in an
``autograd.Function`` whose backward calls ``layer_backward_``.

Spec: STYLE.md §3 "Torch custom ops"; analog-tile.md §1 (analog_mvm).
"""
from __future__ import annotations

import functools
import itertools
import json
import weakref
from typing import Any, Optional

import torch

from ..config._fields import ConfigBase

__all__ = ["pack_config", "unpack_config", "seed_to_int64", "int64_to_seed", "register_layer",
           "lookup_layer", "analog_mvm", "pulsed_update_", "layer_forward_", "layer_backward_"]

# --- packing of values that cross the op schema ----------------------------------------------------


def pack_config(config: ConfigBase) -> str:
    """A config as a canonical JSON string (from its dataclass fields via ``to_dict``)."""
    if not isinstance(config, ConfigBase):
        raise TypeError(f"pack_config: config must be an xbarsim config; got {type(config).__name__}")
    return json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=512)
def unpack_config(packed: str) -> ConfigBase:
    """Inverse of :func:`pack_config` (cached: frozen configs are immutable, so sharing is safe)."""
    return ConfigBase.from_dict(json.loads(packed))  # type: ignore[return-value]


def seed_to_int64(seed: int) -> int:
    """Map a seed in ``[0, 2**64)`` onto the schema's signed 64-bit ``int`` (two's complement)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed_to_int64: seed must be an int in [0, 2**64); got {seed!r}")
    return seed - 2**64 if seed >= 2**63 else seed


def int64_to_seed(value: int) -> int:
    """Inverse of :func:`seed_to_int64`."""
    return value + 2**64 if value < 0 else value


# --- tensor ops ------------------------------------------------------------------------------------


@torch.library.custom_op("xbarsim::analog_mvm", mutates_args=("nm_state",))
def analog_mvm(x: torch.Tensor, weight: torch.Tensor, io: str, transpose: bool, seed: int, call: int,
               nm_state: Optional[torch.Tensor], alpha: float = 1.0) -> torch.Tensor:
    """``xbarsim::analog_mvm``: :func:`xbarsim.ops.mvm.analog_mvm` with a packed IOConfig.

    ``io`` is :func:`pack_config` of an :class:`~xbarsim.IOConfig`; ``seed`` is
    :func:`seed_to_int64` of the tile seed; ``nm_state`` (the running maximum of
    ``average_abs_max`` noise management) is updated in place.
    """
    from . import mvm

    return mvm.analog_mvm(x, weight, unpack_config(io), transpose, seed=int64_to_seed(seed), call=call,
                          nm_state=nm_state, alpha=alpha)


@analog_mvm.register_fake
def _analog_mvm_fake(x, weight, io, transpose, seed, call, nm_state, alpha=1.0):
    out = weight.shape[1] if transpose else weight.shape[0]
    return x.new_empty((*x.shape[:-1], out))


@torch.library.custom_op("xbarsim::pulsed_update_", mutates_args=("weight", "persistent", "counters"))
def pulsed_update_(weight: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float, update: str, device_model: str,
                   cells: list[torch.Tensor], seed: int, call: int, persistent: Optional[torch.Tensor],
                   counters: Optional[torch.Tensor], piecewise_up: Optional[torch.Tensor],
                   piecewise_down: Optional[torch.Tensor]) -> None:
    """``xbarsim::pulsed_update_``: :func:`xbarsim.ops.update.pulsed_update` in place on ``weight``.

    ``update`` and ``device_model`` are :func:`pack_config` of the UpdateConfig and the device model;
    ``cells`` are the per-cell tensors in the order of ``device_cell_fields(device)`` (a tile's
    ``device_state.cells().values()``); ``piecewise_up``/``_down`` the PiecewiseStep tables or None. Writes
    ``weight`` (and ``persistent`` with write noise, ``counters`` with ``count_pulses``).
    """
    from . import update as _update

    dev = unpack_config(device_model)
    names = _update.device_cell_fields(dev)
    if len(cells) != len(names):
        raise ValueError(f"xbarsim::pulsed_update_: cells must hold the {len(names)} per-cell tensors "
                         f"{list(names)} of {type(dev).__name__}; got {len(cells)}")
    _update.pulsed_update(weight, x, d, lr, update=unpack_config(update), device_model=dev,
                          cells=dict(zip(names, cells)),
                          seed=int64_to_seed(seed), call=call, persistent=persistent, counters=counters,
                          piecewise=None if piecewise_up is None else (piecewise_up, piecewise_down),
                          where="xbarsim::pulsed_update_")


@pulsed_update_.register_fake
def _pulsed_update_fake(weight, x, d, lr, update, device_model, cells, seed, call, persistent, counters, piecewise_up,
                        piecewise_down):
    return None


# --- layer ops -------------------------------------------------------------------------------------

_LAYERS: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
_NEXT_HANDLE = itertools.count(1)


def register_layer(layer: Any) -> int:
    """Register ``layer`` for the layer ops and return its new handle (held weakly)."""
    handle = next(_NEXT_HANDLE)
    _LAYERS[handle] = layer
    return handle


def lookup_layer(handle: int) -> Any:
    layer = _LAYERS.get(handle)
    if layer is None:
        raise RuntimeError(f"xbarsim::layer op: no live analog layer with handle {handle}")
    return layer


@torch.library.custom_op("xbarsim::layer_forward_", mutates_args=("counters", "nm_states"))
def layer_forward_(x: torch.Tensor, weights: list[torch.Tensor], counters: list[torch.Tensor],
                   nm_states: list[torch.Tensor], handle: int, out_size: int, log: int) -> torch.Tensor:
    """Analog forward of layer ``handle`` on ``x[m, in_size] -> y[m, out_size]``.

    ``weights``, ``counters`` and ``nm_states`` are the visible weight, the RNG call counter and the
    noise-management running maxima of every block of the layer (read; counters and maxima written).
    ``log``: what to remember of the counter values used (0: nothing, 1: this forward, 2: this forward
    in place of earlier no-grad ones), so that a recomputation of this forward inside a backward pass
    (activation checkpointing) reproduces it instead of drawing new noise.
    """
    return lookup_layer(handle)._forward_op(x, weights, counters, nm_states, log)


@layer_forward_.register_fake
def _layer_forward_fake(x, weights, counters, nm_states, handle, out_size, log):
    return x.new_empty((x.shape[0], out_size))


@torch.library.custom_op("xbarsim::layer_backward_", mutates_args=("counters", "nm_states", "record_count"))
def layer_backward_(d: torch.Tensor, x: torch.Tensor, weights: list[torch.Tensor], counters: list[torch.Tensor],
                    nm_states: list[torch.Tensor], record_count: torch.Tensor, handle: int,
                    need_grad_input: bool, copy_record: bool) -> torch.Tensor:
    """Analog backward of layer ``handle``: the input gradient ``[m, in_size]`` (empty when
    ``need_grad_input`` is false: no backward read is made then); appends ``(x, d)`` to the layer's
    record buffer (copies with ``copy_record``: inside a compiled graph the inputs' memory is reused
    after the op returns) and increments ``record_count``."""
    return lookup_layer(handle)._backward_op(d, x, weights, counters, nm_states, record_count, need_grad_input,
                                             copy_record)


@layer_backward_.register_fake
def _layer_backward_fake(d, x, weights, counters, nm_states, record_count, handle, need_grad_input, copy_record):
    return x.new_empty(x.shape) if need_grad_input else x.new_empty((0,))
