"""Fuzzing the two native ops through their wrappers, ``xbarsim.ops.analog_mvm`` and
``xbarsim.ops.pulsed_update``: random configs, shapes, dtypes, devices (cpu; meta as a wrong one),
strides (non-contiguous, transposed, expanded) and values (NaN, inf, 1e38, 1e-45), seeds and
counters out of range, wrong types. Every call succeeds or raises ValueError/TypeError naming the
argument (tests/fuzz/_fuzz.py); a rejected call changes nothing it was given to write."""
from __future__ import annotations


import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import xbarsim
from xbarsim.ops import update as _update

from _fuzz import (DTYPES_OK, any_value, bad_pairs, check_call, device_models, fuzz_settings, io_configs, lrs,
                   mostly, seeds, tensors, update_configs)

MVM_ARGS = {"x", "weight", "io", "transpose", "seed", "call", "nm_state", "alpha"}
UPDATE_ARGS = {"weight", "x", "d", "lr", "update", "device_model", "cells", "seed", "call", "persistent", "counters",
               "piecewise"}


class _Holder(torch.nn.Module):
    """The tensors an op may write, as buffers, so that the fuzz property compares a state_dict."""

    def __init__(self, **tensors):
        super().__init__()
        for name, t in tensors.items():
            if isinstance(t, torch.Tensor):
                self.register_buffer(name, t)


@st.composite
def mvm_calls(draw):
    out_size, in_size = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(DTYPES_OK))
    weight = draw(tensors(in_size, lead=st.just([out_size]), good=0.9, dtype=dtype))
    transpose = draw(mostly(st.booleans(), st.sampled_from([0, 1, None, "yes"])))
    lines = out_size if transpose is True else in_size
    x = draw(tensors(lines, dtype=dtype))
    io = draw(mostly(io_configs(), st.sampled_from([None, xbarsim.UpdateConfig(), "io"])))
    kw = dict(transpose=transpose, seed=draw(seeds()), call=draw(seeds()))
    if draw(st.booleans()):
        kw["nm_state"] = draw(mostly(st.just(torch.full((1,), -1.0, dtype=dtype)),
                                     st.one_of(st.none(), tensors(1, lead=st.just([]), good=0.5, dtype=dtype),
                                               st.just(0.5))))
    if draw(st.booleans()):
        kw["alpha"] = draw(mostly(st.sampled_from([1.0, 0.5, 2.0, 1e38, 1e-45]), any_value()))
    return x, weight, io, kw


@fuzz_settings(200)
@given(call=mvm_calls())
def test_analog_mvm(call):
    x, weight, io, kw = call
    nm = kw.get("nm_state")
    holder = _Holder(weight=weight, nm_state=nm) if weight.device.type == "cpu" else None
    if holder is not None and isinstance(nm, torch.Tensor) and nm.device.type != "cpu":
        holder = _Holder(weight=weight)
    ok, y = check_call(lambda: xbarsim.ops.analog_mvm(x, weight, io, **kw), names=MVM_ARGS,
                       callables={"analog_mvm"}, module=holder)
    if ok:
        out_lines = weight.shape[1] if kw["transpose"] else weight.shape[0]
        assert y.shape == x.shape[:-1] + (out_lines,) and y.dtype == x.dtype
        assert not y.requires_grad


def _cells(dev, out_size, in_size, dtype):
    return _update.populate_device(dev, out_size, in_size, seed=7, dtype=dtype)


@st.composite
def update_calls(draw):
    out_size, in_size = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(DTYPES_OK))
    dev = draw(device_models())
    cells = _cells(dev, out_size, in_size, dtype)
    b_min, b_max = cells["b_min"], cells["b_max"]
    weight = b_min + (b_max - b_min) * torch.rand(out_size, in_size, dtype=dtype)
    if "reference" in cells:
        weight = weight - cells["reference"]
    persistent = weight.clone() if dev.has_write_noise() else None
    kw = dict(update=draw(mostly(update_configs(), st.sampled_from([None, xbarsim.IOConfig(), "update"]))),
              cells=cells, seed=draw(seeds()), call=draw(seeds()), persistent=persistent,
              counters=torch.zeros(5, dtype=torch.int64))
    kw["device_model"] = dev
    # occasionally a broken argument of the state kind: weight, cells, persistent, counters, piecewise
    broken = draw(mostly(st.just("none"), st.sampled_from(["weight", "cells", "persistent", "counters", "piecewise",
                                                           "device"]), p_bad=0.3))
    if broken == "weight":
        weight = draw(st.sampled_from([weight.t(), weight[:, :1], weight.to(torch.float16), weight[0],
                                       weight.to("meta"), weight.tolist()]))
    elif broken == "cells":
        name = draw(st.sampled_from(sorted(cells)))
        bad = dict(cells)
        bad[name] = draw(st.sampled_from([None, cells[name][:1], cells[name].to(torch.float16),
                                          cells[name].to("meta"), 0.5]))
        if draw(st.booleans()):
            del bad[name]
        kw["cells"] = draw(st.sampled_from([bad, None, [cells[k] for k in cells]]))
    elif broken == "persistent":
        kw["persistent"] = draw(st.sampled_from([weight[:1], weight.to(torch.float16), weight.t(), "w",
                                                 weight.to("meta")]))
    elif broken == "counters":
        kw["counters"] = draw(st.sampled_from([torch.zeros(3, dtype=torch.int64), torch.zeros(4),
                                               torch.zeros(4, dtype=torch.int64, device="meta"), [0, 0, 0, 0]]))
    elif broken == "piecewise":
        kw["piecewise"] = draw(st.sampled_from([(torch.ones(0, dtype=dtype), torch.ones(0, dtype=dtype)),
                                                (torch.ones(2, dtype=dtype), torch.ones(3, dtype=dtype)),
                                                (torch.ones(2, dtype=torch.float16),) * 2, "table",
                                                (torch.ones(4, dtype=dtype)[::2],) * 2]))
    elif broken == "device":
        kw["device_model"] = draw(st.sampled_from([None, "SoftBounds", xbarsim.IOConfig()]))
    x = draw(tensors(in_size, dtype=dtype))
    lead = st.just(list(x.shape[:-1])) if draw(st.floats(0, 1)) < 0.85 else None
    d = draw(tensors(out_size, lead=lead, dtype=dtype))
    return weight, x, d, draw(lrs()), kw


@fuzz_settings(200)
@given(call=update_calls())
def test_pulsed_update(call):
    weight, x, d, lr, kw = call
    holder = _Holder(weight=weight if isinstance(weight, torch.Tensor) and weight.device.type == "cpu" else None,
                     persistent=kw["persistent"] if isinstance(kw["persistent"], torch.Tensor)
                     and kw["persistent"].device.type == "cpu" else None,
                     counters=kw["counters"] if isinstance(kw["counters"], torch.Tensor)
                     and kw["counters"].device.type == "cpu" else None)
    ok, _ = check_call(lambda: xbarsim.ops.pulsed_update(weight, x, d, lr, **kw), names=UPDATE_ARGS,
                       callables={"pulsed_update"}, module=holder)
    if ok:
        upd, cells = kw["update"], kw["cells"]
        target = kw["persistent"] if kw["persistent"] is not None else weight
        if upd.pulse_type != "none":
            # finite inputs never give NaN weights, and every pulse (and none_with_device) ends inside the
            # cell's bounds (the exact type "none" may overflow with x, d near 1e38, as W − lr·dᵀx would)
            assert not torch.isnan(target).any()
            g = target + cells["reference"] if "reference" in cells else target
            tol = 4 * torch.finfo(weight.dtype).eps * (cells["b_max"].abs() + cells["b_min"].abs())
            assert bool(((g >= cells["b_min"] - tol) & (g <= cells["b_max"] + tol)).all())


# --- one wrong argument at a time, the others random and valid: the rejection names it ----------------------

@st.composite
def valid_mvm(draw) -> dict:
    out_size, in_size = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(DTYPES_OK))
    transpose = draw(st.booleans())
    return dict(x=torch.randn(draw(st.integers(0, 3)), out_size if transpose else in_size, dtype=dtype),
                weight=torch.randn(out_size, in_size, dtype=dtype), io=draw(io_configs()), transpose=transpose,
                seed=draw(st.integers(0, 2**64 - 1)), call=draw(st.integers(0, 2**48 - 1)),
                nm_state=torch.full((1,), -1.0, dtype=dtype), alpha=draw(st.sampled_from([1.0, 0.5, 1e-45, 1e38])))


def _other_float(t):
    return torch.float64 if t.dtype == torch.float32 else torch.float32


BAD_MVM = {
    "x": [lambda a: a["x"].to("meta"), lambda a: a["x"].half(), lambda a: a["x"].long(),
          lambda a: a["x"].to(_other_float(a["x"])), lambda a: a["x"][..., :0],
          lambda a: torch.full((1, a["x"].shape[-1]), float("nan"), dtype=a["x"].dtype), lambda a: a["x"].tolist()],
    "weight": [lambda a: a["weight"][0], lambda a: a["weight"][:0], lambda a: a["weight"].half(),
               lambda a: a["weight"].to("meta"), lambda a: a["weight"].tolist()],
    "io": [lambda a: None, lambda a: xbarsim.UpdateConfig(), lambda a: "io"],
    "transpose": [lambda a: 0, lambda a: 1, lambda a: None, lambda a: "yes"],
    "seed": [lambda a: -1, lambda a: 2**64, lambda a: 1.5, lambda a: True, lambda a: None],
    "call": [lambda a: -1, lambda a: 2**48, lambda a: 2.0, lambda a: None],
    "nm_state": [lambda a: torch.zeros(2, dtype=a["weight"].dtype), lambda a: torch.zeros(1, dtype=torch.float16),
                 lambda a: torch.zeros(1, dtype=a["weight"].dtype, device="meta"), lambda a: 0.5],
    "alpha": [lambda a: float("nan"), lambda a: float("inf"), lambda a: "1", lambda a: None, lambda a: True],
}


@pytest.mark.parametrize("name, make", bad_pairs(BAD_MVM))
@fuzz_settings(4)
@given(args=valid_mvm())
def test_analog_mvm_rejects_a_wrong_argument_by_name(name, make, args):
    args = {**args, name: make(args)}
    if name == "x" and args["x"] is not None and isinstance(args["x"], torch.Tensor) and args["x"].numel() == 0 \
            and args["x"].shape[-1] == (args["weight"].shape[0] if args["transpose"] else args["weight"].shape[1]):
        return  # an empty batch of the right width is fine
    x, weight, io = args.pop("x"), args.pop("weight"), args.pop("io")
    nm = args["nm_state"]
    holder = _Holder(nm_state=nm if isinstance(nm, torch.Tensor) and nm.device.type == "cpu" else None)
    ok, _ = check_call(lambda: xbarsim.ops.analog_mvm(x, weight, io, **args), names={name}, module=holder)
    assert not ok, f"analog_mvm({name}=...) was accepted"


@st.composite
def valid_update(draw) -> dict:
    out_size, in_size = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(DTYPES_OK))
    dev = draw(device_models())
    cells = _cells(dev, out_size, in_size, dtype)
    m = draw(st.integers(1, 3))
    args = dict(weight=torch.zeros(out_size, in_size, dtype=dtype), x=torch.rand(m, in_size, dtype=dtype),
                d=torch.rand(m, out_size, dtype=dtype) - 0.5, lr=draw(st.sampled_from([0.1, -0.5, 1.0])),
                update=draw(update_configs()), cells=cells, seed=draw(st.integers(0, 2**64 - 1)),
                call=draw(st.integers(0, 2**48 - 1)), persistent=torch.zeros(out_size, in_size, dtype=dtype),
                counters=torch.zeros(5, dtype=torch.int64),
                piecewise=(torch.ones(2, dtype=dtype), torch.ones(2, dtype=dtype)))
    args["device_model"] = dev
    return args


BAD_UPDATE = {
    "weight": [lambda a: a["weight"].t() if a["weight"].shape[0] > 1 and a["weight"].shape[1] > 1 else a["weight"][0],
               lambda a: a["weight"].half(), lambda a: a["weight"].to("meta"), lambda a: a["weight"][0]],
    "x": [lambda a: a["x"].to("meta"), lambda a: a["x"].long(), lambda a: a["x"][..., :-1],
          lambda a: torch.full_like(a["x"], float("inf")), lambda a: a["x"][:0], lambda a: a["x"].tolist()],
    "d": [lambda a: a["d"].to("meta"), lambda a: a["d"].bool(), lambda a: torch.cat([a["d"], a["d"][:, :1]], 1),
          lambda a: torch.full_like(a["d"], float("nan"))],
    "lr": [lambda a: float("nan"), lambda a: float("-inf"), lambda a: "0.1", lambda a: None, lambda a: True,
           lambda a: torch.tensor([0.1, 0.2])],
    "update": [lambda a: None, lambda a: xbarsim.IOConfig(), lambda a: "update"],
    "device_model": [lambda a: None, lambda a: "SoftBounds", lambda a: xbarsim.IOConfig()],
    "cells": [lambda a: None, lambda a: {}, lambda a: {k: v[:, 1:] for k, v in a["cells"].items()},
              lambda a: {k: v.half() for k, v in a["cells"].items()}, lambda a: list(a["cells"].values())],
    "seed": [lambda a: -1, lambda a: 2**64, lambda a: 1.5, lambda a: None],
    "call": [lambda a: -1, lambda a: 2**48, lambda a: "0"],
    "persistent": [lambda a: a["persistent"][:, 1:], lambda a: a["persistent"].half(), lambda a: "w",
                   lambda a: a["persistent"].to("meta")],
    "counters": [lambda a: torch.zeros(3, dtype=torch.int64), lambda a: torch.zeros(4),
                 lambda a: [0, 0, 0, 0]],
    "piecewise": [lambda a: "table", lambda a: (torch.ones(0), torch.ones(0)), lambda a: (a["piecewise"][0],),
                  lambda a: (a["piecewise"][0].half(),) * 2, lambda a: (torch.ones(2), torch.ones(3))],
}


@pytest.mark.parametrize("name, make", bad_pairs(BAD_UPDATE))
@fuzz_settings(4)
@given(args=valid_update())
def test_pulsed_update_rejects_a_wrong_argument_by_name(name, make, args):
    if name == "x" and make is BAD_UPDATE["x"][4]:
        return  # x[:0] with d of m rows: covered by the "same leading dimensions" check below
    args = {**args, name: make(args)}
    names = {name, "x", "d"} if name in ("x", "d") else {name}  # "x and d must have the same leading dimensions"
    weight, x, d, lr = args.pop("weight"), args.pop("x"), args.pop("d"), args.pop("lr")
    holder = _Holder(weight=weight if isinstance(weight, torch.Tensor) and weight.device.type == "cpu" else None,
                     persistent=args["persistent"] if isinstance(args["persistent"], torch.Tensor)
                     and args["persistent"].device.type == "cpu" else None,
                     counters=args["counters"] if isinstance(args["counters"], torch.Tensor) else None)
    ok, _ = check_call(lambda: xbarsim.ops.pulsed_update(weight, x, d, lr, **args), names=names, module=holder)
    assert not ok, f"pulsed_update({name}=...) was accepted"
