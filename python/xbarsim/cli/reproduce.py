"""``xbarsim reproduce`` and ``xbarsim report``: the paper's tables and toy, one command each.

``xbarsim reproduce TABLE`` runs the grid of a table of the paper (every method and tile count, for
the datasets and state counts asked, times the seeds) with the paper presets through the sweep
engine (``xbarsim sweep``): each run in its own process and run directory under ``--out``, one at a
time or ``--workers N`` at once, or as Ray tasks with ``--address`` (finished runs are skipped,
interrupted ones resumed and failed ones retried when the command is repeated), then writes ``report.md`` (mean ± std over seeds beside the paper's numbers,
final and best epoch, the budget used), ``report.json``, ``results.csv`` and ``accuracy.png``.
A smaller budget than the paper's (``--epochs``, ``--seeds``, ``--limit``) is allowed and stated.

``xbarsim reproduce toy`` runs the least-squares toy for the paper's and the theory's presets on noisy
and noise-free devices. ``xbarsim report DIRS...`` rebuilds a report from finished runs; given a sweep
directory, it groups the runs by the sweep's cells and lists the runs that did not complete with the
tails of their logs.

Examples:
    xbarsim reproduce table1 --dataset fashion-mnist --epochs 3 --seeds 2 --out runs/table1
    xbarsim reproduce table1 --dataset fashion-mnist-mini --epochs 1 --methods resl ttv2 --tiles 4
    xbarsim reproduce table1 --dataset fashion-mnist --seeds 3 --workers 4 --out runs/table1
    xbarsim reproduce table2 --seeds 3 --device cuda --address auto --gpus-per-run 0.5 --out /shared/table2
    xbarsim reproduce toy --steps 200000 --out runs/toy
    xbarsim report runs/table1 --out runs/table1
"""
from __future__ import annotations

import argparse
import pathlib
import shlex
import sys

from .sweep import add_executor_options


def add_parsers(sub) -> None:
    p = sub.add_parser("reproduce", help="run a table of the paper (or the toy) and write a report",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", choices=("table1", "table2", "table9", "table10", "table11", "toy"))
    p.add_argument("--dataset", help="run this dataset's rows (fashion-mnist-mini runs the Fashion-MNIST rows on the "
                                     "embedded subset)")
    p.add_argument("--states", type=int, nargs="+", help="only these state counts")
    p.add_argument("--methods", nargs="+", choices=("resl", "ttv1", "ttv2", "mp", "sgd", "digital"),
                   help="only these methods (default: every column of the table, plus sgd and digital)")
    p.add_argument("--tiles", type=int, nargs="+", help="residual-learning tile counts (toy: tile counts, 1 = SGD)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per cell (default 1)")
    p.add_argument("--epochs", type=int, help="epochs per run (default: the paper's)")
    p.add_argument("--limit", type=int, help="train on the first N training images")
    p.add_argument("--test-limit", type=int, help="evaluate on the first N test images")
    p.add_argument("--data-dir", help="dataset directory")
    p.add_argument("--download", action="store_true", default=None, help="download missing datasets")
    p.add_argument("--device", help="torch device (default cpu)")
    p.add_argument("--variant", choices=("code", "text"), help="preset variant (default code)")
    p.add_argument("--steps", type=int, default=40000, help="toy: steps per run")
    p.add_argument("--targets", type=int, default=100, help="toy: targets per run")
    p.add_argument("--variants", nargs="+", choices=("paper", "theory"), default=["paper", "theory"],
                   help="toy: presets to run (default both)")
    p.add_argument("--noise", nargs="+", choices=("noisy", "noise-free"), default=["noisy", "noise-free"],
                   help="toy: devices to run (default both)")
    p.add_argument("--out", type=pathlib.Path, help="output directory (default runs/reproduce-<table>)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: only on a terminal)")
    add_executor_options(p)
    p.set_defaults(func=run_reproduce)

    r = sub.add_parser("report", help="rebuild a report from finished runs",
                       description="Rebuild report.md, report.json, results.csv and accuracy.png from run "
                                   "directories (searched recursively under each path); or, given directories "
                                   "of `xbarsim reproduce toy` results (toy_*.json), one toy report of them all.")
    r.add_argument("dirs", nargs="+", type=pathlib.Path,
                   help="sweep directories, run directories or directories holding them")
    r.add_argument("--out", type=pathlib.Path, help="where to write the report (default: the first directory)")
    r.add_argument("--title", default="xbarsim report")
    r.set_defaults(func=run_report)


def _command() -> str:
    return "xbarsim " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run_reproduce(args: argparse.Namespace) -> int:
    out = args.out or pathlib.Path("runs") / f"reproduce-{args.table}"
    if args.table == "toy":
        from ..experiments.toy import reproduce

        if args.threads is not None:
            import torch

            from ..ops import set_num_threads

            torch.set_num_threads(args.threads)
            set_num_threads(args.threads)
        tiles = tuple(args.tiles) if args.tiles else (1, 2, 3, 4)
        path = reproduce(out, tiles=tiles, steps=args.steps, n_targets=args.targets, seeds=args.seeds,
                         device=args.device or "cpu", variants=args.variants,
                         noise=[n == "noisy" for n in args.noise])
        print(f"xbarsim reproduce: wrote {path}")
        return 0
    from ..experiments.report import collect_sweep, write_report
    from ..experiments.reproduce import table_grid
    from ..experiments.sweep import point_from_config, run_sweep
    from ..train.setup import preset_dataset

    options = {k: getattr(args, k) for k in ("epochs", "limit", "test_limit", "data_dir", "download", "device",
                                              "variant") if getattr(args, k) is not None}
    datasets = None
    if args.dataset is not None:
        datasets = [preset_dataset(args.dataset)]
        options["dataset"] = args.dataset
    try:
        specs = table_grid(args.table, datasets=datasets, states=args.states, methods=args.methods,
                           tiles=args.tiles, seeds=args.seeds, **options)
        points = [point_from_config(spec.directory(pathlib.Path()).as_posix(), spec.key, spec.config,
                                    paper_key=spec.key) for spec in specs]
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    record = {"reproduce": args.table, "options": options, "datasets": datasets, "states": args.states,
              "methods": args.methods, "tiles": args.tiles, "seeds": args.seeds}
    print(f"xbarsim reproduce: {args.table}: {len(specs)} runs into {out}", flush=True)
    try:
        outcome = run_sweep(points, out, record=record, workers=args.workers, threads=args.threads,
                            address=args.address, gpus_per_run=args.gpus_per_run, progress=args.progress,
                            log=lambda m: print(m, flush=True))
    except (ValueError, RuntimeError) as exc:
        raise SystemExit(str(exc)) from None
    records, problems = collect_sweep(out)
    path = write_report(out, records, title=f"{args.table} reproduction", command=_command(), problems=problems)
    print(f"xbarsim reproduce: wrote {path}")
    return outcome.exit_code


def run_report(args: argparse.Namespace) -> int:
    from ..experiments.report import gather, write_report

    toy_dirs = [d for d in args.dirs if any(pathlib.Path(d).glob("toy_*.json"))]
    if toy_dirs:
        return _toy_report(args, toy_dirs)
    records, problems = gather(args.dirs)
    if not records and not problems:
        raise SystemExit(f"xbarsim report: no run directories under {[str(d) for d in args.dirs]}")
    path = write_report(args.out or args.dirs[0], records, title=args.title, command=_command(), problems=problems)
    print(f"xbarsim report: {len(records)} runs -> {path}")
    return 0


def _toy_report(args: argparse.Namespace, toy_dirs: list[pathlib.Path]) -> int:
    """The least-squares toy's report: every ``toy_*.json`` of the given directories (results of
    ``xbarsim reproduce toy``, possibly from several commands) in one ``report.md`` in ``--out`` (default
    the first directory), the other directories' files copied beside it (a later directory's file of
    the same variant and device replaces an earlier one's)."""
    import shutil

    from ..experiments import toy

    if len(toy_dirs) != len(args.dirs):
        raise SystemExit("xbarsim report: give either toy result directories (toy_*.json) or training runs, "
                         "not both")
    out = pathlib.Path(args.out or toy_dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    for d in toy_dirs:  # gather the other directories' results beside the first's
        if pathlib.Path(d).resolve() == out.resolve():
            continue
        for f in pathlib.Path(d).glob("toy_*.*"):
            shutil.copy2(f, out / f.name)
    path = toy.write_report(out)
    print(f"xbarsim report: toy results -> {path}")
    return 0
