"""Run xbarsim's benchmark suites and write a table and JSON.

Usage::

    python bench/run.py                      # every suite, every available device
    python bench/run.py --suite mvm --device cpu --out bench/results/mvm.json

A suite is a module ``bench/<name>.py`` with ``SUITE = "<short name>"`` and
``run(device: str, quick: bool) -> list[dict]`` returning rows made by ``_timing.row``.
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

SUITE_MODULES = ["kernels_mvm", "kernels_update", "kernels_transfer", "training_step", "training_loop"]


def _available_suites() -> dict:
    suites = {}
    for name in SUITE_MODULES:
        if (HERE / f"{name}.py").exists():
            module = importlib.import_module(name)
            suites[module.SUITE] = module
    return suites


def _commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True).strip()
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    suites = _available_suites()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", choices=sorted(suites) + ["all"],
                        help="suite(s) to run (default: all)")
    parser.add_argument("--device", default="all", choices=["all", "cpu", "cuda"])
    parser.add_argument("--quick", action="store_true", help="smaller shapes and fewer repeats (smoke run)")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args(argv)

    import xbarsim

    torch.backends.cuda.matmul.allow_tf32 = False
    rows: list[dict] = []
    names = sorted(suites) if not args.suite or "all" in args.suite else args.suite
    for name in names:
        for device in devices(args.device):
            rows.extend(suites[name].run(device, args.quick))
    _print_table(rows)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": _commit(),
            "machine": platform.platform(), "processor": platform.processor(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "xbarsim": xbarsim.build_info(),
            "gpu": torch.cuda.get_device_name() if xbarsim.cuda_available() else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\nwrote {args.out}")
    return 0


def _print_table(rows: list[dict]) -> None:
    if not rows:
        return
    cols = ["suite", "case", "device", "ms", "baseline", "baseline_ms", "ratio"]
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols]
    print()
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(cols, widths)))


if __name__ == "__main__":
    raise SystemExit(main())
