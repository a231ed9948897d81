"""The paper's LeNet-5 (16/32 channels, 512-128-10 classifier). Spec: experiments.md §1.2."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from ..config import TileConfig
from ._layers import LayerFactory

__all__ = ["lenet5"]


def lenet5(config: TileConfig | None = None, *, num_classes: int = 10, seed: int | None = None,
           **layer_kwargs: Any) -> torch.nn.Sequential:
    """LeNet-5 of the paper's reference code for 1×28×28 inputs, ending in LogSoftmax (use NLLLoss).

    ``conv1`` Conv2d 1→16 5×5 (tile 16×25, 576 vectors per image) → tanh → max-pool 2 →
    ``conv2`` Conv2d 16→32 5×5 (32×400, 64 vectors) → tanh → max-pool 2 → tanh → flatten (512) →
    ``fc1`` Linear 512→128 → tanh → ``fc2`` Linear 128→num_classes → LogSoftmax.

    Args:
        config: a TileConfig makes conv1, conv2, fc1, fc2 analog (biases digital by default);
            None builds the digital network.
        num_classes: outputs of fc2. Default 10.
        seed: model seed; analog layer k (conv1, conv2, fc1, fc2) is seeded ``child_seed(seed, k)``
            (:mod:`xbarsim.config.seeds`); None draws from torch.
        **layer_kwargs: passed to the analog layers (``mapping``, ``digital_bias``, ...).
    """
    make = LayerFactory(config, seed, layer_kwargs)
    return torch.nn.Sequential(OrderedDict([
        ("conv1", make.conv2d(1, 16, 5)),
        ("act1", torch.nn.Tanh()),
        ("pool1", torch.nn.MaxPool2d(2)),
        ("conv2", make.conv2d(16, 32, 5)),
        ("act2", torch.nn.Tanh()),
        ("pool2", torch.nn.MaxPool2d(2)),
        ("act3", torch.nn.Tanh()),
        ("flatten", torch.nn.Flatten()),
        ("fc1", make.linear(512, 128)),
        ("act4", torch.nn.Tanh()),
        ("fc2", make.linear(128, num_classes)),
        ("log_softmax", torch.nn.LogSoftmax(dim=1)),
    ]))
