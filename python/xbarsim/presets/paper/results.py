"""The published test accuracies of Tables 1, 2, 9, 10 and 11, verbatim, for reports.

Spec: experiments.md §1.6, §2.6, §3, §4 (the numbers as the spec transcribes them).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

__all__ = ["PaperResult", "PAPER_RESULTS", "paper_result"]


class PaperResult(NamedTuple):
    """One published cell: test accuracy in %, mean ± std over the paper's (unstated number of) seeds."""

    mean: float
    std: float


#: Columns of Tables 1, 2, 9, 10 (and, with other tile counts, 11): (method, n_tiles) as in
#: :meth:`ExperimentPreset.cell` (TT-v1 and TT-v2 have 2 tiles, MP 1).
def _columns(tiles: tuple[int, int, int]) -> tuple[tuple[str, int], ...]:
    return (("ttv1", 2), ("ttv2", 2), ("mp", 1)) + tuple(("resl", n) for n in tiles)


def _table(tiles: tuple[int, int, int], rows: dict[tuple[str, int], str]) -> dict:
    out: dict[tuple[str, int, str, int], PaperResult] = {}
    for (dataset, n_states), cells in rows.items():
        values = cells.split()
        for (method, n_tiles), cell in zip(_columns(tiles), values, strict=True):
            mean, std = cell.split("±")
            out[(dataset, n_states, method, n_tiles)] = PaperResult(float(mean), float(std))
    return out


#: ``PAPER_RESULTS[table][(dataset, n_states, method, n_tiles)]`` → :class:`PaperResult`.
#: Columns in each row string: TT-v1, TT-v2, MP, Ours (three tile counts).
PAPER_RESULTS: dict[int, dict[tuple[str, int, str, int], PaperResult]] = {
    1: _table((3, 4, 6), {
        ("fashion-mnist", 4): "10.01±0.07 47.51±0.91 75.61±0.69 68.09±0.49 73.35±0.13 75.11±0.07",
        ("mnist", 10): "78.65±2.36 95.43±0.17 99.13±0.02 95.07±0.35 97.10±0.17 98.53±0.09",
    }),
    2: _table((4, 6, 8), {
        ("cifar10", 4): "11.65±0.68 87.43±0.10 93.31±0.04 90.45±0.28 92.02±0.14 90.65±0.09",
        ("cifar100", 4): "9.75±2.47 11.28±0.62 70.25±0.61 63.26±0.45 68.46±0.23 69.63±0.40",
        ("cifar10", 16): "58.00±0.26 84.30±0.09 95.04±0.05 92.98±0.62 93.29±0.64 94.36±0.08",
        ("cifar100", 16): "26.69±0.17 65.17±0.36 73.16±0.07 68.11±0.35 69.62±0.53 72.20±0.11",
    }),
    9: _table((4, 6, 8), {
        ("cifar10", 4): "53.83±0.14 87.89±0.06 92.77±0.05 87.35±0.08 89.79±0.14 90.45±0.09",
        ("cifar10", 10): "84.18±0.06 89.17±0.11 93.45±0.08 90.76±0.06 91.07±0.06 90.88±0.05",
    }),
    10: _table((4, 6, 8), {
        ("cifar100", 4): "14.97±1.93 27.91±0.65 64.08±0.44 58.36±0.36 59.68±0.33 60.62±0.24",
    }),
    11: _table((3, 5, 7), {
        ("cifar10", 80): "10.04±0.04 75.65±0.17 87.32±0.10 82.59±0.27 83.97±0.20 84.96±0.08",
        ("cifar100", 80): "1.27±0.04 34.80±0.16 58.06±0.07 42.12±0.47 45.14±0.13 50.82±0.14",
    }),
}


def paper_result(table: int, cell: tuple) -> Optional[PaperResult]:
    """The published number of ``cell`` (``ExperimentPreset.cell()``) in ``table``, or None (xbarsim's
    own rows "sgd" and "digital", and cells outside the table)."""
    return PAPER_RESULTS.get(table, {}).get(tuple(cell))
