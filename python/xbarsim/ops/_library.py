"""torch.library registrations of xbarsim's ops (namespace ``xbarsim::``).

Two kinds of ops live here:

* **Tensor ops** — ``xbarsim::analog_mvm`` and ``xbarsim::pulsed_update_``: functional wrappers of
  :func:`xbarsim.ops.mvm.analog_mvm` and :func:`xbarsim.ops.update.pulsed_update`. Randomness enters
  as explicit ``seed``/``call`` integers and configs cross the schema packed as JSON strings
  (:func:`pack_config`), so the ops are replayable and compose with ``torch.compile``.
* **Layer ops** — ``xbarsim::layer_forward`` and ``xbarsim::layer_backward``: the autograd path of
  the analog layers (``xbarsim.nn``). A layer is stateful (tiles, RNG counters, the recorded
  batch for the optimizer), which a functional op cannot express without recompiling on every
  counter value; the layer ops therefore take an integer *handle* of a registered layer and run
  the layer's analog forward/backward inside the op, where the compiler cannot see (or break
  on) the state changes. The handle is constant for a layer's lifetime, so compiled graphs are
  reused across steps. Objects registered here must implement ``_analog_forward(x)`` and
  ``_analog_backward(d, x, need_grad_input)``; this module imports nothing above ``ops``.

Every op has a fake (meta) implementation returning empty tensors of the right shape, dtype and
device, and is checked with ``torch.library.opcheck`` in the tests.

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
           "lookup_layer", "analog_mvm", "pulsed_update_", "layer_forward", "layer_backward"]

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
def pulsed_update_(weight: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float, update: str, device: str,
                   cells: list[torch.Tensor], seed: int, call: int, persistent: Optional[torch.Tensor],
                   counters: Optional[torch.Tensor], piecewise_up: Optional[torch.Tensor],
                   piecewise_down: Optional[torch.Tensor]) -> None:
    """``xbarsim::pulsed_update_``: :func:`xbarsim.ops.update.pulsed_update` in place on ``weight``.

    ``update`` and ``device`` are :func:`pack_config` of the UpdateConfig and the device model;
    ``cells`` are the per-cell tensors in the order of ``device_cell_fields(device)`` (a tile's
    ``device_state.cells().values()``); ``piecewise_up``/``_down`` the PiecewiseStep tables or None. Writes
    ``weight`` (and ``persistent`` with write noise, ``counters`` with ``count_pulses``).
    """
    from . import update as _update

    dev = unpack_config(device)
    names = _update.device_cell_fields(dev)
    if len(cells) != len(names):
        raise ValueError(f"xbarsim::pulsed_update_: cells must hold the {len(names)} per-cell tensors "
                         f"{list(names)} of {type(dev).__name__}; got {len(cells)}")
    _update.pulsed_update(weight, x, d, lr, update=unpack_config(update), device=dev, cells=dict(zip(names, cells)),
                          seed=int64_to_seed(seed), call=call, persistent=persistent, counters=counters,
                          piecewise=None if piecewise_up is None else (piecewise_up, piecewise_down),
                          where="xbarsim::pulsed_update_")


@pulsed_update_.register_fake
def _pulsed_update_fake(weight, x, d, lr, update, device, cells, seed, call, persistent, counters, piecewise_up,
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


@torch.library.custom_op("xbarsim::layer_forward", mutates_args=())
def layer_forward(x: torch.Tensor, ctx: torch.Tensor, handle: int, out_size: int) -> torch.Tensor:
    """Analog forward of the registered layer ``handle`` on ``x[m, in_size] -> y[m, out_size]``.

    ``ctx`` is the layer's placeholder parameter: taking it as an input makes autograd call the
    backward (and so record the update batch) even when ``x`` does not require a gradient.
    """
    return lookup_layer(handle)._analog_forward(x)


@layer_forward.register_fake
def _layer_forward_fake(x, ctx, handle, out_size):
    return x.new_empty((x.shape[0], out_size))


@torch.library.custom_op("xbarsim::layer_backward", mutates_args=())
def layer_backward(d: torch.Tensor, x: torch.Tensor, ctx: torch.Tensor, handle: int,
                   need_grad_input: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Analog backward of layer ``handle``: ``(grad_input, grad_ctx)``; records ``(x, d)``.

    ``grad_input`` is empty when ``need_grad_input`` is false (no backward read is made then);
    ``grad_ctx`` is 1, so the placeholder's ``.grad`` counts the batches recorded since the last
    ``zero_grad``.
    """
    return lookup_layer(handle)._analog_backward(d, x, need_grad_input)


@layer_backward.register_fake
def _layer_backward_fake(d, x, ctx, handle, need_grad_input):
    grad_input = x.new_empty(x.shape) if need_grad_input else x.new_empty((0,))
    return grad_input, ctx.new_empty(())


def _layer_setup_context(ctx, inputs, output):
    x, anchor, handle, _out_size = inputs
    ctx.save_for_backward(x, anchor)
    ctx.handle = handle


def _layer_backward_formula(ctx, grad_output):
    x, anchor = ctx.saved_tensors
    need_grad_input = bool(ctx.needs_input_grad[0])
    grad_input, grad_anchor = layer_backward(grad_output, x, anchor, ctx.handle, need_grad_input)
    return (grad_input if need_grad_input else None), grad_anchor, None, None


layer_forward.register_autograd(_layer_backward_formula, setup_context=_layer_setup_context)
