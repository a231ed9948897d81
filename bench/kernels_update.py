"""Pulsed-update kernels against the digital update ``W.addmm_(d.T, x, alpha=-lr)`` of the same shape.

Cases (analog-tile.md §2, §3): SoftBounds with 16 states (``presets.PaperSoftBounds(16)``: 30 %
device-to-device and 30 % cycle-to-cycle noise, so every pulse draws a normal), desired_bl 31,
update and BL management on, in two regimes:

* typical: lr 0.01, x ~ U(0, 1), d ~ 0.1·N(0, 1): BL management picks BL = 1, few pulses;
* dense:   lr 1,    x ~ U(0, 1), d ~ N(0, 1):     BL ≈ 23, about 3 pulses per cell and vector.

Shapes: 784×256 at batch 16, 100 and 1024, and 4096×4096 at batch 1024 (CUDA only: on the CPU a
single dense call is ~5·10¹⁰ pulses, several minutes, see docs/update.md §6). Each row also reports
the pulses of one call and the time per pulse. Targets: typical at most 3x addmm_, dense at most
200x (the floor is one normal variate per pulse; bench/README.md).
"""
from __future__ import annotations

import dataclasses

import torch

import xbarsim
from xbarsim import presets

from _timing import row, time_interleaved

SUITE = "update"
GROUP = "kernels"
TARGETS = {"typical": 3.0, "dense": 200.0}  # ratio to addmm_ (the targets)


def _case(device: str, in_size: int, out_size: int, batch: int, regime: str, quick: bool) -> dict:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, in_size, generator=gen)
    if regime == "typical":
        lr, d = 0.01, 0.1 * torch.randn(batch, out_size, generator=gen)
    else:
        lr, d = 1.0, torch.randn(batch, out_size, generator=gen)
    x, d = x.to(device), d.to(device)
    cfg = xbarsim.TileConfig(device_model=presets.PaperSoftBounds(16), update=presets.PresetUpdate())
    tile = xbarsim.AnalogTile(out_size, in_size, cfg, seed=1, device=device)
    w0 = (torch.rand(out_size, in_size, generator=gen) * 0.2 - 0.1).to(device)
    tile.set_weights(w0)
    W = w0.clone()

    def analog():
        tile.update(x, d, lr)

    def digital():
        W.addmm_(d.T, x, alpha=-lr)

    ms = time_interleaved({"xbarsim": analog, "torch": digital}, device, warmup=1, repeats=3 if quick else 10,
                          min_time_s=0.0 if quick else 0.5)
    pulses = _pulses_per_call(cfg, w0, x, d, lr, device)
    ms, base = ms["xbarsim"], ms["torch"]
    return row(SUITE, f"{regime} {in_size}x{out_size} b{batch}", device, ms, base, "addmm_", target=TARGETS[regime],
               threads=torch.get_num_threads() if device == "cpu" else None, pulses=pulses,
               ns_per_pulse=round(ms * 1e6 / pulses, 2) if pulses else None)


def _pulses_per_call(cfg: xbarsim.TileConfig, w0: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float,
                     device: str) -> int:
    """Device pulses of one call (a copy of the tile with counters on: its first call, same inputs)."""
    counting = dataclasses.replace(cfg, update=dataclasses.replace(cfg.update, count_pulses=True))
    tile = xbarsim.AnalogTile(w0.shape[0], w0.shape[1], counting, seed=1, device=device)
    tile.set_weights(w0)
    tile.update(x, d, lr)
    counts = tile.pulse_counts()
    return counts["coincidences_up"] + counts["coincidences_down"]


def run(device: str, quick: bool) -> list[dict]:
    shapes = [(784, 256, 16), (784, 256, 100), (784, 256, 1024)]
    if device == "cuda":
        shapes.append((4096, 4096, 1024))
    if quick:
        shapes = [(784, 256, 16), (784, 256, 100)]
    rows = []
    for regime in ("typical", "dense"):
        for in_size, out_size, batch in shapes:
            rows.append(_case(device, in_size, out_size, batch, regime, quick))
    return rows
