"""AnalogTile: the state of one crossbar tile (weights, static draws, RNG call counter) and its ops.

The native core is stateless; everything a tile is lives here as tensors (buffers) or in
``get_extra_state`` (config, seed, RNG call counter), so ``state_dict()``, ``.to()`` and exact resume
are plain PyTorch. Every random op consumes one value of the call counter, which keys its draws.
"""
from __future__ import annotations

from typing import Any

import torch

from ..config import TileConfig, UpdateConfig
from ..ops import _checks
from ..ops import mvm as _mvm
from ..ops import update as _update
from .device_state import DeviceState

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
    pulse_counters: torch.Tensor

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
        if type(config.algorithm).__name__ != "SingleTile":
            raise TypeError(f"AnalogTile: config.algorithm must be SingleTile (build multi-tile algorithms with "
                            f"xbarsim.tile.make_tile); got {type(config.algorithm).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"AnalogTile: seed must be an int in [0, 2**64); got {seed!r}")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"AnalogTile: dtype must be torch.float32 or torch.float64; got {dtype}")
        device = _checks.check_device("AnalogTile", "device", device)
        self.out_size = out_size
        self.in_size = in_size
        self.config = config
        self.seed = seed
        self.rng_calls = 0
        self.register_buffer("weight", torch.zeros(out_size, in_size, device=device, dtype=dtype))
        # Running maximum of "average_abs_max" noise management, per direction (forward, backward);
        # negative means "not initialised yet" (the first vector sets it).
        self.register_buffer("nm_running_max", torch.full((2,), -1.0, device=device, dtype=dtype))
        # Device model (analog-tile.md §3): per-cell parameters drawn once from the population seed,
        # persistent weights when the device has write noise (``weight`` are then the apparent ones),
        # and the pulse counters of §2.9 (int64: input pulses, output pulses, up and down coincidences).
        dev = config.device
        self.device_state = DeviceState(dev, out_size, in_size, seed=dev.population_seed(seed), dtype=dtype,
                                        device_=device)
        if dev.has_write_noise():
            self.register_buffer("weight_persistent", torch.zeros(out_size, in_size, device=device, dtype=dtype))
        else:
            self.weight_persistent = None
        self.register_buffer("pulse_counters", torch.zeros(len(_update.COUNTER_NAMES), device=device,
                                                           dtype=torch.int64))
        self._clip_to_device(write_noise=False, call=0)

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
        """Set ``W`` (copied; shape ``[out_size, in_size]``, finite values), clipped to each cell's bounds.

        With write noise the persistent weights are set and the apparent ones (``weight``) redrawn if
        ``apply_write_noise_on_set`` (consuming one value of the RNG call counter).

        Spec: analog-tile.md §3.4, §3.5.
        """
        _checks.check_weights("AnalogTile.set_weights", "weights", weights,
                              (("out_size", self.out_size), ("in_size", self.in_size)))
        # Setting weights clips them to each cell's bounds (§3.5); with write noise the persistent
        # weights are set and the apparent ones redrawn if apply_write_noise_on_set (§3.4).
        target = self.weight if self.weight_persistent is None else self.weight_persistent
        target.copy_(weights)
        dev = self.config.device
        redraw = dev.has_write_noise() and dev.apply_write_noise_on_set
        self._clip_to_device(write_noise=redraw, call=self.next_call() if redraw else 0)

    @torch.no_grad()
    def clip_weights(self) -> None:
        """Clip the weights to each cell's bounds; redraws the write noise of every cell.

        Spec: analog-tile.md §3.4, §3.5, §6 #12.
        """
        redraw = self.config.device.has_write_noise()
        self._clip_to_device(write_noise=redraw, call=self.next_call() if redraw else 0)

    # --- device processes (analog-tile.md §3.5: applied only on request) ----------------------------
    @torch.no_grad()
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Decay every weight towards its cell's reset bias, then clip to the cell's bounds.

        ``w ← (w − b)·(1 − alpha·(1 − s)) + b`` with ``s = 1 − 1/lifetime`` per cell (spread
        ``lifetime_dtod``) and ``b = reset + reset_dtod·ξ``: ``alpha = 1`` is one unit of the device's
        ``lifetime`` (aihwkit applies one per mini-batch). Nothing happens when ``lifetime`` is 0.
        """
        alpha = _update.check_process_alpha(alpha, "AnalogTile.decay_weights")
        if self.config.device.lifetime > 0 and alpha > 0:
            self._device_process("decay", alpha)

    @torch.no_grad()
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """Add diffusion noise ``alpha·r·ξ`` to every weight, then clip to the cell's bounds.

        ``r = |diffusion·(1 + diffusion_dtod·ξ′)|`` per cell; a fresh ``ξ`` per cell and call. Nothing
        happens when ``diffusion`` is 0.
        """
        alpha = _update.check_process_alpha(alpha, "AnalogTile.diffuse_weights")
        if self.config.device.diffusion != 0 and alpha > 0:
            self._device_process("diffuse", alpha)

    @torch.no_grad()
    def reset_columns(self, columns: Any = None) -> None:
        """Reset the weights of the selected input lines (all when ``columns`` is None) to
        ``b + reset_std·ξ``, ``b`` the cell's reset bias, then clip to the cell's bounds.

        ``columns``: an int, a sequence of ints, an index tensor or a bool mask ``[in_size]``.
        """
        mask = None if columns is None else _update.column_mask(columns, self.in_size, self.weight.device,
                                                                "AnalogTile.reset_columns")
        self._device_process("reset", 1.0, mask)

    def _device_process(self, process: str, alpha: float, columns: torch.Tensor | None = None) -> None:
        # The call counter advances only after the op succeeded (a rejected call changes nothing).
        _update.device_process(self.weight, self.device_state.cells(), self.config.device, process, alpha=alpha,
                               columns=columns, pop_seed=self.config.device.population_seed(self.seed),
                               seed=self.seed, call=self.rng_calls, persistent=self.weight_persistent)
        self.next_call()

    def _clip_to_device(self, *, write_noise: bool, call: int) -> None:
        _update.clip_weights(self.weight, self.device_state.cells(), self.config.device,
                             persistent=self.weight_persistent, write_noise=write_noise, seed=self.seed, call=call)

    # --- pulsed update ------------------------------------------------------------------------------
    def granularity(self) -> float:
        """ε of the tile's device: the weight change of one mean pulse.

        Spec: analog-tile.md §3.6.
        """
        return self.config.device.granularity()

    @torch.no_grad()
    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float, *, update: UpdateConfig | None = None) -> None:
        """Pulsed update ``W ← W − lr·dᵀx`` realised as device pulses (analog-tile.md §2).

        Args:
            x: inputs ``[..., in_size]``; d: errors ``[..., out_size]`` (same leading dimensions, which
                are flattened into the mini-batch; vectors are applied in order).
            lr: learning rate handed to the device (finite; negative reverses the direction; 0 does
                nothing).
            update: UpdateConfig overriding the tile's ``config.update`` for this call (e.g. the
                transfer-write parameters of an algorithm). The device is always the tile's.

        Consumes one value of the RNG call counter per successful call. On bad input a ValueError or
        TypeError names the argument and the tile is unchanged.

        Spec: analog-tile.md §2 (update), §3 (device), §2.9 (counters when ``count_pulses``).
        """
        cfg = self.config.update if update is None else update
        if not isinstance(cfg, UpdateConfig):
            raise TypeError(f"AnalogTile.update: update must be an UpdateConfig; got {type(cfg).__name__}")
        _update.pulsed_update(self.weight, x, d, lr, update=cfg, device=self.config.device,
                              cells=self.device_state.cells(), seed=self.seed, call=self.rng_calls,
                              persistent=self.weight_persistent, counters=self.pulse_counters,
                              piecewise=self.device_state.piecewise(), where="AnalogTile.update")
        self.next_call()

    def pulse_counts(self) -> dict[str, int]:
        """The pulse counters (analog-tile.md §2.9) as exact integers (kept when ``count_pulses``)."""
        return dict(zip(_update.COUNTER_NAMES, (int(v) for v in self.pulse_counters.tolist())))

    # --- read path ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog forward ``y = W x`` through the forward IOConfig (analog-tile.md §1.3)."""
        # The call counter advances only after a successful op, so a rejected input changes nothing.
        y = _mvm.analog_mvm(x, self.weight, self.config.forward, transpose=False, seed=self.seed,
                            call=self.rng_calls, nm_state=self.nm_running_max[0:1],
                            where="AnalogTile.forward")
        self.next_call()
        return y

    def backward(self, d: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Analog backward ``z = Wᵀ d`` through the backward IOConfig, bound management off (§1.4)."""
        z = _mvm.analog_mvm(d, self.weight, self.config.backward.for_backward(), transpose=True,
                            seed=self.seed, call=self.rng_calls, nm_state=self.nm_running_max[1:2],
                            where="AnalogTile.backward", x_name="d")
        self.next_call()
        return z

    def extra_repr(self) -> str:
        return f"out_size={self.out_size}, in_size={self.in_size}, seed={self.seed}"
