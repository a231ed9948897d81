"""Plots and tables of finished runs: one run's curves, and a report over many runs beside the paper.

Spec: experiments.md §11 (mean ± std over seeds, final and best epoch, beside the paper's numbers).
"""
from __future__ import annotations

import pathlib
from typing import Optional

from .run_dir import RunDirectory

__all__ = ["plot_run"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(run_dir: RunDirectory) -> Optional[pathlib.Path]:
    """``plots/curves.png``: test accuracy and training loss against epoch (None without metrics)."""
    rows = run_dir.metrics()
    if not rows:
        return None
    plt = _pyplot()
    epochs = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(epochs, [100 * r["test_accuracy"] for r in rows], marker="o", label="test")
    a.plot(epochs, [100 * r["train_accuracy"] for r in rows], marker=".", label="train")
    a.set_xlabel("epoch")
    a.set_ylabel("accuracy (%)")
    a.legend()
    b.plot(epochs, [r["train_loss"] for r in rows], marker="o", label="train")
    b.plot(epochs, [r["test_loss"] for r in rows], marker=".", label="test")
    b.set_xlabel("epoch")
    b.set_ylabel("loss")
    b.legend()
    fig.suptitle(run_dir.path.name, fontsize=9)
    fig.tight_layout()
    out = run_dir.file(RunDirectory.PLOTS)
    out.mkdir(exist_ok=True)
    path = out / "curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
