"""AnalogTile: one physical crossbar tile (weights, device-to-device draws, pulse counters) and its ops.

The native core is stateless; everything a tile is lives here as tensors (buffers) or in
``get_extra_state`` (config, seed), so ``state_dict()``, ``.to()`` and exact resume are plain PyTorch.
Every random op consumes one value of the RNG call counter (``rng_counter``), which keys its draws.
"""
from __future__ import annotations

from typing import Any

import torch

from ..config import TileConfig, UpdateConfig
from ..config.algorithms import SingleTile
from ..ops import update as _update
from . import op_counts as _op_counts
from .base import Tile
from .device_state import DeviceState

__all__ = ["AnalogTile"]


class AnalogTile(Tile):
    """One analog crossbar tile holding ``W[out_size, in_size]`` (analog SGD: ``config.algorithm`` is
    :class:`~xbarsim.algorithms.SingleTile`).

    Args:
        out_size: number of output lines (rows of W).
        in_size: number of input lines (columns of W).
        config: the tile configuration. Default ``TileConfig()``.
        seed: seed of every random draw of this tile (Philox key). Default 0.
        device, dtype: where and in which precision the state lives (float32 or float64).

    Attributes:
        weight: the weights the reads see (the apparent weights of write-noise devices).
        weight_persistent: the persistent weights of write-noise devices, else None.
        device_state: the per-cell device parameters (:class:`DeviceState`).
        pulse_counters: int64 ``[5]`` pulse counters (analog-tile.md §2.9: input-line pulses,
            output-line pulses, coincidences up and down, pulse-train slots), see :meth:`pulse_counts`;
            counted when ``update.count_pulses`` or ``config.count_ops``.

    Shape:
        forward: ``x[..., in_size] -> y[..., out_size]``; backward: ``d[..., out_size] -> z[..., in_size]``.

    Examples::

        >>> tile = xbarsim.AnalogTile(3, 4)
        >>> tile.set_weights(torch.randn(3, 4) * 0.1)
        >>> y = tile.forward(torch.rand(8, 4))
    """

    pulse_counters: torch.Tensor

    def __init__(self, out_size: int, in_size: int, config: TileConfig | None = None, seed: int = 0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        config = TileConfig() if config is None else config
        super().__init__(out_size, in_size, config, seed, device=device, dtype=dtype)
        if not isinstance(config.algorithm, SingleTile):
            raise TypeError(f"AnalogTile: config.algorithm must be SingleTile (build multi-tile algorithms with "
                            f"xbarsim.algorithms.make_tile); got {type(config.algorithm).__name__}")
        # Device model (analog-tile.md §3): per-cell parameters drawn once from the population seed,
        # persistent weights when the device has write noise (``weight`` are then the apparent ones),
        # and the pulse counters of §2.9 (int64: input pulses, output pulses, up and down coincidences,
        # pulse-train slots).
        dev = config.device_model
        self.device_state = DeviceState(dev, out_size, in_size, seed=dev.population_seed(seed), dtype=dtype,
                                        device=device)
        if dev.has_write_noise():
            self.register_buffer("weight_persistent", torch.zeros(out_size, in_size, device=device, dtype=dtype))
        else:
            self.weight_persistent = None
        self.register_buffer("pulse_counters", torch.zeros(len(_update.COUNTER_NAMES), device=device,
                                                           dtype=torch.int64))
        self._clip_to_device(write_noise=False, call=0)

    # --- weights ---------------------------------------------------------------------------------
    def _program(self, weight: torch.Tensor) -> None:
        # Setting weights clips them to each cell's bounds (§3.5); with write noise the persistent
        # weights are set and the apparent ones redrawn if apply_write_noise_on_set (§3.4, one call).
        target = self.weight if self.weight_persistent is None else self.weight_persistent
        target.copy_(weight)
        dev = self.config.device_model
        redraw = dev.has_write_noise() and dev.apply_write_noise_on_set
        self._clip_to_device(write_noise=redraw, call=self.next_call() if redraw else 0)

    @torch.no_grad()
    def clip_weights(self) -> None:
        """Clip the weights to each cell's bounds; redraws the write noise of every cell.

        Spec: analog-tile.md §3.4, §3.5, §6 #12.
        """
        redraw = self.config.device_model.has_write_noise()
        self._clip_to_device(write_noise=redraw, call=self.next_call() if redraw else 0)

    def _clip_to_device(self, *, write_noise: bool, call: int) -> None:
        _update.clip_weights(self.weight, self.device_state.cells(), self.config.device_model,
                             persistent=self.weight_persistent, write_noise=write_noise, seed=self.seed, call=call)

    # --- device processes (analog-tile.md §3.5: applied only on request) ----------------------------
    @torch.no_grad()
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Decay every weight towards its cell's reset bias, then clip to the cell's bounds.

        ``w ← (w − b)·(1 − alpha·(1 − s)) + b`` with ``s = 1 − 1/lifetime`` per cell (spread
        ``lifetime_dtod``) and ``b = reset + reset_dtod·ξ``: ``alpha = 1`` is one unit of the device's
        ``lifetime`` (aihwkit applies one per mini-batch). Nothing happens when ``lifetime`` is 0.
        """
        alpha = _update.check_process_alpha(alpha, "AnalogTile.decay_weights")
        if self.config.device_model.lifetime > 0 and alpha > 0:
            self._device_process("decay", alpha)

    @torch.no_grad()
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """Add diffusion noise ``alpha·r·ξ`` to every weight, then clip to the cell's bounds.

        ``r = |diffusion·(1 + diffusion_dtod·ξ′)|`` per cell; a fresh ``ξ`` per cell and call. Nothing
        happens when ``diffusion`` is 0.
        """
        alpha = _update.check_process_alpha(alpha, "AnalogTile.diffuse_weights")
        if self.config.device_model.diffusion != 0 and alpha > 0:
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
        dev = self.config.device_model
        _update.device_process(self.weight, self.device_state.cells(), dev, process, alpha=alpha,
                               columns=columns, pop_seed=dev.population_seed(self.seed), seed=self.seed,
                               call=int(self.rng_counter), persistent=self.weight_persistent)
        self.next_call()

    # --- pulsed update ------------------------------------------------------------------------------
    def granularity(self) -> float:
        """ε of the tile's device model: the weight change of one mean pulse.

        Spec: analog-tile.md §3.6.
        """
        return self.config.device_model.granularity()

    @torch.no_grad()
    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float, *, update: UpdateConfig | None = None) -> None:
        """Pulsed update ``W ← W − lr·dᵀx`` realised as device pulses (analog-tile.md §2).

        Args:
            x: inputs ``[..., in_size]``; d: errors ``[..., out_size]`` (same leading dimensions, which
                are flattened into the mini-batch; vectors are applied in order).
            lr: learning rate handed to the device (finite; negative reverses the direction; 0 does
                nothing).
            update: UpdateConfig overriding the tile's ``config.update`` for this call (e.g. the
                transfer-write parameters of an algorithm). The device model is always the tile's.

        Consumes one value of the RNG call counter per successful call. On bad input a ValueError or
        TypeError names the argument and the tile is unchanged.

        Spec: analog-tile.md §2 (update), §3 (device), §2.9 (counters when ``count_pulses`` or
        ``count_ops``).
        """
        cfg = self.config.update if update is None else update
        if not isinstance(cfg, UpdateConfig):
            raise TypeError(f"AnalogTile.update: update must be an UpdateConfig; got {type(cfg).__name__}")
        ops = self.op_counts
        if ops is not None:
            cfg = _op_counts.counting_update(cfg)
        _update.pulsed_update(self.weight, x, d, lr, update=cfg, device_model=self.config.device_model,
                              cells=self.device_state.cells(), seed=self.seed, call=int(self.rng_counter),
                              persistent=self.weight_persistent, counters=self.pulse_counters,
                              piecewise=self.device_state.piecewise(), where="AnalogTile.update",
                              prepared_cells=self.device_state.cell_views())
        self.next_call()
        if ops is not None:
            m = x.numel() // self.in_size
            _op_counts.add(ops, update_calls=1, update_vectors=m, max_update_vectors=m,
                           flops_update=_op_counts.update_flops(cfg, m, self.in_size, self.out_size)
                           if lr != 0 else 0)

    def pulse_counts(self) -> dict[str, int]:
        """The pulse counters (analog-tile.md §2.9) as exact integers (kept when ``count_pulses`` or
        ``count_ops``)."""
        return dict(zip(_update.COUNTER_NAMES, (int(v) for v in self.pulse_counters.tolist())))

    def pulse_sources(self) -> list[tuple["AnalogTile", str]]:
        """``[(self, "gradient")]``: the tile receives the gradient pulses (operation counters)."""
        return [(self, "gradient")]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # Checkpoints written before the pulse-train slots were counted hold four pulse counters: the
        # slots they never counted load as 0 (the other counts are kept).
        key = prefix + "pulse_counters"
        old = state_dict.get(key)
        if isinstance(old, torch.Tensor) and old.dim() == 1 and old.shape[0] == len(_update.COUNTER_NAMES) - 1:
            state_dict[key] = torch.cat([old, old.new_zeros(1)])
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
