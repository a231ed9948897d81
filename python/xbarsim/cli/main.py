"""``python -m xbarsim <command>``: one entry point, one sub-command per task.

Commands:
    train      train a network with analog layers (one run, into a run directory)
    reproduce  run a table of the paper (or the least-squares toy) and write a report
    sweep      run a grid of training runs from a YAML spec, locally in parallel or on Ray
    report     rebuild a report from finished runs
    info   build and runtime information (CUDA, OpenMP threads)
    demo   train one analog tile on a generated regression problem with pulsed updates
    cost   analytical latency, energy, storage and area of a model per training method
"""
from __future__ import annotations

import argparse
import json
import sys

from . import cost, demo, reproduce, sweep, train


def _info(args: argparse.Namespace) -> int:
    import torch

    import xbarsim

    info = dict(xbarsim.build_info(), torch=torch.__version__, cuda_available=xbarsim.cuda_available())
    print(json.dumps(info, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xbarsim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    train.add_parser(sub)
    reproduce.add_parsers(sub)
    sweep.add_parser(sub)
    p_info = sub.add_parser("info", help="build and runtime information")
    p_info.set_defaults(func=_info)
    demo.add_parser(sub)
    cost.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return int(args.func(args) or 0)
