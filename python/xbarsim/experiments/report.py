"""Reports over finished runs: mean ± std over seeds per paper cell, beside the paper's numbers, with plots.

``collect(dirs)`` finds the run directories under the given paths (a run directory holds
``config.yaml`` and ``metrics.jsonl``); ``aggregate`` groups them by paper cell (their preset name)
and ``write_report`` writes ``report.md``, ``report.json``, ``results.csv`` and ``accuracy.png``.
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

__all__ = ["RunRecord", "CellResult", "collect", "aggregate", "write_report"]


@dataclass
class RunRecord:
    """One run directory's config, per-epoch metrics and summary."""

    path: pathlib.Path
    config: dict
    metrics: list[dict]
    summary: Optional[dict]

    @property
    def key(self) -> str:
        return str(self.config.get("preset") or self.path.parent.name)

    @property
    def finished(self) -> bool:
        return bool(self.summary) and self.summary.get("status") == "completed"


@dataclass
class CellResult:
    """The runs of one paper cell, aggregated over seeds (accuracies in %)."""

    key: str
    runs: list[RunRecord] = field(default_factory=list)

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


def _paper_cell(key: str) -> Optional[tuple[float, float]]:
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
            "paper_epochs": sorted({paper.parse(c.key).epochs for c in cells if _parses(c.key)})}


def _parses(key: str) -> bool:
    try:
        paper.parse(key)
        return True
    except (KeyError, ValueError):
        return False


def write_report(out: pathlib.Path, records: Sequence[RunRecord], *, title: str = "xbarsim reproduction report",
                 command: Optional[str] = None, notes: Sequence[str] = ()) -> pathlib.Path:
    """Write ``report.md``, ``report.json``, ``results.csv`` and ``accuracy.png`` into ``out``."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells = aggregate(records)
    budget = _budget(cells)
    rows = []
    for c in cells:
        ref = _paper_cell(c.key)
        rows.append({"cell": c.key, "paper": None if ref is None else {"mean": ref[0], "std": ref[1]},
                     "final": c.final, "best": c.best, "epochs": c.epochs, "seeds": len(c.runs),
                     "finished": sum(r.finished for r in c.runs), "seconds": c.seconds(), "curve": c.curve()})
    write_json_atomic(out / "report.json", {"title": title, "command": command, "budget": budget, "cells": rows})
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

