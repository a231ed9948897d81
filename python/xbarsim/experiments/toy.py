"""The paper's least-squares toy (Fig. 7 right): squared error of residual learning vs tile count.

``min_w (w − b)²`` for many 16-bit targets b at once: a ``[n_targets, 1]`` tile stack whose row k is
an independent ``1 × 1`` problem (its own cells, its own device-to-device draws), input x = 1, no bias,
batch 1, loss ``Σ_k (y_k − b_k)²`` so that every row gets its own gradient ``2(y_k − b_k)``. The rows
share only the input line's pulse train, which correlates their noise; the spread over seeds is
therefore reported next to the spread over targets.

Usage::

    python -m xbarsim.experiments.toy --tiles 1 2 3 4 --steps 40000 --targets 100 --seeds 3 \\
        --variant paper --out toy_results            # JSON + CSV (+ PNG when matplotlib is installed)

Spec: algorithms.md §10 (protocol), §9 check 3; presets in :func:`xbarsim.presets.paper.toy_least_squares`.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import time
from typing import Sequence

import numpy as np
import torch

from ..algorithms import make_tile
from ..ops import set_num_threads
from ..presets.paper import TOY_VARIANTS, toy_least_squares

__all__ = ["random_targets", "simulate", "measure", "write_results", "reproduce", "main"]


def random_targets(n: int, seed: int) -> torch.Tensor:
    """``b = −1 + k·2/(2¹⁶ − 1)``, k uniform on {0, …, 2¹⁶ − 1} (algorithms.md §10), float64."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, 2**16, (n,), generator=g, dtype=torch.int64)
    return -1.0 + k.to(torch.float64) * (2.0 / (2**16 - 1))


@torch.no_grad()
def simulate(n_tiles: int, targets: torch.Tensor, steps: int, *, seed: int = 0, variant: str = "paper",
             device_noise: bool = True, sgd_lr: float | None = None, record_every: int = 1,
             device: str = "cpu") -> np.ndarray:
    """Run the toy; returns the squared errors ``(W̄_k − b_k)²`` after every ``record_every`` steps,
    shape ``[steps // record_every, n_targets]`` (float64).

    Tiles start at zero (the digital initial weight is 0). One step: forward read of W̄ (perfect IO),
    ``d = 2(y − b)``, ``update(x, d, lr)`` (gradient pulses, due transfers, W̄ recomputed).
    """
    preset = toy_least_squares(n_tiles, variant=variant, device_noise=device_noise, sgd_lr=sgd_lr)
    b = targets.to(device=device, dtype=torch.float64)
    tile = make_tile(b.numel(), 1, preset.config, seed=seed, device=device, dtype=torch.float64)
    tile.set_weights(torch.zeros(b.numel(), 1, dtype=torch.float64, device=device))
    x = torch.full((1, 1), preset.x, dtype=torch.float64, device=device)
    out = np.empty((steps // record_every, b.numel()))
    for t in range(steps):
        y = tile.forward(x)[0]
        d = 2.0 * (y - b)
        tile.update(x, d[None, :], preset.lr)
        if (t + 1) % record_every == 0:
            w = tile.weight[:, 0]  # W̄ of a multi-tile, W of a single tile
            out[(t + 1) // record_every - 1] = ((w - b) ** 2).cpu().numpy()
    return out


def measure(tiles: Sequence[int], *, steps: int, n_targets: int, seeds: Sequence[int], variant: str = "paper",
            device_noise: bool = True, sgd_lr: float | None = None, tail: float = 0.5, record_every: int = 10,
            device: str = "cpu") -> dict:
    """Time-averaged squared error over the last ``tail`` of the run, per tile count.

    Returns a JSON-compatible dict: per tile count the time average over the tail (mean over targets
    and seeds), the error at the end of the run ("final": the last recorded step, mean over targets and
    seeds), the standard error over seeds, the median over targets, and the error curve (mean over
    targets and seeds).
    """
    results: dict = {"variant": variant, "device_noise": device_noise, "steps": steps, "n_targets": n_targets,
                     "seeds": list(seeds), "tail": tail, "record_every": record_every, "tiles": {}}
    for n in tiles:
        per_seed, curves, per_target = [], [], []
        t0 = time.perf_counter()
        for s in seeds:
            b = random_targets(n_targets, 1000 + s)
            err = simulate(n, b, steps, seed=s, variant=variant, device_noise=device_noise, sgd_lr=sgd_lr,
                           record_every=record_every, device=device)
            start = int(len(err) * (1.0 - tail))
            per_seed.append(float(err[start:].mean()))
            per_target.append(err[start:].mean(axis=0))
            curves.append(err.mean(axis=1))
        pts = np.concatenate(per_target)
        k = len(per_seed)
        final = [float(np.mean(c[-1])) for c in curves]
        results["tiles"][str(n)] = {
            "mean": float(np.mean(per_seed)),
            "final": float(np.mean(final)),
            "sem_over_seeds": float(np.std(per_seed, ddof=1) / math.sqrt(k)) if k > 1 else float("nan"),
            "per_seed": per_seed,
            "median_over_targets": float(np.median(pts)),
            "curve": np.mean(curves, axis=0).tolist(),
            "seconds": time.perf_counter() - t0,
            "preset_notes": toy_least_squares(n, variant=variant, device_noise=device_noise).notes,
        }
    return results


def write_results(results: dict, out: pathlib.Path) -> list[pathlib.Path]:
    out.mkdir(parents=True, exist_ok=True)
    tag = f"toy_{results['variant']}_{'noisy' if results['device_noise'] else 'noisefree'}"
    paths = [out / f"{tag}.json", out / f"{tag}.csv"]
    paths[0].write_text(json.dumps(results, indent=1))
    with paths[1].open("w", newline="") as f:
        w = csv.writer(f)
        tiles = list(results["tiles"])
        w.writerow(["step"] + [f"tiles_{n}" for n in tiles])
        curves = [results["tiles"][n]["curve"] for n in tiles]
        for i in range(len(curves[0])):
            w.writerow([(i + 1) * results["record_every"]] + [c[i] for c in curves])
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plotting is optional
        return paths
    fig, ax = plt.subplots(figsize=(6, 4))
    for n, r in results["tiles"].items():
        steps = np.arange(1, len(r["curve"]) + 1) * results["record_every"]
        label = "analog SGD (1 tile)" if n == "1" else f"residual learning, {n} tiles"
        ax.semilogy(steps, r["curve"], label=f"{label}: {r['mean']:.3g}")
    ax.set_xlabel("step")
    ax.set_ylabel("mean squared error (W̄ − b)²")
    ax.set_title(f"least-squares toy, variant {results['variant']}, "
                 f"{'noisy' if results['device_noise'] else 'noise-free'} 4-state SoftBounds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = out / f"{tag}.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return paths + [png]


def reproduce(out: pathlib.Path, *, tiles: Sequence[int] = (1, 2, 3, 4), steps: int = 40000, n_targets: int = 100,
              seeds: int = 3, record_every: int = 10, tail: float = 0.5, device: str = "cpu",
              variants: Sequence[str] = TOY_VARIANTS, noise: Sequence[bool] = (True, False),
              log=print) -> pathlib.Path:
    """Run the toy for each preset in ``variants`` ("paper", "theory") on noisy and/or noise-free devices:
    JSON, CSV and a plot per combination; then ``report.md`` over every combination found in ``out``
    (so variants run by separate commands, with their own step counts, share one report)."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        for noisy in noise:
            log(f"toy: {variant}, {'noisy' if noisy else 'noise-free'}, {steps} steps")
            res = measure(tiles, steps=steps, n_targets=n_targets, seeds=list(range(seeds)), variant=variant,
                          device_noise=noisy, tail=tail, record_every=record_every, device=device)
            write_results(res, out)
    return write_report(out)


def write_report(out: pathlib.Path) -> pathlib.Path:
    """``report.md`` of every ``toy_*.json`` in ``out``: per combination and tile count the time average
    over the tail and the error at the end of the run, with the plots."""
    out = pathlib.Path(out)
    lines = ["# Least-squares toy (paper §5.2, Fig. 7 right)", "",
             "Per preset, device and tile count (1 = analog SGD on one tile): the squared error (W̄ − b)² "
             "averaged over the tail of the run (time average) and at the last recorded step (end of run), "
             "mean over targets and seeds, ± the standard error over seeds. Presets: "
             "`xbarsim.presets.paper.toy_least_squares`.", "",
             "| variant | device | steps | targets | seeds | tiles | time average | end of run | ± (seeds) | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    plots = []
    for path in sorted(out.glob("toy_*.json")):
        res = json.loads(path.read_text())
        device = "noisy" if res["device_noise"] else "noise-free"
        for n, r in res["tiles"].items():
            lines.append(f"| {res['variant']} | {device} | {res['steps']} | {res['n_targets']} | {len(res['seeds'])} | "
                         f"{n} | {r['mean']:.4g} | {r.get('final', float('nan')):.4g} | {r['sem_over_seeds']:.2g} | "
                         f"{r['seconds']:.0f} |")
        png = path.with_suffix(".png")
        if png.is_file():
            plots.append(png)
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiles", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=40000)
    p.add_argument("--targets", type=int, default=100)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--variant", choices=TOY_VARIANTS, default="paper")
    p.add_argument("--noise-free", action="store_true", help="device without variation (the theory's ALD)")
    p.add_argument("--sgd-lr", type=float, default=None)
    p.add_argument("--tail", type=float, default=0.5)
    p.add_argument("--record-every", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("toy_results"))
    p.add_argument("--threads", type=int, default=1,
                   help="OpenMP threads of the CPU ops (default 1: the tiles are n_targets × 1)")
    a = p.parse_args(argv)
    if a.device == "cpu":
        set_num_threads(a.threads)
    res = measure(a.tiles, steps=a.steps, n_targets=a.targets, seeds=list(range(a.seeds)), variant=a.variant,
                  device_noise=not a.noise_free, sgd_lr=a.sgd_lr, tail=a.tail, record_every=a.record_every,
                  device=a.device)
    for n, r in res["tiles"].items():
        print(f"tiles={n}: mean sq. error {r['mean']:.4g} ± {r['sem_over_seeds']:.2g} (seeds), final {r['final']:.4g}, "
              f"median over targets {r['median_over_targets']:.4g}, {r['seconds']:.1f} s")
    for path in write_results(res, a.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
