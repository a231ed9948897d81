"""Framework-neutral entry points: xbarsim's tensor ops on any DLPack tensor (NumPy, CuPy, JAX, ...).

Inputs are anything ``torch.from_dlpack`` accepts (objects with ``__dlpack__``, or legacy capsules);
they are wrapped without copying, so in-place state arguments (``nm_state``) are updated in the
caller's memory. Results are torch tensors, which export ``__dlpack__``: hand them to
``numpy.from_dlpack``, ``cupy.from_dlpack`` or ``jax.dlpack.from_dlpack``. Configs are the xbarsim
dataclasses. See docs/interop.md for a NumPy example.

Spec: analog-tile.md §1 (analog_mvm).
"""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..config import IOConfig

__all__ = ["analog_mvm", "as_torch"]


def as_torch(array: Any, name: str = "array") -> torch.Tensor:
    """A torch view of a DLPack-capable ``array`` (no copy); torch tensors pass through."""
    if isinstance(array, torch.Tensor):
        return array
    if not hasattr(array, "__dlpack__") and type(array).__name__ != "PyCapsule":
        raise TypeError(f"xbarsim.ops.dlpack: {name} must support DLPack (__dlpack__); got {type(array).__name__}")
    try:
        return torch.from_dlpack(array)
    except (BufferError, RuntimeError, TypeError) as exc:
        raise TypeError(f"xbarsim.ops.dlpack: {name} cannot be imported through DLPack: {exc}") from None


def analog_mvm(x: Any, weight: Any, io: IOConfig, transpose: bool = False, *, seed: int = 0, call: int = 0,
               nm_state: Optional[Any] = None) -> torch.Tensor:
    """:func:`xbarsim.ops.mvm.analog_mvm` on DLPack inputs: ``y = W x`` (or ``Wᵀ x``) through ``io``.

    Args:
        x: input vectors ``[..., in]`` (``[..., out]`` with ``transpose``), DLPack-capable.
        weight: ``W[out, in]``, DLPack-capable, same device and dtype as ``x``.
        io: the read path.
        transpose: compute ``Wᵀ x`` (the backward read).
        seed, call: address of the random draws (same values, same result).
        nm_state: ``[1]`` running maximum of ``average_abs_max`` noise management, updated in place.

    Returns:
        A torch tensor (DLPack-capable) of shape ``[..., out]`` (``[..., in]`` with ``transpose``).
    """
    from . import mvm

    state = None if nm_state is None else as_torch(nm_state, "nm_state")
    return mvm.analog_mvm(as_torch(x, "x"), as_torch(weight, "weight"), io, transpose, seed=seed, call=call,
                          nm_state=state)
