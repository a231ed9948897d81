"""Elementwise arithmetic that must round the same on every device (CPU and GPU bit-identical paths).

torch's CUDA kernels divide by a Python scalar (or a 0-dim CPU tensor) as ``t·(1/s)``, the CPU ones
as ``t / s``: about a third of float32 results then differ in the last bit. The algorithms divide
through :func:`true_divide`, which takes torch's tensor-by-tensor path (IEEE division) everywhere.

Spec: spec/README.md, cross-cutting decisions (CPU and GPU bit-identical).
"""
from __future__ import annotations

import torch

__all__ = ["true_divide"]


def true_divide(t: torch.Tensor, divisor: float | torch.Tensor) -> torch.Tensor:
    """``t / divisor`` rounded as one IEEE division per element on every device.

    ``divisor`` is a number or a tensor broadcastable to ``t``; numbers become a 0-dim tensor on
    ``t``'s device (not a CPU scalar, which CUDA would turn into a multiplication by the reciprocal).
    """
    if not isinstance(divisor, torch.Tensor):
        divisor = torch.full((), divisor, dtype=t.dtype, device=t.device)
    elif divisor.device != t.device:
        divisor = divisor.to(t.device)
    return torch.div(t, divisor)
