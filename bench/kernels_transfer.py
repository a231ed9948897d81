"""Step time of residual learning with 2, 4, 6 and 8 tiles against analog SGD on one tile and the
digital step (suite "transfer", group "kernels").

One step of a layer = analog forward of the batch, analog backward, and the update (gradient pulses on
the gradient tile, the transfers that fall due, the W̄ reduction). The 784×256 layer at batch 100 with
the paper's device (4-state SoftBounds), perfect reads (as in the paper) and periods ``2^(N−n)``
mini-batches (the gradient tile transfers every step, tile n every 2^(N−n) steps): on average about
two transfer events per step. The gradient update is in the typical regime (lr 0.05, d ~ 0.2·N(0, 1):
BL management picks BL = 1 and a few % of the cells get a pulse), so the single-tile denominator is
not inflated by a dense update. The LeNet-5 model step (batch 16) is measured too. Every row carries
the digital step measured in the same run as its baseline.

Target: each extra residual-learning tile adds at most 10 % to the single-tile step.
"""
from __future__ import annotations

import torch

import xbarsim
from xbarsim.algorithms import ResidualLearning, SingleTile, make_tile
from xbarsim.config import IOConfig, TileConfig
from xbarsim.presets import PaperSoftBounds

from _timing import row, time_fn, time_interleaved

SUITE = "transfer"
GROUP = "kernels"
TARGET_PER_EXTRA_TILE_PCT = 10.0
PERFECT = IOConfig(is_perfect=True)
# The gradient tile of residual learning gets the same pulse-count rate as analog SGD (η = lr), so the
# rows differ only by what the extra tiles cost. lr·max|x|·max|d|/ε ≈ 0.05·1·0.6/0.5 = 0.06: BL = 1.
LR = 0.05


def _config(n_tiles: int) -> TileConfig:
    """Analog SGD (1 tile) or residual learning with periods 2^(N−n) mini-batches and η_N = lr."""
    if n_tiles == 1:
        algo = SingleTile()
    else:
        N = n_tiles - 1
        algo = ResidualLearning(n_tiles=n_tiles, gamma=0.5, transfer_every=tuple(float(2 ** (N - n)) for n in range(n_tiles)),
                                transfer_lr=0.1, scale_transfer_lr=False, fast_lr=1.0, scale_fast_lr=True)
    return TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(4), algorithm=algo)


def _layer_step(tile, x, d):
    def step():
        tile.forward(x)
        tile.backward(d)
        tile.update(x, d, LR)
    return step


def _digital_step(w, x, d):
    def step():
        y = x @ w.T
        gx = d @ w
        w.sub_(LR * d.T @ x)
        return y, gx
    return step


def _sync(device: str, fn):
    if device != "cuda":
        return fn

    def wrapped():
        fn()
        torch.cuda.synchronize()
    return wrapped


def _interleaved(steps: dict, device: str, rounds: int) -> tuple[dict, dict]:
    """Median wall time (``_timing.time_interleaved``: round-robin, one step of every config per round,
    so that a shared machine's changing load falls on all configs alike) and, on the CPU, the median
    process CPU time with one OpenMP thread of each step, which measures the work itself."""
    import statistics
    import time

    from xbarsim import _core

    wall = time_interleaved(steps, device, warmup=2, repeats=rounds, min_time_s=0.0)
    cpu: dict = {k: [] for k in steps}
    if device == "cpu":
        threads = _core.openmp_threads()
        _core.set_openmp_threads(1)
        try:
            for _ in range(rounds):
                for k, fn in steps.items():
                    t0 = time.process_time()
                    fn()
                    cpu[k].append((time.process_time() - t0) * 1e3)
        finally:
            _core.set_openmp_threads(threads)
    return wall, {k: statistics.median(v) for k, v in cpu.items() if v}


def _rows(label: str, tiles, steps: dict, device: str, rounds: int, base: float, baseline: str) -> list[dict]:
    wall, cpu = _interleaved(steps, device, rounds)
    rows = []
    for n in tiles:
        case = f"{label} " + ("analog SGD 1 tile" if n == 1 else f"residual {n} tiles")
        extra = {"n_tiles": n}
        if n > 1:
            extra["per_extra_tile_pct"] = round(100.0 * (wall[n] / wall[1] - 1.0) / (n - 1), 2)
            extra["target_per_extra_tile_pct"] = TARGET_PER_EXTRA_TILE_PCT
        if cpu:
            extra["cpu_time_ms_1thread"] = round(cpu[n], 3)
            if n > 1:
                extra["per_extra_tile_pct_cpu_time"] = round(100.0 * (cpu[n] / cpu[1] - 1.0) / (n - 1), 2)
        rows.append(row(SUITE, case, device, wall[n], base, baseline, **extra))
    return rows


def run(device: str, quick: bool) -> list[dict]:
    out_size, in_size, batch = (64, 196, 25) if quick else (256, 784, 100)
    tiles = (1, 2, 4) if quick else (1, 2, 4, 6, 8)
    rounds = 3 if quick else 15
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, in_size, generator=g)).to(device)
    d = (torch.randn(batch, out_size, generator=g) * 0.2).to(device)
    w = (torch.randn(out_size, in_size, generator=g) * 0.05).to(device)
    base = time_fn(_sync(device, _digital_step(w.clone(), x, d)), device, warmup=2, repeats=rounds)
    steps = {}
    for n in tiles:
        tile = make_tile(out_size, in_size, _config(n), seed=1, device=device)
        tile.set_weights(w)
        steps[n] = _sync(device, _layer_step(tile, x, d))
    rows = _rows(f"{out_size}x{in_size} b{batch}", tiles, steps, device, rounds, base, "torch digital step")
    rows.extend(_lenet_rows(device, quick))
    return rows


def _lenet_rows(device: str, quick: bool) -> list[dict]:
    """The LeNet-5 model (paper's shapes) at batch 16: one optimizer step per tile count, when the
    front end (``xbarsim.models``, ``xbarsim.optim``) is available."""
    try:
        from xbarsim.models import lenet5
        from xbarsim.optim import AnalogSGD
    except ImportError:
        return []
    batch = 16
    g = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 1, 28, 28, generator=g).to(device)
    labels = torch.randint(0, 10, (batch,), generator=g).to(device)
    rounds = 3 if quick else 9

    def model_step(model, opt):
        def step():
            opt.zero_grad()
            loss = torch.nn.functional.nll_loss(model(images), labels)
            loss.backward()
            opt.step()
        return step

    digital = lenet5(None).to(device)
    base = time_fn(_sync(device, model_step(digital, torch.optim.SGD(digital.parameters(), lr=0.05))), device,
                   warmup=2, repeats=rounds)
    tiles = (1, 2, 4) if quick else (1, 2, 4, 6, 8)
    steps = {}
    for n in tiles:
        model = lenet5(_config(n), seed=1).to(device)
        steps[n] = _sync(device, model_step(model, AnalogSGD(model.parameters(), lr=0.05)))
    return _rows("LeNet-5 b16", tiles, steps, device, rounds, base, "torch digital LeNet-5 step")


if __name__ == "__main__":
    import json

    devices = ["cpu"] + (["cuda"] if xbarsim.cuda_available() else [])
    for dev in devices:
        for r in run(dev, quick=False):
            print(json.dumps(r))
