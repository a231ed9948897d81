"""Benchmark suite "mvm": analog forward/backward MVM with the default IOConfig against a plain
torch.matmul of the same shape, measured in the same run.

Cases: W[out, in] for (in, out) = (784, 256) and (4096, 4096), batch 100 and 1024, forward
(x[batch, in] -> y[batch, out]) and backward (d[batch, out] -> z[batch, in]). ``quick`` keeps 784x256.
Targets (spec of the issue): default-IO forward <= 2x plain matmul on CPU, <= 1.3x on GPU at 4096^2.
"""
from __future__ import annotations

import torch

from _timing import row, time_fn

SUITE = "mvm"

SHAPES = [(784, 256), (4096, 4096)]
BATCHES = [100, 1024]


def run(device: str, quick: bool) -> list[dict]:
    import xbarsim
    from xbarsim.ops import analog_mvm

    io = xbarsim.IOConfig()
    rows: list[dict] = []
    g = torch.Generator(device="cpu").manual_seed(0)
    for n_in, n_out in SHAPES[:1] if quick else SHAPES:
        W = (torch.randn(n_out, n_in, generator=g) * (1.0 / n_in**0.5)).to(device)
        for batch in BATCHES:
            x = torch.randn(batch, n_in, generator=g).to(device)
            d = torch.randn(batch, n_out, generator=g).to(device)
            Wt = W.t()
            repeats = 3 if quick else 10
            calls = iter(range(1 << 40))
            cases = [
                ("forward", lambda: analog_mvm(x, W, io, seed=1, call=next(calls)), lambda: torch.matmul(x, Wt)),
                ("backward", lambda: analog_mvm(d, W, io, True, seed=1, call=next(calls)), lambda: torch.matmul(d, W)),
            ]
            for direction, fn, base in cases:
                ms_base = time_fn(base, device, repeats=repeats)
                ms = time_fn(fn, device, repeats=repeats)
                rows.append(row(SUITE, f"{direction} {n_in}x{n_out} b{batch}", device, ms, ms_base, "torch.matmul",
                                batch=batch, in_size=n_in, out_size=n_out, direction=direction))
    return rows
