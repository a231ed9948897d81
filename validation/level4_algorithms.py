"""Level 4 of issue 12: the training algorithms on one small analog layer, xbarsim and aihwkit.

A fixed linear regression (teacher W* 4×8, 256 training and 256 test inputs uniform on [-1, 1],
MSE, batch 8, lr 0.1, 4 epochs) trained by one AnalogLinear layer without bias, on the same device
(SoftBounds on [-1, 1], dw_min 0.02, cycle-to-cycle noise 0.1, no device-to-device variation),
perfect IO (forward, backward, transfer reads), the same initial weights, for:
analog SGD, TT-v1 (TransferCompound), TT-v2 (BufferedTransferCompound), chopped TT-v2
(ChoppedTransferCompound), mixed precision (MixedPrecisionCompound) and residual learning with
3 tiles (TransferCompound with a γ vector, no warm start). Every aihwkit rate flag is set explicitly
(``scale_fast_lr`` among them); xbarsim's configs come from them through xbarsim.compat.aihwkit.

Per algorithm and simulator: the test loss after each epoch over SEEDS seeds, mean and standard
deviation; the verdict compares the difference of the final means with their spread.

A reproducibility check runs each simulator twice with the same torch seed: xbarsim must repeat
itself bit for bit; aihwkit 1.2's native generators are seeded from the clock (see validation.md).

    OMP_NUM_THREADS=1 validation/.venv-aihwkit/bin/python validation/level4_algorithms.py [seeds] [threads]

With threads > 1 (run it with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to the same number) the
results go to level4_algorithms_<threads>threads.*: xbarsim's per-seed results must not change,
aihwkit's are compared in distribution.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from _common import environment, md_table, need_aihwkit, one_thread, write_results

IN, OUT, N, BATCH, LR, EPOCHS = 8, 4, 256, 8, 0.1, 4


def device():
    from aihwkit.simulator.configs import SoftBoundsDevice
    return SoftBoundsDevice(dw_min=0.02, w_min=-1.0, w_max=1.0, dw_min_dtod=0.0, dw_min_std=0.1, w_min_dtod=0.0,
                            w_max_dtod=0.0, up_down_dtod=0.0)


def rpu_configs():
    from aihwkit.simulator.configs import (BufferedTransferCompound, ChoppedTransferCompound,
                                           DigitalRankUpdateRPUConfig, IOParameters, MixedPrecisionCompound,
                                           SingleRPUConfig, TransferCompound, UnitCellRPUConfig)

    def io():
        return dict(forward=IOParameters(is_perfect=True), backward=IOParameters(is_perfect=True))
    rates = dict(fast_lr=0.5, scale_fast_lr=False, transfer_lr=1.0, scale_transfer_lr=True,
                 transfer_forward=IOParameters(is_perfect=True))
    return {
        "analog SGD": SingleRPUConfig(device=device(), **io()),
        "TT-v1": UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[device(), device()], gamma=0.0, transfer_every=1.0, units_in_mbatch=True, **rates),
            **io()),
        "TT-v2": UnitCellRPUConfig(device=BufferedTransferCompound(
            unit_cell_devices=[device(), device()], gamma=0.0, transfer_every=1.0, units_in_mbatch=True,
            momentum=0.1, **rates), **io()),
        "c-TTv2": UnitCellRPUConfig(device=ChoppedTransferCompound(
            unit_cell_devices=[device(), device()], transfer_every=2.0, units_in_mbatch=False, in_chop_prob=0.1,
            **rates), **io()),
        "MP": DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=device(), transfer_every=1), **io()),
        "ResL 3 tiles": UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[device(), device(), device()], gamma_vec=[0.25, 0.5, 1.0],
            transfer_every_vec=[1.0, 4.0, 0.0], transfer_lr_vec=[0.5, 0.5, 0.5], fast_lr=0.5, scale_fast_lr=False,
            scale_transfer_lr=False, units_in_mbatch=True, transfer_forward=IOParameters(is_perfect=True)), **io()),
    }


def problem():
    import torch
    g = torch.Generator().manual_seed(4)
    W_star = torch.rand(OUT, IN, generator=g) - 0.5
    X = torch.rand(N, IN, generator=g) * 2 - 1
    Xt = torch.rand(N, IN, generator=g) * 2 - 1
    W0 = (torch.rand(OUT, IN, generator=g) - 0.5) * 0.2
    return W0, X, X @ W_star.T, Xt, Xt @ W_star.T


def train(sim: str, rpu, seed: int, data):
    import torch
    W0, X, Y, Xt, Yt = data
    torch.manual_seed(seed)
    if sim == "aihwkit":
        from aihwkit.nn import AnalogLinear
        from aihwkit.optim import AnalogSGD
        model = AnalogLinear(IN, OUT, bias=False, rpu_config=rpu)
        model.set_weights(W0)
        opt = AnalogSGD(model.parameters(), lr=LR)
        opt.regroup_param_groups(model)
    else:
        import xbarsim
        from xbarsim.compat.aihwkit import from_aihwkit
        conv = from_aihwkit(rpu)
        model = xbarsim.nn.AnalogLinear(IN, OUT, bias=False, config=conv.tile, mapping=conv.mapping)
        model.set_weights(W0)
        opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=LR)
    perm = torch.Generator().manual_seed(100)  # the same sample order in both simulators
    losses = []
    t0 = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.randperm(N, generator=perm)
        for k in range(0, N, BATCH):
            idx = order[k:k + BATCH]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            losses.append(float(torch.nn.functional.mse_loss(model(Xt), Yt)))
    wall = time.perf_counter() - t0
    weights = model.get_weights()[0].detach().clone()
    return losses, wall, weights


def main() -> int:
    need_aihwkit()
    import warnings

    import torch
    warnings.filterwarnings("ignore")
    seeds = list(range(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if threads == 1:
        one_thread()
    else:
        torch.set_num_threads(threads)
    data = problem()
    rows = []
    with_init = float(np.mean((data[3] @ data[0].T - data[4]).numpy() ** 2))
    only = os.environ.get("LEVEL4_ONLY")  # e.g. "c-TTv2": more seeds for one algorithm
    for name, rpu in rpu_configs().items():
        if only and name != only:
            continue
        res = {}
        for sim in ("aihwkit", "xbarsim"):
            curves, walls = [], []
            for s in seeds:
                losses, wall, _ = train(sim, rpu, s, data)
                curves.append(losses)
                walls.append(wall)
            c = np.array(curves)
            res[sim] = {"mean": c.mean(0).tolist(), "std": c.std(0, ddof=1).tolist() if len(seeds) > 1 else [0] * EPOCHS,
                        "final": c[:, -1].tolist(), "wall_s": float(np.mean(walls))}
        fa, fx = np.array(res["aihwkit"]["final"]), np.array(res["xbarsim"]["final"])
        spread = np.sqrt((fa.var(ddof=1) + fx.var(ddof=1)) / len(seeds)) if len(seeds) > 1 else float("nan")
        z = abs(fa.mean() - fx.mean()) / spread if spread > 0 else float("inf")
        rows.append({"algorithm": name, **res, "z_final": float(z),
                     "ratio_final": float(fx.mean() / fa.mean())})
        print(name, "aihwkit", fa.mean(), "xbarsim", fx.mean(), "z", z)
    # Reproducibility: the same torch seed twice.
    rpu = rpu_configs()["TT-v2"]
    repro = {}
    for sim in ("aihwkit", "xbarsim"):
        l1, _, w1 = train(sim, rpu, 7, data)
        l2, _, w2 = train(sim, rpu, 7, data)
        repro[sim] = {"identical_weights": bool((w1 == w2).all()), "max_abs_weight_diff": float((w1 - w2).abs().max()),
                      "final_losses": [l1[-1], l2[-1]]}
    out = {"environment": environment(), "setup": dict(IN=IN, OUT=OUT, N=N, BATCH=BATCH, LR=LR, EPOCHS=EPOCHS,
                                                       seeds=seeds, initial_test_loss=with_init),
           "algorithms": rows, "reproducibility_TT-v2": repro}
    table = md_table(["algorithm", "aihwkit final loss (mean ± sd)", "xbarsim final loss (mean ± sd)",
                      "Δmean / se", "x/a", "epoch means aihwkit", "epoch means xbarsim"],
                     [(r["algorithm"], f'{np.mean(r["aihwkit"]["final"]):.4g} ± {np.std(r["aihwkit"]["final"], ddof=1):.2g}',
                       f'{np.mean(r["xbarsim"]["final"]):.4g} ± {np.std(r["xbarsim"]["final"], ddof=1):.2g}',
                       r["z_final"], r["ratio_final"], ", ".join(f"{v:.3g}" for v in r["aihwkit"]["mean"]),
                       ", ".join(f"{v:.3g}" for v in r["xbarsim"]["mean"])) for r in rows])
    rp = md_table(["simulator", "same seed twice: identical weights", "max abs Δw", "final losses"],
                  [(k, v["identical_weights"], v["max_abs_weight_diff"],
                    ", ".join(f"{x:.5g}" for x in v["final_losses"])) for k, v in repro.items()])
    md = (f"# Level 4: algorithms on one small layer (aihwkit {out['environment']['aihwkit']})\n\n"
          f"Linear regression {IN}→{OUT}, {N} samples, batch {BATCH}, lr {LR}, {EPOCHS} epochs, perfect IO, "
          f"SoftBounds dw_min 0.02 on [-1, 1] (c2c 0.1, no d2d); test MSE at the start {with_init:.4g}; "
          f"{len(seeds)} seeds per simulator (xbarsim: torch seed; aihwkit: its native generators are clock-seeded, "
          f"so its runs are independent draws whatever the torch seed).\n\n{table}\n\n"
          f"## Reproducibility (TT-v2, torch seed 7, run twice in one process)\n\n{rp}\n")
    out["setup"]["threads"] = threads
    name = "level4_algorithms" + ("" if threads == 1 else f"_{threads}threads") + \
        (f"_{only}_{len(seeds)}seeds" if only else "")
    write_results(name, out,
                  md.replace("# Level 4:", f"# Level 4 ({threads} threads):") if threads != 1 else md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
