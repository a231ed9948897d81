"""Sweep specifications: a grid of ``xbarsim train`` runs from a YAML file of ``fixed`` options and ``axes``.

A spec is YAML with two maps (docs/sweeps.md)::

    fixed:                      # options every run gets: xbarsim train's long names, with underscores
      dataset: fashion-mnist
      data_dir: /data
      epochs: 20
    axes:                       # option -> list of values; the grid is their product
      algorithm: [resl, ttv2, sgd]
      tiles: [3, 4]
      seed: [0, 1, 2]

Each point of the grid is one run, named ``<cell>/seed<k>`` where the cell is the point's axis values
other than the seed (``algorithm=resl,tiles=3``): the runs of one cell differ only by seed and a
report aggregates them into mean ± std. The whole grid is validated before anything runs: unknown
options, values outside the command line's choices, values of the wrong type (every point's
:class:`~xbarsim.train.RunConfig` is constructed) and combinations no paper preset covers (every
point is resolved) are errors that name the option, the value and the point.

Spec: docs/sweeps.md; STYLE.md §3 "Configs" (unknown keys are errors).
"""
from __future__ import annotations

import argparse
import difflib
import itertools
import math
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Union

from ...train.config import RunConfig, from_plain, read_yaml_file
from ...train.setup import resolve

__all__ = ["SweepSpec", "SweepPoint", "load_spec", "parse_spec", "point_from_config", "plain_options", "same_run",
           "describe", "SET_BY_SWEEP", "METHOD_OPTIONS"]

#: ``xbarsim train`` options a sweep sets itself (per run or per sweep), so a spec may not.
SET_BY_SWEEP = {
    "threads": "a run's CPU threads are set by the sweep (--threads, or the cores split among --workers)",
    "out": "every run's directory is <sweep directory>/<cell>/seed<k> (choose the sweep directory with --out)",
    "resume": "a sweep resumes interrupted runs by itself when the same command is repeated",
    "progress": "the sweep shows one progress bar (--progress/--no-progress of xbarsim sweep)",
    "config": "put the options of the config file under fixed",
}

#: Options that change what the paper measured (not only the budget): a cell that sets one is shown
#: without the paper's number beside it.
METHOD_OPTIONS = ("model", "gamma", "lr", "batch_size", "lr_schedule", "plateau_rule", "loss", "autoaugment",
                  "device_processes", "tile_config", "mapping")

#: Options whose change does not change a run (where data are read from): a repeated sweep may change them.
LOCATION_OPTIONS = ("data_dir", "download")

_FLOAT_LITERAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep.

    Attributes:
        name: the run directory relative to the sweep directory, ``<cell>/seed<k>``.
        cell: the report group of the run (the runs of a cell differ only by seed).
        options: the run's options as plain YAML values (what ``RUN/spec.yaml`` holds).
        config: the run's :class:`~xbarsim.train.RunConfig` (built from ``options``, validated).
        paper_key: the paper cell shown beside the run in reports (None: the options change the method).
    """

    name: str
    cell: str
    options: dict = field(compare=False)
    config: RunConfig = field(compare=False)
    paper_key: Optional[str] = None


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification; :attr:`points` is its grid (axes in file order, the last fastest)."""

    fixed: dict
    axes: dict
    points: tuple[SweepPoint, ...]

    def to_dict(self) -> dict:
        return {"fixed": dict(self.fixed), "axes": {k: list(v) for k, v in self.axes.items()}}


def load_spec(path: Union[str, pathlib.Path]) -> SweepSpec:
    """The sweep spec in the YAML file ``path`` (``yaml.safe_load``), validated in full.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a valid spec (the message names the key, the value and the point).
    """
    data = read_yaml_file(path, "xbarsim sweep: spec file")
    return parse_spec(data, where=str(path))


def parse_spec(data: Any, where: str = "spec") -> SweepSpec:
    """A validated :class:`SweepSpec` from plain values (the parsed YAML)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"xbarsim sweep: {where} must be a mapping with the keys 'fixed' and 'axes'; "
                         f"got {type(data).__name__}")
    unknown = sorted(set(data) - {"fixed", "axes"})
    if unknown:
        raise ValueError(f"xbarsim sweep: {where} has unknown keys {unknown}; a spec has only 'fixed' (options of "
                         "every run) and 'axes' (option -> list of values)")
    fixed = _mapping(data.get("fixed"), f"{where}: fixed")
    axes = _mapping(data.get("axes"), f"{where}: axes")
    for name, value in fixed.items():
        _check_name(name, f"{where}: fixed")
        fixed[name] = _check_value(name, value, f"{where}: fixed.{name}")
    for name, values in axes.items():
        _check_name(name, f"{where}: axes")
        if name in fixed:
            raise ValueError(f"xbarsim sweep: {where}: {name!r} is both in fixed and in axes; keep one")
        if not isinstance(values, list) or not values:
            raise ValueError(f"xbarsim sweep: {where}: axes.{name} must be a non-empty list of values; got {values!r}")
        checked = [_check_value(name, v, f"{where}: axes.{name}") for v in values]
        for a, b in itertools.combinations(checked, 2):
            if a == b:
                raise ValueError(f"xbarsim sweep: {where}: axes.{name} lists {a!r} twice")
        for v in checked:
            if isinstance(v, dict):
                raise ValueError(f"xbarsim sweep: {where}: axes.{name} values must be scalars or lists; got a "
                                 "mapping (put a full tile_config or mapping under fixed, one sweep per config)")
        axes[name] = checked
    points = []
    names: dict[str, dict] = {}
    method_changed = any(k in METHOD_OPTIONS for k in (*fixed, *axes))
    for combo in itertools.product(*axes.values()):
        chosen = dict(zip(axes, combo))
        options = {**fixed, **chosen}
        cell = ",".join(f"{k}={_label(v)}" for k, v in chosen.items() if k != "seed") or "run"
        cfg = _config(options, f"{where}: run {cell}" + (f" seed={chosen['seed']}" if "seed" in chosen else ""))
        point = SweepPoint(name=f"{cell}/seed{cfg.seed}", cell=cell, options=options, config=cfg,
                           paper_key=None if method_changed else resolve(cfg).preset)
        if point.name in names:
            raise ValueError(f"xbarsim sweep: {where}: the points {names[point.name]} and {chosen} both map to the run "
                             f"directory {point.name!r}; make the axis values distinct")
        names[point.name] = chosen
        points.append(point)
    return SweepSpec(fixed=fixed, axes=axes, points=tuple(points))


def point_from_config(name: str, cell: str, config: RunConfig, paper_key: Optional[str] = None) -> SweepPoint:
    """A sweep point of an existing RunConfig (a reproduction grid's :class:`RunSpec`), validated as a
    spec's points are."""
    options = plain_options(config)
    cfg = _config(options, f"run {name}")
    return SweepPoint(name=name, cell=cell, options=options, config=cfg, paper_key=paper_key)


def plain_options(config: RunConfig) -> dict:
    """The options of ``config`` that differ from RunConfig's defaults, as plain YAML values."""
    default = RunConfig()
    data = config.to_dict()
    data.pop("type", None)
    return {k: v for k, v in data.items() if getattr(config, k) != getattr(default, k)}


def same_run(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two points' options give the same run (where the data are read from aside)."""
    def strip(options):
        return from_plain({k: v for k, v in options.items() if k not in LOCATION_OPTIONS})

    return strip(a) == strip(b)


# --- validation -------------------------------------------------------------------------------------------

def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"xbarsim sweep: {where} must be a mapping of option -> value; got {value!r}")
    return dict(value)


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise ValueError(f"xbarsim sweep: {where}: option names must be strings; got {name!r}")
    if name in SET_BY_SWEEP:
        raise ValueError(f"xbarsim sweep: {where}: {name!r} cannot be set in a spec: {SET_BY_SWEEP[name]}")
    known = RunConfig.field_names()
    if name not in known:
        hint = difflib.get_close_matches(name.replace("-", "_").lstrip("_"), known, n=1)
        raise ValueError(f"xbarsim sweep: {where} has an unknown option {name!r}"
                         + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + "; options are xbarsim train's long names with underscores: "
                         + ", ".join(k for k in known if k not in SET_BY_SWEEP))


def _check_value(name: str, value: Any, where: str) -> Any:
    """``value`` checked against the command line's choices and types (float options also take the
    strings YAML leaves unparsed, such as ``1e-3``); RunConfig checks the rest."""
    choices, kind, many = _cli_options().get(name, (None, None, False))
    if kind is float and isinstance(value, str) and _FLOAT_LITERAL.match(value.strip()):
        value = float(value)
    if kind in (int, float) and value is not None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int))
        if not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError(f"xbarsim sweep: {where} must be {'an int' if kind is int else 'a number'}; "
                             f"got {value!r}")
    if choices is not None and value is not None:
        items = value if many else [value]
        if many and not isinstance(value, list):
            raise ValueError(f"xbarsim sweep: {where} must be a list of {', '.join(map(repr, choices))}; "
                             f"got {value!r}")
        for item in items:
            if item not in choices:
                raise ValueError(f"xbarsim sweep: {where}: {item!r} is not one of {', '.join(map(repr, choices))}")
    if name == "device" and value is not None:
        _check_device(value, where)
    return value


def _check_device(value: Any, where: str) -> None:
    import torch

    if not isinstance(value, str):
        raise ValueError(f"xbarsim sweep: {where} must be a torch device string such as 'cpu' or 'cuda:0'; "
                         f"got {value!r}")
    try:
        torch.device(value)
    except (RuntimeError, ValueError):
        raise ValueError(f"xbarsim sweep: {where}: {value!r} is not a torch device ('cpu', 'cuda', 'cuda:1')") \
            from None


def _config(options: dict, where: str) -> RunConfig:
    """The RunConfig of a point, resolved once to check that a paper preset covers it."""
    try:
        cfg = from_plain(options, where=where)
        resolve(cfg)
    except (TypeError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ValueError(f"xbarsim sweep: {where}: {message}") from None
    return cfg


_CLI: Optional[dict[str, tuple[Optional[tuple], Optional[type], bool]]] = None


def _cli_options() -> dict[str, tuple[Optional[tuple], Optional[type], bool]]:
    """``dest -> (choices, type, takes a list)`` of ``xbarsim train``'s run options: the spec accepts
    what the command line accepts."""
    global _CLI
    if _CLI is None:
        from ...train.options import add_run_options

        parser = argparse.ArgumentParser(add_help=False)
        add_run_options(parser)
        _CLI = {a.dest: (tuple(a.choices) if a.choices is not None else None, a.type, a.nargs in ("*", "+"))
                for a in parser._actions}
    return _CLI


def _label(value: Any) -> str:
    """A value as it appears in a run directory name (letters, digits and ``.+-_`` only)."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list):
        text = "+".join(_label(v) for v in value) or "none"
    elif value is None:
        text = "none"
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9.+\-_]", "_", text)


def describe(points: Sequence[SweepPoint]) -> str:
    """The points as one line each (``xbarsim sweep --dry-run``)."""
    return "\n".join(f"{p.name}: " + ", ".join(f"{k}={v}" for k, v in p.options.items()) for p in points)
