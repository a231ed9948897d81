"""Level 3 of issue 12: device response, the weight after k up and then k down pulses.

For every device model both simulators have, one aihwkit SingleRPUConfig builds both tiles (xbarsim's
through xbarsim.compat.aihwkit). Pulses are applied one per update call with a deterministic pulse
train: pulse_type deterministic_implicit, BL = 1, no update or BL management and a learning rate
large enough that both line probabilities saturate at 1, so every cell gets exactly one pulse per
call (x = 1, d = ∓1: up, then down). Both tiles start at w = 0.

Two variants per model: "exact" (no device-to-device or cycle-to-cycle variation: the trajectories
must be equal to float32 tolerance) and "default" (the model's aihwkit default variation, several
tiles of 8×8 cells: the mean and spread over cells must agree within sampling error).

    OMP_NUM_THREADS=1 validation/.venv-aihwkit/bin/python validation/level3_device_response.py
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from _common import environment, md_table, need_aihwkit, one_thread, write_results

K = 40          # up pulses, then K down pulses
OUT = IN = 8
N_TILES = 32    # tiles per simulator for the variation runs (32·64 = 2048 cells)

NO_VARIATION = dict(dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0)


def models():
    from aihwkit.simulator.configs import (ConstantStepDevice, ExpStepDevice, LinearStepDevice, PiecewiseStepDevice,
                                           PowStepDevice, SoftBoundsDevice, SoftBoundsPmaxDevice,
                                           SoftBoundsReferenceDevice)
    # dw_min large enough that K pulses cover much of the range.
    yield "ConstantStep", lambda **v: ConstantStepDevice(dw_min=0.02, **v), {}
    yield "LinearStep", lambda **v: LinearStepDevice(dw_min=0.02, gamma_up=0.5, gamma_down=0.3, **v), \
        dict(gamma_up_dtod=0.0, gamma_down_dtod=0.0)
    yield "SoftBounds", lambda **v: SoftBoundsDevice(dw_min=0.02, **v), {}
    yield "SoftBounds 4 states [-1,1]", lambda **v: SoftBoundsDevice(dw_min=0.5, w_min=-1.0, w_max=1.0, **v), {}
    yield "SoftBoundsPmax", lambda **v: SoftBoundsPmaxDevice(p_max=60, alpha=0.02, **v), {}
    yield "SoftBoundsReference", lambda **v: SoftBoundsReferenceDevice(dw_min=0.02, **v), {}
    yield "ExpStep", lambda **v: ExpStepDevice(dw_min=0.02, **v), {}
    yield "PowStep", lambda **v: PowStepDevice(dw_min=0.02, pow_gamma=1.5, **v), dict(pow_gamma_dtod=0.0)
    yield "PiecewiseStep", lambda **v: PiecewiseStepDevice(dw_min=0.02, piecewise_up=[1.5, 1.0, 0.5],
                                                           piecewise_down=[0.5, 1.0, 1.5], **v), {}


def one_pulse_update():
    from aihwkit.simulator.configs import UpdateParameters
    from aihwkit.simulator.parameters.enums import PulseType
    return UpdateParameters(pulse_type=PulseType.DETERMINISTIC_IMPLICIT, desired_bl=1, update_bl_management=False,
                            update_management=False, fixed_bl=True)


def trajectories(device, n_tiles: int, seed0: int):
    """(aihwkit, xbarsim) weights after each pulse: arrays [2K+1, n_tiles·OUT·IN]."""
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.tiles import AnalogTile as ATile

    import xbarsim
    from xbarsim.compat.aihwkit import from_aihwkit

    rpu = SingleRPUConfig(device=device, update=one_pulse_update())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ExpStep granularity note; the lr below saturates either way
        conv = from_aihwkit(rpu)
    lr = 100.0 * conv.tile.device_model.granularity()  # A = B = sqrt(100·ε/ε_sim) >= 1 in both: P = Q = 1
    x = torch.ones(1, IN)
    up, down = -torch.ones(1, OUT), torch.ones(1, OUT)  # positive lr: d·x > 0 is a down pulse (§2.5)
    out_a, out_x = [], []
    for t in range(n_tiles):
        a = ATile(OUT, IN, rpu)
        a.set_learning_rate(lr)
        a.set_weights(torch.zeros(OUT, IN))
        xt = xbarsim.AnalogTile(OUT, IN, conv.tile, seed=seed0 + t)
        xt.set_weights(torch.zeros(OUT, IN))
        ta, tx = [a.get_weights()[0].flatten().numpy().copy()], [xt.get_weights()[0].flatten().numpy().copy()]
        for k in range(2 * K):
            d = up if k < K else down
            a.tile.update(x, d, False)
            xt.update(x, d, lr)
            ta.append(a.get_weights()[0].flatten().numpy().copy())
            tx.append(xt.get_weights()[0].detach().flatten().numpy().copy())
        out_a.append(np.stack(ta))
        out_x.append(np.stack(tx))
    return np.concatenate(out_a, axis=1), np.concatenate(out_x, axis=1)


def main() -> int:
    need_aihwkit()
    one_thread()
    rows = []
    for name, make, extra_off in models():
        # exact: no variation at all, one tile
        ta, tx = trajectories(make(**NO_VARIATION, **extra_off), 1, 100)
        diff = np.abs(ta - tx)
        exact = {"max_abs_diff": float(diff.max()), "equal": bool(np.all(diff <= 1e-5 * np.abs(ta) + 1e-6)),
                 "w_after_K_up": float(ta[K].mean()), "w_after_K_up_xbarsim": float(tx[K].mean()),
                 "w_end": float(ta[-1].mean()), "w_end_xbarsim": float(tx[-1].mean())}
        if name.startswith("SoftBounds 4"):
            exact["levels_aihwkit"] = [round(float(v), 6) for v in ta[:6, 0]]
            exact["levels_xbarsim"] = [round(float(v), 6) for v in tx[:6, 0]]
        # default variation: mean and spread over cells, several tiles
        va, vx = trajectories(make(), N_TILES, 1000)
        ma, mx = va.mean(axis=1), vx.mean(axis=1)
        sa, sx = va.std(axis=1), vx.std(axis=1)
        n = va.shape[1]
        # z of the difference of the means at every k (cells independent across tiles and rows)
        z = np.abs(ma - mx) / np.sqrt((sa ** 2 + sx ** 2) / n + 1e-30)
        spread_ratio = np.where(np.maximum(sa, sx) > 0, sx / np.maximum(sa, 1e-30), 1.0)
        var = {"cells": n, "max_z_mean": float(z.max()), "k_at_max_z": int(z.argmax()),
               "mean_after_K_up": [float(ma[K]), float(mx[K])], "std_after_K_up": [float(sa[K]), float(sx[K])],
               "mean_end": [float(ma[-1]), float(mx[-1])], "std_end": [float(sa[-1]), float(sx[-1])],
               "std_ratio_range": [float(spread_ratio[1:].min()), float(spread_ratio[1:].max())]}
        rows.append({"model": name, "exact": exact, "variation": var})
        print(name, "exact max|Δ|", exact["max_abs_diff"], "variation max z", var["max_z_mean"])
    data = {"environment": environment(), "K": K, "cells_per_tile": OUT * IN, "tiles": N_TILES, "models": rows}
    t1 = md_table(["model", "exact: max abs Δ over 2K pulses", "equal", "w after K up (aihwkit / xbarsim)",
                   "w after K down"],
                  [(r["model"], r["exact"]["max_abs_diff"], r["exact"]["equal"],
                    f'{r["exact"]["w_after_K_up"]:.5g} / {r["exact"]["w_after_K_up_xbarsim"]:.5g}',
                    f'{r["exact"]["w_end"]:.5g} / {r["exact"]["w_end_xbarsim"]:.5g}') for r in rows])
    t2 = md_table(["model", "max z of mean Δ (over k)", "mean after K up a / x", "std after K up a / x",
                   "mean end a / x", "std end a / x", "std ratio x/a range"],
                  [(r["model"], r["variation"]["max_z_mean"],
                    "{:.4g} / {:.4g}".format(*r["variation"]["mean_after_K_up"]),
                    "{:.4g} / {:.4g}".format(*r["variation"]["std_after_K_up"]),
                    "{:.4g} / {:.4g}".format(*r["variation"]["mean_end"]),
                    "{:.4g} / {:.4g}".format(*r["variation"]["std_end"]),
                    "{:.3g} – {:.3g}".format(*r["variation"]["std_ratio_range"])) for r in rows])
    levels = [r for r in rows if "levels_aihwkit" in r["exact"]]
    lv = ""
    if levels:
        e = levels[0]["exact"]
        lv = (f"\nReachable levels, SoftBounds with 4 states on [-1, 1] (dw_min 0.5, no variation), w after "
              f"0..5 up pulses: aihwkit {e['levels_aihwkit']}, xbarsim {e['levels_xbarsim']}.\n")
    md = (f"# Level 3: device response (aihwkit {data['environment']['aihwkit']})\n\n"
          f"{K} up pulses then {K} down pulses from w = 0, one deterministic pulse per update call.\n\n"
          f"## Without variation (must be equal)\n\n{t1}\n{lv}\n"
          f"## Default variation of each model ({N_TILES} tiles × {OUT * IN} cells per simulator)\n\n{t2}\n")
    write_results("level3_device_response", data, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
