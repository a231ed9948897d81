"""The options of one training run, as ``xbarsim train`` and ``xbarsim sweep`` accept them.

They live here, in the training layer, because two front ends share them: the command line parses
them and a sweep spec is checked against them (its keys are the same names with underscores).
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib

#: Options whose value replaces the config file's (None = not given on the command line).
OVERRIDES = ("preset", "table", "dataset", "model", "algorithm", "tiles", "states", "gamma", "variant", "epochs",
             "batch_size", "lr", "seed", "device", "threads", "data_dir", "download", "limit", "test_limit",
             "checkpoint_every", "device_processes", "count_ops")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of one run (shared with ``xbarsim sweep``); defaults are None: "not given"."""
    from .config import ALGORITHMS, MODELS

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
    from .config import RunConfig, load_yaml

    base = load_yaml(args.config) if getattr(args, "config", None) else RunConfig()
    changes = {name: getattr(args, name) for name in OVERRIDES if getattr(args, name, None) is not None}
    if "device_processes" in changes:
        changes["device_processes"] = tuple(changes["device_processes"])
    return dataclasses.replace(base, **changes)
