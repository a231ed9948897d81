"""Fuzzing the tiles: ``xbarsim.AnalogTile`` and ``xbarsim.algorithms.make_tile`` for every algorithm,
construction with random and wrong arguments, then a short random sequence of calls (forward,
backward, update, set_weights, the device processes, clip_weights, set_tile_weights) with random and
wrong arguments. Every call succeeds or raises ValueError/TypeError naming the argument (IndexError
for reset_columns, as documented), and a rejected call leaves the full state_dict untouched."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import xbarsim

from _fuzz import (ALGORITHMS, DTYPES_OK, any_value, bad_pairs, check_call, fuzz_settings, lrs, mostly, tensors,
                   tile_configs, update_configs)

BAD_SIZE = [0, -1, True, 2.0, "3", None]
BAD_TILE = {
    "out_size": BAD_SIZE, "in_size": BAD_SIZE,
    "config": [xbarsim.IOConfig(), "cfg", xbarsim.algorithms.TikiTaka()],
    "seed": [-1, 2**64, 1.5, None, True],
    "device": ["meta", "bogus", 3.5, torch.device("meta")],
    "dtype": [torch.float16, torch.int64, torch.bfloat16, "float32", None],
}


@st.composite
def valid_tile_args(draw, algorithm: str | None = None) -> dict:
    algorithm = algorithm or draw(st.sampled_from(sorted(ALGORITHMS)))
    return dict(out_size=draw(st.integers(1, 4)), in_size=draw(st.integers(1, 4)), config=draw(tile_configs(algorithm)),
                seed=draw(st.integers(0, 2**64 - 1)), device=draw(st.sampled_from(["cpu", None, torch.device("cpu")])),
                dtype=draw(st.sampled_from(DTYPES_OK)))


def _build(kw: dict, single: bool):
    args = (kw["out_size"], kw["in_size"], kw["config"], kw["seed"])
    if single:
        return xbarsim.AnalogTile(*args, device=kw["device"], dtype=kw["dtype"])
    return xbarsim.algorithms.make_tile(*args, device=kw["device"], dtype=kw["dtype"])


@fuzz_settings(40)
@given(kw=valid_tile_args())
def test_make_tile_builds_every_valid_config(kw):
    ok, tile = check_call(lambda: _build(kw, single=False), names=set())
    assert ok and tile.get_weights()[0].shape == (kw["out_size"], kw["in_size"])
    assert bool(torch.isfinite(tile.get_weights()[0]).all())


@pytest.mark.parametrize("single", [True, False], ids=["AnalogTile", "make_tile"])
@pytest.mark.parametrize("name, value", bad_pairs(BAD_TILE))
@fuzz_settings(2)
@given(data=st.data())
def test_tile_constructors_reject_a_wrong_argument_by_name(single, name, value, data):
    """Random valid arguments (AnalogTile: SingleTile configs; make_tile: any algorithm) with one replaced
    by a wrong value: the rejection names that argument (a dtype of None keeps float32: allowed)."""
    kw = {**data.draw(valid_tile_args("SingleTile" if single else None)), name: value}
    if name == "dtype" and value is None:
        return
    ok, _ = check_call(lambda: _build(kw, single), names={name})
    assert not ok, f"{name}={value!r} was accepted"


@st.composite
def _x_args(draw, t):
    return (draw(tensors(t.in_size, dtype=t.weight.dtype)),), {}


@st.composite
def _d_args(draw, t):
    return (draw(tensors(t.out_size, dtype=t.weight.dtype)),), {}


@st.composite
def _update_args(draw, t):
    x = draw(tensors(t.in_size, dtype=t.weight.dtype))
    lead = st.just(list(x.shape[:-1])) if draw(st.floats(0, 1)) < 0.85 else None
    d = draw(tensors(t.out_size, lead=lead, dtype=t.weight.dtype))
    kw = {}
    if isinstance(t, xbarsim.AnalogTile) and draw(st.booleans()):
        kw["update"] = draw(mostly(update_configs(), st.sampled_from([None, "upd", xbarsim.IOConfig()])))
    return (x, d, draw(lrs())), kw


@st.composite
def _weights_args(draw, t):
    return (draw(tensors(t.in_size, lead=st.just([t.out_size]), good=0.75, dtype=t.weight.dtype)),), {}


@st.composite
def _tile_weights_args(draw, t):
    lead = st.one_of(st.just([t.n_tiles, t.out_size]), st.lists(st.integers(0, 4), max_size=2))
    return (draw(tensors(t.in_size, lead=lead, good=0.75, dtype=t.weight.dtype)),), {}


@st.composite
def _alpha_args(draw, t):
    return (draw(mostly(st.sampled_from([1.0, 0.5, 0.0, 2.0, 1e38]), any_value(), p_bad=0.3)),), {}


@st.composite
def _columns_args(draw, t):
    n = t.in_size
    value = draw(st.one_of(
        st.none(), st.integers(-n - 1, n), st.lists(st.integers(-n - 1, n), max_size=3),
        st.sampled_from([torch.ones(n, dtype=torch.bool), torch.zeros(n + 1, dtype=torch.bool), torch.arange(n),
                         torch.tensor([0.5]), torch.ones(2, 2, dtype=torch.int64), "0", 1.0, [True], range(n)])))
    return ((value,) if value is not None or draw(st.booleans()) else ()), {}


def _no_args(t):
    return st.just(((), {}))


#: (method, its argument names, strategy of (args, kwargs) for a tile) of the tile API.
METHODS = [
    ("forward", {"x"}, _x_args),
    ("backward", {"d"}, _d_args),
    ("update", {"x", "d", "lr", "update"}, _update_args),
    ("update", {"x", "d", "lr", "update"}, _update_args),
    ("set_weights", {"weight", "bias"}, _weights_args),
    ("decay_weights", {"alpha"}, _alpha_args),
    ("diffuse_weights", {"alpha"}, _alpha_args),
    ("reset_columns", {"columns"}, _columns_args),
]
SINGLE_ONLY = [("clip_weights", set(), _no_args)]
MULTI_ONLY = [("set_tile_weights", {"weights"}, _tile_weights_args)]


def _exercise(data, tile, multi: bool) -> None:
    methods = METHODS + (MULTI_ONLY if multi else SINGLE_ONLY)
    for _ in range(data.draw(st.integers(1, 4))):
        name, names, args_of = data.draw(st.sampled_from(methods))
        args, kw = data.draw(args_of(tile))
        ok, out = check_call(lambda: getattr(tile, name)(*args, **kw), names=names, module=tile,
                             index_error=name == "reset_columns")
        if ok and name in ("forward", "backward"):
            lines = tile.out_size if name == "forward" else tile.in_size
            assert out.shape == args[0].shape[:-1] + (lines,)
        if ok:
            w = tile.get_weights()[0]
            assert w.shape == (tile.out_size, tile.in_size) and w.dtype == tile.weight.dtype


@st.composite
def tiles(draw, algorithm: str):
    config = draw(tile_configs(algorithm))
    out_size, in_size = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    tile = xbarsim.algorithms.make_tile(out_size, in_size, config, draw(st.integers(0, 2**64 - 1)),
                                        dtype=draw(st.sampled_from(DTYPES_OK)))
    if draw(st.booleans()):
        tile.set_weights(0.1 * torch.randn(out_size, in_size, dtype=tile.weight.dtype))
    return tile


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@fuzz_settings(40)
@given(data=st.data())
def test_tile_calls(algorithm, data):
    tile = data.draw(tiles(algorithm))
    multi = algorithm != "SingleTile"
    assert isinstance(tile, xbarsim.AnalogTile) != multi
    _exercise(data, tile, multi)


def _bad_tensors(last: str, *, any_float: bool = False) -> list:
    """Wrong tensors for an argument ``[..., t.<last>]`` of tile t, as functions of the tile. With
    ``any_float`` (update: x and d of any floating dtype are converted to the tile's, as
    ``check_update_batch`` documents) other floating dtypes are not wrong."""
    def n(t):
        return getattr(t, last)
    other_floats = [] if any_float else [
        lambda t: torch.zeros(2, n(t), dtype=torch.float16),
        lambda t: torch.zeros(2, n(t), dtype=torch.float64 if t.weight.dtype == torch.float32 else torch.float32),
    ]
    return other_floats + [
        lambda t: torch.zeros(2, n(t), dtype=t.weight.dtype, device="meta"),
        lambda t: torch.zeros(2, n(t), dtype=torch.int64),
        lambda t: torch.zeros(2, n(t) + 1, dtype=t.weight.dtype),
        lambda t: torch.zeros((), dtype=t.weight.dtype),
        lambda t: torch.full((2, n(t)), float("nan"), dtype=t.weight.dtype),
        lambda t: torch.full((2, n(t)), float("-inf"), dtype=t.weight.dtype),
        lambda t: [[0.0] * n(t)],
    ]


def _ok_x(t):
    return torch.rand(2, t.in_size, dtype=t.weight.dtype)


def _ok_d(t):
    return torch.rand(2, t.out_size, dtype=t.weight.dtype) - 0.5


BAD_CALLS = {  # (method, argument): (wrong values, the call given a tile and one wrong value)
    ("forward", "x"): (_bad_tensors("in_size"), lambda t, v: t.forward(v)),
    ("backward", "d"): (_bad_tensors("out_size"), lambda t, v: t.backward(v)),
    ("update", "x"): (_bad_tensors("in_size", any_float=True), lambda t, v: t.update(v, _ok_d(t), 0.1)),
    ("update", "d"): (_bad_tensors("out_size", any_float=True), lambda t, v: t.update(_ok_x(t), v, 0.1)),
    ("update", "lr"): ([float("nan"), float("inf"), "0.1", None, True, torch.tensor([0.1, 0.2])],
                       lambda t, v: t.update(_ok_x(t), _ok_d(t), v)),
    ("set_weights", "weight"): ([lambda t: torch.zeros(t.out_size, t.in_size, device="meta"),
                                  lambda t: torch.zeros(t.out_size, t.in_size + 1),
                                  lambda t: torch.full((t.out_size, t.in_size), float("nan")),
                                  lambda t: torch.zeros(t.out_size, t.in_size, dtype=torch.complex64),
                                  lambda t: [[0.0] * t.in_size] * t.out_size],
                                 lambda t, v: t.set_weights(v)),
    ("decay_weights", "alpha"): ([float("nan"), float("inf"), -1.0, "1", None, True], lambda t, v: t.decay_weights(v)),
    ("diffuse_weights", "alpha"): ([float("nan"), -1e-45, "1", None], lambda t, v: t.diffuse_weights(v)),
    ("reset_columns", "columns"): ([lambda t: t.in_size, lambda t: -t.in_size - 1, 0.5, "0", [True],
                                    torch.tensor([0.5]), lambda t: torch.ones(t.in_size + 1, dtype=torch.bool),
                                    torch.ones(2, 2, dtype=torch.int64)],
                                   lambda t, v: t.reset_columns(v)),
}


def _bad_call_params() -> list:
    out = []
    for (method, arg), (values, _) in BAD_CALLS.items():
        for k, v in enumerate(values):
            out.append(pytest.param(method, arg, k, id=f"{method}-{arg}-{k}"))
    return out


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@pytest.mark.parametrize("method, arg, k", _bad_call_params())
@fuzz_settings(1)
@given(data=st.data())
def test_tile_calls_reject_a_wrong_argument_by_name(algorithm, method, arg, k, data):
    """A random valid tile of every algorithm and one call with one wrong argument (the others valid):
    it is rejected naming that argument (IndexError only for reset_columns' out-of-range lines), and
    the tile's state is unchanged."""
    tile = data.draw(tiles(algorithm))
    values, call = BAD_CALLS[(method, arg)]
    value = values[k](tile) if callable(values[k]) else values[k]
    ok, _ = check_call(lambda: call(tile, value), names={arg}, module=tile, index_error=method == "reset_columns")
    assert not ok, f"{method}({arg}={value!r}) was accepted"
