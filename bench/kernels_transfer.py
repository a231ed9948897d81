"""Step time of residual learning with 2, 4, 6 and 8 tiles against analog SGD on one tile and the
digital step (suite "transfer").

One step of a layer = analog forward of the batch, analog backward, and the update (gradient pulses on
the gradient tile, the transfers that fall due, the W̄ reduction). The 784×256 layer at batch 100 with
the paper's device (4-state SoftBounds), perfect reads (as in the paper) and periods ``2^(N−n)``
mini-batches (the gradient tile transfers every step, tile n every 2^(N−n) steps): on average about
two transfer events per step. The LeNet-5 model step (batch 16) is measured when ``xbarsim.models`` is
available. Every row carries the digital step measured in the same run as its baseline.

Target (issue 5): each extra tile adds at most 15 % to the step time of analog SGD on one tile.
"""
from __future__ import annotations

import torch

import xbarsim
from xbarsim.algorithms import ResidualLearning, SingleTile, make_tile
from xbarsim.config import IOConfig, TileConfig
from xbarsim.presets import PaperSoftBounds

from _timing import row, time_fn

SUITE = "transfer"
PERFECT = IOConfig(is_perfect=True)
# The gradient tile of residual learning gets the same pulse-count rate as analog SGD (η = lr), so the
# rows differ only by what the extra tiles cost. lr·max|x|·max|d|/ε ≈ 1–2 coincidences per vector.
LR = 1.0


def _config(n_tiles: int) -> TileConfig:
    """Analog SGD (1 tile) or residual learning with periods 2^(N−n) mini-batches and η_N = lr."""
    if n_tiles == 1:
        algo = SingleTile()
    else:
        N = n_tiles - 1
        algo = ResidualLearning(n_tiles=n_tiles, gamma=0.5, transfer_every=tuple(float(2 ** (N - n)) for n in range(n_tiles)),
                                transfer_lr=0.1, scale_transfer_lr=False, fast_lr=1.0, scale_fast_lr=True)
    return TileConfig(forward=PERFECT, backward=PERFECT, device=PaperSoftBounds(4), algorithm=algo)


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


def run(device: str, quick: bool) -> list[dict]:
    out_size, in_size, batch = (64, 196, 25) if quick else (256, 784, 100)
    tiles = (1, 2, 4) if quick else (1, 2, 4, 6, 8)
    repeats = 3 if quick else 10
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, in_size, generator=g)).to(device)
    d = (torch.randn(batch, out_size, generator=g) * 0.2).to(device)
    w = (torch.randn(out_size, in_size, generator=g) * 0.05).to(device)
    base = time_fn(_sync(device, _digital_step(w.clone(), x, d)), device, warmup=2, repeats=repeats)
    rows = []
    sgd_ms = None
    for n in tiles:
        tile = make_tile(out_size, in_size, _config(n), seed=1, device=device)
        tile.set_weights(w)
        ms = time_fn(_sync(device, _layer_step(tile, x, d)), device, warmup=3, repeats=repeats, min_time_s=0.5)
        if n == 1:
            sgd_ms = ms
        case = f"{out_size}x{in_size} b{batch} " + ("analog SGD 1 tile" if n == 1 else f"residual {n} tiles")
        extra = {"n_tiles": n}
        if n > 1 and sgd_ms:
            extra["per_extra_tile_pct"] = round(100.0 * (ms / sgd_ms - 1.0) / (n - 1), 2)
        rows.append(row(SUITE, case, device, ms, base, "torch digital step", **extra))
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
    repeats = 3 if quick else 5

    def model_step(model, opt):
        def step():
            opt.zero_grad()
            loss = torch.nn.functional.nll_loss(model(images), labels)
            loss.backward()
            opt.step()
        return step

    digital = lenet5(None).to(device)
    base = time_fn(_sync(device, model_step(digital, torch.optim.SGD(digital.parameters(), lr=0.05))), device,
                   warmup=2, repeats=repeats)
    rows = []
    sgd_ms = None
    for n in ((1, 2, 4) if quick else (1, 2, 4, 6, 8)):
        model = lenet5(_config(n), seed=1).to(device)
        ms = time_fn(_sync(device, model_step(model, AnalogSGD(model.parameters(), lr=0.05))), device, warmup=2,
                     repeats=repeats, min_time_s=0.5)
        if n == 1:
            sgd_ms = ms
        extra = {"n_tiles": n}
        if n > 1 and sgd_ms:
            extra["per_extra_tile_pct"] = round(100.0 * (ms / sgd_ms - 1.0) / (n - 1), 2)
        case = "LeNet-5 b16 " + ("analog SGD 1 tile" if n == 1 else f"residual {n} tiles")
        rows.append(row(SUITE, case, device, ms, base, "torch digital LeNet-5 step", **extra))
    return rows


if __name__ == "__main__":
    import json

    devices = ["cpu"] + (["cuda"] if xbarsim.cuda_available() else [])
    for dev in devices:
        for r in run(dev, quick=False):
            print(json.dumps(r))
