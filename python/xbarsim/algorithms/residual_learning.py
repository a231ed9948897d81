"""Residual learning and Tiki-Taka v1: the cascade of open-loop transfers between tiles.

One update call (``update(x, d, lr)``, one mini-batch):

1. validate everything (a rejected call changes nothing);
2. plan the call with the schedule (periods, due transfers, lines, warm start);
3. for each segment of the plan: the pulsed gradient update of the gradient tile N with its vectors
   (rate ``η_N``), then every transfer due after them, all in one fused op call;
4. recompute the visible weight W̄ (one fused reduction).

Transfers read one line of tile n (one-hot forward read through ``transfer_io``, factor −1) and write it
into the same line of tile n − 1 as a pulsed rank-1 update with rate β_n: no reset (TT-v1 optionally
resets with ``with_reset_prob``), no threshold, no digital buffer.

Spec: algorithms.md §2–§6, §8.2, §11.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ..config import TileConfig
from ..config.algorithms import ResidualLearning, SingleTile, TikiTaka, TransferCompound
from ..ops import transfer as _transfer
from ..tile import op_counts as _op_counts
from .base import MultiTile
from .schedule import CascadeSchedule, TransferEvent

__all__ = ["TransferCascadeTile", "ResidualLearningTile", "TikiTakaTile"]


class TransferCascadeTile(MultiTile):
    """Runtime shared by the cascade algorithms (ResidualLearning, TikiTaka, TikiTakaV2, c-TTv2).

    Subclasses choose the kind of transfer (``"direct"``, ``"buffered"``, ``"chopped"``) and the rates.
    """

    algorithm: TransferCompound
    kind = "direct"

    def __init__(self, out_size: int, in_size: int, config: TileConfig, seed: int = 0, *,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(out_size, in_size, config, seed, device=device, dtype=dtype)
        algo = self.algorithm
        lines = in_size if algo.transfer_columns else out_size
        self.schedule = CascadeSchedule(
            self.n_tiles, lines, self.transfer_periods(), units_in_mbatch=self.units_in_mbatch(),
            n_reads_per_transfer=algo.n_reads_per_transfer, random_selection=algo.random_selection,
            warm_start=algo.warm_start_mode())

    # --- configuration hooks ---------------------------------------------------------------------
    def gammas(self) -> tuple[float, ...]:
        return tuple(self.algorithm.gammas())

    def transfer_periods(self) -> Sequence[float]:
        return self.algorithm.periods(self.out_size, self.in_size)

    def units_in_mbatch(self) -> bool:
        return self.algorithm.units_in_mbatch

    def sub_config(self, index: int) -> TileConfig:
        cfg = self.config.replace(algorithm=SingleTile())
        grad_model = self.config.algorithm.gradient_tile_device_model()  # type: ignore[attr-defined]
        if grad_model is not None and index == self.config.algorithm.num_tiles() - 1:
            cfg = cfg.replace(device_model=grad_model)
        return cfg

    def fast_rate(self, lr: float, xb: torch.Tensor, db: torch.Tensor) -> float:
        """Pulse-count rate η_N of the gradient tile (algorithms.md §4)."""
        return self.algorithm.fast_rate(lr)

    def source_rates(self, lr: float) -> tuple[float, ...]:
        """β_n of transfers from each source tile n (algorithms.md §4)."""
        return self.algorithm.transfer_rates(lr)

    def event_rates(self, ev: TransferEvent, betas: Sequence[float]) -> tuple[float, float, float]:
        """(write lr, buffer gain, buffer divisor) of an event; direct transfers write with β_source."""
        return betas[ev.source], 0.0, 1.0

    def gradient_vectors(self, xb: torch.Tensor, db: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The vectors the gradient tile receives (chopped TT-v2 flips their signs)."""
        return xb, db

    # --- state -----------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        return {"schedule": self.schedule.state()}

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        if "schedule" in state:
            self.schedule.load_state(state["schedule"])

    def signal_warm_start(self) -> bool:
        """Raise the warm-start plateau signal (consumed at the next update; algorithms.md §6)."""
        if self.schedule.warm_start == "none":
            return False
        self.schedule.signal()
        return True

    # --- update ----------------------------------------------------------------------------------
    def _random_line(self, n_lines: int) -> int:
        return _transfer.random_line(self.seed, self.next_call(), 0, n_lines)

    @torch.no_grad()
    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        """One update cycle: gradient pulses on tile N, then the due transfers (algorithms.md §11 step 3).

        Args:
            x: inputs ``[..., in_size]``; d: errors ``[..., out_size]`` computed at W̄ (same leading dims).
            lr: the optimizer's current learning rate (scaled into η_N and β_n by the algorithm's flags).
        """
        where = f"{type(self).__name__}.update"
        xb, db, lr = self._batch(x, d, lr, where)
        eta = self.fast_rate(lr, xb, db)
        betas = self.source_rates(lr)
        segments = self.schedule.plan(xb.shape[0], self._random_line, enabled=[b != 0 for b in betas])
        grad_update = None if self.op_counts is None else self.counted_update(self.gradient_tile.config.update)
        start = 0
        for seg in segments:
            if seg.n_vectors > 0:
                stop = start + seg.n_vectors
                xg, dg = self.gradient_vectors(xb[start:stop], db[start:stop])
                self.gradient_tile.update(xg, dg, eta, update=grad_update)
                start = stop
            if seg.events:
                self.run_transfers(seg.events, betas)
        if self.op_counts is not None:
            m = xb.shape[0]
            _op_counts.add(self.op_counts, update_calls=1, update_vectors=m, max_update_vectors=m,
                           flops_update=self.gradient_flops(m) if eta != 0 else 0)
        self.refresh_weight()

    def gradient_flops(self, m: int) -> int:
        """Digital operations of the gradient write of ``m`` vectors (update management, §2.3)."""
        return _op_counts.update_flops(self.gradient_tile.config.update, m, self.in_size, self.out_size)

    def transfer_kwargs(self) -> dict[str, Any]:
        algo = self.algorithm
        return {"io": algo.transfer_io_eff(), "update": self.counted_update(algo.transfer_update),
                "transpose": not algo.transfer_columns, "kind": self.kind}

    def run_transfers(self, events: Sequence[TransferEvent], betas: Sequence[float]) -> None:
        """All events of one point of the step, in order, in one fused op call."""
        rows, rates = [], []
        for ev in events:
            src, tgt = self.tiles[ev.source], self.tiles[ev.target]
            for line in ev.lines:
                read_call = src.next_call()
                write_call = tgt.next_call()
                rows.append((ev.source, ev.target, line, read_call, write_call, ev.source - 1))
                rates.append(self.event_rates(ev, betas))
        kwargs = self.transfer_kwargs()
        _transfer.transfer_(self.prepared_tiles(), torch.tensor(rows, dtype=torch.int64),
                            torch.tensor(rates, dtype=torch.float64), where=f"{type(self).__name__}.update",
                            **kwargs)
        if self.op_counts is not None:
            self.count_transfers(len(events), [r[0] for r in rates], kwargs)
        self.after_transfers(events)

    def count_transfers(self, n_events: int, write_lrs: Sequence[float], kwargs: dict[str, Any]) -> None:
        """Count the events of one fused transfer call: each line is a one-hot MVM of the transfer
        read path (``L_in`` DAC inputs, ``L_out`` ADC outputs, no noise or bound management), then
        the write of ``L_out`` cells (update management of its vector; analog-tile.md §1.9, §2.3)
        and, for the buffered kinds, the buffer arithmetic of its ``L_out`` elements (§8.3)."""
        transpose = bool(kwargs["transpose"])
        l_in, l_out = (self.out_size, self.in_size) if transpose else (self.in_size, self.out_size)
        lines = len(write_lrs)
        written = sum(1 for lr in write_lrs if lr != 0)
        update = kwargs["update"]
        _op_counts.add(self.op_counts, transfer_events=n_events, transfer_lines=lines, transfer_reads=lines,
                       dac_conversions=lines * l_in, adc_conversions=lines * l_out,
                       flops_update=_op_counts.update_flops(update, written, self.in_size, self.out_size,
                                                            cells_per_vector=l_out),
                       flops_buffer=lines * l_out * self.buffer_flops_per_element(),
                       digital_state_updates=lines * l_out if self.buffer_flops_per_element() else 0)

    def buffer_flops_per_element(self) -> int:
        """Digital operations per buffer element of a line read (0: no buffer; algorithms.md §8.3)."""
        return 0

    def after_transfers(self, events: Sequence[TransferEvent]) -> None:
        """Hook run after the transfers of one point of the step (resets, chopper flips)."""


class ResidualLearningTile(TransferCascadeTile):
    """Residual learning (algorithms.md §2–§6): see :class:`~xbarsim.algorithms.ResidualLearning`."""

    algorithm: ResidualLearning


class TikiTakaTile(TransferCascadeTile):
    """Tiki-Taka v1 (algorithms.md §8.2): the cascade with an optional reset of the read column."""

    algorithm: TikiTaka

    @torch.no_grad()
    def after_transfers(self, events: Sequence[TransferEvent]) -> None:
        """With probability ``with_reset_prob`` per read line, reset that column of the source tile with
        the device's native reset (``AnalogTile.reset_columns``: reset bias with its device-to-device
        spread, plus ``reset_std`` noise; analog-tile.md §3.5). One uniform per line read, in order."""
        p = self.algorithm.with_reset_prob
        if p <= 0:
            return
        call = self.next_call()
        index = 0
        resets: dict[int, list[int]] = {}
        for ev in events:
            for line in ev.lines:
                if _transfer.uniform(self.seed, call, index) < p:
                    resets.setdefault(ev.source, []).append(line)
                index += 1
        for source, lines in resets.items():
            self.tiles[source].reset_columns(lines)
