"""AnalogTile: the state of one crossbar tile (weights, static draws, RNG call counter) and its ops.

The native core is stateless; everything a tile is lives here as tensors (buffers) or in
``get_extra_state`` (config, seed, RNG call counter), so ``state_dict()``, ``.to()`` and exact resume
are plain PyTorch. Every random op consumes one value of the call counter, which keys its draws.
"""
from __future__ import annotations

from typing import Any

import torch

from ..config import TileConfig
from ..ops import mvm as _mvm

__all__ = ["AnalogTile"]


class AnalogTile(torch.nn.Module):
    """One analog crossbar tile holding ``W[out_size, in_size]``.

    Args:
        out_size: number of output lines (rows of W).
        in_size: number of input lines (columns of W).
        config: the tile configuration. Default ``TileConfig()``.
        seed: seed of every random draw of this tile (Philox key). Default 0.
        device, dtype: where and in which precision the state lives (float32 or float64).

    Shape:
        forward: ``x[..., in_size] -> y[..., out_size]``; backward: ``d[..., out_size] -> z[..., in_size]``.

    Examples::

        >>> tile = xbarsim.AnalogTile(3, 4)
        >>> tile.set_weights(torch.randn(3, 4) * 0.1)
        >>> y = tile.forward(torch.rand(8, 4))
    """

    weight: torch.Tensor
    nm_running_max: torch.Tensor

    def __init__(
        self,
        out_size: int,
        in_size: int,
        config: TileConfig | None = None,
        seed: int = 0,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        for name, value in (("out_size", out_size), ("in_size", in_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AnalogTile: {name} must be a positive int; got {value!r}")
        if config is None:
            config = TileConfig()
        if not isinstance(config, TileConfig):
            raise TypeError(f"AnalogTile: config must be a TileConfig; got {type(config).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"AnalogTile: seed must be an int in [0, 2**64); got {seed!r}")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"AnalogTile: dtype must be torch.float32 or torch.float64; got {dtype}")
        self.out_size = out_size
        self.in_size = in_size
        self.config = config
        self.seed = seed
        self.rng_calls = 0
        self.register_buffer("weight", torch.zeros(out_size, in_size, device=device, dtype=dtype))
        # Running maximum of "average_abs_max" noise management, per direction (forward, backward);
        # negative means "not initialised yet" (the first vector sets it).
        self.register_buffer("nm_running_max", torch.full((2,), -1.0, device=device, dtype=dtype))

    # --- state ----------------------------------------------------------------------------------
    def next_call(self) -> int:
        """Consume one value of the RNG call counter (one per random op)."""
        call = self.rng_calls
        self.rng_calls += 1
        return call

    def get_extra_state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "seed": self.seed, "rng_calls": self.rng_calls,
                "shape": (self.out_size, self.in_size)}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        shape = tuple(state["shape"])
        if shape != (self.out_size, self.in_size):
            raise ValueError(f"AnalogTile.load_state_dict: checkpoint tile shape {shape} does not match "
                             f"this tile's {(self.out_size, self.in_size)}")
        config = TileConfig.from_dict(state["config"])
        if config != self.config:
            raise ValueError("AnalogTile.load_state_dict: checkpoint config differs from this tile's config")
        self.seed = int(state["seed"])
        self.rng_calls = int(state["rng_calls"])

    def get_weights(self) -> torch.Tensor:
        """A copy of the weights ``W[out_size, in_size]``."""
        return self.weight.detach().clone()

    @torch.no_grad()
    def set_weights(self, weights: torch.Tensor) -> None:
        """Set ``W`` (copied; shape ``[out_size, in_size]``, finite values)."""
        if not isinstance(weights, torch.Tensor):
            raise TypeError(f"AnalogTile.set_weights: weights must be a torch.Tensor; got {type(weights).__name__}")
        if tuple(weights.shape) != (self.out_size, self.in_size):
            raise ValueError(f"AnalogTile.set_weights: weights must have shape [out_size={self.out_size}, "
                             f"in_size={self.in_size}]; got {tuple(weights.shape)}")
        if not torch.isfinite(weights).all():
            raise ValueError("AnalogTile.set_weights: weights must be finite; got NaN or inf")
        self.weight.copy_(weights)

    # --- read path ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog forward ``y = W x`` through the forward IOConfig (analog-tile.md §1.3)."""
        # The call counter advances only after a successful op, so a rejected input changes nothing.
        y = _mvm.analog_mvm(x, self.weight, self.config.forward, transpose=False, seed=self.seed,
                            call=self.rng_calls, nm_state=self.nm_running_max[0:1])
        self.next_call()
        return y

    def backward(self, d: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog backward ``z = Wᵀ d`` through the backward IOConfig, bound management off (§1.4)."""
        z = _mvm.analog_mvm(d, self.weight, self.config.backward.for_backward(), transpose=True,
                            seed=self.seed, call=self.rng_calls, nm_state=self.nm_running_max[1:2])
        self.next_call()
        return z

    def extra_repr(self) -> str:
        return f"out_size={self.out_size}, in_size={self.in_size}, seed={self.seed}"
