"""Reports over finished runs: mean ± std over seeds per paper cell, beside the paper's numbers, with plots.

``collect(dirs)`` finds the run directories under the given paths (a run directory holds
``config.yaml`` and ``metrics.jsonl``); ``aggregate`` groups them by paper cell (their preset name)
and ``write_report`` writes ``report.md``, ``report.json``, ``results.csv`` and ``accuracy.png``.
A sweep directory (``xbarsim sweep``, ``xbarsim reproduce``) is read by ``collect_sweep``: its runs
are grouped by the cells of its ``state.json`` (the runs of a cell differ only by seed), and the runs
that did not complete are listed with the tail of their logs.
A report states its budget (epochs, seeds, training images) next to the paper's, and reports both
the final-epoch and the best-epoch test accuracy.

Spec: experiments.md §11.
"""
from __future__ import annotations

import csv
import json
import pathlib
import statistics
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import yaml

from ..presets import paper
from ..train.run_dir import RunDirectory, read_jsonl, write_json_atomic

__all__ = ["RunRecord", "CellResult", "collect", "collect_sweep", "gather", "aggregate", "write_report",
           "paper_cell"]

#: Lines of a run's log shown for a run that did not complete.
LOG_TAIL_LINES = 20


@dataclass
class RunRecord:
    """One run directory's config, per-epoch metrics and summary; in a sweep, its cell and paper cell."""

    path: pathlib.Path
    config: dict
    metrics: list[dict]
    summary: Optional[dict]
    cell: Optional[str] = None
    paper_key: Optional[str] = None

    @property
    def key(self) -> str:
        """The group the run is aggregated in: its sweep cell, else its paper cell (preset name)."""
        if self.cell is not None:
            return self.cell
        return str(self.config.get("preset") or self.path.parent.name)

    @property
    def paper(self) -> Optional[str]:
        """The paper cell the run is compared with (None: not comparable)."""
        return self.paper_key if self.cell is not None else self.key

    @property
    def finished(self) -> bool:
        return bool(self.summary) and self.summary.get("status") == "completed"


@dataclass
class CellResult:
    """The runs of one paper cell, aggregated over seeds (accuracies in %)."""

    key: str
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def paper_key(self) -> Optional[str]:
        """The paper cell of the runs, if they all have the same one."""
        keys = {r.paper for r in self.runs}
        return keys.pop() if len(keys) == 1 else None

    def _values(self, pick) -> list[float]:
        return [100.0 * v for v in (pick(r) for r in self.runs) if v is not None]

    @property
    def final(self) -> list[float]:
        return self._values(lambda r: r.metrics[-1]["test_accuracy"] if r.metrics else None)

    @property
    def best(self) -> list[float]:
        return self._values(lambda r: max(m["test_accuracy"] for m in r.metrics) if r.metrics else None)

    @property
    def epochs(self) -> list[int]:
        return [len(r.metrics) for r in self.runs]

    def curve(self) -> list[float]:
        """Mean test accuracy (%) per epoch over the runs that reached it."""
        longest = max(self.epochs, default=0)
        out = []
        for e in range(longest):
            vals = [100.0 * r.metrics[e]["test_accuracy"] for r in self.runs if len(r.metrics) > e]
            out.append(sum(vals) / len(vals))
        return out

    def seconds(self) -> float:
        return sum(sum(m.get("epoch_train_s", 0.0) + m.get("eval_s", 0.0) for m in r.metrics) for r in self.runs)


def collect(paths: Iterable[pathlib.Path]) -> list[RunRecord]:
    """Every run directory at or below ``paths`` (sorted by path)."""
    found: dict[pathlib.Path, RunRecord] = {}
    for root in paths:
        root = pathlib.Path(root)
        if not root.exists():
            raise FileNotFoundError(f"xbarsim report: {str(root)!r} does not exist")
        for cfg_path in sorted(root.rglob(RunDirectory.CONFIG)):
            run = cfg_path.parent
            config = yaml.safe_load(cfg_path.read_text()) or {}
            summary_path = run / RunDirectory.SUMMARY
            summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
            found[run] = RunRecord(run, config, read_jsonl(run / RunDirectory.METRICS), summary)
    return [found[k] for k in sorted(found)]


def collect_sweep(path: pathlib.Path) -> tuple[list[RunRecord], list[dict]]:
    """The runs of the sweep directory ``path`` (in the order of its ``state.json``) with their cells,
    and one entry per run that did not complete: name, status, attempts, exit code, log and its tail."""
    from .sweep.state import SweepDirectory, tail

    sweep = SweepDirectory(path)
    records, problems = [], []
    for name, entry in sweep.read_state()["runs"].items():
        run = sweep.run_path(name)
        cfg_path = run / RunDirectory.CONFIG
        if cfg_path.is_file():
            summary_path = run / RunDirectory.SUMMARY
            summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
            records.append(RunRecord(run, yaml.safe_load(cfg_path.read_text()) or {},
                                     read_jsonl(run / RunDirectory.METRICS), summary, cell=entry.get("cell", name),
                                     paper_key=entry.get("paper_key")))
        finished = records and records[-1].path == run and records[-1].finished
        if not finished:
            log = sweep.log(name)
            problems.append({"run": name, "status": entry.get("status"), "attempts": entry.get("attempts", 0),
                             "returncode": entry.get("returncode"), "log": str(log) if log.is_file() else None,
                             "log_tail": tail(log, LOG_TAIL_LINES)})
    return records, problems


def gather(paths: Iterable[pathlib.Path]) -> tuple[list[RunRecord], list[dict]]:
    """The runs under ``paths``: a sweep directory through :func:`collect_sweep`, anything else through
    :func:`collect`; and the sweeps' runs that did not complete."""
    from .sweep.state import is_sweep_directory

    records, problems = [], []
    for path in paths:
        path = pathlib.Path(path)
        if is_sweep_directory(path):
            r, p = collect_sweep(path)
            records += r
            problems += p
        else:
            records += collect([path])
    return records, problems


def aggregate(records: Sequence[RunRecord]) -> list[CellResult]:
    """Runs grouped by paper cell, in the order of first appearance."""
    cells: dict[str, CellResult] = {}
    for r in records:
        cells.setdefault(r.key, CellResult(r.key)).runs.append(r)
    return list(cells.values())


def _mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def paper_cell(key: str) -> Optional[tuple[float, float]]:
    """The paper's (mean, std) of the cell a preset name denotes (None for xbarsim's own rows)."""
    if not _parses(key):
        return None
    preset = paper.parse(key)
    result = paper.paper_result(preset.table, preset.cell())
    return None if result is None else (result.mean, result.std)


def _budget(cells: Sequence[CellResult]) -> dict:
    configs = [r.config for c in cells for r in c.runs]
    images = sorted({c.get("limit") or "all" for c in configs}, key=str)
    return {"epochs": sorted({c.get("epochs") for c in configs if c.get("epochs")}),
            "seeds": sorted({c.get("seed") for c in configs}),
            "datasets": sorted({c.get("dataset") for c in configs}),
            "training_images": images,
            "paper_epochs": sorted({paper.parse(c.paper_key).epochs for c in cells
                                    if c.paper_key is not None and _parses(c.paper_key)})}


def _parses(key: str) -> bool:
    try:
        paper.parse(key)
        return True
    except (KeyError, ValueError):
        return False


def write_report(out: pathlib.Path, records: Sequence[RunRecord], *, title: str = "xbarsim reproduction report",
                 command: Optional[str] = None, notes: Sequence[str] = (),
                 problems: Sequence[dict] = ()) -> pathlib.Path:
    """Write ``report.md``, ``report.json``, ``results.csv`` and ``accuracy.png`` into ``out``;
    ``problems`` (from :func:`collect_sweep`) are listed after the table with the tails of their logs."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells = aggregate(records)
    budget = _budget(cells)
    rows = []
    for c in cells:
        ref = paper_cell(c.paper_key) if c.paper_key is not None else None
        rows.append({"cell": c.key, "paper": None if ref is None else {"mean": ref[0], "std": ref[1]},
                     "final": c.final, "best": c.best, "epochs": c.epochs, "seeds": len(c.runs),
                     "finished": sum(r.finished for r in c.runs), "seconds": c.seconds(), "curve": c.curve()})
    write_json_atomic(out / "report.json", {"title": title, "command": command, "budget": budget, "cells": rows,
                                            "not_completed": list(problems)})
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cell", "paper_mean", "paper_std", "seed_values_final", "final_mean", "final_std", "best_mean",
                    "best_std", "epochs"])
        for r in rows:
            fin, best = r["final"], r["best"]
            w.writerow([r["cell"], *(("", "") if r["paper"] is None else (r["paper"]["mean"], r["paper"]["std"])),
                        " ".join(f"{v:.2f}" for v in fin),
                        *(_stats(fin)), *(_stats(best)), " ".join(map(str, r["epochs"]))])
    plot = _plot(out / "accuracy.png", cells)
    lines = [f"# {title}", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    lines += [f"Budget: {', '.join(map(str, budget['epochs']))} epochs (paper: "
              f"{', '.join(map(str, budget['paper_epochs'])) or 'n/a'}), seeds {budget['seeds']}, "
              f"dataset {', '.join(budget['datasets'])}, training images {', '.join(map(str, budget['training_images']))}. "
              "Accuracies are test accuracies in %, mean ± std over seeds (sample std).", ""]
    lines += ["| cell | paper | final epoch | best epoch | seeds (finished) | epochs | time (s) |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = "—" if r["paper"] is None else f"{r['paper']['mean']:.2f} ± {r['paper']['std']:.2f}"
        lines.append(f"| {r['cell']} | {ref} | {_mean_std(r['final'])} | {_mean_std(r['best'])} | "
                     f"{r['seeds']} ({r['finished']}) | {', '.join(map(str, sorted(set(r['epochs']))))} | "
                     f"{r['seconds']:.0f} |")
    lines += [""]
    if plot is not None:
        lines += [f"![test accuracy per epoch]({plot.name})", ""]
    lines += [f"* {n}" for n in notes]
    if problems:
        lines += ["", f"## Runs that did not complete ({len(problems)})", ""]
        for p in problems:
            code = "" if p.get("returncode") is None else f", exit code {p['returncode']}"
            lines += [f"* `{p['run']}`: {p['status']} after {p['attempts']} attempt"
                      f"{'' if p['attempts'] == 1 else 's'}{code}" + (f"; log `{p['log']}`" if p.get("log") else "")]
            if p.get("log_tail"):
                lines += ["", "  ```", *(f"  {line}" for line in p["log_tail"].splitlines()), "  ```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _stats(values: list[float]) -> tuple:
    if not values:
        return ("", "")
    return (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0)


def _plot(path: pathlib.Path, cells: Sequence[CellResult]) -> Optional[pathlib.Path]:
    curves = [(c.key, c.curve()) for c in cells if c.curve()]
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, curve in curves:
        epochs = list(range(1, len(curve) + 1))
        ax.plot(epochs, curve, marker="o" if len(curve) < 30 else None, label=key.split("/")[-1] if "/" in key else key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%), mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

