"""``xbarsim demo``: the paper's point in one command, offline, in a few minutes on two CPU cores.

The paper's LeNet-5 learns the embedded Fashion-MNIST subset (6 000 training and 1 000 test images,
shipped with xbarsim) on analog devices with only **4 conductance states** (SoftBounds, the paper's
device with its device-to-device and cycle-to-cycle variation), four ways, with the paper's settings
(``xbarsim.presets.paper``, Table 1):

* ``digital``: the floating-point network (the ceiling);
* ``sgd``: analog SGD on one tile per layer: 4 states are too few for it;
* ``ttv2``: Tiki-Taka v2 (two tiles and a digital buffer);
* ``resl-4``: multi-tile residual learning with 4 tiles of 4-state devices.

It prints a table of the test accuracies and writes ``report.md``, ``accuracy.png`` (accuracy per
epoch) and one run directory per method into ``--out``; repeating the command skips finished runs.
The four runs go through the sweep engine, as many at once as the machine has cores (one thread
each: a batch-16 LeNet-5 step gains little from a second thread, a second run gains twice).
``xbarsim reproduce table1`` runs the full table.
"""
from __future__ import annotations

import argparse
import os
import pathlib

METHODS = ("digital", "sgd", "ttv2", "resl")


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="4-state devices: digital vs analog SGD vs TT-v2 vs residual learning (minutes)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/demo"), help="output directory")
    p.add_argument("--epochs", type=int, default=3, help="epochs per method (default 3)")
    p.add_argument("--tiles", type=int, default=4, help="residual-learning tiles (default 4)")
    p.add_argument("--limit", type=int, help="train on the first N of the 6 000 images")
    p.add_argument("--test-limit", type=int, help="evaluate on the first N of the 1 000 test images")
    p.add_argument("--workers", type=int, help="runs at once (default: the CPU cores, at most 4)")
    p.add_argument("--threads", type=int, help="CPU threads per run (default: the cores split among the workers)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: only on a terminal)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ..experiments.report import aggregate, collect_sweep, paper_cell, write_report
    from ..experiments.reproduce import table_grid
    from ..experiments.sweep import point_from_config, run_sweep

    options = {"dataset": "fashion-mnist-mini", "epochs": args.epochs}
    for name in ("limit", "test_limit"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    specs = table_grid("table1", datasets=["fashion-mnist"], methods=METHODS, tiles=[args.tiles], **options)
    specs = [dataclasses.replace(s, config=dataclasses.replace(s.config, seed=args.seed)) for s in specs]
    print(f"xbarsim demo: LeNet-5, embedded Fashion-MNIST subset, 4-state devices, {args.epochs} epochs per "
          f"method -> {args.out}", flush=True)
    points = [point_from_config(spec.directory(pathlib.Path()).as_posix(), spec.key, spec.config, paper_key=spec.key)
              for spec in specs]
    workers = args.workers or max(1, min(len(points), os.cpu_count() or 1))
    try:
        outcome = run_sweep(points, args.out, record={"demo": {"epochs": args.epochs, "tiles": args.tiles,
                                                          "limit": args.limit, "test_limit": args.test_limit,
                                                          "seed": args.seed}},
                            workers=workers, threads=args.threads, progress=args.progress,
                            log=lambda m: print(m, flush=True))
    except (ValueError, RuntimeError) as exc:
        raise SystemExit(str(exc)) from None
    records, problems = collect_sweep(args.out)
    path = write_report(args.out, records, title="xbarsim demo: 4-state devices on Fashion-MNIST (embedded subset)",
                        notes=["The paper's numbers are for the full dataset at 200 epochs (Table 1); this demo "
                               "trains on 6 000 images for a few epochs."], problems=problems)
    print()
    print(f"{'method':<34} {'test accuracy (%)':>18} {'best (%)':>9} {'paper, full data (%)':>21}")
    order = {m: k for k, m in enumerate(METHODS)}
    for cell in sorted(aggregate(records), key=lambda c: order.get(c.key.rsplit("/", 1)[-1].split("-")[0], 99)):
        ref = paper_cell(cell.key)
        final = cell.final[-1] if cell.final else float("nan")
        best = cell.best[-1] if cell.best else float("nan")
        paper = "—" if ref is None else f"{ref[0]:.2f}"
        print(f"{cell.key:<34} {final:>18.2f} {best:>9.2f} {paper:>21}")
    print(f"\nxbarsim demo: wrote {path} and {path.with_name('accuracy.png')}")
    return outcome.exit_code
