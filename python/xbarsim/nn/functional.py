"""Functional forms of the analog layers: reshaping, im2col and the digital bias around the layer op.

The analog part of every layer is one differentiable function, ``layer.analog_matmul(x[m, in])``
(the autograd function of :mod:`xbarsim.nn._autograd` around the state-honest custom ops
``xbarsim::layer_forward_`` and ``layer_backward_``): the forward runs the blocks' analog forward
reads, the backward their analog backward reads for the input gradient and records ``(x, d)`` for
the optimizer. Everything around it (flattening, unfolding
patches, folding gradients, the digital output scales of the mapping, adding a digital bias) is
ordinary torch and differentiates as usual.

Spec: analog-tile.md §0 (a convolution applies the tile to every im2col patch: ``m = batch ×
patches`` vectors per forward, backward and update).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # pragma: no cover
    from .base import AnalogLayerBase

__all__ = ["analog_linear", "analog_conv2d", "conv_output_size", "resolve_padding"]


def analog_linear(input: torch.Tensor, layer: "AnalogLayerBase", bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``y[..., out] = α ⊙ (m ⊙ W̄x) (+ bias)`` for ``x[..., in]`` through ``layer``'s tiles (the
    output scales ``α``, ``m`` only where the layer's mapping has them)."""
    lead = input.shape[:-1]
    y = layer.scale_output(layer.analog_matmul(input.reshape(-1, input.shape[-1])))
    y = y.reshape(*lead, layer.out_size)
    return y if bias is None else y + bias


def resolve_padding(padding: str | Sequence[int], kernel_size: Sequence[int],
                    dilation: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(before, after)`` zero padding per spatial dim for ``padding`` as nn.Conv*d takes it.

    ``"same"`` pads ``dilation·(kernel−1)`` in total, the odd line after (as torch does).
    """
    if padding == "valid":
        zeros = tuple(0 for _ in kernel_size)
        return zeros, zeros
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        before = tuple(t // 2 for t in total)
        return before, tuple(t - b for t, b in zip(total, before))
    return tuple(padding), tuple(padding)


def conv_output_size(size: Sequence[int], kernel_size: Sequence[int], stride: Sequence[int],
                     before: Sequence[int], after: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    return tuple((n + b + a - d * (k - 1) - 1) // s + 1
                 for n, k, s, b, a, d in zip(size, kernel_size, stride, before, after, dilation))


def analog_conv2d(input: torch.Tensor, layer: "AnalogLayerBase", bias: Optional[torch.Tensor],
                  kernel_size: tuple[int, int], stride: tuple[int, int], before: tuple[int, int],
                  after: tuple[int, int], dilation: tuple[int, int]) -> torch.Tensor:
    """2-D convolution of ``input[N, C, H, W]`` as one analog MVM per patch.

    ``F.unfold`` orders a patch channel-major, then kernel rows, then kernel columns, which is the
    layout of ``nn.Conv2d.weight.reshape(out, -1)``, i.e. of the tile's input lines.
    """
    n = input.shape[0]
    if tuple(before) != tuple(after):  # asymmetric "same" padding: pad explicitly, unfold unpadded
        input = F.pad(input, (before[1], after[1], before[0], after[0]))
        before = after = (0, 0)
    out_hw = conv_output_size(input.shape[2:], kernel_size, stride, before, after, dilation)
    cols = F.unfold(input, kernel_size, dilation=dilation, padding=before, stride=stride)  # [N, C·k, L]
    x = cols.transpose(1, 2).reshape(-1, cols.shape[1])  # one row per patch of every image
    y = layer.scale_output(layer.analog_matmul(x))  # [N·L, out]
    y = y.reshape(n, cols.shape[2], layer.out_size).transpose(1, 2).reshape(n, layer.out_size, *out_hw)  # N may be 0
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)
