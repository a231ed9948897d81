"""Reproduction grids of the paper's tables: a list of independent run specifications, and running them.

A table (``table1`` … ``table11``) becomes the runs of its cells (every method and tile count of the
table, for each dataset and state count asked, times the seeds), each a :class:`RunSpec`: a key (the
paper cell it belongs to), a seed and the :class:`~xbarsim.train.RunConfig` of the run. The list is
all a parallel executor needs: :func:`run_spec` runs one spec into its own run directory, skips it if
it already finished and resumes it from its checkpoint if it was interrupted.

Spec: experiments.md §11 (reproduction guidance).
"""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from ..presets import paper
from ..train import RunConfig, RunDirectory, Trainer, build, resolve
from ..train.config import dump_yaml, from_plain
from ..train.report import plot_run

__all__ = ["RunSpec", "TABLES", "table_grid", "run_spec", "run_in_directory", "run_grid"]

TABLES = ("table1", "table2", "table9", "table10", "table11")


@dataclass(frozen=True)
class RunSpec:
    """One run of a reproduction grid.

    Attributes:
        key: the paper cell the run belongs to (its preset name, e.g. ``table1/fashion-mnist/resl-4``).
        seed: the run seed.
        config: the run's options (resolved when it runs).
    """

    key: str
    seed: int
    config: RunConfig

    def directory(self, root: pathlib.Path) -> pathlib.Path:
        """``root/<key with / as _>/seed<seed>``."""
        return pathlib.Path(root) / self.key.replace("/", "_") / f"seed{self.seed}"


def table_grid(table: str, *, datasets: Optional[Sequence[str]] = None, states: Optional[Sequence[int]] = None,
               methods: Optional[Sequence[str]] = None, tiles: Optional[Sequence[int]] = None, seeds: int = 1,
               **options) -> list[RunSpec]:
    """The run specifications of ``table``'s cells.

    Args:
        table: one of :data:`TABLES`.
        datasets, states: restrict to these datasets / state counts (default: every row of the table).
        methods: restrict to these methods ("resl", "ttv1", "ttv2", "mp", "sgd", "digital").
        tiles: restrict residual learning to these tile counts.
        seeds: seeds 0 … seeds − 1 per cell.
        **options: RunConfig fields every run gets (``epochs``, ``limit``, ``data_dir``, ``dataset``
            to run e.g. the embedded subset, ``threads``, ``device``, ...).
    """
    if table not in TABLES:
        raise ValueError(f"table_grid: table must be one of {TABLES}; got {table!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"table_grid: seeds must be an int >= 1; got {seeds!r}")
    unknown = set(options) - set(RunConfig.field_names())
    if unknown:
        raise ValueError(f"table_grid: unknown run options {sorted(unknown)}")
    specs = []
    for preset in paper.table_rows(int(table[len("table"):])):
        if datasets is not None and preset.dataset not in datasets:
            continue
        if states is not None and preset.n_states not in states:
            continue
        if methods is not None and preset.method not in methods:
            continue
        if tiles is not None and preset.method == "resl" and preset.n_tiles not in tiles:
            continue
        for seed in range(seeds):
            cfg = RunConfig(preset=preset.name(), seed=seed, dataset=options.get("dataset", preset.dataset),
                            **{k: v for k, v in options.items() if k != "dataset"})
            specs.append(RunSpec(preset.name(), seed, cfg))
    if not specs:
        raise ValueError(f"table_grid: no cell of {table} matches datasets={datasets}, states={states}, "
                         f"methods={methods}, tiles={tiles}")
    return specs


def run_spec(spec: RunSpec, root: pathlib.Path, *, progress: Optional[bool] = None) -> dict:
    """Run ``spec`` into its directory under ``root``: skipped if finished, resumed if interrupted.

    Returns the run's summary (``"status"``: "completed", "interrupted" or "skipped").
    """
    return run_in_directory(RunDirectory(spec.directory(root)), spec.config, progress=progress)


def run_in_directory(run_dir: RunDirectory, config: RunConfig, *, threads: Optional[int] = None,
                     progress: Optional[bool] = None, argv: Optional[Sequence[str]] = None) -> dict:
    """Run ``config`` into ``run_dir``: skipped if its summary says completed, resumed from its checkpoint
    if it has one, else started afresh (the one code path of ``run_spec`` and of a sweep's runs).

    Args:
        run_dir: the run's directory.
        config: the run's options (resolved here when the run starts; a resumed run re-reads the
            resolved ``config.yaml`` instead).
        threads: CPU threads of this attempt (None: the config's); a resumed run takes it in place of
            the one its ``config.yaml`` recorded, so a sweep may resume a run with another thread count.
        progress: the loop's progress bar (None: only on a terminal).
        argv: the command recorded in ``command.txt`` when the run starts.

    Returns:
        The run's summary (``"status"``: "completed", "interrupted" or "skipped").
    """
    summary = run_dir.summary()
    if summary is not None and summary.get("status") == "completed":
        return dict(summary, status="skipped")
    resume = run_dir.has_checkpoint()
    if resume:
        import yaml

        path = run_dir.file(RunDirectory.CONFIG)
        cfg = from_plain(yaml.safe_load(path.read_text()), where=str(path))
    else:
        cfg = resolve(config if threads is None else dataclasses.replace(config, threads=threads))
        if run_dir.file(RunDirectory.METRICS).exists():  # rows of an attempt killed before its first checkpoint
            run_dir.rewind_metrics(0)
        run_dir.write_start(dump_yaml(cfg), argv=argv)
    if threads is not None:
        cfg = dataclasses.replace(cfg, threads=threads)
    setup, options = build(cfg)
    summary = Trainer(setup, dataclasses.replace(options, progress=progress), run_dir).fit(resume=resume)
    plot_run(run_dir)
    return summary


def run_grid(specs: Iterable[RunSpec], root: pathlib.Path, *, progress: Optional[bool] = None,
             log=print) -> list[dict]:
    """Run every spec in order (one process); stops early if a run was interrupted by a signal."""
    out = []
    specs = list(specs)
    for k, spec in enumerate(specs, start=1):
        log(f"[{k}/{len(specs)}] {spec.key} seed {spec.seed} -> {spec.directory(root)}")
        summary = run_spec(spec, root, progress=progress)
        out.append(summary)
        acc = summary.get("final_test_accuracy")
        log(f"[{k}/{len(specs)}] {summary['status']}" + (f": test accuracy {100 * acc:.2f} %" if acc is not None
                                                          else ""))
        if summary["status"] == "interrupted":
            break
    return out
