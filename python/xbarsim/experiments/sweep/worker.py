"""One run of a sweep in its own process: :func:`launch` starts it, :func:`main` is the process.

:func:`launch` (called by the local executor's threads and by a Ray task on whichever node runs it)
writes ``RUN/spec.yaml``, starts ``python -m xbarsim.experiments.sweep RUN --threads T`` with
its stdout and stderr appended to ``RUN/log.txt``, waits, and returns what the sweep records: exit
code, wall time, host, the run's summary and the tail of its log. The process runs
:func:`xbarsim.experiments.reproduce.run_in_directory`, the code path of ``run_spec``: skipped if its
summary says completed, resumed from its checkpoint if there is one, else started afresh.

A crash of a run (an exception, a segfault, the OOM killer) ends only its process. The process gets
its own session, so a Ctrl-C at the sweep's terminal reaches the sweep alone, which then sends each
run one SIGTERM (the loop saves a checkpoint and exits with 143); a run whose parent dies (``kill -9``
of the sweep, a lost Ray worker) sends itself SIGTERM the same way.

Spec: docs/sweeps.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Optional, Sequence

__all__ = ["launch", "main", "classify"]

LOG_TAIL_LINES = 30


def classify(returncode: Optional[int], summary: Optional[dict]) -> str:
    """A finished attempt's status: "completed", "interrupted" (stopped by a signal: resumable) or "failed"."""
    if returncode == 0 and summary is not None and summary.get("status") == "completed":
        return "completed"
    if returncode is not None and (returncode < 0 or returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM)):
        return "interrupted"
    return "failed"


def launch(run_path: str, options: dict, threads: int, *,
           started: Optional[Callable[[subprocess.Popen], None]] = None) -> dict:
    """Run one sweep point in a child process into ``run_path``; returns the attempt's record.

    Args:
        run_path: the run directory (created if missing).
        options: the run's options (plain YAML values, written to ``RUN/spec.yaml``).
        threads: CPU threads of the run (also OMP_NUM_THREADS/MKL_NUM_THREADS of its process).
        started: called with the child process once it runs (the local executor keeps it to signal it).

    Returns:
        ``{"status", "returncode", "wall_s", "host", "pid", "resumed", "summary", "log_tail"}``.
    """
    import yaml

    from ...train.run_dir import write_text_atomic
    from .state import SweepDirectory, tail

    run = pathlib.Path(run_path)
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run / SweepDirectory.RUN_SPEC, yaml.safe_dump(options, sort_keys=False))
    resumed = (run / "checkpoint.pt").is_file()
    cmd = [sys.executable, "-m", "xbarsim.experiments.sweep", str(run), "--threads", str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    host = socket.gethostname()
    t0 = time.perf_counter()
    with (run / SweepDirectory.RUN_LOG).open("a") as log:
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        log.write(f"=== xbarsim sweep: {'resume' if resumed else 'start'} on {host} at {stamp}: {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        try:
            if started is not None:
                started(proc)
            returncode = _wait(proc)
        except BaseException:  # the sweep stops (Ctrl-C, a cancelled Ray task): let the run checkpoint first
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            returncode = proc.wait()
            raise
    wall = time.perf_counter() - t0
    # An exit code 0 means this attempt wrote the summary (or found it completed); otherwise the file, if
    # any, is an earlier attempt's.
    summary = _read_summary(run / "summary.json") if returncode == 0 else None
    return {"status": classify(returncode, summary), "returncode": returncode, "wall_s": wall, "host": host,
            "pid": proc.pid, "resumed": resumed, "summary": summary,
            "log_tail": tail(run / SweepDirectory.RUN_LOG, LOG_TAIL_LINES)}


def _wait(proc: subprocess.Popen) -> int:
    """``proc.wait()`` in short slices: a cancelled Ray task gets its KeyboardInterrupt between them (a
    single blocking wait would only see it after the run ended)."""
    while True:
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue


def _read_summary(path: pathlib.Path) -> Optional[dict]:
    import json

    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _exit_with_parent() -> None:
    """SIGTERM this process (the loop then checkpoints and stops) when its parent process goes away."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="xbarsim-sweep-parent-watch", daemon=True).start()


def _lock_run(path: pathlib.Path, wait_s: float = 300.0) -> None:
    """Hold ``RUN/.lock`` for the life of this process: an earlier attempt still checkpointing (its sweep
    was killed and it is stopping) finishes before this one reads the run directory."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    f = (path / ".lock").open("a+")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"xbarsim sweep: another process holds {str(path / '.lock')!r} for "
                                   f"{wait_s:.0f} s; is the run still running elsewhere?") from None
            time.sleep(0.5)
    _held.append(f)  # kept open (and locked) until the process exits


_held: list = []


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The run's process: ``python -m xbarsim.experiments.sweep RUN --threads T``."""
    parser = argparse.ArgumentParser(prog="python -m xbarsim.experiments.sweep",
                                     description="One run of an xbarsim sweep (started by xbarsim sweep).")
    parser.add_argument("run_dir", type=pathlib.Path, help="the run directory; its spec.yaml holds the options")
    parser.add_argument("--threads", type=int, help="CPU threads of the run")
    args = parser.parse_args(argv)
    _exit_with_parent()

    from ...train import RunDirectory
    from ...train.config import load_yaml
    from ..reproduce import run_in_directory
    from .state import SweepDirectory

    run_dir = RunDirectory(args.run_dir)
    _lock_run(run_dir.path)
    config = load_yaml(run_dir.file(SweepDirectory.RUN_SPEC))
    what = "resuming" if run_dir.has_checkpoint() else "starting"
    threads = "default threads" if args.threads is None else f"{args.threads} thread{'s' if args.threads > 1 else ''}"
    print(f"xbarsim sweep: {what} {run_dir.path} with {threads}", flush=True)
    argv_record = ["python", "-m", "xbarsim.experiments.sweep", str(args.run_dir)]
    if args.threads is not None:
        argv_record += ["--threads", str(args.threads)]
    summary = run_in_directory(run_dir, config, threads=args.threads, progress=False, argv=argv_record)
    acc = summary.get("final_test_accuracy")
    print(f"xbarsim sweep: {summary['status']} after {summary.get('epochs_completed')}/{summary.get('epochs')} "
          f"epochs" + (f"; test accuracy {100 * acc:.2f} %" if acc is not None else ""), flush=True)
    if summary["status"] == "interrupted":
        return 128 + int(summary.get("signal") or signal.SIGTERM)
    return 0

