"""Compare two builds of xbarsim on the same cases, alternating between them, by thread CPU time.

Wall-clock ratios are meaningless on a machine that other work keeps busy; the CPU time of the
measuring thread (``time.thread_time``, one OpenMP/torch thread) is much less sensitive to it. Each
interpreter (a virtualenv with one build installed) runs every case in a fresh process; the processes
alternate ``--rounds`` times and the minimum per case is kept (the run least disturbed by the rest of
the machine).

Usage::

    python bench/compare_versions.py --python OLD/.venv/bin/python --python NEW/.venv/bin/python --rounds 5

The cases use only the public API, written so that they run on builds before and after the
``device_model`` rename.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASES_SOURCE = r'''
import json, sys, time, torch, xbarsim
from xbarsim import devices
torch.set_num_threads(1)
try:
    xbarsim.ops.set_num_threads(1)
except AttributeError:
    xbarsim._core.set_openmp_threads(1)

def tile_config(**kw):
    model = kw.pop("model")
    try:
        return xbarsim.TileConfig(device_model=model, **kw)
    except TypeError:
        return xbarsim.TileConfig(device=model, **kw)

def cpu_ms(fn, repeats):
    for _ in range(3):
        fn()
    best = []
    for _ in range(repeats):
        t0 = time.thread_time(); fn(); best.append((time.thread_time() - t0) * 1e3)
    best.sort()
    return best[len(best) // 2]

def make_tile(out, inp, cfg, seed):
    from xbarsim.algorithms import make_tile as mk
    return mk(out, inp, cfg, seed)

sb16 = devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=16)
sb4 = devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=4)
g = torch.Generator().manual_seed(0)
out = {}

# read path: default IO forward, 784x256, batch 100
t = xbarsim.AnalogTile(256, 784, tile_config(model=sb16), seed=1)
t.set_weights(torch.randn(256, 784, generator=g) * 0.05)
x = torch.rand(100, 784, generator=g)
out["forward_784x256_b100"] = cpu_ms(lambda: t.forward(x), 20)

# pulsed update, typical regime (lr 0.01) and a denser one (lr 0.1), 784x256 batch 100
d = torch.randn(100, 256, generator=g) * 0.01
out["update_typical_784x256_b100"] = cpu_ms(lambda: t.update(x, d, 0.01), 20)
out["update_dense_784x256_b16"] = cpu_ms(lambda: t.update(x[:16], d[:16] * 100, 0.1), 5)

# per-call overhead: a 64x1 tile, forward + update; and with 4-tile residual learning
small = xbarsim.AnalogTile(64, 1, tile_config(model=sb4), seed=2)
xs, ds = torch.rand(1, 1), torch.randn(1, 64) * 0.1
def small_step():
    small.forward(xs); small.update(xs, ds, 0.1)
out["overhead_64x1_forward_update"] = cpu_ms(small_step, 200)
resl = xbarsim.algorithms.ResidualLearning(n_tiles=4, gamma=0.5)
mt = make_tile(64, 1, tile_config(model=sb4, algorithm=resl), 3)
def small_resl():
    mt.forward(xs); mt.update(xs, ds, 0.1)
out["overhead_64x1_resl4_forward_update"] = cpu_ms(small_resl, 200)
one = xbarsim.AnalogTile(1, 1, tile_config(model=sb16), seed=4)
x1, d1 = torch.rand(1, 1), torch.randn(1, 1) * 0.1
def one_step():
    one.forward(x1); one.update(x1, d1, 0.01)
out["overhead_1x1_forward_update"] = cpu_ms(one_step, 200)

# training steps: LeNet-5 (residual learning, 4 tiles, perfect IO as the paper) at batch 16, MLP at 100
perfect = xbarsim.IOConfig(is_perfect=True)
lenet_cfg = tile_config(model=sb4, forward=perfect, backward=perfect,
                        algorithm=xbarsim.algorithms.ResidualLearning(n_tiles=4, gamma=0.2))
torch.manual_seed(0)
lenet = xbarsim.models.lenet5(lenet_cfg, seed=1)
opt = xbarsim.optim.AnalogSGD(lenet.parameters(), lr=0.05)
xi, yi = torch.rand(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)
def lenet_step():
    opt.zero_grad(); torch.nn.functional.nll_loss(lenet(xi), yi).backward(); opt.step()
out["train_step_lenet5_resl4_b16"] = cpu_ms(lenet_step, 10)
mlp = xbarsim.models.mlp((784, 256, 128, 10), config=tile_config(model=sb16), seed=1)
opt2 = xbarsim.optim.AnalogSGD(mlp.parameters(), lr=0.05)
xm, ym = torch.rand(100, 784, generator=g), torch.randint(0, 10, (100,), generator=g)
def mlp_step():
    opt2.zero_grad(); torch.nn.functional.cross_entropy(mlp(xm), ym).backward(); opt2.step()
out["train_step_mlp_sgd_b100"] = cpu_ms(mlp_step, 10)
# LeNet-5 with default IO (16 states): analog SGD and mixed precision
for name, algo in (("sgd", None), ("mp", xbarsim.algorithms.MixedPrecision())):
    kw = {} if algo is None else {"algorithm": algo}
    torch.manual_seed(0)
    net = xbarsim.models.lenet5(tile_config(model=sb16, **kw), seed=1)
    o = xbarsim.optim.AnalogSGD(net.parameters(), lr=0.01)
    def net_step(net=net, o=o):
        o.zero_grad(); torch.nn.functional.nll_loss(net(xi), yi).backward(); o.step()
    out[f"train_step_lenet5_{name}_b16"] = cpu_ms(net_step, 10)
json.dump(out, sys.stdout)
'''


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--python", action="append", required=True, help="interpreter of one build (give two or more)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    best: list[dict] = [{} for _ in args.python]
    for _ in range(args.rounds):
        for k, exe in enumerate(args.python):
            res = subprocess.run([exe, "-c", CASES_SOURCE], capture_output=True, text=True, check=True)
            for case, ms in json.loads(res.stdout).items():
                best[k][case] = min(ms, best[k].get(case, float("inf")))
    cases = list(best[0])
    print("| case | " + " | ".join(f"build {k} (ms)" for k in range(len(args.python))) + " | ratio last/first |")
    print("|---|" + "---|" * len(args.python) + "---|")
    for case in cases:
        vals = [b[case] for b in best]
        print(f"| {case} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {vals[-1] / vals[0]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
