"""AnalogLinear: ``nn.Linear`` whose weight matrix lives on analog tiles. Spec: analog-tile.md §0–§2."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch

from ..config import MappingConfig, TileConfig
from . import functional as AF
from .base import AnalogLayerBase, check_placement

__all__ = ["AnalogLinear"]


class AnalogLinear(AnalogLayerBase):
    r"""Applies ``y = W x + b`` with ``W`` on analog tiles (forward, backward and update analog).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias. Default True.
        config: the tile configuration (read paths, update, device). Default ``TileConfig()``.
        mapping: how ``W`` is split over tiles (``max_in_size``/``max_out_size``). Default: one tile.
        digital_bias: keep the bias as an ordinary parameter trained by the digital optimizer
            (default True); False makes it an extra analog input line of constant 1.
        eval_noise_free: in ``eval()`` mode read the weights exactly (perfect IO) instead of
            through the non-ideal forward read (analog-tile.md §1.8). Default False.
        seed: seed of the tiles' random draws; None (default) draws one from torch's generator.
        device, dtype: where and in which precision (float32 or float64) the tiles live.

    Shape:
        - Input: ``(*, in_features)``; output: ``(*, out_features)``.

    Attributes:
        blocks: the tile runtimes holding ``W`` (and the analog bias column): one unless ``mapping``
            splits the matrix; :class:`~xbarsim.AnalogTile` s, or multi-tile runtimes for a multi-tile
            ``config.algorithm``.
        weight: the visible weight ``[out_features, in_features]`` (a read-only copy).
        analog_ctx: placeholder parameter through which :mod:`xbarsim.optim` updates the tiles.
        bias: the digital bias, or None.

    Examples::

        >>> layer = xbarsim.nn.AnalogLinear(20, 30, config=xbarsim.TileConfig())
        >>> y = layer(torch.rand(128, 20))
        >>> y.shape
        torch.Size([128, 30])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, config: TileConfig | None = None,
                 *, mapping: MappingConfig | None = None, digital_bias: bool = True,
                 eval_noise_free: bool = False, seed: int | None = None, device: Any = None,
                 dtype: torch.dtype | None = None) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AnalogLinear: {name} must be a positive int; got {value!r}")
        device, dtype = check_placement("AnalogLinear", device, dtype)
        weight, init_bias = self._initial_weights(in_features, out_features, bias, device, dtype)
        super().__init__(in_features, out_features, bias=bias, config=config, mapping=mapping,
                         digital_bias=digital_bias, eval_noise_free=eval_noise_free, seed=seed,
                         device=device, dtype=dtype, init_weight=weight, init_bias=init_bias)
        self.in_features = in_features
        self.out_features = out_features

    @staticmethod
    def _initial_weights(fan_in: int, out: int, bias: bool, device: Any, dtype: torch.dtype | None):
        # nn.Linear.reset_parameters, draw for draw (same values under the same torch seed).
        weight = torch.empty(out, fan_in, device=device, dtype=dtype)
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        init_bias = None
        if bias:
            bound = 1 / math.sqrt(fan_in)
            init_bias = torch.empty(out, device=device, dtype=dtype).uniform_(-bound, bound)
        return weight, init_bias

    def reset_parameters(self) -> None:
        """Re-draw ``W`` and the bias as ``nn.Linear`` does and program them into the tiles."""
        weight, bias = self._initial_weights(self.in_features, self.out_features,
                                             self.analog_bias or self.bias is not None, self.device, self.dtype)
        self.set_weights(weight, bias)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        self._check_input_2d(input, "AnalogLinear")
        if input.dim() < 1 or input.shape[-1] != self.in_features:
            raise ValueError(f"AnalogLinear: input must have shape [..., in_features={self.in_features}]; "
                             f"got {tuple(input.shape)}")
        return AF.analog_linear(input, self, self.bias)

    def get_weights(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(weight[out_features, in_features], bias[out_features] or None)``, copies."""
        return self.get_matrix_weights()

    def set_weights(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> None:
        """Program ``weight[out_features, in_features]`` (and ``bias`` if given) into the layer."""
        self.set_matrix_weights(weight, bias)

    @classmethod
    def from_digital(cls, module: torch.nn.Linear, config: TileConfig | None = None, **kwargs: Any) -> "AnalogLinear":
        """An AnalogLinear with ``module``'s shape, weights, bias, device and dtype."""
        if not isinstance(module, torch.nn.Linear):
            raise TypeError(f"AnalogLinear.from_digital: module must be a torch.nn.Linear; got {type(module).__name__}")
        kwargs.setdefault("device", module.weight.device)
        kwargs.setdefault("dtype", module.weight.dtype)
        layer = cls(module.in_features, module.out_features, module.bias is not None, config, **kwargs)
        layer.set_weights(module.weight.detach(), None if module.bias is None else module.bias.detach())
        return layer

    def extra_repr(self) -> str:
        common = self._extra_repr_common()
        has_bias = self.analog_bias or self.bias is not None
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"
                + (f", {common}" if common else ""))
