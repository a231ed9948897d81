"""Run xbarsim's benchmark suites and write a table and JSON.

Usage::

    python bench/run.py                                  # every suite, every available device
    python bench/run.py --suite kernels --device cpu --json bench/results/kernels.json
    python bench/run.py --suite overhead --suite training --quick

Suites: ``kernels`` (analog MVM forward/backward, the pulsed update in both regimes, transfers and the
multi-tile step, the W̄ reduction and mixed precision's χ accumulation), ``training`` (whole training
steps of the MLP, LeNet-5 and, on CUDA, ResNet-18 for every algorithm; what the training loop adds) and
``overhead`` (the fixed cost of a call on tiny tiles). A name of one module's suite (``mvm``,
``update``, ``transfer``, ``reduce``, ``train_step``, ``loop``, ``overhead``) runs that module alone.

Every row times xbarsim and its plain-torch baseline interleaved in the same run, after the same
warm-up, and reports the median (CUDA timed with events), the ratio, the issue's target where it has
one, and memory where measurable. bench/README.md says what each case times and how far each kernel is
from its roofline; bench/RESULTS.md keeps the latest table with machine, date and commit.

A module is ``bench/<name>.py`` with ``SUITE`` (its own name), ``GROUP`` (kernels, training or
overhead) and ``run(device: str, quick: bool) -> list[dict]`` returning rows made by ``_timing.row``.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import pathlib
import platform
import subprocess
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import devices  # noqa: E402

SUITE_MODULES = ["kernels_mvm", "kernels_update", "kernels_transfer", "kernels_reduce", "overhead",
                 "training_step", "training_loop"]
GROUPS = ("kernels", "training", "overhead")


def _modules() -> list:
    return [importlib.import_module(name) for name in SUITE_MODULES]


def _selected(modules: list, requested: list[str] | None) -> list:
    """The modules of the requested groups or suites, in SUITE_MODULES order (all when none or "all")."""
    if not requested or "all" in requested:
        return modules
    return [m for m in modules if m.GROUP in requested or m.SUITE in requested]


def _commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True).strip()
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    modules = _modules()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", choices=["all", *GROUPS, *(m.SUITE for m in modules)],
                        help="group or suite to run; repeatable (default: all)")
    parser.add_argument("--device", default="all", choices=["all", "cpu", "cuda"],
                        help="cpu, cuda, or all available (default)")
    parser.add_argument("--quick", action="store_true", help="smaller shapes and fewer repeats (smoke run)")
    parser.add_argument("--json", "--out", dest="json", type=pathlib.Path, default=HERE / "results" / "latest.json",
                        help="where to write the rows and the run's metadata (default bench/results/latest.json)")
    args = parser.parse_args(argv)

    import xbarsim

    torch.backends.cuda.matmul.allow_tf32 = False
    rows: list[dict] = []
    for module in _selected(modules, args.suite):
        for device in devices(args.device):
            rows.extend(dict(r, group=module.GROUP) for r in module.run(device, args.quick))
    _print_table(rows)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": _commit(),
            "machine": platform.platform(), "processor": platform.processor(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "xbarsim": xbarsim.build_info(), "argv": sys.argv[1:],
            "gpu": torch.cuda.get_device_name() if xbarsim.cuda_available() else None}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\nwrote {args.json}")
    return 0


def _print_table(rows: list[dict]) -> None:
    if not rows:
        return
    cols = ["suite", "case", "device", "ms", "baseline", "baseline_ms", "ratio", "target"]
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols]
    print()
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(cols, widths)))


if __name__ == "__main__":
    raise SystemExit(main())
