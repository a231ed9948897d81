"""Timing helpers for bench/: warm-up, then the median of repeats; CUDA timed with events.

Every suite reports rows that carry the xbarsim time and the plain-torch baseline measured in the
same run, so ratios are comparable across machines.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def time_fn(fn: Callable[[], object], device: str = "cpu", warmup: int = 3, repeats: int = 10,
            min_time_s: float = 0.2) -> float:
    """Median wall time of ``fn()`` in milliseconds (at least ``repeats`` runs and ``min_time_s``)."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    start_all = time.perf_counter()
    while len(samples) < repeats or (time.perf_counter() - start_all < min_time_s and len(samples) < 1000):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def devices(requested: str = "all") -> list[str]:
    """The devices to benchmark: cpu, and cuda when a GPU and a CUDA build are present."""
    import xbarsim

    out = ["cpu"]
    if xbarsim.cuda_available():
        out.append("cuda")
    if requested != "all":
        out = [d for d in out if d == requested]
    return out


def row(suite: str, case: str, device: str, ms: float, baseline_ms: float, baseline: str, **extra) -> dict:
    """One result row: xbarsim time, baseline time and their ratio."""
    return {"suite": suite, "case": case, "device": device, "ms": round(ms, 4),
            "baseline": baseline, "baseline_ms": round(baseline_ms, 4),
            "ratio": round(ms / baseline_ms, 3) if baseline_ms > 0 else float("nan"), **extra}
