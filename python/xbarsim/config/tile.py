"""TileConfig: everything that defines one analog tile (read paths, update, device, algorithm).

Spec: analog-tile.md §1 (forward/backward IO), §2 (update), §3 (device).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ._fields import ConfigBase, require_bool, require_instance
from .algorithms import AlgorithmConfig, SingleTile
from .devices import ConstantStep, PulsedDevice
from .io import IOConfig
from .update import UpdateConfig


@dataclass(frozen=True, kw_only=True)
class TileConfig(ConfigBase):
    """Configuration of an analog tile.

    Attributes:
        forward: read path of the forward pass ``y = W x``. Default ``IOConfig()``.
        backward: read path of the backward pass ``z = Wᵀ d``; bound management is always off there
            (analog-tile.md §1.4). Default ``IOConfig()``.
        update: the pulsed update (analog-tile.md §2). Default ``UpdateConfig()``.
        device_model: the resistive device model of every cell (analog-tile.md §3). Default
            ``ConstantStep()``: aihwkit's default device (dw_min 0.001 on ±0.6, 30 % device-to-device
            and cycle-to-cycle variation); the paper's device is ``presets.PaperSoftBounds(n)``.
            (``device`` always means torch placement in xbarsim, as in torch.)
        algorithm: the learning algorithm of the layer's tiles (algorithms.md): ``SingleTile()``
            (analog SGD on one tile, the default), ``ResidualLearning``, ``TikiTaka``, ``TikiTakaV2``,
            ``ChoppedTikiTakaV2`` or ``MixedPrecision`` (``xbarsim.algorithms``). Build tiles with
            ``xbarsim.algorithms.make_tile``.
        count_ops: count what the tile runtime does (analog MVMs with their DAC and ADC conversions,
            pulses and coincidences, transfers, digital floating-point operations) as exact integers
            in its state (``op_counts``, and the physical tiles' ``pulse_counters``, whose native
            counting it turns on for every update and transfer write: it implies
            ``UpdateConfig.count_pulses``). Read them with ``xbarsim.cost.counts(model)``; docs/cost.md.
            Default False (nothing allocated, nothing counted).
    """

    forward: IOConfig = field(default_factory=IOConfig)
    backward: IOConfig = field(default_factory=IOConfig)
    update: UpdateConfig = field(default_factory=UpdateConfig)
    device_model: PulsedDevice = field(default_factory=ConstantStep)
    algorithm: AlgorithmConfig = field(default_factory=SingleTile)
    count_ops: bool = False

    def __post_init__(self) -> None:
        require_instance(self, "forward", IOConfig)
        require_instance(self, "backward", IOConfig)
        require_instance(self, "update", UpdateConfig)
        require_instance(self, "device_model", PulsedDevice)
        require_instance(self, "algorithm", AlgorithmConfig)
        require_bool(self, "count_ops")
