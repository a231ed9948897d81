"""Sweeps: grids of training runs, run in parallel on this machine or on a Ray cluster, resumably.

>>> from xbarsim.experiments.sweep import load_spec, run_sweep
>>> spec = load_spec("sweep.yaml")                  # validated in full: nothing runs on a bad spec
>>> outcome = run_sweep(spec.points, "runs/sweep", record=spec.to_dict(), workers=2)

``xbarsim sweep SPEC.yaml`` is the command; ``xbarsim reproduce`` runs a table's grid through the same
engine and ``xbarsim report SWEEP_DIR`` aggregates a sweep directory. Ray is optional
(``pip install xbarsim[sweep]``); without it the local executor works.

Spec: docs/sweeps.md.
"""
from .engine import ADDRESS_HELP, SweepOutcome, make_executor, run_sweep
from .executors import RAY_HINT, LocalExecutor, RayExecutor, available_cores, plan_local, require_ray
from .spec import SweepPoint, SweepSpec, describe, load_spec, parse_spec, point_from_config
from .state import STATUSES, SweepDirectory, is_sweep_directory, tail

__all__ = ["load_spec", "parse_spec", "point_from_config", "describe", "SweepSpec", "SweepPoint", "run_sweep",
           "SweepOutcome", "make_executor", "ADDRESS_HELP", "LocalExecutor", "RayExecutor", "available_cores",
           "plan_local", "require_ray", "RAY_HINT", "SweepDirectory", "STATUSES", "is_sweep_directory", "tail"]
