"""The expected effect of a transfer event: ``E[ΔW⁽ⁿ⁻¹⁾[:, c]] = β·W⁽ⁿ⁾[:, c]`` with the pulse statistics of
the stochastic write (algorithms.md §3.3 step 3; analog-tile.md §4). Fixed seeds, 5-standard-error
tolerances derived from the binomial pulse counts."""
from __future__ import annotations

import math

import torch

from xbarsim.algorithms import ResidualLearning, make_tile
from xbarsim.algorithms.base import transfer_tile
from xbarsim.config import ConstantStep, IOConfig, TileConfig, UpdateConfig
from xbarsim.ops import transfer as _transfer

EPS = 0.05
BL = 31


def test_mean_and_variance_of_repeated_transfers():
    """E events read the same source column (unchanged) and write a ConstantStep target without bounds
    or noise: per cell and event the count is Binomial(BL, p·q_i) with p = q_i/|w_i| = sqrt(β/(ε·BL))·…,
    so the total change has mean E·β·w_i and variance E·ε²·BL·π(1 − π), π = β|w_i|/(ε·BL)."""
    dev = ConstantStep(w_min=-1e6, w_max=1e6, dw_min=EPS, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                       w_max_dtod=0.0, up_down_dtod=0.0)
    upd = UpdateConfig(update_bl_management=False, update_management=False, desired_bl=BL)
    algo = ResidualLearning(n_tiles=2, gamma=0.5, transfer_io=IOConfig(is_perfect=True), transfer_update=upd)
    t = make_tile(6, 2, TileConfig(device_model=dev, algorithm=algo), seed=17, dtype=torch.float64)
    src = torch.tensor([0.9, -0.6, 0.3, -0.1, 0.02, 0.0], dtype=torch.float64)
    w = torch.zeros(2, 6, 2, dtype=torch.float64)
    w[1, :, 1] = src
    t.set_tile_weights(w)
    beta, n_events = 0.4, 20000
    events = torch.tensor([(1, 0, 1, 2 * e, 2 * e + 1, -1) for e in range(n_events)], dtype=torch.int64)
    rates = torch.tensor([(beta, 0.0, 1.0)] * n_events, dtype=torch.float64)
    _transfer.transfer_([transfer_tile(x) for x in t.tiles], events, rates, io=algo.transfer_io, update=upd)
    total = t.tiles[0].weight[:, 1]
    assert torch.equal(t.tiles[0].weight[:, 0], torch.zeros(6, dtype=torch.float64))
    assert torch.equal(t.tiles[1].weight, w[1])  # the source is never reset
    for i in range(6):
        pi = beta * abs(float(src[i])) / (EPS * BL)
        mean = n_events * beta * float(src[i])
        var = n_events * EPS**2 * BL * pi * (1 - pi)
        se = math.sqrt(var) if var > 0 else 0.0
        assert abs(float(total[i]) - mean) <= 5 * se + 1e-12, (i, float(total[i]), mean, se)
        # the count itself: total/ε pulses, variance of Binomial(E·BL, π)
        if var > 0:
            counts = abs(float(total[i])) / EPS
            assert abs(counts - n_events * BL * pi) <= 5 * math.sqrt(n_events * BL * pi * (1 - pi))
