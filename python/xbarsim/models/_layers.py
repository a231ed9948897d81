"""Layer factories shared by the model builders: analog when a TileConfig is given, else digital."""
from __future__ import annotations

from typing import Any

import torch

from ..config import TileConfig
from ..config.seeds import child_seed
from ..nn import AnalogConv2d, AnalogLinear


class LayerFactory:
    """Builds Linear/Conv2d layers: analog with ``config`` (layer k seeded ``child_seed(seed, k)``), digital
    without."""

    def __init__(self, config: TileConfig | None, seed: int | None, layer_kwargs: dict[str, Any] | None) -> None:
        if config is not None and not isinstance(config, TileConfig):
            raise TypeError(f"models: config must be a TileConfig or None; got {type(config).__name__}")
        self.config = config
        self.seed = seed
        self.kwargs = dict(layer_kwargs or {})
        self.count = 0

    def _next_seed(self) -> int | None:
        seed = None if self.seed is None else child_seed(self.seed, self.count)
        self.count += 1
        return seed

    def linear(self, in_features: int, out_features: int, bias: bool = True) -> torch.nn.Module:
        if self.config is None:
            return torch.nn.Linear(in_features, out_features, bias)
        return AnalogLinear(in_features, out_features, bias, self.config, seed=self._next_seed(), **self.kwargs)

    def conv2d(self, in_channels: int, out_channels: int, kernel_size: int, **kw: Any) -> torch.nn.Module:
        if self.config is None:
            return torch.nn.Conv2d(in_channels, out_channels, kernel_size, **kw)
        return AnalogConv2d(in_channels, out_channels, kernel_size, config=self.config, seed=self._next_seed(),
                            **kw, **self.kwargs)
