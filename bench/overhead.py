"""Per-call overhead: what a forward + update of a tiny tile costs, nearly all of it fixed cost per call
(argument checks, config packing, views, allocation, the Python layers), against the same two ops in
plain torch (``x @ w.T`` and ``w.addmm_``) interleaved in the same run (suite "overhead").

Cases: a 1×1 and a 64×1 tile with the default TileConfig (default IO, stochastic pulsed update), and
the same shapes with residual learning on 4 tiles (the W̄ reduction and the transfers due at each
step), batch 1. Targets: 1×1 forward + update at most 30 µs on the CPU; 4 tiles add at most 30 µs.
"""
from __future__ import annotations

import dataclasses

import torch

from _timing import row, time_interleaved

SUITE = "overhead"
GROUP = "overhead"
TARGET_US = {1: 30.0, 4: 60.0}


def _tile_step(tile, x, d):
    def step():
        tile.forward(x)
        tile.update(x, d, 0.01)
    return step


def _torch_step(w, x, d):
    def step():
        x @ w.T
        w.addmm_(d.T, x, alpha=-0.01)
    return step


def run(device: str, quick: bool) -> list[dict]:
    import xbarsim
    from xbarsim.algorithms import ResidualLearning, make_tile

    rows = []
    for out_size, in_size in ((1, 1), (1, 64)):
        g = torch.Generator().manual_seed(0)
        x = torch.rand(1, in_size, generator=g).to(device)
        d = (0.1 * torch.randn(1, out_size, generator=g)).to(device)
        w = torch.zeros(out_size, in_size, device=device)
        steps = {"torch": _torch_step(w, x, d)}
        for n_tiles in (1, 4):
            cfg = xbarsim.TileConfig()
            if n_tiles > 1:
                cfg = dataclasses.replace(cfg, algorithm=ResidualLearning(n_tiles=n_tiles, gamma=0.5))
            steps[n_tiles] = _tile_step(make_tile(out_size, in_size, cfg, seed=1, device=device), x, d)
        ms = time_interleaved(steps, device, warmup=20, repeats=10 if quick else 200, min_time_s=0.0 if quick else 1.0)
        for n_tiles in (1, 4):
            us = 1e3 * ms[n_tiles]
            rows.append(row(SUITE, f"{out_size}x{in_size} tile, {n_tiles} tile{'s' if n_tiles > 1 else ''}, "
                            "forward + update b1", device, ms[n_tiles], ms["torch"], "x @ w.T + w.addmm_",
                            us=round(us, 1), target_us=TARGET_US[n_tiles] if (out_size, in_size) == (1, 1) else None,
                            added_by_3_tiles_us=round(1e3 * (ms[4] - ms[1]), 1) if n_tiles == 4 else None))
    return rows
