"""Multi-layer perceptrons, analog or digital (e.g. 784-256-128-10 for MNIST-like data)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import torch

from ..config import TileConfig
from ._layers import LayerFactory

__all__ = ["mlp"]

_ACTIVATIONS = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}


def mlp(sizes: Sequence[int] = (784, 256, 128, 10), *, activation: str = "sigmoid",
        config: TileConfig | None = None, seed: int | None = None, flatten: bool = True,
        **layer_kwargs: Any) -> torch.nn.Sequential:
    """A fully connected network ``sizes[0] → … → sizes[-1]`` returning logits.

    Args:
        sizes: layer widths, input first. Default 784-256-128-10.
        activation: ``"sigmoid"`` (default), ``"tanh"`` or ``"relu"`` after every hidden layer.
        config: a TileConfig makes every layer an :class:`~xbarsim.nn.AnalogLinear`; None (default)
            builds ``nn.Linear`` layers.
        seed: model seed; analog layer k is seeded ``child_seed(seed, k)``; None draws from torch.
        flatten: start with ``nn.Flatten`` (so images ``[N, 1, 28, 28]`` can be fed). Default True.
        **layer_kwargs: passed to the analog layers (``mapping``, ``digital_bias``, ...).

    Module names: ``flatten``, ``fc1``, ``act1``, ..., ``fc<n>``.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"mlp: sizes must be at least two positive ints; got {sizes!r}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"mlp: activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}")
    make = LayerFactory(config, seed, layer_kwargs)
    layers: "OrderedDict[str, torch.nn.Module]" = OrderedDict()
    if flatten:
        layers["flatten"] = torch.nn.Flatten()
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layers[f"fc{k}"] = make.linear(a, b)
        if k < len(sizes) - 1:
            layers[f"act{k}"] = _ACTIVATIONS[activation]()
    return torch.nn.Sequential(layers)
