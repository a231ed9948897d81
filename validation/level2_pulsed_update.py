"""Level 2 of issue 12: the pulsed update of xbarsim and aihwkit on the same inputs.

Part A, BL, A and B: neither simulator exposes BL, A and B, but the deterministic pulse types turn
them into pulse counts: with ``deterministic_implicit`` a cell gets rint(BL·Q_i·P_j) pulses, with
``mean_count`` rint(c_i c_j / BL), and on a ConstantStep device without any variation the weight
change is exactly that count times dw_min. Over a grid of learning rates, dw_min, desired_bl and
the management flags, the weight changes must be equal.

Part B, statistics of one stochastic update (stochastic_compressed): per cell, the mean and variance
of Δw over R repetitions (a fresh tile each time, so device-to-device draws are part of the spread)
for ConstantStep and SoftBounds with and without variation, compared by z-scores of the means and
the ratio of the variances.

    OMP_NUM_THREADS=1 validation/.venv-aihwkit/bin/python validation/level2_pulsed_update.py
"""
from __future__ import annotations

import itertools
import sys

import numpy as np

from _common import environment, md_table, need_aihwkit, one_thread, write_results

OUT, IN = 6, 8
NO_VARIATION = dict(dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0)


def tiles(device, update_kwargs, seed):
    from aihwkit.simulator.configs import SingleRPUConfig, UpdateParameters
    from aihwkit.simulator.tiles import AnalogTile as ATile

    import xbarsim
    from xbarsim.compat.aihwkit import from_aihwkit
    rpu = SingleRPUConfig(device=device, update=UpdateParameters(**update_kwargs))
    conv = from_aihwkit(rpu)
    return ATile(OUT, IN, rpu), xbarsim.AnalogTile(OUT, IN, conv.tile, seed=seed)


def delta(a_tile, x_tile, W0, x, d, lr):
    a_tile.set_weights(W0)
    a_tile.set_learning_rate(lr)
    a_tile.tile.update(x, d, False)
    x_tile.set_weights(W0)
    x_tile.update(x, d, lr)
    return (a_tile.get_weights()[0] - W0).numpy(), (x_tile.get_weights()[0].detach() - W0).numpy()


def part_a(rng):
    import torch
    from aihwkit.simulator.configs import ConstantStepDevice
    from aihwkit.simulator.parameters.enums import PulseType
    x = torch.tensor(rng.uniform(-1, 1, (1, IN)), dtype=torch.float32)
    d = torch.tensor(rng.uniform(-1, 1, (1, OUT)), dtype=torch.float32)
    W0 = torch.zeros(OUT, IN)
    rows = []
    for pt, lr, dw, bl, um, blm, fixed, ugs in itertools.product(
            [PulseType.DETERMINISTIC_IMPLICIT, PulseType.MEAN_COUNT], [0.01, 0.1, 1.0], [0.01, 0.1], [1, 31, 100],
            [True, False], [True, False], [True, False], [1.0, 0.5]):
        if not um and ugs != 1.0:
            continue  # um_grad_scale only acts inside update management
        dev = ConstantStepDevice(dw_min=dw, w_min=-10.0, w_max=10.0, **NO_VARIATION)
        upd = dict(pulse_type=pt, desired_bl=bl, update_management=um, update_bl_management=blm, fixed_bl=fixed,
                   um_grad_scale=ugs)
        a_tile, x_tile = tiles(dev, upd, seed=3)
        da, dx = delta(a_tile, x_tile, W0, x, d, lr)
        na, nx = np.rint(da / dw).astype(int), np.rint(dx / dw).astype(int)
        rows.append({"pulse_type": pt.value, "lr": lr, "dw_min": dw, "desired_bl": bl, "update_management": um,
                     "update_bl_management": blm, "fixed_bl": fixed, "um_grad_scale": ugs,
                     "max_abs_diff": float(np.abs(da - dx).max()), "count_cells_differ": int((na != nx).sum()),
                     "total_pulses": [int(np.abs(na).sum()), int(np.abs(nx).sum())]})
    return rows


def part_b(rng, reps: int):
    import torch
    from aihwkit.simulator.configs import ConstantStepDevice, SoftBoundsDevice
    x = torch.tensor(rng.uniform(-1, 1, (1, IN)), dtype=torch.float32)
    d = torch.tensor(rng.uniform(-1, 1, (1, OUT)), dtype=torch.float32)
    cases = [
        ("ConstantStep, no variation", ConstantStepDevice(dw_min=0.01, **NO_VARIATION), 0.0),
        ("ConstantStep, default variation", ConstantStepDevice(dw_min=0.01), 0.0),
        ("SoftBounds, no variation", SoftBoundsDevice(dw_min=0.01, **NO_VARIATION), 0.2),
        ("SoftBounds, default variation", SoftBoundsDevice(dw_min=0.01), 0.2),
    ]
    rows = []
    for name, dev, w0 in cases:
        for lr in (0.05, 0.5):  # k < desired_bl, and k > desired_bl (clipped update) at the largest cell
            W0 = torch.full((OUT, IN), w0)
            da, dx = [], []
            for r in range(reps):
                a_tile, x_tile = tiles(dev, {}, seed=10_000 + r)
                a, b = delta(a_tile, x_tile, W0, x, d, lr)
                da.append(a)
                dx.append(b)
            da, dx = np.stack(da), np.stack(dx)
            ma, mx, va, vx = da.mean(0), dx.mean(0), da.var(0, ddof=1), dx.var(0, ddof=1)
            z = np.abs(ma - mx) / np.sqrt((va + vx) / reps + 1e-30)
            ratio = (vx + 1e-30) / (va + 1e-30)
            rows.append({"case": name, "lr": lr, "reps": reps, "cells": OUT * IN, "w0": w0,
                         "max_z_mean": float(z.max()), "cells_z_gt_4": int((z > 4).sum()),
                         "var_ratio_range": [float(ratio.min()), float(ratio.max())],
                         "mean_dw_all": [float(ma.mean()), float(mx.mean())],
                         "mean_var_all": [float(va.mean()), float(vx.mean())],
                         "ideal_mean_dw": float((-lr * d.T @ x).mean())})
            print(name, lr, "max z", rows[-1]["max_z_mean"])
    return rows


def main() -> int:
    need_aihwkit()
    one_thread()
    rng = np.random.default_rng(2)
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    a_rows = part_a(rng)
    b_rows = part_b(rng, reps)
    n_eq = sum(r["count_cells_differ"] == 0 and r["max_abs_diff"] <= 1e-6 for r in a_rows)
    data = {"environment": environment(), "shape": [OUT, IN], "part_a": a_rows, "part_b": b_rows,
            "summary": {"part_a_settings": len(a_rows), "part_a_equal": n_eq}}
    bad = [r for r in a_rows if r["count_cells_differ"]]
    ta = md_table(["pulse type", "lr", "dw_min", "BL", "UM", "BLM", "fixed_bl", "um_grad_scale", "cells differ",
                   "pulses a / x"],
                  [(r["pulse_type"], r["lr"], r["dw_min"], r["desired_bl"], r["update_management"],
                    r["update_bl_management"], r["fixed_bl"], r["um_grad_scale"], r["count_cells_differ"],
                    "{} / {}".format(*r["total_pulses"])) for r in (bad or a_rows[:12])])
    tb = md_table(["case", "lr", "max z (means)", "cells |z|>4", "var ratio x/a (min–max)", "mean Δw a / x",
                   "mean var a / x"],
                  [(r["case"], r["lr"], r["max_z_mean"], f'{r["cells_z_gt_4"]}/{r["cells"]}',
                    "{:.3g} – {:.3g}".format(*r["var_ratio_range"]), "{:.4g} / {:.4g}".format(*r["mean_dw_all"]),
                    "{:.3g} / {:.3g}".format(*r["mean_var_all"])) for r in b_rows])
    md = (f"# Level 2: pulsed update (aihwkit {data['environment']['aihwkit']})\n\n"
          f"## A. BL, A, B through deterministic pulse counts (ConstantStep, no variation, {OUT}×{IN})\n\n"
          f"Equal weight changes in {n_eq}/{len(a_rows)} settings. "
          f"{'Settings that differ:' if bad else 'First rows (all equal):'}\n\n{ta}\n\n"
          f"## B. One stochastic_compressed update, per-cell mean and variance over {reps} repetitions\n\n"
          f"A fresh tile per repetition in both simulators; with 48 cells, |z| > 4 on a cell is unexpected "
          f"by chance (two-sided p ≈ 6e-5 per cell).\n\n{tb}\n")
    write_results("level2_pulsed_update", data, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
