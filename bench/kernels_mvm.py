"""Analog forward/backward MVM with the default IOConfig against a plain ``torch.matmul`` of the same
shape, interleaved in the same run (suite "mvm", group "kernels").

Cases: W[out, in] for (in, out) = (784, 256) and (4096, 4096), batch 100 and 1024, forward
(x[batch, in] -> y[batch, out]) and backward (d[batch, out] -> z[batch, in]). ``quick`` keeps 784x256.
Target: the default-IO forward at most 1.2x the plain matmul at 784x256 and 4096^2, batch 100.
"""
from __future__ import annotations

import torch

from _timing import peak_memory_mb, row, time_interleaved

SUITE = "mvm"
GROUP = "kernels"

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
            calls = iter(range(1 << 40))
            cases = [
                ("forward", lambda: analog_mvm(x, W, io, seed=1, call=next(calls)), lambda: torch.matmul(x, Wt)),
                ("backward", lambda: analog_mvm(d, W, io, True, seed=1, call=next(calls)), lambda: torch.matmul(d, W)),
            ]
            for direction, fn, base in cases:
                ms = time_interleaved({"xbarsim": fn, "torch": base}, device, repeats=3 if quick else 10)
                target = 1.2 if direction == "forward" and batch == 100 else None
                rows.append(row(SUITE, f"{direction} {n_in}x{n_out} b{batch}", device, ms["xbarsim"], ms["torch"],
                                "torch.matmul", target=target, peak_mb=peak_memory_mb(fn, device),
                                baseline_peak_mb=peak_memory_mb(base, device)))
    return rows
