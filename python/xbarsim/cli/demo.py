"""``python -m xbarsim demo``: one analog tile learns a generated linear map with pulsed updates.

A teacher matrix W* maps inputs x ~ U(-1, 1) to targets y = W* x. A student tile reads y_hat
through the default (non-ideal) forward IO and learns with the stochastic pulse-coincidence update
on SoftBounds devices of several state counts, next to an exact floating-point update. The demo
shows what the project is about: few-state devices stall analog SGD far above the float error.
Writes ``demo.json`` and ``demo.csv`` (loss per epoch per device) into ``--out``.
"""
from __future__ import annotations

import argparse
import csv
import json
import pathlib
import time

import torch


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="train one analog tile on generated data", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/demo"), help="output directory")
    p.add_argument("--size", type=int, nargs=2, default=(32, 64), metavar=("OUT", "IN"), help="tile shape")
    p.add_argument("--states", type=int, nargs="+", default=[4, 16, 64, 256], help="device state counts")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batches", type=int, default=50, help="mini-batches per epoch")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device of the tiles (cpu or cuda)")
    p.set_defaults(func=run)


def _configs(states: list[int]):
    import xbarsim
    from xbarsim import devices

    out = {"float (exact update)": xbarsim.TileConfig(update=xbarsim.UpdateConfig(pulse_type="none"))}
    for n in states:
        out[f"SoftBounds {n} states"] = xbarsim.TileConfig(
            device_model=devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=n))
    return out


def _train(config, teacher: torch.Tensor, args) -> list[float]:
    import xbarsim

    out_size, in_size = teacher.shape
    tile = xbarsim.AnalogTile(out_size, in_size, config, seed=args.seed, device=args.device)
    gen = torch.Generator().manual_seed(args.seed + 1)
    losses = []
    for _ in range(args.epochs):
        total = 0.0
        for _ in range(args.batches):
            x = (torch.rand(args.batch_size, in_size, generator=gen) * 2 - 1).to(args.device)
            y = x @ teacher.T
            y_hat = tile.forward(x)
            err = y_hat - y
            total += float((err**2).mean())
            tile.update(x, err, args.lr)
        losses.append(total / args.batches)
    return losses


def run(args: argparse.Namespace) -> int:
    out_size, in_size = args.size
    gen = torch.Generator().manual_seed(args.seed)
    teacher = ((torch.rand(out_size, in_size, generator=gen) - 0.5)).to(args.device)
    results = {}
    print(f"xbarsim demo: tile {out_size}x{in_size}, {args.epochs} epochs x {args.batches} batches of "
          f"{args.batch_size}, lr {args.lr}, device {args.device}")
    for name, config in _configs(args.states).items():
        t0 = time.perf_counter()
        losses = _train(config, teacher, args)
        results[name] = losses
        print(f"  {name:<24} final MSE {losses[-1]:.5f}   ({time.perf_counter() - t0:.2f} s)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "demo.json").write_text(json.dumps({"args": {k: (str(v) if isinstance(v, pathlib.Path) else v)
                                                            for k, v in vars(args).items() if k != "func"},
                                                   "mse_per_epoch": results}, indent=2))
    with open(args.out / "demo.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *results])
        for epoch in range(args.epochs):
            writer.writerow([epoch + 1, *(f"{results[k][epoch]:.6g}" for k in results)])
    print(f"wrote {args.out / 'demo.json'} and {args.out / 'demo.csv'}")
    return 0
