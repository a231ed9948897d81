"""Shared pieces of the property-based fuzz tests (hypothesis): value and tensor strategies, config
strategies built from the dataclass fields, and the one property every entry point must have:

    a call either succeeds, or raises ValueError or TypeError (IndexError only where documented) whose
    message has the project form ``<callable>: <argument> must ...`` and names one of the callable's
    arguments; a rejected call leaves the state untouched (full state_dict, extra state included).

A crash kills the run and a hang stops it: sizes are kept small so that neither can come from the
work itself. Every test runs a fixed number of derandomized examples (``settings`` below), so the
suite is deterministic and its time bounded.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import math
import re
import typing
import warnings
from typing import Any, Callable, Iterable

import torch
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

import xbarsim
from xbarsim.config._fields import ConfigBase


# --- settings -------------------------------------------------------------------------------------

def fuzz_settings(max_examples: int) -> settings:
    """Fixed budget, no deadline (the first call of an op may compile lazily), derandomized (the same
    examples on every run), no example database (nothing written under the checkout), and no
    "explain" phase (slow; the shrunk failing example is reported all the same)."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# --- scalar values --------------------------------------------------------------------------------

SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-45, -1e-45, 1e-30, 1e38, -1e38, 3e38, 1e300, math.inf, -math.inf,
                  math.nan, 2.0**-24]
NOT_NUMBERS = [None, "1.0", b"1", [], [1.0], (1.0,), {}, object(), True, False, 1j]


@functools.lru_cache(maxsize=None)
def any_number() -> st.SearchStrategy:
    """Any real number, NaN and infinities included, as int or float."""
    return st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
                     st.integers(-(2**70), 2**70), st.sampled_from([0, 1, -1, 2, 2**48, 2**64, -(2**63)]))


@functools.lru_cache(maxsize=None)
def any_value() -> st.SearchStrategy:
    """A number or a value of the wrong type."""
    return st.one_of(any_number(), st.sampled_from(NOT_NUMBERS), st.text(max_size=3))


@st.composite
def mostly(draw, good: st.SearchStrategy, bad: st.SearchStrategy, p_bad: float = 0.15):
    """A draw of ``good``, or with probability about ``p_bad`` one of ``bad``: with several arguments
    fuzzed at once, most calls still get far enough to exercise the success path."""
    # (hypothesis draws the boundary 0.0 often and 1.0 rarely: "bad" sits at the top of the interval)
    return draw(bad) if draw(st.floats(0, 1)) > 1 - p_bad else draw(good)


@functools.lru_cache(maxsize=None)
def seeds() -> st.SearchStrategy:
    """Seeds and call counters: mostly valid (including the edges 0 and 2**48 - 1), else out of range or
    of the wrong type."""
    return mostly(st.one_of(st.integers(0, 2**48 - 1), st.sampled_from([0, 2**48 - 1])),
                  st.sampled_from([2**48, 2**64 - 1, 2**64, -1, 1.0, 1.5, True, None, "3", math.nan]))


# --- tensors --------------------------------------------------------------------------------------

DTYPES_OK = [torch.float32, torch.float64]
DTYPES_BAD = [torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64]
VALUES = ["normal", "zeros", "nan", "inf", "-inf", "huge", "denormal", "mixed"]


@st.composite
def tensors(draw, last: int, *, lead: st.SearchStrategy | None = None, good: float = 0.85,
            dtype: torch.dtype | None = None) -> torch.Tensor:
    """A tensor meant as ``[..., last]``: mostly that shape and a float dtype with ordinary values, else
    another last dimension, a bad dtype, the meta device, special values (NaN, inf, 1e38, 1e-45), and
    the layouts of non-contiguous, transposed and expanded (stride-0) views."""
    lead_shape = draw(lead if lead is not None else st.lists(st.integers(0, 4), min_size=0, max_size=2))
    if draw(st.floats(0, 1)) > good:
        last = draw(st.sampled_from([0, max(last - 1, 0), last + 1, 1]))
    shape = tuple(lead_shape) + (last,)
    if dtype is None or draw(st.floats(0, 1)) > good:
        dtype = draw(st.sampled_from(DTYPES_OK)) if draw(st.floats(0, 1)) <= good else draw(st.sampled_from(DTYPES_BAD))
    values = draw(st.sampled_from(VALUES)) if draw(st.floats(0, 1)) > good else "normal"
    layout = draw(st.sampled_from(["contiguous", "contiguous", "noncontiguous", "transposed", "expanded"]))
    device = "meta" if draw(st.floats(0, 1)) > 0.95 else "cpu"
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    base = torch.randn(shape, generator=g, dtype=torch.float64)
    fill = {"zeros": 0.0, "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "huge": 1e38, "denormal": 1e-45}
    if values in fill:
        base = torch.full(shape, fill[values], dtype=torch.float64) * (1 if values != "denormal" else base.sign())
    elif values == "mixed" and base.numel() > 0:
        flat = base.reshape(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([math.nan, math.inf, 1e38, 1e-45]))
    if dtype.is_complex:
        t = base.to(dtype)
    elif dtype == torch.bool:
        t = base > 0
    elif not dtype.is_floating_point:
        t = torch.nan_to_num(base, nan=0.0, posinf=0.0, neginf=0.0).clamp(-100, 100).to(dtype)
    else:
        t = base.to(dtype)
    if layout == "noncontiguous" and t.dim() >= 1:
        t = torch.stack([t, t], dim=-1)[..., 0]  # same values, strides doubled
    elif layout == "transposed" and t.dim() >= 2:
        t = t.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif layout == "expanded" and t.dim() >= 1 and t.numel() > 0:
        t = t[..., :1, :].expand(t.shape) if t.dim() >= 2 else t[:1].expand(t.shape)
    return t.to(device) if device == "meta" else t


@functools.lru_cache(maxsize=None)
def lrs() -> st.SearchStrategy:
    """Learning rates: mostly ordinary ones (and 1e38, 1e-45), else special values, wrong types, tensors."""
    return mostly(st.sampled_from([0.1, -0.1, 0.0, 1.0, 1e-3, 0.5, 1e38, 1e-45, torch.tensor(0.1)]),
                  st.one_of(any_value(), st.sampled_from([torch.tensor([0.1, 0.2]), torch.tensor(math.nan)])),
                  p_bad=0.25)


# --- configs from their dataclass fields ----------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _field_types(cls) -> dict[str, Any]:
    import xbarsim.config.algorithms as alg_mod
    import xbarsim.config.devices as dev_mod
    import xbarsim.config.io as io_mod
    import xbarsim.config.update as upd_mod
    ns: dict[str, Any] = {}
    for mod in (io_mod, upd_mod, dev_mod, alg_mod):
        ns.update(vars(mod))
    return typing.get_type_hints(cls, globalns=ns, include_extras=False)


def _literal_choices(tp) -> tuple | None:
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    for arg in typing.get_args(tp):
        found = _literal_choices(arg)
        if found:
            return found
    return None


def _near(default: Any) -> list:
    """Plausible valid values of a numeric field, around its default."""
    if isinstance(default, bool):
        return [True, False]
    if isinstance(default, int):
        return sorted({default, 0, 1, 2, 3, max(default * 2, 1)})
    if isinstance(default, float):
        base = [default, 0.0, 0.1, 1.0, 0.5 * default, 2 * default]
        return [float(v) for v in base]
    return [default]


def field_strategy(cls, f: dataclasses.Field, tp: Any, *, valid: bool) -> st.SearchStrategy:
    """Values of one config field: plausible ones, or (valid=False) also boundary and wrong ones."""
    default = f.default if f.default is not dataclasses.MISSING else (
        f.default_factory() if f.default_factory is not dataclasses.MISSING else None)  # type: ignore[misc]
    choices = _literal_choices(tp)
    if isinstance(default, ConfigBase):
        good = st.just(default)
        if isinstance(default, xbarsim.IOConfig):
            good = st.one_of(good, io_configs(valid=True))
        elif isinstance(default, xbarsim.UpdateConfig):
            good = st.one_of(good, update_configs(valid=True))
    elif choices is not None:
        good = st.sampled_from(choices)
    elif isinstance(default, tuple):
        good = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=1, max_size=5).map(tuple)
    elif default is None:
        good = st.one_of(st.none(), st.sampled_from([0.5, 0.25, 2.0, 1.0]))
    else:
        good = st.sampled_from(_near(default))
    if valid:
        return good
    bad = st.one_of(any_value(), st.sampled_from(["bogus", "", "NONE"]),
                    st.lists(any_number(), max_size=3).map(tuple))
    return st.one_of(good, good, bad)


@functools.lru_cache(maxsize=None)
def _kwargs_strategy(cls, valid: bool) -> st.SearchStrategy:
    types = _field_types(cls)
    optional = {}
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
        if not f.init or required:
            continue
        optional[f.name] = field_strategy(cls, f, types.get(f.name), valid=valid)
    return st.fixed_dictionaries({}, optional=optional)


def config_kwargs(cls, *, valid: bool, required: dict | None = None) -> st.SearchStrategy:
    """Keyword arguments of ``cls(...)``: a random subset of its fields (plus the ``required`` ones)."""
    req = dict(required or {})
    return _kwargs_strategy(cls, valid).map(lambda kw: {**kw, **req})


def build(cls, kw: dict):
    """``cls(**kw)``, or None when the config rejects the values (with ValueError/TypeError)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # transfer_io management forced off (documented)
            return cls(**kw)
    except (ValueError, TypeError):
        return None


def _config(cls, *, required=None, valid=True) -> st.SearchStrategy:
    """Valid configs of cls (a rejected draw falls back to the default config)."""
    def make(kw):
        got = build(cls, kw)
        return got if got is not None else build(cls, dict(required or {}))
    return config_kwargs(cls, valid=valid, required=required).map(make)


@functools.lru_cache(maxsize=None)
def io_configs(*, valid: bool = True) -> st.SearchStrategy:
    return _config(xbarsim.IOConfig, valid=valid)


@functools.lru_cache(maxsize=None)
def update_configs(*, valid: bool = True) -> st.SearchStrategy:
    return _config(xbarsim.UpdateConfig, valid=valid)


@functools.lru_cache(maxsize=None)
def device_models(*, valid: bool = True) -> st.SearchStrategy:
    return st.one_of(*[_config(cls, valid=valid) for cls in xbarsim.devices.DEVICE_MODELS.values()])


ALGORITHMS = {
    "SingleTile": (xbarsim.algorithms.SingleTile, {}),
    "ResidualLearning": (xbarsim.algorithms.ResidualLearning, {"n_tiles": 2, "gamma": 0.5}),
    "TikiTaka": (xbarsim.algorithms.TikiTaka, {}),
    "TikiTakaV2": (xbarsim.algorithms.TikiTakaV2, {}),
    "ChoppedTikiTakaV2": (xbarsim.algorithms.ChoppedTikiTakaV2, {}),
    "MixedPrecision": (xbarsim.algorithms.MixedPrecision, {}),
}


@functools.lru_cache(maxsize=None)
def algorithm_configs(name: str, *, valid: bool = True) -> st.SearchStrategy:
    cls, required = ALGORITHMS[name]
    return _config(cls, required=required, valid=valid)


@st.composite
def tile_configs(draw, algorithm: str = "SingleTile") -> "xbarsim.TileConfig":
    """Valid TileConfigs with random read paths, update, device model and algorithm fields."""
    return xbarsim.TileConfig(device_model=draw(device_models()), forward=draw(io_configs()),
                              backward=draw(io_configs()), update=draw(update_configs()),
                              algorithm=draw(algorithm_configs(algorithm)))


# --- the property ---------------------------------------------------------------------------------

# "<callable>: <argument> must ...", the argument possibly indexed ("cells['b_min']", "piecewise[0]"),
# an attribute ("update.desired_bl"), a list of fields ("[w_min, w_max]") or a pair ("x and d").
_FORM = re.compile(r"^(?P<callable>[A-Za-z_][\w.]*): "
                   r"(?P<arg>[A-Za-z_]\w*(?:\[[^\]]*\])*(?:\.\w+)*|\[\w+(?:, \w+)*\]|\w+ and \w+) (must|has|is)\b")


def snapshot(module: torch.nn.Module) -> dict:
    """A deep copy of the full state_dict (buffers, parameters, extra state such as RNG call counters)."""
    return {k: (v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v))
            for k, v in module.state_dict().items()}


def assert_same_state(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for k, v in before.items():
        w = after[k]
        if isinstance(v, torch.Tensor):
            assert v.dtype == w.dtype and v.shape == w.shape and v.device == w.device, k
            if v.device.type != "meta":  # values, with NaN equal to NaN
                if v.is_floating_point():
                    assert torch.equal(torch.isnan(v), torch.isnan(w)), k
                    v, w = torch.nan_to_num(v, nan=0.0), torch.nan_to_num(w, nan=0.0)
                assert torch.equal(v, w), k
        else:
            assert v == w, k


def check_call(fn: Callable[[], Any], *, names: Iterable[str], callables: Iterable[str] | None = None,
               module: torch.nn.Module | None = None, index_error: bool = False) -> tuple[bool, Any]:
    """Run ``fn()``: it must succeed, or raise ValueError/TypeError (IndexError if ``index_error``) with a
    message ``<callable>: <argument> must ...`` where <argument> (up to indexing or attribute access)
    is in ``names``; with ``module``, a rejected call must leave its state_dict unchanged. Returns
    (succeeded, result or exception)."""
    before = snapshot(module) if module is not None else None
    allowed: tuple = (ValueError, TypeError) + ((IndexError,) if index_error else ())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn()
        for w in caught:
            assert issubclass(w.category, UserWarning), f"unexpected {w.category.__name__}: {w.message}"
    except allowed as e:
        message = str(e)
        m = _FORM.match(message)
        assert m is not None, f"{type(e).__name__} without the project form: {message!r}"
        arg = m.group("arg")
        # "x", "cells['b_min']", "update.desired_bl" name x, cells, update; "[w_min, w_max]" both fields
        if arg.startswith("["):
            args = arg[1:-1].split(", ")
        elif " and " in arg:
            args = arg.split(" and ")
        else:
            args = [re.split(r"[\[.(]", arg)[0]]
        for a in args:
            assert a in set(names), f"{type(e).__name__} names {a!r}, not an argument of the call: {message!r}"
        if callables is not None:
            assert m.group("callable") in set(callables), message
        if before is not None:
            assert_same_state(before, snapshot(module))
        return False, e
    return True, result


@st.composite
def one_corrupted(draw, valid: dict, bad: dict, p_corrupt: float = 0.7) -> tuple[dict, str | None]:
    """``valid`` keyword arguments with (mostly) one of them replaced by a draw of ``bad[name]``: a
    rejection must then name exactly that argument. Returns (kwargs, the corrupted name or None)."""
    kw = dict(valid)
    if draw(st.floats(0, 1)) > 1 - p_corrupt:
        name = draw(st.sampled_from(sorted(bad)))
        kw[name] = draw(bad[name])
        return kw, name
    return kw, None


def bad_pairs(bad: dict) -> list:
    """``pytest.param(name, value)`` for every listed wrong value of every argument (readable ids)."""
    import pytest
    out = []
    for name, values in bad.items():
        for k, v in enumerate(values):
            if isinstance(v, torch.Tensor):
                label = f"tensor{tuple(v.shape)}{v.dtype}{v.device.type}"
            else:
                label = "made" if callable(v) and not isinstance(v, type) else repr(v)
            out.append(pytest.param(name, v, id=f"{name}-{k}-{label[:30]}"))
    return out
