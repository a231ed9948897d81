"""``python -m xbarsim cost``: what training a model with each method would cost on the chip.

For every analog layer of the model and every method, the analytical cost model
(``xbarsim.cost``, spec hardware-cost.md) gives the per-sample update latency (the model's is its
slowest layer's), the energy per image split into update and forward/backward, the digital storage
and the analog area (one copy of the weights, and all physical crossbars: N logical tiles as
differential pairs). Prints the tables; with ``--out`` writes ``cost.md``, ``cost.json`` and the bar
chart ``cost.png``. ``--paper`` prints every number of the paper's Tables 5-8 beside the model's.

Constants are the paper's unless ``--hardware FILE.yaml`` names other values (keys: the fields of
``xbarsim.cost.HardwareModel``; e.g. ``mp_fp_ops_per_weight: 1`` reproduces Table 7's MP cells).

``--run RUN_DIR`` reports the measured operation counts of a run of ``xbarsim train --count-ops``
(MVMs, ADC and DAC conversions, pulses, coincidences, transfers, digital operations) and its
measured per-sample costs beside the analytical estimate for the same model and method, with the
reasons they differ (``--layers``: per layer too; ``--out``: ``run_cost.md`` and ``run_cost.json``).
"""
from __future__ import annotations

import argparse
import pathlib
import sys


def add_parser(sub) -> None:
    from ..cost import MODEL_NAMES, STORAGE_UNITS

    p = sub.add_parser("cost", help="analytical latency, energy, storage and area per method",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODEL_NAMES, default="lenet5", help="model whose analog layers are costed")
    p.add_argument("--methods", default="sgd,ttv2,mp,resl",
                   help="comma-separated methods among sgd, ttv2, mp, resl (default: all)")
    p.add_argument("--tiles", type=int, default=4, help="tiles N of residual learning (resl); default 4")
    p.add_argument("--batch-size", type=int, default=None,
                   help="MP mini-batch B; default the model's (LeNet-5 8, ResNets 128) or the hardware model's 100")
    p.add_argument("--num-classes", type=int, default=None,
                   help="classes of the classifier layer; default 10 (the paper's ResNet-18 cells fit 100)")
    p.add_argument("--units", choices=STORAGE_UNITS, default="kB",
                   help="storage units: kB = 1000 B (default), KiB = 1024 B, paper = the paper's mixture")
    p.add_argument("--hardware", type=pathlib.Path, default=None, metavar="FILE.yaml",
                   help="YAML file of HardwareModel fields overriding the paper's constants")
    p.add_argument("--run", type=pathlib.Path, default=None, metavar="RUN_DIR",
                   help="a run of xbarsim train --count-ops: its measured counts and costs beside the analytical "
                        "estimate for its model and method (--model, --methods, --tiles are the run's)")
    p.add_argument("--layers", action="store_true", help="also print the per-layer tables")
    p.add_argument("--paper", action="store_true", help="print the paper's Tables 5-8 beside the model's values")
    p.add_argument("--out", type=pathlib.Path, default=None, metavar="DIR",
                   help="write cost.md, cost.json and cost.png (and paper_tables.md with --paper) here")
    p.set_defaults(func=run)


def _error(message: str) -> int:
    print(f"xbarsim cost: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from .. import cost
    from ..cost import report

    if args.run is not None:
        return _run_report(args)
    try:
        hw = cost.HardwareModel() if args.hardware is None else cost.HardwareModel.from_yaml(args.hardware)
        methods = cost.parse_methods(args.methods, n_tiles=args.tiles, batch_size=args.batch_size)
        shapes = cost.model_shapes(args.model, num_classes=args.num_classes)
    except (OSError, TypeError, ValueError, RuntimeError) as e:
        return _error(str(e))
    costs = [cost.model_cost(shapes, m, hw) for m in methods]

    units_text = "the paper's units (KB)" if args.units == "paper" else args.units
    summary = "\n".join([
        f"# Hardware cost: {shapes.description}", "",
        f"Analytical estimate (hardware-cost.md); storage in {units_text}. Latency per training sample "
        f"(slowest layer); energy per image (energy_scaling = {hw.energy_scaling!r}).", "",
        report.summary_markdown(costs, args.units)]) + "\n"
    per_layer = "".join(f"\n## {c.method.label}: per layer\n\n{report.layers_markdown(c)}\n" for c in costs)
    print(summary + (per_layer if args.layers else ""))
    comparison = None
    if args.paper:
        constants = "the paper's constants" if hw == cost.HardwareModel() else f"the constants of {args.hardware}"
        comparison = (f"# The paper's Tables 5-8 beside xbarsim's model ({constants})\n\n"
                      + report.comparison_markdown(cost.paper_comparison(hw)) + "\n")
        print(comparison)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "cost.md").write_text(summary + per_layer, encoding="utf-8")
        report.write_json(report.costs_to_json(costs, args.units), args.out / "cost.json")
        written = ["cost.md", "cost.json"]
        try:
            report.plot_costs(costs, args.out / "cost.png", args.units)
            written.append("cost.png")
        except ImportError:
            print("xbarsim cost: cost.png not written: matplotlib is not installed "
                  "(pip install 'xbarsim[cost]')", file=sys.stderr)
        if comparison is not None:
            (args.out / "paper_tables.md").write_text(comparison, encoding="utf-8")
            written.append("paper_tables.md")
        print(f"wrote {', '.join(str(args.out / w) for w in written)}")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from .. import cost
    from ..cost import report

    try:
        hw = cost.HardwareModel() if args.hardware is None else cost.HardwareModel.from_yaml(args.hardware)
        comparison = cost.compare_run(args.run, hw)
    except (OSError, TypeError, ValueError, KeyError) as e:
        return _error(str(e))
    text = comparison.markdown(layers=args.layers)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "run_cost.md").write_text(text, encoding="utf-8")
        report.write_json(comparison.to_dict(), args.out / "run_cost.json")
        print(f"wrote {args.out / 'run_cost.md'}, {args.out / 'run_cost.json'}")
    return 0
