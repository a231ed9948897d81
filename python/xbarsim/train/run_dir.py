"""A run directory: everything one training run leaves behind, written so that a crash never corrupts it.

Layout (docs/training.md)::

    RUN/
      config.yaml         the resolved run configuration (re-read by --resume and by reports)
      command.txt         the exact command line
      environment.json    xbarsim version and commit, torch, machine, threads
      metrics.jsonl       one JSON object per evaluated epoch (appended, flushed per line)
      checkpoint.pt       the latest checkpoint (atomic, see xbarsim.save)
      summary.json        final and best test accuracy, wall time (written when the run ends)
      plots/              accuracy and loss against epoch (PNG)

JSON files are written to a temporary file and renamed into place; the metrics file is appended one
complete line at a time, and a torn last line (kill -9 during a write) is ignored when read back.

Spec: STYLE.md §3 "Runs are artefacts".
"""
from __future__ import annotations

import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
from typing import Any, Iterable, Optional, Union

import torch

from ..ops.runtime import __version__, build_info

__all__ = ["RunDirectory", "write_json_atomic", "read_jsonl", "environment"]

PathLike = Union[str, os.PathLike]


def write_json_atomic(path: pathlib.Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` through a temporary file and a rename."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")


def write_text_atomic(path: pathlib.Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def read_jsonl(path: pathlib.Path) -> list[dict]:
    """The complete lines of a JSON-lines file (a torn last line is skipped)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _git_commit() -> Optional[str]:
    """The commit of the xbarsim checkout this package was built from, when it is one."""
    here = pathlib.Path(__file__).resolve()
    for parent in here.parents:
        if (parent / ".git").exists() and (parent / "CMakeLists.txt").exists():
            try:
                out = subprocess.run(["git", "-C", str(parent), "rev-parse", "HEAD"], capture_output=True,
                                     text=True, timeout=5, check=False)
            except (OSError, subprocess.SubprocessError):
                return None
            return out.stdout.strip() or None
    return None


def environment() -> dict:
    """Version, commit, torch, Python, machine and thread counts of this process."""
    return {"xbarsim_version": __version__, "commit": _git_commit(), "torch": torch.__version__,
            "python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or None, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "build": build_info()}


class RunDirectory:
    """The files of one run under ``path`` (created if missing; never writes outside it)."""

    CONFIG = "config.yaml"
    COMMAND = "command.txt"
    ENVIRONMENT = "environment.json"
    METRICS = "metrics.jsonl"
    CHECKPOINT = "checkpoint.pt"
    SUMMARY = "summary.json"
    PLOTS = "plots"

    def __init__(self, path: PathLike) -> None:
        self.path = pathlib.Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"RunDirectory: path must be a directory; got the file {str(self.path)!r}")
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> pathlib.Path:
        return self.path / name

    @property
    def checkpoint(self) -> pathlib.Path:
        return self.file(self.CHECKPOINT)

    def has_checkpoint(self) -> bool:
        return self.checkpoint.is_file()

    def write_start(self, config_yaml: str, argv: Optional[Iterable[str]] = None) -> None:
        """Record the resolved config, the command and the environment at the start of a run."""
        write_text_atomic(self.file(self.CONFIG), config_yaml)
        if argv is not None:
            write_text_atomic(self.file(self.COMMAND), " ".join(_quote(a) for a in argv) + "\n")
        write_json_atomic(self.file(self.ENVIRONMENT), environment())

    def append_metrics(self, row: dict, *, truncate_after_step: Optional[int] = None) -> None:
        """Append one JSON line (flushed and fsynced: a complete line survives a crash)."""
        with self.file(self.METRICS).open("a") as f:
            f.write(json.dumps(row, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def metrics(self) -> list[dict]:
        return read_jsonl(self.file(self.METRICS))

    def rewind_metrics(self, step: int) -> None:
        """Drop metric rows written after ``step`` (rows a resumed run will write again)."""
        rows = [r for r in self.metrics() if int(r.get("step", 0)) <= step]
        write_text_atomic(self.file(self.METRICS), "".join(json.dumps(r, default=str) + "\n" for r in rows))

    def write_summary(self, summary: dict) -> None:
        write_json_atomic(self.file(self.SUMMARY), summary)

    def summary(self) -> Optional[dict]:
        path = self.file(self.SUMMARY)
        return json.loads(path.read_text()) if path.is_file() else None


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_=./:,@+" for c in arg) else repr(arg)
