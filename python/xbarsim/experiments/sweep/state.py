"""A sweep directory: the spec, each run's state, the run directories and the report.

Layout (docs/sweeps.md)::

    SWEEP/
      sweep.yaml          the spec of the latest invocation (a reproduction: its table and options)
      state.json          per run: status, attempts, wall time, exit code, host, accuracy
      .lock               held by the running sweep (a second one on the same directory is refused)
      <cell>/seed<k>/     one run directory per point (docs/training.md), plus
          spec.yaml       the run's options (what ``xbarsim train --config`` reads)
          log.txt         the run's stdout and stderr, every attempt appended
      report.md, report.json, results.csv, accuracy.png

Only the sweep's driver process writes ``state.json`` (atomically); the runs write their own
directories. A run's ``summary.json`` is the authority on whether it finished: ``state.json`` is the
bookkeeping around it (attempts, times, failures), so a sweep killed with ``kill -9`` loses nothing a
repeated command cannot recover.

Spec: docs/sweeps.md; STYLE.md §3 "Runs are artefacts".
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
from typing import Any, Iterator, Optional, Union

import yaml

from ...train.run_dir import write_json_atomic, write_text_atomic

__all__ = ["SweepDirectory", "STATUSES", "is_sweep_directory", "tail"]

#: A run's states: not started yet; handed to an executor; finished; exited with an error; stopped by
#: a signal (a checkpoint lets the next attempt resume it).
STATUSES = ("pending", "running", "completed", "failed", "interrupted")


def is_sweep_directory(path: Union[str, os.PathLike]) -> bool:
    return (pathlib.Path(path) / SweepDirectory.STATE).is_file()


def tail(path: pathlib.Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ("" if it does not exist)."""
    if not path.is_file():
        return ""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64 * 1024))
        text = f.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


class SweepDirectory:
    """The files of one sweep under ``path`` (nothing is written outside it)."""

    SPEC = "sweep.yaml"
    STATE = "state.json"
    LOCK = ".lock"
    RUN_SPEC = "spec.yaml"
    RUN_LOG = "log.txt"

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        self.path = pathlib.Path(path)

    def run_path(self, name: str) -> pathlib.Path:
        return self.path / name

    def log(self, name: str) -> pathlib.Path:
        return self.run_path(name) / self.RUN_LOG

    # --- state ------------------------------------------------------------------------------------------
    def read_state(self) -> dict:
        """``{"version": 1, "runs": {name: entry}}`` (empty if the sweep never started)."""
        path = self.path / self.STATE
        if not path.is_file():
            return {"version": 1, "runs": {}}
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
            raise ValueError(f"xbarsim sweep: {str(path)!r} is not a sweep state file")
        return data

    def write_state(self, state: dict) -> None:
        write_json_atomic(self.path / self.STATE, state)

    def write_spec(self, record: dict) -> None:
        write_text_atomic(self.path / self.SPEC, yaml.safe_dump(record, sort_keys=False))

    def read_spec(self) -> Optional[dict]:
        path = self.path / self.SPEC
        return yaml.safe_load(path.read_text()) if path.is_file() else None

    def run_summary(self, name: str) -> Optional[dict]:
        path = self.run_path(name) / "summary.json"
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def finished(self, name: str) -> bool:
        summary = self.run_summary(name)
        return summary is not None and summary.get("status") == "completed"

    def has_checkpoint(self, name: str) -> bool:
        return (self.run_path(name) / "checkpoint.pt").is_file()

    # --- one driver at a time ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold ``.lock`` for the life of a sweep; a second sweep on this directory is refused."""
        self.path.mkdir(parents=True, exist_ok=True)
        f = (self.path / self.LOCK).open("a+")
        try:
            try:
                import fcntl

                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # pragma: no cover - not POSIX: no lock
                pass
            except OSError:
                raise RuntimeError(f"xbarsim sweep: another sweep is running in {str(self.path)!r} "
                                   "(its .lock is held); wait for it or use another --out") from None
            yield
        finally:
            f.close()

    @staticmethod
    def new_entry(point: Any) -> dict:
        return {"cell": point.cell, "paper_key": point.paper_key, "options": point.options, "status": "pending",
                "attempts": 0, "wall_s": 0.0}
