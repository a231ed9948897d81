"""Analog matrix-vector products (the tile's read path). Spec: analog-tile.md §1.

Placeholder until the read-path kernels land: the signature is the contract the tile uses.
"""
from __future__ import annotations

import torch


def analog_mvm(x: torch.Tensor, weight: torch.Tensor, io, transpose: bool = False, *, seed: int = 0,
               call: int = 0, nm_state: torch.Tensor | None = None) -> torch.Tensor:
    raise NotImplementedError("analog_mvm: the read-path kernels are not built yet")
