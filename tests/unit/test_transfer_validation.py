"""The transfer binding checks every persistent per-tile tensor before any kernel runs (device, shape,
dtype), naming the argument and the tile, and leaves the tiles untouched when it refuses. A tensor on
another device would otherwise be dereferenced as if it lived on the tiles' device."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from xbarsim import _core
from xbarsim.algorithms import ResidualLearning, make_tile
from xbarsim.algorithms.base import transfer_tile
from xbarsim.config import IOConfig, PiecewiseStep, SoftBounds, TileConfig, UpdateConfig
from xbarsim.ops import mvm as _mvm
from xbarsim.ops import transfer as _transfer
from xbarsim.ops import update as _update
from xbarsim.ops._views import view

PERFECT = IOConfig(is_perfect=True)


def _compound(device_model=None, dtype=torch.float64, write_noise=0.0):
    device_model = device_model or SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.25, write_noise_std=write_noise)
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=1.0)
    t = make_tile(5, 7, TileConfig(forward=PERFECT, backward=PERFECT, device_model=device_model, algorithm=algo), seed=3,
                  dtype=dtype)
    t.set_tile_weights(torch.rand(3, 5, 7, generator=torch.Generator().manual_seed(1), dtype=dtype) - 0.5)
    return t


def _events():
    ev = torch.tensor([[2, 1, 3, 0, 0, -1]], dtype=torch.int64)
    rates = torch.tensor([[0.5, 0.0, 1.0]], dtype=torch.float64)
    return ev, rates


def _raw_call(prepared, **replace):
    """_core.transfer as ops.transfer_ calls it, with some per-tile lists replaced."""
    ev, rates = _events()
    upd = _update.pack_update(UpdateConfig(count_pulses=True))
    ev_v, rt_v = view(ev), view(rates)
    args = dict(weights=prepared.weights, persistents=prepared.persistents, counters=prepared.counters,
                cells=prepared.cells, piecewise_up=prepared.pw_up, piecewise_down=prepared.pw_down,
                device_models=prepared.devices, granularities=prepared.granularities, seeds=prepared.seeds)
    args.update(replace)
    nbytes = _core.transfer_scratch_bytes(args["weights"], args["granularities"], ev_v, rt_v, upd)
    scratch = torch.empty(nbytes, dtype=torch.uint8)
    _core.transfer(*args.values(), ev_v, rt_v, view(scratch), _mvm.io_params(_transfer._read_path(PERFECT), False),
                   1.0, upd, False, 0, None, None, None, 1, 0.0, True, False, 0)


def _fake_cuda_view(t: torch.Tensor):
    """A view claiming to live on CUDA device 0 (never dereferenced: the check must refuse it first)."""
    return _core.TensorView(t.data_ptr(), "float64" if t.dtype == torch.float64 else "float32", list(t.shape),
                            list(t.stride()), "cuda", 0, owner=t)


def test_the_raw_call_runs():
    t = _compound()
    before = t.get_tile_weights()
    _raw_call(_transfer.PreparedTiles([transfer_tile(x) for x in t.tiles]))
    assert not torch.equal(t.get_tile_weights(), before)


@pytest.mark.parametrize("what", ["weights", "persistents", "counters", "cells"])
def test_a_tensor_on_another_device_is_refused(what):
    t = _compound(write_noise=0.5)
    before = t.get_tile_weights()
    tiles = [transfer_tile(x) for x in t.tiles]
    prepared = _transfer.PreparedTiles(tiles)
    if what == "weights":
        replace = {"weights": prepared.weights[:1] + [_fake_cuda_view(tiles[1].weight)] + prepared.weights[2:]}
        match = r"weights\[1\]"
    elif what == "persistents":
        replace = {"persistents": prepared.persistents[:1] + [_fake_cuda_view(tiles[1].persistent)]
                   + prepared.persistents[2:]}
        match = r"persistents\[1\]"
    elif what == "counters":
        c = tiles[2].counters
        fake = _core.TensorView(c.data_ptr(), "int64", [4], [1], "cuda", 0, owner=c)
        replace = {"counters": prepared.counters[:2] + [fake]}
        match = r"counters\[2\]"
    else:
        cells = _core.DeviceCellViews()
        for name in _update.device_cell_fields(tiles[0].device_model):
            setattr(cells, name, view(tiles[0].cells[name]))
        cells.scale_up = _fake_cuda_view(tiles[0].cells["scale_up"])
        replace = {"cells": [cells] + prepared.cells[1:]}
        match = r"cells\[0\]\.scale_up"
    with pytest.raises(ValueError, match=match):
        _raw_call(prepared, **replace)
    assert torch.equal(t.get_tile_weights(), before)


def test_wrong_shapes_and_dtypes_are_refused():
    t = _compound()
    tiles = [transfer_tile(x) for x in t.tiles]
    prepared = _transfer.PreparedTiles(tiles)
    with pytest.raises(ValueError, match=r"persistents\[0\]"):
        _raw_call(prepared, persistents=[view(torch.zeros(5, 6, dtype=torch.float64))] + prepared.persistents[1:])
    with pytest.raises(TypeError, match=r"persistents\[0\]"):
        _raw_call(prepared, persistents=[view(torch.zeros(5, 7, dtype=torch.float32))] + prepared.persistents[1:])
    with pytest.raises(ValueError, match=r"counters\[1\]"):
        _raw_call(prepared, counters=[None, view(torch.zeros(3, dtype=torch.int64)), None])
    with pytest.raises(TypeError, match=r"counters\[1\]"):
        _raw_call(prepared, counters=[None, view(torch.zeros(4, dtype=torch.int32)), None])
    bad = dataclasses.replace(tiles[2], cells={**tiles[2].cells, "b_max": torch.zeros(5, 7, dtype=torch.float32)})
    with pytest.raises(TypeError, match=r"cells\[2\]\.b_max"):
        _raw_call(_transfer.PreparedTiles(tiles[:2] + [bad]))


def test_piecewise_tables_are_required_and_checked():
    dev = PiecewiseStep(dw_min=0.05, piecewise_up=(0.5, 1.0, 1.5), piecewise_down=(1.5, 1.0, 0.5))
    t = _compound(device_model=dev)
    tiles = [transfer_tile(x) for x in t.tiles]
    prepared = _transfer.PreparedTiles(tiles)
    _raw_call(prepared)
    with pytest.raises(ValueError, match=r"piecewise_up\[1\]"):
        _raw_call(prepared, piecewise_up=[prepared.pw_up[0], None, prepared.pw_up[2]])
    with pytest.raises(TypeError, match="piecewise"):
        _raw_call(prepared, piecewise_down=[prepared.pw_down[0], view(torch.ones(3, dtype=torch.float32)),
                                            prepared.pw_down[2]])


def test_chopper_signs_need_the_tiles_dtype():
    t = _compound()
    tiles = [transfer_tile(x) for x in t.tiles]
    ev = torch.tensor([[2, 1, 3, 0, 0, 0]], dtype=torch.int64)
    with pytest.raises(TypeError, match="chop_in"):
        _transfer.transfer_(tiles, ev, torch.tensor([[0.5, 0.3, 1.0]], dtype=torch.float64), io=PERFECT,
                            update=UpdateConfig(), kind="chopped", buffers=torch.zeros(3, 5, 7, dtype=torch.float64),
                            chop_in=torch.ones(7, dtype=torch.float32), chop_out=torch.ones(5, dtype=torch.float64))
