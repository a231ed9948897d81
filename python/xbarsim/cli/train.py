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

#: Options whose value replaces the config file's (None = not given on the command line).
_OVERRIDES = ("preset", "table", "dataset", "model", "algorithm", "tiles", "states", "gamma", "variant", "epochs",
              "batch_size", "lr", "seed", "device", "threads", "data_dir", "download", "limit", "test_limit",
              "checkpoint_every", "device_processes", "count_ops")


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


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of one run (shared with ``xbarsim sweep``); defaults are None: "not given"."""
    from ..train.config import ALGORITHMS, MODELS

    g = p.add_argument_group("what to train")
    g.add_argument("--config", type=pathlib.Path, help="YAML file of run options (keys as these options)")
    g.add_argument("--preset", help="a paper preset, e.g. table1/fashion-mnist/resl-4 (xbarsim.presets.paper)")
    g.add_argument("--table", choices=("table1", "table2", "table9", "table10", "table11"),
                   help="paper table whose settings fill the open options (default table1)")
    g.add_argument("--dataset", choices=("fashion-mnist-mini", "fashion-mnist", "mnist", "cifar10", "cifar100"),
                   help="dataset (default fashion-mnist-mini: embedded, works offline)")
    g.add_argument("--model", choices=MODELS, help="network (default: the preset's)")
    g.add_argument("--algorithm", choices=ALGORITHMS, help="training method (default resl)")
    g.add_argument("--tiles", type=int, help="residual-learning tiles (default 4)")
    g.add_argument("--states", type=int, help="device states (default 4)")
    g.add_argument("--gamma", type=float, help="residual learning's gamma (default: the preset's)")
    g.add_argument("--variant", choices=("code", "text"), help="reference-code or paper-text settings (default code)")
    g = p.add_argument_group("how to train")
    g.add_argument("--epochs", type=int, help="epochs (default: the preset's)")
    g.add_argument("--batch-size", type=int, help="mini-batch size (default: the preset's)")
    g.add_argument("--lr", type=float, help="learning rate (default: the preset's)")
    g.add_argument("--seed", type=int, help="run seed: weights, tile draws, data order (default 0)")
    g.add_argument("--device", help="torch device: cpu, cuda, cuda:1 (default cpu)")
    g.add_argument("--threads", type=int, help="CPU threads of torch and the native core")
    g.add_argument("--checkpoint-every", type=int, help="also checkpoint every N steps (default: per epoch)")
    g.add_argument("--device-processes", nargs="*", choices=("decay", "diffuse"),
                   help="device processes on every analog layer after each step")
    g.add_argument("--count-ops", action="store_true", default=None,
                   help="count the analog operations (MVMs, ADC/DAC conversions, pulses, transfers, digital "
                        "ops) per epoch into metrics.jsonl; read them with xbarsim cost --run")
    g = p.add_argument_group("data")
    g.add_argument("--data-dir", help="dataset directory (default $XBARSIM_DATA or ~/.cache/xbarsim/data)")
    g.add_argument("--download", action="store_true", default=None,
                   help="download missing dataset files (checked against their checksums)")
    g.add_argument("--limit", type=int, help="train on the first N training images")
    g.add_argument("--test-limit", type=int, help="evaluate on the first N test images")


def config_from_args(args: argparse.Namespace):
    """The RunConfig of the options (``--config`` first, then every option given)."""
    from ..train.config import RunConfig, load_yaml

    base = load_yaml(args.config) if getattr(args, "config", None) else RunConfig()
    changes = {name: getattr(args, name) for name in _OVERRIDES if getattr(args, name, None) is not None}
    if "device_processes" in changes:
        changes["device_processes"] = tuple(changes["device_processes"])
    return dataclasses.replace(base, **changes)


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
