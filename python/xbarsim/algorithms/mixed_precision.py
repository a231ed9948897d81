"""Mixed precision (aihwkit ``MixedPrecisionCompound``): one analog tile and a digital accumulator χ.

Per mini-batch ``χ += lr·Σ_b q(d_b) q(x_b)ᵀ`` (optional quantisation ``q`` into bins with stochastic
rounding); every ``transfer_every`` mini-batches, after the batch's accumulation, the next
``n_rows_per_transfer`` rows r (cyclic pointer) are transferred: ``n = trunc(χ[r]/ε_g)``,
``χ[r] −= n·ε_g`` and one pulsed update of the tile per row with ``x = n``, ``d = e_r`` and rate
``ε_g·transfer_lr`` (update and BL management forced on). All rows of a transfer go to the tile as one
mini-batch of one-hot d vectors (one op call).

Spec: algorithms.md §8.6.
"""
from __future__ import annotations

from typing import Any

import torch

from ..config.algorithms import MixedPrecision
from ..ops import transfer as _transfer
from ..ops import true_divide
from ..tile import AnalogTile
from ..tile import op_counts as _op_counts
from .base import MultiTile

__all__ = ["MixedPrecisionTile", "quantize_bins"]


def quantize_bins(v: torch.Tensor, n_bins: int, u: torch.Tensor | None) -> torch.Tensor:
    """``q(v) = clamp(rint(v/w + u'), −⌊n/2⌋, ⌊n/2⌋)·w`` per row, ``w = max|v|/⌊n/2⌋`` (1 if max|v| = 0),
    ``u' = u − ½`` with stochastic rounding (``u`` uniforms on [0, 1)) else 0 (algorithms.md §8.6)."""
    half = n_bins // 2
    if half < 1:
        return v
    vmax = v.abs().amax(dim=-1, keepdim=True)
    w = torch.where(vmax > 0, true_divide(vmax, half), torch.ones_like(vmax))
    t = true_divide(v, w)
    if u is not None:
        t = t + (u.to(v.dtype) - 0.5)
    return torch.round(t).clamp_(-half, half) * w  # torch.round: half to even, as rint


class MixedPrecisionTile(MultiTile):
    """Runtime of :class:`~xbarsim.algorithms.MixedPrecision`.

    Attributes:
        chi: the digital accumulator χ ``[out_size, in_size]``.
    """

    algorithm: MixedPrecision
    chi: torch.Tensor

    def _register_algorithm_state(self, *, device: Any, dtype: torch.dtype) -> None:
        self.register_buffer("chi", torch.zeros(self.out_size, self.in_size, device=device, dtype=dtype))
        self.batches = 0
        self.row_pointer = 0

    def gammas(self) -> tuple[float, ...]:
        return (1.0,)

    def algorithm_state(self) -> dict[str, Any]:
        return {"batches": self.batches, "row_pointer": self.row_pointer}

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        self.batches = int(state.get("batches", 0))
        self.row_pointer = int(state.get("row_pointer", 0))

    def granularity(self) -> float:
        """ε_g: ``granularity``, or the device's ε when 0."""
        g = self.algorithm.granularity
        return g if g > 0 else self.tiles[0].granularity()

    def pulse_sources(self) -> list[tuple[AnalogTile, str]]:
        """The one tile receives only the row transfers of χ."""
        return [(self.tiles[0], "transfer")]

    def digital_storage(self) -> dict[str, int]:
        """χ (``out·in``) and the x and d buffers of the largest mini-batch B (``(in + out)·B``; the
        paper's mn + 2nB, hardware-cost.md §4). B is 1 before the first update, or when not counting."""
        batch = 1
        if self.op_counts is not None:
            batch = max(int(self.op_counts[_op_counts.OP_COUNT_INDEX["max_update_vectors"]]), 1)
        return {"vectors": (self.in_size + self.out_size) * batch, "chi": self.chi.numel()}

    def _quantize(self, v: torch.Tensor, n_bins: int, stochastic: bool) -> torch.Tensor:
        if n_bins <= 0:
            return v
        if self.op_counts is not None:  # maximum, divide, multiply back (+ the rounding offset)
            _op_counts.add(self.op_counts, flops_mp=(4 if stochastic else 3) * v.numel())
        u = None
        if stochastic:
            u = torch.empty(v.shape, dtype=torch.float32, device=v.device)
            _transfer.fill_uniform_(u, self.seed, self.next_call())
        return quantize_bins(v, n_bins, u)

    @torch.no_grad()
    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        """Accumulate the batch into χ, then transfer rows when due (algorithms.md §8.6)."""
        where = f"{type(self).__name__}.update"
        xb, db, lr = self._batch(x, d, lr, where)
        algo = self.algorithm
        qx = self._quantize(xb, algo.n_x_bins, algo.stoc_round_x)
        qd = self._quantize(db, algo.n_d_bins, algo.stoc_round_d)
        if xb.shape[0] > 0:
            _transfer.chi_accumulate_(self.chi, qx, qd, lr)
        if self.op_counts is not None:
            m = xb.shape[0]  # χ += (lr·d)·xᵀ per vector: out + 2·out·in; χ read and written once
            _op_counts.add(self.op_counts, update_calls=1, update_vectors=m, max_update_vectors=m,
                           flops_mp=m * (self.out_size + 2 * self.out_size * self.in_size),
                           digital_state_updates=self.chi.numel() if m > 0 else 0)
        self.batches += 1
        if algo.transfer_every > 0 and self.batches % algo.transfer_every == 0:
            self._transfer_rows()
        self.refresh_weight()

    def _rows(self) -> torch.Tensor:
        algo = self.algorithm
        out = self.out_size
        k = algo.n_rows_per_transfer
        if k < 0 or k >= out:
            return torch.arange(out)
        start = self.row_pointer
        if algo.random_row:
            start = _transfer.random_line(self.seed, self.next_call(), 0, out)
        rows = (start + torch.arange(k)) % out
        self.row_pointer = int((start + k) % out)
        return rows

    def _transfer_rows(self) -> None:
        eps = self.granularity()
        rows = self._rows().to(self.chi.device)
        chi_rows = self.chi.index_select(0, rows)
        n = torch.trunc(true_divide(chi_rows, eps))
        self.chi.index_copy_(0, rows, chi_rows - n * eps)
        d = torch.zeros(rows.numel(), self.out_size, dtype=self.chi.dtype, device=self.chi.device)
        d[torch.arange(rows.numel(), device=d.device), rows] = 1.0
        update = self.tiles[0].config.update.replace(update_management=True, update_bl_management=True)
        lr = eps * self.algorithm.transfer_lr
        self.tiles[0].update(n, d, lr, update=self.counted_update(update))
        if self.op_counts is not None:  # per row: χ/ε, n·ε, χ − n·ε; then the write of one vector
            k = rows.numel()
            _op_counts.add(self.op_counts, transfer_events=1, transfer_lines=k, flops_mp=3 * self.in_size * k,
                           digital_state_updates=self.in_size * k,
                           flops_update=_op_counts.update_flops(update, k, self.in_size, self.out_size)
                           if lr != 0 else 0)
