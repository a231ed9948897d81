"""Shared helpers of the validation scripts (issue 12): the aihwkit guard, results and tables.

Every script imports aihwkit through ``need_aihwkit()``, which exits 0 with a message when aihwkit is
not importable (the scripts are optional checks, never part of the test suite), and writes its
results with ``write_results`` into validation/results/<name>.json and .md.
"""
from __future__ import annotations

import json
import os
import pathlib
import platform
import sys
import time
from typing import Any, Iterable, Sequence

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent / "python"))  # the worktree's xbarsim, whatever venv runs this


def need_aihwkit():
    """Import aihwkit or exit 0 with a message (the comparison is optional)."""
    try:
        import aihwkit  # noqa: F401
        import aihwkit.simulator.rpu_base  # noqa: F401  (the compiled core, not just the Python part)
    except ImportError as exc:
        print(f"{pathlib.Path(sys.argv[0]).name}: aihwkit is not importable ({exc}); skipped. "
              "Build it with validation/aihwkit-env.sh and run this script with validation/.venv-aihwkit/bin/python")
        sys.exit(0)
    return aihwkit


def one_thread() -> None:
    """One thread for torch (both simulators' GEMMs go through it or OpenBLAS; see environment())."""
    import torch
    torch.set_num_threads(1)


def environment() -> dict[str, Any]:
    import aihwkit
    import torch

    import xbarsim
    return {
        "aihwkit": aihwkit.__version__, "xbarsim": getattr(xbarsim, "__version__", "?"), "torch": torch.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "torch_threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(f"wrote {RESULTS / name}.json and .md")
