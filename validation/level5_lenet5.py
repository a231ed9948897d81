"""Level 5 of issue 12: LeNet-5 on Fashion-MNIST in xbarsim and aihwkit, accuracy and wall time.

The paper's LeNet-5 (conv 1→16 5×5, conv 16→32 5×5, fc 512→128, fc 128→10, tanh, max-pool, all four
layers analog, digital biases), 4-state SoftBounds (dw_min 0.5 on [-1, 1], aihwkit's default
variation), perfect IO, batch 16, NLL loss, ToTensor inputs, for MP, TT-v1, TT-v2 and residual
learning with 4 tiles (rates of the paper's text for Fashion-MNIST, set explicitly on the aihwkit
side; xbarsim's config converted from it). The mapping is aihwkit's default (no output scaling),
so these are not exactly the paper presets.

    OMP_NUM_THREADS=1 validation/.venv-aihwkit/bin/python validation/level5_lenet5.py STEPS SEEDS [ALGS]

STEPS: training mini-batches per run (3750 = one epoch of 60000 images); SEEDS: seeds per side;
ALGS: comma-separated subset of MP,TT-v1,TT-v2,ResL-4. Test accuracy on the full 10000-image test
set after training; wall time of the training steps only.
"""
from __future__ import annotations

import gzip
import pathlib
import sys
import time

import numpy as np

from _common import environment, md_table, need_aihwkit, one_thread, write_results

DATA = pathlib.Path("/work/shared/data/fashion-mnist")
BATCH = 16


def load(kind: str):
    import torch
    with gzip.open(DATA / f"{kind}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(DATA / f"{kind}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(images, dtype=torch.float32) / 255.0, torch.tensor(labels, dtype=torch.long)


def device():
    from aihwkit.simulator.configs import SoftBoundsDevice
    return SoftBoundsDevice(dw_min=0.5, w_min=-1.0, w_max=1.0)


def rpu_configs():
    """name -> (aihwkit RPUConfig, lr)."""
    from aihwkit.simulator.configs import (BufferedTransferCompound, DigitalRankUpdateRPUConfig, IOParameters,
                                           MixedPrecisionCompound, TransferCompound, UnitCellRPUConfig,
                                           UpdateParameters)

    def io():
        return dict(forward=IOParameters(is_perfect=True), backward=IOParameters(is_perfect=True))
    n = 4
    return {
        "MP": (DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=device()), **io()), 0.1),
        "TT-v1": (UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[device(), device()], fast_lr=0.01, scale_fast_lr=False, transfer_lr=0.1,
            scale_transfer_lr=True, transfer_forward=IOParameters(is_perfect=True)), **io()), 0.1),
        "TT-v2": (UnitCellRPUConfig(device=BufferedTransferCompound(
            unit_cell_devices=[device(), device()], fast_lr=0.05, scale_fast_lr=False, transfer_lr=1.0,
            scale_transfer_lr=True, thres_scale=1.0, transfer_forward=IOParameters(is_perfect=True)),
            update=UpdateParameters(desired_bl=10), **io()), 0.1),
        # γ 0.2, transfer_every 2·5^(N−n) and transfer_lr 0.1·1.2^n (xbarsim order n), unscaled;
        # the gradient tile at a constant rate 1 (aihwkit 0.9.2 semantics: scale_fast_lr=False).
        "ResL-4": (UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[device()] * n, gamma_vec=[0.2 ** k for k in range(n - 1, -1, -1)],
            transfer_every_vec=[2.0 * 5 ** k for k in range(n - 1)] + [0.0],
            transfer_lr_vec=[0.1 * 1.2 ** k for k in range(n - 1, -1, -1)], fast_lr=1.0, scale_fast_lr=False,
            scale_transfer_lr=False, transfer_forward=IOParameters(is_perfect=True)), **io()), 0.2),
    }


def aihwkit_lenet5(rpu):
    import torch
    from aihwkit.nn import AnalogConv2d, AnalogLinear
    return torch.nn.Sequential(
        AnalogConv2d(1, 16, 5, rpu_config=rpu), torch.nn.Tanh(), torch.nn.MaxPool2d(2),
        AnalogConv2d(16, 32, 5, rpu_config=rpu), torch.nn.Tanh(), torch.nn.MaxPool2d(2), torch.nn.Tanh(),
        torch.nn.Flatten(), AnalogLinear(512, 128, rpu_config=rpu), torch.nn.Tanh(),
        AnalogLinear(128, 10, rpu_config=rpu), torch.nn.LogSoftmax(dim=1))


def run(sim: str, rpu, lr: float, seed: int, steps: int, train, test):
    import torch
    torch.manual_seed(seed)
    if sim == "aihwkit":
        from aihwkit.optim import AnalogSGD
        model = aihwkit_lenet5(rpu)
        opt = AnalogSGD(model.parameters(), lr=lr)
        opt.regroup_param_groups(model)
    else:
        import xbarsim
        from xbarsim.compat.aihwkit import from_aihwkit
        conv = from_aihwkit(rpu)
        model = xbarsim.models.lenet5(conv.tile, mapping=conv.mapping, digital_bias=conv.digital_bias)
        opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=lr)
    X, Y = train
    order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(seed))
    t0 = time.perf_counter()
    for k in range(steps):
        idx = order[k * BATCH:(k + 1) * BATCH]
        opt.zero_grad()
        torch.nn.functional.nll_loss(model(X[idx]), Y[idx]).backward()
        opt.step()
    wall = time.perf_counter() - t0
    Xt, Yt = test
    correct = 0
    with torch.no_grad():
        for k in range(0, Xt.shape[0], 1000):
            correct += int((model(Xt[k:k + 1000]).argmax(1) == Yt[k:k + 1000]).sum())
    return 100.0 * correct / Xt.shape[0], wall


def main() -> int:
    need_aihwkit()
    one_thread()
    import warnings
    warnings.filterwarnings("ignore")
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3750
    seeds = list(range(int(sys.argv[2]) if len(sys.argv) > 2 else 2))
    algs = sys.argv[3].split(",") if len(sys.argv) > 3 else ["MP", "TT-v1", "TT-v2", "ResL-4"]
    train, test = load("train"), load("t10k")
    rows = []
    for name in algs:
        rpu, lr = rpu_configs()[name]
        for seed in seeds:
            for sim in ("aihwkit", "xbarsim"):  # interleaved: both measured at the same time
                acc, wall = run(sim, rpu, lr, seed, steps, train, test)
                rows.append({"algorithm": name, "simulator": sim, "seed": seed, "steps": steps,
                             "test_accuracy": acc, "train_wall_s": wall})
                print(name, sim, seed, f"acc {acc:.2f} wall {wall:.1f}s", flush=True)
    data = {"environment": environment(), "steps": steps, "batch": BATCH, "seeds": seeds, "runs": rows}
    summary = []
    for name in algs:
        r = {s: [x for x in rows if x["algorithm"] == name and x["simulator"] == s] for s in ("aihwkit", "xbarsim")}
        acc = {s: [x["test_accuracy"] for x in r[s]] for s in r}
        wall = {s: float(np.mean([x["train_wall_s"] for x in r[s]])) for s in r}
        summary.append((name, ", ".join(f"{a:.2f}" for a in acc["aihwkit"]), ", ".join(f"{a:.2f}" for a in acc["xbarsim"]),
                        f'{wall["aihwkit"]:.1f}', f'{wall["xbarsim"]:.1f}', f'{wall["aihwkit"] / wall["xbarsim"]:.2f}'))
    md = (f"# Level 5: LeNet-5 on Fashion-MNIST (aihwkit {data['environment']['aihwkit']})\n\n"
          f"{steps} mini-batches of {BATCH} ({steps * BATCH} images{'; one epoch' if steps * BATCH >= 60000 else '; NOT a full epoch'}), "
          f"seeds {seeds}, 1 thread, both simulators interleaved on the same machine.\n\n"
          + md_table(["algorithm", "aihwkit test acc % (per seed)", "xbarsim test acc % (per seed)",
                      "aihwkit train s", "xbarsim train s", "time ratio a/x"], summary) + "\n")
    suffix = "" if steps * BATCH >= 60000 else f"_{steps}steps"
    write_results("level5_lenet5" + suffix, data, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
