"""``xbarsim train``: one training run of an analog (or digital) network into a run directory.

Every option of the run is an option here or a key of ``--config FILE.yaml`` (the same names with
underscores); what is left open comes from the paper's presets (``--preset NAME``, or the preset that
``--table``, ``--dataset``, ``--algorithm``, ``--tiles`` and ``--states`` select). The run directory
(``--out``) receives the resolved config, the command, the environment, ``metrics.jsonl``,
``checkpoint.pt`` (every epoch, atomically), ``summary.json`` and plots; ``--resume`` continues an
interrupted run from its checkpoint, bit for bit as if it had not stopped.

Examples:
    xbarsim train                                           # LeNet-5, residual learning, 4 tiles, embedded data
    xbarsim train --algorithm ttv2 --epochs 3 --out runs/ttv2
    xbarsim train --preset table1/fashion-mnist/resl-6 --dataset fashion-mnist --data-dir DIR
    xbarsim train --out runs/ttv2 --resume                  # after Ctrl-C or a crash
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
from typing import Optional, Sequence

from ..train.options import add_run_options, config_from_args


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a network with analog layers (one run)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(p)
    p.add_argument("--out", type=pathlib.Path, default=None,
                   help="run directory (default: runs/<preset>-seed<seed>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: only on a terminal)")
    p.set_defaults(func=run)


def default_out(cfg) -> pathlib.Path:
    name = (cfg.preset or "run").replace("/", "_")
    return pathlib.Path("runs") / f"{name}-seed{cfg.seed}"


def run(args: argparse.Namespace, argv: Optional[Sequence[str]] = None) -> int:
    from ..train import RunDirectory, Trainer, build, resolve
    from ..train.config import dump_yaml, from_plain
    from ..train.report import plot_run

    if args.resume:
        if args.out is None:
            raise SystemExit("xbarsim train: --resume needs --out, the directory of the run to continue")
        run_dir = RunDirectory(args.out)
        if not run_dir.has_checkpoint():
            raise SystemExit(f"xbarsim train: no checkpoint to resume in {str(args.out)!r}")
        import yaml

        cfg = from_plain(yaml.safe_load(run_dir.file(RunDirectory.CONFIG).read_text()),
                         where=str(run_dir.file(RunDirectory.CONFIG)))
        if args.epochs is not None:  # the one option a resumed run may change: train longer
            cfg = dataclasses.replace(cfg, epochs=args.epochs)
    else:
        cfg = resolve(config_from_args(args))
        run_dir = RunDirectory(args.out if args.out is not None else default_out(cfg))
        if run_dir.has_checkpoint():
            raise SystemExit(f"xbarsim train: {str(run_dir.path)!r} already holds a run; use --resume to continue "
                             "it or another --out")
        run_dir.write_start(dump_yaml(cfg), argv=["xbarsim", *(sys.argv[1:] if argv is None else argv)])
    setup, options = build(cfg)
    options = dataclasses.replace(options, progress=args.progress)
    print(f"xbarsim train: {cfg.preset} ({cfg.algorithm}, {cfg.model}, {cfg.dataset}, {len(setup.train_set)} "
          f"training images) -> {run_dir.path}", flush=True)
    summary = Trainer(setup, options, run_dir).fit(resume=args.resume)
    plot_run(run_dir)
    acc = summary.get("final_test_accuracy")
    print(f"xbarsim train: {summary['status']} after {summary['epochs_completed']}/{summary['epochs']} epochs; "
          f"test accuracy {100 * acc:.2f} %" if acc is not None else
          f"xbarsim train: {summary['status']} before the first epoch ended", flush=True)
    if summary["status"] == "interrupted":
        print(f"xbarsim train: checkpoint saved; continue with: xbarsim train --out {run_dir.path} --resume",
              flush=True)
        return 128 + int(summary.get("signal") or 2)
    return 0
