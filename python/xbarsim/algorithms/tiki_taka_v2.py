"""TT-v2 (digital buffer H between the gradient tile and the slow tile) and chopped TT-v2.

Both reuse the cascade runtime (:mod:`.residual_learning`); the fused transfer op runs the buffer
arithmetic between the read and the write (``kind="buffered"`` / ``"chopped"``).

Spec: algorithms.md §8.3 (TT-v2), §8.4 (c-TTv2).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from ..config.algorithms import ChoppedTikiTakaV2, TikiTakaV2
from ..ops import transfer as _transfer
from ..tile import op_counts as _op_counts
from .residual_learning import TikiTakaTile, TransferCascadeTile
from .schedule import TransferEvent

__all__ = ["TikiTakaV2Tile", "ChoppedTikiTakaV2Tile", "buffer_flops"]


def buffer_flops(forget_buffer: bool, no_buffer: bool) -> int:
    """Digital operations per buffer element of a line read (algorithms.md §8.3 step 2, §8.4):
    ``ω = H + β·y`` (2; 1 with ``no_buffer``), ``ω / divisor`` (1), then ``momentum·ω`` (1, forget_buffer)
    or ``ω − (1 − momentum)·n·divisor`` (3). Truncation, clamp and chopper signs are not counted."""
    return (1 if no_buffer else 2) + 1 + (1 if forget_buffer else 3)


class TikiTakaV2Tile(TikiTakaTile):
    """TT-v2 (aihwkit ``BufferedTransferCompound``): one digital buffer H per source tile.

    Attributes:
        transfer_buffer: H ``[n_tiles − 1, out_size, in_size]``; ``transfer_buffer[n − 1]`` belongs to source tile n.
    """

    algorithm: TikiTakaV2
    kind = "buffered"
    transfer_buffer: torch.Tensor

    def _register_algorithm_state(self, *, device: Any, dtype: torch.dtype) -> None:
        self.register_buffer("transfer_buffer", torch.zeros(self.n_tiles - 1, self.out_size, self.in_size,
                                                            device=device, dtype=dtype))

    def event_rates(self, ev: TransferEvent, betas: Sequence[float]) -> tuple[float, float, float]:
        """Write with ``step·ε_C``; buffer gain ``β_t = β_source·(γ_A/γ_C if both > 0)``; divisor
        ``thres_scale·ε_C`` (algorithms.md §8.3)."""
        algo = self.algorithm
        eps_c = self.tiles[ev.target].granularity()
        g = self.gammas()
        gain = betas[ev.source]
        if g[ev.source] > 0 and g[ev.target] > 0:
            gain = gain * g[ev.source] / g[ev.target]
        return algo.step * eps_c, gain, algo.thres_scale * eps_c

    def transfer_kwargs(self) -> dict[str, Any]:
        algo = self.algorithm
        kw = super().transfer_kwargs()
        kw.update(buffers=self.transfer_buffer, buffer_bl=algo.transfer_update.desired_bl, momentum=algo.momentum,
                  forget_buffer=algo.forget_buffer, no_buffer=False)
        return kw

    def buffer_flops_per_element(self) -> int:
        return buffer_flops(self.algorithm.forget_buffer, False)

    def digital_storage(self) -> dict[str, int]:
        """x and d vectors plus the buffers H (``(n_tiles − 1)·out·in``; hardware-cost.md §4: mn + 2n)."""
        return {**super().digital_storage(), "buffer": self.transfer_buffer.numel()}


class ChoppedTikiTakaV2Tile(TransferCascadeTile):
    """Chopped TT-v2 (aihwkit ``ChoppedTransferCompound``): C = tile 0, A = tile 1.

    The gradient tile accumulates the chopped gradient (``x·c_in``, ``d·c_out``); each read line's
    buffer update uses the chopper sign ``s = −1`` where ``c_in(line) ≠ c_out(i)``; input choppers flip
    after their line is read (randomly with ``in_chop_prob``, or regularly), output choppers after every
    full sweep with ``out_chop_prob``.

    Attributes:
        transfer_buffer: H ``[1, out_size, in_size]``.
        chop_in, chop_out: chopper signs ``[in_size]``, ``[out_size]`` (±1, all +1 initially).
    """

    algorithm: ChoppedTikiTakaV2
    kind = "chopped"
    transfer_buffer: torch.Tensor
    chop_in: torch.Tensor
    chop_out: torch.Tensor

    def _register_algorithm_state(self, *, device: Any, dtype: torch.dtype) -> None:
        self.register_buffer("transfer_buffer", torch.zeros(1, self.out_size, self.in_size, device=device,
                                                            dtype=dtype))
        self.register_buffer("chop_in", torch.ones(self.in_size, device=device, dtype=dtype))
        self.register_buffer("chop_out", torch.ones(self.out_size, device=device, dtype=dtype))
        self.sweeps = 0
        self._last_eta = 0.0  # η_A of the current call (correct_gradient_magnitudes)
        self.m_x = 0.0
        self.m_d = 0.0

    # --- configuration ---------------------------------------------------------------------------
    def _auto_period(self) -> bool:
        return self.algorithm.transfer_every < 0

    def transfer_periods(self) -> Sequence[float]:
        algo = self.algorithm
        te = algo.transfer_every
        if te < 0:  # automatic: n_states_A / in · |transfer_every| vector updates, rounded, >= 1
            dev = self.sub_config(1).device_model
            n_states = (dev.w_max - dev.w_min) / dev.granularity()
            te = max(float(math.floor(n_states / self.in_size * abs(te) + 0.5)), 1.0)
        return (te, te)

    def units_in_mbatch(self) -> bool:
        return bool(self.algorithm.units_in_mbatch) and not self._auto_period()

    # --- state -----------------------------------------------------------------------------------
    def algorithm_state(self) -> dict[str, Any]:
        state = super().algorithm_state()
        state.update(sweeps=self.sweeps, m_x=self.m_x, m_d=self.m_d)
        return state

    def load_algorithm_state(self, state: dict[str, Any]) -> None:
        super().load_algorithm_state(state)
        self.sweeps = int(state.get("sweeps", 0))
        self.m_x = float(state.get("m_x", 0.0))
        self.m_d = float(state.get("m_d", 0.0))

    # --- visible weight --------------------------------------------------------------------------
    @torch.no_grad()
    def refresh_weight(self) -> None:
        """C if γ = 0, else ``γ·(c_out c_inᵀ)∘A + C`` (algorithms.md §8.4)."""
        gamma = self.algorithm.gamma
        c = self.tiles[0].weight
        if gamma == 0:
            _transfer.reduce_tiles_(self.weight, [c], [1.0])
            self.count_reduction([1.0])
            return
        signed_a = self.tiles[1].weight * self.chop_out[:, None] * self.chop_in[None, :]
        _transfer.reduce_tiles_(self.weight, [c, signed_a], [1.0, gamma])
        self.count_reduction([1.0, gamma], extra_per_cell=2)

    # --- rates -----------------------------------------------------------------------------------
    def fast_rate(self, lr: float, xb: torch.Tensor, db: torch.Tensor) -> float:
        """η_A: with ``auto_scale`` and ``fast_lr > 0`` ``fast_lr·desired_bl·ε_A/(m_x·m_d)`` from running
        maxima of |x| and |d| (updated per call), else the §4 rule (algorithms.md §8.4)."""
        algo = self.algorithm
        if not (algo.auto_scale and algo.fast_lr > 0):
            self._last_eta = algo.fast_rate(lr)
            return self._last_eta
        tau = (1.0 - algo.auto_momentum) / max(xb.shape[0], 1)
        self.m_x = (1.0 - tau) * self.m_x + tau * float(xb.abs().max()) if xb.numel() else self.m_x
        self.m_d = (1.0 - tau) * self.m_d + tau * float(db.abs().max()) if db.numel() else self.m_d
        if self.op_counts is not None:  # the two maxima, then two running means of 3 operations each
            _op_counts.add(self.op_counts, flops_update=xb.numel() + db.numel() + 6)
        eta = algo.fast_lr * self.tiles[1].config.update.desired_bl * self.tiles[1].granularity()
        if self.m_x > 0 and self.m_d > 0:
            eta = eta / (self.m_x * self.m_d)
        self._last_eta = eta * (lr if algo.scale_fast_lr else 1.0)
        return self._last_eta

    def gradient_vectors(self, xb: torch.Tensor, db: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return xb * self.chop_in, db * self.chop_out

    def event_rates(self, ev: TransferEvent, betas: Sequence[float]) -> tuple[float, float, float]:
        """Write with ``step·ε_C``; gain ``λ = |β_t|/bg`` (bg = buffer granularity in weight units);
        divisor 1 (algorithms.md §8.4)."""
        algo = self.algorithm
        eps_a = self.tiles[1].granularity()
        eps_c = self.tiles[0].granularity()
        bg = algo.buffer_granularity * eps_a
        if algo.auto_granularity > 0:
            bg = bg * algo.auto_granularity / (self.in_size * abs(algo.transfer_every))
        beta = abs(betas[ev.source])
        if algo.correct_gradient_magnitudes:
            bg = bg * eps_c / eps_a
            lam = beta / self._last_eta / bg if self._last_eta != 0 else 0.0
        else:
            lam = beta / bg
        return algo.step * eps_c, lam, 1.0

    def transfer_kwargs(self) -> dict[str, Any]:
        algo = self.algorithm
        kw = super().transfer_kwargs()
        kw.update(buffers=self.transfer_buffer, chop_in=self.chop_in, chop_out=self.chop_out,
                  buffer_bl=algo.transfer_update.desired_bl, momentum=algo.momentum,
                  forget_buffer=algo.forget_buffer, no_buffer=algo.no_buffer)
        return kw

    def buffer_flops_per_element(self) -> int:
        return buffer_flops(self.algorithm.forget_buffer, self.algorithm.no_buffer)

    def digital_storage(self) -> dict[str, int]:
        """x and d vectors, the buffer H (``out·in``) and the chopper signs (``in + out``)."""
        return {**super().digital_storage(), "buffer": self.transfer_buffer.numel(),
                "choppers": self.chop_in.numel() + self.chop_out.numel()}

    @torch.no_grad()
    def after_transfers(self, events: Sequence[TransferEvent]) -> None:
        """Chopper flips after each line read (algorithms.md §8.4)."""
        algo = self.algorithm
        p = algo.in_chop_prob
        for ev in events:
            for line in ev.lines:
                if p > 0:
                    if algo.in_chop_random:
                        flip = _transfer.uniform(self.seed, self.next_call(), 0) < p
                    else:
                        n_s = max(math.ceil(1.0 / p), 2)
                        flip = (self.sweeps % n_s) + 1 == n_s
                    if flip:
                        self.chop_in[line] = -self.chop_in[line]
                if line == self.in_size - 1:
                    if algo.out_chop_prob > 0:
                        u = torch.empty(self.out_size, dtype=torch.float32, device=self.weight.device)
                        _transfer.fill_uniform_(u, self.seed, self.next_call())
                        self.chop_out.mul_(torch.where(u < algo.out_chop_prob, -1.0, 1.0).to(self.chop_out.dtype))
                    self.sweeps += 1
