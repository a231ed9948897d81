"""Markdown, JSON and a bar chart of cost results (used by ``python -m xbarsim cost``).

Spec: hardware-cost.md §8.
"""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

from .tables import ModelCost, PaperCell, Units

__all__ = ["format_number", "summary_markdown", "layers_markdown", "comparison_markdown", "costs_to_json",
           "plot_costs"]


def format_number(x: float) -> str:
    """Four significant figures or more: ``56.28``, ``3,024.5``, ``0.01280``."""
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.4g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(costs: Sequence[ModelCost], units: Units = "kB") -> str:
    """One row per method: latency, energy, storage, area and tiles of the whole model."""
    unit = {"kB": "kB", "KiB": "KiB", "paper": "KB (paper units)"}[units]
    header = ["Method", "Latency / sample [ns]", "Slowest layer", "Update energy [nJ]", "Fwd/bwd energy [nJ]",
              "Total energy [nJ]", f"Digital storage [{unit}]", "Analog area, one copy [mm²]",
              "Analog area, physical [mm²]", "Tiles logical / physical"]
    rows = [[c.method.label + (f", B={c.method.batch_size}" if c.method.name == "mp" else ""),
             format_number(c.latency_ns), c.slowest_layer.layer.name, format_number(c.energy_update_nj),
             format_number(c.energy_fwd_bwd_nj), format_number(c.energy_total_nj),
             format_number(c.storage_kb(units)), format_number(c.area_copy_mm2),
             format_number(c.area_physical_mm2), f"{c.logical_tiles} / {c.physical_tiles}"] for c in costs]
    return _table(header, rows)


def layers_markdown(cost: ModelCost) -> str:
    """One row per layer of one method: shape, latency terms, energies, storage, area."""
    header = ["Layer", "Tile m × n", "Vectors / image", "Pulses [ns]", "Transfer reads [ns]", "FP [ns]",
              "Latency [ns]", "Update energy [nJ]", "Fwd/bwd energy [nJ]", "Storage [B]",
              "Physical area [mm²]"]
    rows = [[c.layer.name, f"{c.layer.out_size} × {c.layer.in_size}", str(c.layer.vectors_per_image),
             format_number(c.pulse_time_ns), format_number(c.transfer_time_ns), format_number(c.fp_time_ns),
             format_number(c.latency_ns), format_number(c.energy_update_nj), format_number(c.energy_fwd_bwd_nj),
             f"{c.storage_bytes:,.0f}", format_number(c.area_physical_um2 * 1e-6)] for c in cost.layers]
    return _table(header, rows)


def comparison_markdown(cells: Sequence[PaperCell]) -> str:
    """The paper's printed numbers beside the model's (from :func:`~xbarsim.cost.tables.paper_comparison`)."""
    header = ["Table", "Row", "Column", "Paper", "xbarsim", "Reproduced", "Note"]
    rows = [[c.table, c.row, c.column, c.printed, f"{c.value:,.6g}", "yes" if c.reproduced else "**no**", c.note]
            for c in cells]
    return _table(header, rows)


def costs_to_json(costs: Sequence[ModelCost], units: Units = "kB") -> dict[str, Any]:
    """A JSON-compatible dict: the hardware model, the layer shapes, and every method's costs."""
    if not costs:
        raise ValueError("costs_to_json: costs must not be empty; got []")
    model = costs[0].model
    return {
        "model": {"name": model.name, "description": model.description, "batch_size": model.batch_size,
                  "layers": [{"name": l.name, "out_size": l.out_size, "in_size": l.in_size,
                              "vectors_per_image": l.vectors_per_image} for l in model.layers]},
        "hardware": costs[0].hardware.to_dict(),
        "units": units,
        "methods": [c.to_dict(units) for c in costs],
    }


def plot_costs(costs: Sequence[ModelCost], path: str | os.PathLike, units: Units = "kB") -> None:
    """Bar chart PNG, one bar per method: latency, energy (update + fwd/bwd stacked), storage, area.

    Axes whose values span more than two decades are logarithmic.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [c.method.label for c in costs]
    x = list(range(len(costs)))
    fig, axes = plt.subplots(1, 4, figsize=(4 * 3.2, 3.6), constrained_layout=True)

    def finish(ax, values, title, unit):
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 100:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.set_xticks(x, labels, rotation=30, ha="right")

    lat = [c.latency_ns for c in costs]
    axes[0].bar(x, lat, color="tab:blue")
    finish(axes[0], lat, "Update latency / sample", "ns")
    upd = [c.energy_update_nj for c in costs]
    fb = [c.energy_fwd_bwd_nj for c in costs]
    axes[1].bar(x, upd, color="tab:orange", label="update")
    axes[1].bar(x, fb, bottom=upd, color="tab:green", label="fwd/bwd")
    axes[1].legend(fontsize="small")
    finish(axes[1], [a + b for a, b in zip(upd, fb)], "Energy / image", "nJ")
    sto = [c.storage_kb(units) for c in costs]
    axes[2].bar(x, sto, color="tab:red")
    finish(axes[2], sto, "Digital storage", "KB" if units == "paper" else units)
    area = [c.area_physical_mm2 for c in costs]
    axes[3].bar(x, area, color="tab:purple")
    finish(axes[3], area, "Analog area (physical)", "mm²")
    fig.suptitle(f"{costs[0].model.description}")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_json(data: dict, path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
