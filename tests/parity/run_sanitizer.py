"""Run the CUDA parity tests under compute-sanitizer (memcheck, initcheck, racecheck).

Usage::

    python tests/parity/run_sanitizer.py                          # every tool, the whole parity suite
    python tests/parity/run_sanitizer.py --tool racecheck -k transfer --out sanitizer_logs

Each tool runs ``python -m pytest tests/parity -m "not slow"`` (plus ``-k``) as one process under
``compute-sanitizer --tool <tool>``; its report goes to ``<out>/<tool>.log`` and pytest's output to
``<out>/<tool>.pytest.log``. torch's caching allocator is switched off
(``PYTORCH_NO_CUDA_MEMORY_CACHING=1``) so that an access past a tensor's end lands outside any
allocation and memcheck sees it. Every kernel runs far slower under a sanitizer: pick a subset with
``-k`` for a quick pass. Exits 0 when every tool reports no error (or compute-sanitizer is not
installed: then it says so and does nothing), 1 otherwise.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = {
    "memcheck": ["--leak-check", "no"],
    "initcheck": ["--track-unused-memory", "no"],
    "racecheck": ["--racecheck-report", "hazard"],
}


def find_sanitizer() -> str | None:
    found = shutil.which("compute-sanitizer")
    if found:
        return found
    for base in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if base:
            candidate = pathlib.Path(base) / "bin" / "compute-sanitizer"
            if candidate.is_file():
                return str(candidate)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", action="append", choices=sorted(TOOLS), help="tool(s) to run (default: all)")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression selecting the tests")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("sanitizer_out"))
    parser.add_argument("--timeout", type=float, default=None, help="seconds per tool (default: none)")
    args = parser.parse_args(argv)

    sanitizer = find_sanitizer()
    if sanitizer is None:
        print("compute-sanitizer not found (PATH, $CUDA_HOME/bin, /usr/local/cuda/bin): nothing to run")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTORCH_NO_CUDA_MEMORY_CACHING="1")
    failed = []
    for tool in args.tool or list(TOOLS):
        log = args.out / f"{tool}.log"
        cmd = [sanitizer, "--tool", tool, *TOOLS[tool], "--error-exitcode", "86", "--log-file", str(log),
               sys.executable, "-m", "pytest", str(ROOT / "tests" / "parity"), "-q", "-p", "no:cacheprovider",
               "-m", "not slow", "--ignore", str(ROOT / "tests" / "parity" / "run_sanitizer.py")]
        if args.keyword:
            cmd += ["-k", args.keyword]
        print(f"== {tool}: {' '.join(cmd)}", flush=True)
        try:
            with open(args.out / f"{tool}.pytest.log", "w") as out:
                done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=args.timeout)
            rc = done.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        summary = log.read_text().strip().splitlines()[-1:] if log.exists() else ["(no report)"]
        print(f"   {tool}: exit {rc}; {summary[0] if summary else ''}", flush=True)
        if rc != 0:
            failed.append(tool)
    if failed:
        print(f"sanitizer failures: {', '.join(failed)} (see {args.out})")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
