"""``xbarsim sweep``: a grid of training runs from a YAML spec, in parallel here or on a Ray cluster.

A spec holds two maps: ``fixed`` (options of every run: the long options of ``xbarsim train`` with
underscores, e.g. ``data_dir``, ``limit``) and ``axes`` (option -> list of values: dataset, model,
algorithm, tiles, states, gamma, seed, ...). Their product is the grid; each point is one
``xbarsim train`` run in its own directory ``OUT/<cell>/seed<k>`` (its log in ``log.txt``). The spec
is validated in full before anything runs.

Locally ``--workers N`` runs N runs at once in separate processes, the CPU cores split among them
(``--threads`` per run; never more threads than cores). ``--address`` submits the runs as Ray tasks
to a cluster (``auto``, ``ray://HOST:PORT``) or to a Ray instance started here (``local``);
``--gpus-per-run 0.25`` lets four runs share a GPU. Ray is optional: pip install 'xbarsim[sweep]'.

Repeating the command skips finished runs, resumes interrupted ones from their checkpoints and retries
failed ones; ``OUT/state.json`` records every run's state. At the end (and with ``xbarsim report OUT``)
``OUT/report.md`` holds mean ± std over seeds per cell, the plots and the runs that failed, with the
tails of their logs. See docs/sweeps.md.

Example spec:
    fixed: {dataset: fashion-mnist-mini, epochs: 3, limit: 2000}
    axes:
      algorithm: [resl, ttv2, sgd]
      seed: [0, 1, 2]

Examples:
    xbarsim sweep sweep.yaml --workers 4 --out runs/sweep
    xbarsim sweep sweep.yaml --dry-run
    xbarsim sweep sweep.yaml --address auto --threads 4 --out /shared/runs/sweep
    xbarsim sweep sweep.yaml --address ray://head:10001 --gpus-per-run 0.25 --out /shared/runs/sweep
"""
from __future__ import annotations

import argparse
import pathlib
import shlex
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid of training runs (locally or on Ray) and report it",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", type=pathlib.Path, help="the sweep spec (YAML with 'fixed' and 'axes')")
    p.add_argument("--out", type=pathlib.Path, help="the sweep directory (default runs/sweep-<spec name>)")
    add_executor_options(p)
    p.add_argument("--dry-run", action="store_true", help="validate the spec and list its runs; run nothing")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="one progress bar for the sweep (default: only on a terminal)")
    p.set_defaults(func=run)


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """Where and how many runs go at once (shared with ``xbarsim reproduce``)."""
    from ..experiments.sweep.engine import ADDRESS_HELP

    g = p.add_argument_group("execution")
    g.add_argument("--workers", type=int, help="runs at once (local default 1; Ray default: as many as the "
                                               "cluster's CPUs and GPUs hold)")
    g.add_argument("--threads", type=int, help="CPU threads per run (local default: the cores split among the "
                                               "workers; Ray default 1)")
    g.add_argument("--address", help=ADDRESS_HELP + "; default: local processes, no Ray")
    g.add_argument("--gpus-per-run", type=float, default=0.0,
                   help="GPUs each run reserves under Ray (0.25: four runs share a GPU; needs device: cuda)")


def command_line() -> str:
    return "xbarsim " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run(args: argparse.Namespace) -> int:
    from ..experiments.report import collect_sweep, write_report
    from ..experiments.sweep import describe, load_spec, run_sweep

    try:
        spec = load_spec(args.spec)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(str(exc)) from None
    out = args.out or pathlib.Path("runs") / f"sweep-{args.spec.stem}"
    if args.dry_run:
        print(describe(spec.points))
        print(f"xbarsim sweep: {len(spec.points)} runs would go into {out}")
        return 0
    try:
        outcome = run_sweep(spec.points, out, record=spec.to_dict(), workers=args.workers, threads=args.threads,
                            address=args.address, gpus_per_run=args.gpus_per_run, progress=args.progress,
                            log=lambda m: print(m, flush=True))
    except (ValueError, RuntimeError) as exc:
        raise SystemExit(str(exc)) from None
    records, problems = collect_sweep(out)
    if records or problems:
        path = write_report(out, records, title=f"xbarsim sweep {args.spec.name}", command=command_line(),
                            problems=problems)
        print(f"xbarsim sweep: wrote {path}", flush=True)
    return outcome.exit_code
