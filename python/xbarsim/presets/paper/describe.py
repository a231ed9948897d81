"""Plain-text summaries of the presets: one table row per preset, as docs/presets.md shows them.

``python -m xbarsim.presets.paper.describe`` prints the generated part of docs/presets.md (a test keeps
the document equal to it).

Spec: experiments.md §1.4, §1.5, §2.4, §2.5 (the settings summarised).
"""
from __future__ import annotations

from typing import Optional

from ...config import IOConfig
from ...config.algorithms import MixedPrecision, ResidualLearning, TikiTaka, TikiTakaV2, TransferCompound
from .experiment import TABLE_LAYOUTS, TABLES, ExperimentPreset
from .tables import table_rows

__all__ = ["describe", "markdown_table", "presets_markdown"]

COLUMNS = ("preset", "device", "algorithm", "γ", "transfer_every", "transfer_lr", "fast_lr", "IO f/b/t", "mapping",
           "lr, schedule", "epochs, batch", "warm start")


def _num(v: float) -> str:
    return f"{v:.6g}"


def _vec(values: tuple) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _io(io: Optional[IOConfig]) -> str:
    if io is None:
        return "–"
    if io.is_perfect:
        return "P"
    return "N" if io.noise_management != "none" else "N⁰"


def describe(p: ExperimentPreset) -> dict[str, str]:
    """The settings of ``p`` as short strings, keyed by :data:`COLUMNS`."""
    cfg = p.config
    row = dict.fromkeys(COLUMNS, "–")
    row["preset"] = f"`{p.name()}`"
    row["lr, schedule"] = f"{_num(p.lr)}, ×{_num(p.lr_schedule[0])}/{p.lr_schedule[1]}"
    row["epochs, batch"] = f"{p.epochs}, {p.batch_size}"
    if cfg is None:
        row["algorithm"] = "floating point"
        return row
    dev = cfg.device_model
    row["device"] = f"{'SBRef' if dev.model == 'SoftBoundsReference' else dev.model} {_num(2 / dev.dw_min)} st"
    algo = cfg.algorithm
    transfer_io = algo.transfer_io if isinstance(algo, TransferCompound) else None
    row["IO f/b/t"] = f"{_io(cfg.forward)}/{_io(cfg.backward)}/{_io(transfer_io)}"
    flags = [name for name, on in (("learn", p.mapping.learn_out_scaling),
                                   ("col", p.mapping.weight_scaling_columnwise)) if on]
    if p.mapping.weight_scaling_omega > 0:
        flags.append(f"ω {_num(p.mapping.weight_scaling_omega)}")
    row["mapping"] = ", ".join(flags) or "–"
    if isinstance(algo, TransferCompound):
        periods = algo.periods()
        rates = algo.transfer_lrs()
        if isinstance(algo, ResidualLearning):
            row["algorithm"] = f"ResL {algo.n_tiles}"
            row["γ"] = f"{_num(algo.gammas()[1])}ⁿ"
            row["transfer_every"] = _vec(periods)
            row["transfer_lr"] = _vec(rates)
        else:
            row["algorithm"] = "TT-v2" if isinstance(algo, TikiTakaV2) else "TT-v1"
            row["γ"] = _num(algo.gamma) if isinstance(algo, TikiTaka) else "–"
            row["transfer_every"] = _num(periods[-1])
            row["transfer_lr"] = _num(rates[-1])
            if isinstance(algo, TikiTakaV2):
                row["algorithm"] += f" (thres {_num(algo.thres_scale)}, BL {cfg.update.desired_bl})"
        row["transfer_lr"] += " ×lr" if algo.scale_transfer_lr else ""
        row["fast_lr"] = _num(algo.fast_lr) + (" ×lr" if algo.scale_fast_lr else "")
        if p.plateau_rule is not None:
            row["warm start"] = f"{algo.warm_start_mode()} + {p.plateau_rule}"
    elif isinstance(algo, MixedPrecision):
        row["algorithm"] = "MP"
    else:
        row["algorithm"] = "SGD"
    return row


def markdown_table(table: int, variant: str = "code") -> str:
    """A Markdown table of every preset of ``table`` in ``variant``."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for p in table_rows(table, variant=variant):
        row = describe(p)
        lines.append("| " + " | ".join(row[c] for c in COLUMNS) + " |")
    return "\n".join(lines)


def presets_markdown() -> str:
    """The generated part of docs/presets.md: every table in both variants."""
    parts = []
    for table in TABLES:
        layout = TABLE_LAYOUTS[table]
        for variant in ("code", "text"):
            parts.append(f"### Table {table}, `variant=\"{variant}\"`: {layout.title}\n\n{markdown_table(table, variant)}\n")
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover - documentation helper
    print(presets_markdown(), end="")
