"""Timing helpers for bench/: the same warm-up on every side, then the sides interleaved (one call of
each per round), the median of the rounds; CUDA timed with events.

Every suite reports rows that carry the xbarsim time and the plain-torch baseline measured in the
same run, interleaved with it, so a shared machine's changing load falls on both sides alike and the
ratios are comparable across machines.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def _once(fn: Callable[[], object], device: str) -> float:
    """Wall time of one ``fn()`` in ms (CUDA: between two events, after a synchronisation)."""
    if device == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end)
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def time_interleaved(fns: dict[str, Callable[[], object]], device: str = "cpu", warmup: int = 3,
                     repeats: int = 10, min_time_s: float = 0.2, max_repeats: int = 1000) -> dict[str, float]:
    """Median wall time in ms of each ``fns[k]()``: ``warmup`` calls of each, then rounds of one call of
    each in turn, at least ``repeats`` rounds and until ``min_time_s`` has passed."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    if device == "cuda":
        torch.cuda.synchronize()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    start = time.perf_counter()
    rounds = 0
    while rounds < repeats or (time.perf_counter() - start < min_time_s and rounds < max_repeats):
        for k, fn in fns.items():
            samples[k].append(_once(fn, device))
        rounds += 1
    return {k: statistics.median(v) for k, v in samples.items()}


def time_fn(fn: Callable[[], object], device: str = "cpu", warmup: int = 3, repeats: int = 10,
            min_time_s: float = 0.2) -> float:
    """Median wall time of ``fn()`` in milliseconds (at least ``repeats`` runs and ``min_time_s``)."""
    return time_interleaved({"fn": fn}, device, warmup, repeats, min_time_s)["fn"]


def peak_memory_mb(fn: Callable[[], object], device: str) -> float | None:
    """Peak CUDA memory allocated during one ``fn()`` in MiB (None on the CPU, where torch keeps no
    allocator statistics)."""
    if device != "cuda":
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return round(torch.cuda.max_memory_allocated() / 2**20, 2)


def state_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's parameters and buffers (what it holds between steps)."""
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()) if t is not None)


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
