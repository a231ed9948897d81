"""AnalogConv1d and AnalogConv2d: convolutions as analog MVMs over im2col patches.

Every patch of every sample is one vector of the tile's forward, backward and update (``m = batch
× patches``), as on hardware. Spec: analog-tile.md §0.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Union

import torch

from ..config import MappingConfig, TileConfig
from . import functional as AF
from .base import AnalogLayerBase, check_placement

__all__ = ["AnalogConv1d", "AnalogConv2d"]

_IntOrTuple = Union[int, tuple]


def _tuple(value: Any, n: int, name: str, cls: str, minimum: int) -> tuple[int, ...]:
    values = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else tuple(value) \
        if isinstance(value, (tuple, list)) else None
    if values is None or len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum
                                                   for v in values):
        raise ValueError(f"{cls}: {name} must be an int >= {minimum} or a tuple of {n} such ints; got {value!r}")
    return values


class _AnalogConvNd(AnalogLayerBase):
    _nd: int
    _digital: type

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntOrTuple, stride: _IntOrTuple = 1,
                 padding: Union[str, _IntOrTuple] = 0, dilation: _IntOrTuple = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", config: TileConfig | None = None, *,
                 mapping: MappingConfig | None = None, digital_bias: bool = True, eval_noise_free: bool = False,
                 seed: int | None = None, device: Any = None, dtype: torch.dtype | None = None) -> None:
        cls, n = type(self).__name__, self._nd
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{cls}: {name} must be a positive int; got {value!r}")
        if groups != 1:
            raise ValueError(f"{cls}: groups must be 1 (one tile matrix per layer); got {groups!r}")
        if padding_mode != "zeros":
            raise ValueError(f"{cls}: padding_mode must be 'zeros'; got {padding_mode!r}")
        kernel_size = _tuple(kernel_size, n, "kernel_size", cls, 1)
        stride = _tuple(stride, n, "stride", cls, 1)
        dilation = _tuple(dilation, n, "dilation", cls, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{cls}: padding must be 'valid', 'same', an int or a tuple; got {padding!r}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{cls}: padding='same' requires stride 1; got stride={stride}")
        else:
            padding = _tuple(padding, n, "padding", cls, 0)
        in_size = in_channels * math.prod(kernel_size)
        device, dtype = check_placement(cls, device, dtype)
        weight, init_bias = self._initial_weights(in_channels, out_channels, kernel_size, bias, device, dtype)
        super().__init__(in_size, out_channels, bias=bias, config=config, mapping=mapping,
                         digital_bias=digital_bias, eval_noise_free=eval_noise_free, seed=seed,
                         device=device, dtype=dtype, init_weight=weight.reshape(out_channels, -1),
                         init_bias=init_bias)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.padding_mode = padding_mode
        self._pad_before, self._pad_after = AF.resolve_padding(padding, kernel_size, dilation)

    @staticmethod
    def _initial_weights(in_channels, out_channels, kernel_size, bias, device, dtype):
        # nn.Conv*d.reset_parameters, draw for draw.
        weight = torch.empty(out_channels, in_channels, *kernel_size, device=device, dtype=dtype)
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        init_bias = None
        if bias:
            bound = 1 / math.sqrt(in_channels * math.prod(kernel_size))
            init_bias = torch.empty(out_channels, device=device, dtype=dtype).uniform_(-bound, bound)
        return weight, init_bias

    def reset_parameters(self) -> None:
        """Re-draw the kernel and bias as ``nn.Conv*d`` does and program them into the tiles."""
        weight, bias = self._initial_weights(self.in_channels, self.out_channels, self.kernel_size,
                                             self.analog_bias or self.bias is not None, self.device, self.dtype)
        self.set_weights(weight, bias)

    def _conv2d(self, x: torch.Tensor, kernel, stride, before, after, dilation) -> torch.Tensor:
        cls = type(self).__name__
        out = AF.conv_output_size(x.shape[2:], kernel, stride, before, after, dilation)
        if any(o < 1 for o in out):
            raise ValueError(f"{cls}: input must be at least as large as the dilated kernel (after padding); "
                             f"got spatial size {tuple(x.shape[2:])[-self._nd:]}, output size {out[-self._nd:]}")
        return AF.analog_conv2d(x, self, self.bias, kernel, stride, before, after, dilation)

    def _check_conv_input(self, input: torch.Tensor) -> bool:
        """Checks shared by the forwards; returns whether the input is batched."""
        cls, n = type(self).__name__, self._nd
        self._check_input_2d(input, cls)
        dims = "[N, C, L] or [C, L]" if n == 1 else "[N, C, H, W] or [C, H, W]"
        if input.dim() not in (n + 1, n + 2):
            raise ValueError(f"{cls}: input must have shape {dims}; got {tuple(input.shape)}")
        channels = input.shape[-n - 1]
        if channels != self.in_channels:
            raise ValueError(f"{cls}: input must have in_channels={self.in_channels} channels; got {channels} "
                             f"(input shape {tuple(input.shape)})")
        if any(s == 0 for s in input.shape[-n:]):  # torch's unfold rejects them (a batch of 0 is fine)
            raise ValueError(f"{cls}: input must have non-zero spatial dimensions; got {tuple(input.shape)}")
        return input.dim() == n + 2

    def get_weights(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(weight[out_channels, in_channels, *kernel_size], bias or None)``, copies."""
        weight, bias = self.get_matrix_weights()
        return weight.reshape(self.out_channels, self.in_channels, *self.kernel_size), bias

    def set_weights(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> None:
        """Program a kernel ``[out_channels, in_channels, *kernel_size]`` (and ``bias`` if given)."""
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"{type(self).__name__}.set_weights: weight must be a torch.Tensor; "
                            f"got {type(weight).__name__}")
        expected = (self.out_channels, self.in_channels, *self.kernel_size)
        if tuple(weight.shape) != expected:
            raise ValueError(f"{type(self).__name__}.set_weights: weight must have shape {list(expected)}; "
                             f"got {tuple(weight.shape)}")
        self.set_matrix_weights(weight.reshape(self.out_channels, -1), bias)

    @classmethod
    def from_digital(cls, module: torch.nn.Module, config: TileConfig | None = None, **kwargs: Any):
        """An analog convolution with ``module``'s hyper-parameters, kernel, bias, device and dtype."""
        if not isinstance(module, cls._digital):
            raise TypeError(f"{cls.__name__}.from_digital: module must be a {cls._digital.__name__}; "
                            f"got {type(module).__name__}")
        kwargs.setdefault("device", module.weight.device)
        kwargs.setdefault("dtype", module.weight.dtype)
        layer = cls(module.in_channels, module.out_channels, module.kernel_size, module.stride, module.padding,
                    module.dilation, module.groups, module.bias is not None, module.padding_mode, config, **kwargs)
        layer.set_weights(module.weight.detach(), None if module.bias is None else module.bias.detach())
        return layer

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
             f"padding={self.padding}, dilation={self.dilation}, bias={self.analog_bias or self.bias is not None}")
        common = self._extra_repr_common()
        return s + (f", {common}" if common else "")


class AnalogConv2d(_AnalogConvNd):
    r"""``nn.Conv2d`` (groups=1, zero padding) whose kernel matrix ``[out, C·kh·kw]`` lives on analog tiles.

    Arguments are ``nn.Conv2d``'s (``stride``, ``padding`` incl. ``"same"``/``"valid"``, ``dilation``)
    followed by the analog ones of :class:`AnalogLinear` (``config``, ``mapping``, ``digital_bias``,
    ``eval_noise_free``, ``seed``, ``device``, ``dtype``).

    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``; output: ``(N, C_out, H_out, W_out)`` or
          ``(C_out, H_out, W_out)`` with ``H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1``.

    Examples::

        >>> conv = xbarsim.nn.AnalogConv2d(1, 16, 5)
        >>> conv(torch.rand(8, 1, 28, 28)).shape
        torch.Size([8, 16, 24, 24])
    """

    _nd = 2
    _digital = torch.nn.Conv2d

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        batched = self._check_conv_input(input)
        x = input if batched else input.unsqueeze(0)
        y = self._conv2d(x, self.kernel_size, self.stride, self._pad_before, self._pad_after, self.dilation)
        return y if batched else y.squeeze(0)


class AnalogConv1d(_AnalogConvNd):
    r"""``nn.Conv1d`` (groups=1, zero padding) whose kernel matrix ``[out, C·k]`` lives on analog tiles.

    Arguments as :class:`AnalogConv2d` with 1-element sizes.

    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``; output: ``(N, C_out, L_out)`` or ``(C_out, L_out)``.
    """

    _nd = 1
    _digital = torch.nn.Conv1d

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        batched = self._check_conv_input(input)
        x = (input if batched else input.unsqueeze(0)).unsqueeze(2)  # [N, C, 1, L]: a 2-D conv of height 1
        y = self._conv2d(x, (1, *self.kernel_size), (1, *self.stride), (0, *self._pad_before),
                         (0, *self._pad_after), (1, *self.dilation)).squeeze(2)
        return y if batched else y.squeeze(0)
