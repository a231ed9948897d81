"""Float64 NumPy reference of the least-squares toy (algorithms.md §10), written from the spec.

Independent of xbarsim's kernels: SoftBounds cells with device-to-device draws (analog-tile.md §3.2),
multiplicative cycle-to-cycle noise, stochastic-compressed pulses without update/BL management
(fixed BL, A = B = sqrt(η/(ε·BL)), so the coincidence count of a 1×1 update is Binomial(BL, p·q)),
perfect reads, and the residual-learning cascade of §3 (plus the paper warm start of §6.1 when asked).
Many targets run side by side, one independent cell per target and tile.

Used by tests (distributional cross-check of the real implementation) and by bench/toy_least_squares.py
(fast exploration of settings). Not part of the package.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ToySettings:
    n_tiles: int = 2
    gamma: float = 0.1
    transfer_every: tuple[float, ...] | None = None  # xbarsim order; default 2·2^(N−n)
    transfer_lr: float | tuple[float, ...] = 0.01
    fast_lr: float = 0.01
    sgd_lr: float = 0.01  # pulse-count rate of the single tile (n_tiles = 1)
    dw_min: float = 0.5
    w_bound: float = 1.0
    dtod: float = 0.3
    up_down_dtod: float = 0.01
    dw_min_std: float = 0.3
    bl: int = 31
    warm_start_every: int = 0  # > 0: paper warm start, one signal every that many steps
    x: float = 1.0
    extra: dict = field(default_factory=dict)

    def periods(self) -> list[int]:
        N = self.n_tiles - 1
        te = self.transfer_every or tuple(2.0 * 2 ** (N - n) for n in range(self.n_tiles))
        return [max(int(math.ceil(v)), 0) for v in te]  # batch 1: P = ceil(te·1)

    def rates(self) -> list[float]:
        if isinstance(self.transfer_lr, (int, float)):
            return [float(self.transfer_lr)] * self.n_tiles
        return list(self.transfer_lr)


def random_targets(n: int, rng: np.random.Generator) -> np.ndarray:
    """b = −1 + k·2/(2¹⁶ − 1), k uniform on {0, …, 2¹⁶ − 1} (algorithms.md §10)."""
    k = rng.integers(0, 2**16, size=n)
    return -1.0 + k * (2.0 / (2**16 - 1))


class SoftBoundsCells:
    """A population of independent SoftBounds cells (analog-tile.md §3.2, §3.3) in float64."""

    def __init__(self, n: int, s: ToySettings, rng: np.random.Generator) -> None:
        xi = rng.standard_normal((4, n))
        b_max = s.w_bound * (1 + s.dtod * xi[0])
        b_min = -s.w_bound * (1 + s.dtod * xi[1])
        g = 1 + s.dtod * xi[2]
        rho = s.up_down_dtod * xi[3]
        up, down = np.abs((g + rho) * s.dw_min), np.abs((g - rho) * s.dw_min)
        swap = b_min > b_max
        b_min, b_max = np.where(swap, b_max, b_min), np.where(swap, b_min, b_max)
        self.b_max, self.b_min = np.abs(b_max), -np.abs(b_min)
        self.up, self.down = up, down
        self.sigma = s.dw_min_std
        self.w = np.zeros(n)
        self.rng = rng

    def pulse(self, n_pulses: np.ndarray, up: np.ndarray) -> None:
        """Apply |n| pulses per cell one by one (up where ``up``), each with its own noise and clip."""
        todo = n_pulses.copy()
        while True:
            idx = np.nonzero(todo > 0)[0]
            if idx.size == 0:
                return
            w = self.w[idx]
            noise = 1 + self.sigma * self.rng.standard_normal(idx.size)
            step_up = self.up[idx] * (1 - w / self.b_max[idx]) * noise
            step_dn = self.down[idx] * (1 - w / self.b_min[idx]) * noise
            w = np.where(up[idx], w + step_up, w - step_dn)
            self.w[idx] = np.clip(w, self.b_min[idx], self.b_max[idx])
            todo[idx] -= 1


def pulsed_update(cells: SoftBoundsCells, x: float, d: np.ndarray, eta: float, s: ToySettings) -> None:
    """One vector update W ← W − η d x (expected), fixed BL, no management (analog-tile.md §2.3–2.5)."""
    if eta == 0:
        return
    a = math.sqrt(abs(eta) / (s.dw_min * s.bl))
    p = min(abs(x) * a, 1.0)
    q = np.minimum(np.abs(d) * a, 1.0)
    n = cells.rng.binomial(s.bl, p * q)
    direction = np.sign(x) * np.sign(d) * np.sign(eta)  # > 0: down pulses
    cells.pulse(np.where(direction != 0, n, 0), up=direction < 0)


def run_toy(b: np.ndarray, s: ToySettings, steps: int, seed: int, record_every: int = 1) -> np.ndarray:
    """Squared error (W̄ − b)² per recorded step, shape [steps // record_every, len(b)].

    ``n_tiles = 1`` is analog SGD on one tile with rate ``sgd_lr``.
    """
    rng = np.random.default_rng(seed)
    n_tiles = s.n_tiles
    N = n_tiles - 1
    tiles = [SoftBoundsCells(b.size, s, rng) for _ in range(n_tiles)]
    gammas = [s.gamma**n for n in range(n_tiles)]
    periods, rates = s.periods(), s.rates()
    ptr_k = 0  # paper warm start target (k)
    out = np.empty((steps // record_every, b.size))
    for t in range(steps):
        wbar = sum(g * c.w for g, c in zip(gammas, tiles)) * s.x
        d = 2.0 * (wbar - b)
        pulsed_update(tiles[N], s.x, d, s.fast_lr if n_tiles > 1 else s.sgd_lr, s)
        u = t + 1
        if n_tiles > 1:
            if s.warm_start_every > 0 and u % s.warm_start_every == 0 and ptr_k < N:
                ptr_k += 1
            warm = s.warm_start_every > 0 and ptr_k < N
            pairs = [(N, ptr_k)] if warm else [(n, n - 1) for n in range(N, 0, -1)]
            for src, tgt in pairs:
                P = periods[src]
                if P > 0 and u % P == 0:
                    pulsed_update(tiles[tgt], 1.0, -tiles[src].w, rates[src], s)
        if (t + 1) % record_every == 0:
            wbar = sum(g * c.w for g, c in zip(gammas, tiles)) * s.x
            out[(t + 1) // record_every - 1] = (wbar - b) ** 2
    return out
