"""DeviceState: the per-cell device parameters of a tile as buffers (saved, restored and moved
with the tile), drawn once at construction from the population seed.

Spec: analog-tile.md §3.2 ("all population parameters are tile state").
"""
from __future__ import annotations

import torch

from ..config.devices import PiecewiseStep, PulsedDevice
from ..ops import update as _update

__all__ = ["DeviceState"]


class DeviceState(torch.nn.Module):
    """Per-cell parameters of a device model: ``b_min``, ``b_max``, ``scale_up``, ``scale_down`` and
    the model's own arrays (``slope_up``/``slope_down`` for LinearStep and SoftBounds, ``reference``
    for SoftBoundsReference, ``gamma_up``/``gamma_down`` for PowStep), each ``[out_size, in_size]``.
    PiecewiseStep's tables are kept as non-persistent buffers ``piecewise_up``/``piecewise_down``
    (they are config, rebuilt on construction).
    """

    def __init__(self, device_model: PulsedDevice, out_size: int, in_size: int, *, seed: int,
                 dtype: torch.dtype, device: torch.device | str | None) -> None:
        super().__init__()
        self.names = _update.device_cell_fields(device_model)
        cells = _update.populate_device(device_model, out_size, in_size, seed=seed, dtype=dtype, device=device)
        for name, tensor in cells.items():
            self.register_buffer(name, tensor)
        self._views: tuple = ((), None)  # (key, native views of the cells): rebuilt when a buffer changed
        if isinstance(device_model, PiecewiseStep):
            for name in ("piecewise_up", "piecewise_down"):
                table = torch.tensor(getattr(device_model, name), dtype=dtype, device=device)
                self.register_buffer(name, table, persistent=False)

    def cells(self) -> dict[str, torch.Tensor]:
        """The per-cell tensors by name."""
        return {name: getattr(self, name) for name in self.names}

    def cell_views(self):
        """The native views of the per-cell tensors, built once and rebuilt only when a buffer was replaced
        or moved (``.to()``, ``load_state_dict(assign=True)``): a small tile's update would otherwise
        spend a noticeable part of its time building them."""
        key = tuple((id(t), t.data_ptr()) for t in self._buffers.values() if t is not None)
        if self._views[0] != key:
            self._views = (key, _update.cell_views(self.cells(), self.names, "DeviceState"))
        return self._views[1]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_views"] = ((), None)  # views are not copyable; rebuilt on use
        return state

    def piecewise(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The PiecewiseStep tables ``(up, down)``, or None for other device models."""
        if hasattr(self, "piecewise_up"):
            return self.piecewise_up, self.piecewise_down
        return None

    def extra_repr(self) -> str:
        return ", ".join(self.names)
