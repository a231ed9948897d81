"""TileConfig: everything that defines one analog tile (read paths, update, device, algorithm).

Spec: analog-tile.md §1 (forward/backward IO); later sections add the update and the device.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ._fields import ConfigBase, require_instance
from .io import IOConfig


@dataclass(frozen=True, kw_only=True)
class TileConfig(ConfigBase):
    """Configuration of an analog tile.

    Attributes:
        forward: read path of the forward pass ``y = W x``. Default ``IOConfig()``.
        backward: read path of the backward pass ``z = Wᵀ d``; bound management is always off there
            (analog-tile.md §1.4). Default ``IOConfig()``.
    """

    forward: IOConfig = field(default_factory=IOConfig)
    backward: IOConfig = field(default_factory=IOConfig)

    def __post_init__(self) -> None:
        require_instance(self, "forward", IOConfig)
        require_instance(self, "backward", IOConfig)
