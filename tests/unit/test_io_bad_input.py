"""Bad input to the read path raises TypeError/ValueError naming the argument, before any kernel runs,
and leaves the tile untouched (weights, RNG call counter, running noise-management maximum)."""
from __future__ import annotations

import math
import re

import pytest
import torch

import xbarsim
from xbarsim import AnalogTile, IOConfig, TileConfig
from xbarsim.ops import analog_mvm, set_input_checks
from xbarsim.ops._checks import input_checks_enabled

IO = IOConfig()
W = torch.randn(4, 6)


def _raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def test_shape_message_has_the_project_form():
    w = torch.zeros(3, 256)
    with pytest.raises(ValueError) as info:
        analog_mvm(torch.zeros(16, 255), w, IO)
    assert str(info.value) == "analog_mvm: x must have shape [..., in_size=256]; got (16, 255)"
    with pytest.raises(ValueError) as info:
        analog_mvm(torch.zeros(16, 256), w, IO, transpose=True)
    assert str(info.value) == "analog_mvm: x must have shape [..., out_size=3]; got (16, 256)"
    _raises(ValueError, re.escape("got ()"), analog_mvm, torch.tensor(1.0), w, IO)


def test_weight_shape_and_type():
    _raises(ValueError, "weight must have 2 dimensions", analog_mvm, torch.zeros(2, 6), torch.zeros(6), IO)
    _raises(ValueError, "weight must have shape", analog_mvm, torch.zeros(2, 0), torch.zeros(4, 0), IO)
    _raises(TypeError, "weight must be a torch.Tensor", analog_mvm, torch.zeros(2, 6), [[1.0]], IO)
    _raises(TypeError, "x must be a torch.Tensor", analog_mvm, [[0.0] * 6], W, IO)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.int64, torch.bool])
def test_dtypes(dtype):
    _raises(TypeError, "x must have dtype torch.float32 or torch.float64", analog_mvm, torch.zeros(2, 6, dtype=dtype),
            W, IO)
    _raises(TypeError, "weight must have dtype", analog_mvm, torch.zeros(2, 6), W.to(dtype), IO)


def test_dtype_mismatch():
    _raises(TypeError, r"x must have the dtype of weight \(torch.float32\); got torch.float64", analog_mvm,
            torch.zeros(2, 6, dtype=torch.float64), W, IO)


def test_devices_meta():
    _raises(ValueError, "analog_mvm: x must be on device cpu; got meta", analog_mvm, torch.zeros(2, 6, device="meta"),
            W, IO)
    _raises(ValueError, "weight must be on a cpu or cuda device; got meta", analog_mvm,
            torch.zeros(2, 6, device="meta"), W.to("meta"), IO)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU for a real cross-device pair")
def test_devices_cuda_cpu():
    _raises(ValueError, "x must be on device cpu; got cuda", analog_mvm, torch.zeros(2, 6, device="cuda"), W, IO)


@pytest.mark.skipif(xbarsim._core.built_with_cuda() or not torch.cuda.is_available(),
                    reason="only meaningful for a CPU-only build on a GPU machine")
def test_cpu_build_refuses_cuda_tensors():
    _raises(RuntimeError, "built without CUDA", analog_mvm, torch.zeros(2, 6, device="cuda"), W.cuda(), IO)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("io", [IOConfig(), IOConfig(is_perfect=True)], ids=["analog", "perfect"])
def test_non_finite_inputs(bad, io):
    x = torch.zeros(3, 6)
    x[1, 2] = bad
    _raises(ValueError, r"analog_mvm: x must be finite \(no NaN or inf\); got", analog_mvm, x, W, io)


def test_huge_finite_inputs_pass_the_finite_check():
    # Their sum overflows to inf; the check must then look at the elements and accept them.
    x = torch.full((2, 6), 1e38)  # sum 6e38 > float32 max
    y = analog_mvm(x, W * 0.1, IOConfig(out_noise=0.0))
    assert torch.isfinite(y).all()


def test_input_checks_switch():
    x = torch.zeros(3, 6)
    x[0, 0] = math.nan
    assert input_checks_enabled()
    set_input_checks(False)
    try:
        assert not input_checks_enabled()
        analog_mvm(x, W, IO)  # no check: must neither raise nor crash
    finally:
        set_input_checks(True)
    _raises(ValueError, "must be finite", analog_mvm, x, W, IO)
    _raises(TypeError, "enabled must be True, False or .deferred.", set_input_checks, 1)


def test_scalar_arguments():
    x = torch.zeros(2, 6)
    _raises(TypeError, "io must be a IOConfig", analog_mvm, x, W, {"is_perfect": True})
    _raises(TypeError, "transpose must be a bool", analog_mvm, x, W, IO, 1)
    _raises(ValueError, r"seed must be an int in \[0, 2\*\*64\)", analog_mvm, x, W, IO, seed=-1)
    _raises(ValueError, r"seed must be an int in \[0, 2\*\*64\)", analog_mvm, x, W, IO, seed=2**64)
    _raises(TypeError, "seed must be an int", analog_mvm, x, W, IO, seed=True)
    _raises(TypeError, "seed must be an int", analog_mvm, x, W, IO, seed=1.0)
    _raises(ValueError, r"call must be an int in \[0, 2\*\*48\)", analog_mvm, x, W, IO, call=2**48)
    _raises(ValueError, "alpha must be a finite number", analog_mvm, x, W, IO, alpha=math.inf)
    _raises(TypeError, "alpha must be a number", analog_mvm, x, W, IO, alpha="1")


def test_nm_state():
    x = torch.zeros(2, 6)
    io = IOConfig(noise_management="average_abs_max")
    _raises(ValueError, "nm_state must be a tensor of shape", analog_mvm, x, W, io)
    _raises(ValueError, r"nm_state must have shape \[1\]; got \(2,\)", analog_mvm, x, W, io, nm_state=torch.zeros(2))
    _raises(TypeError, "nm_state must have dtype torch.float32", analog_mvm, x, W, io,
            nm_state=torch.zeros(1, dtype=torch.float64))
    _raises(ValueError, "nm_state must be on device cpu", analog_mvm, x, W, io,
            nm_state=torch.zeros(1, device="meta"))


@pytest.mark.parametrize("field, value, exc", [
    ("inp_noise", -0.1, ValueError), ("out_noise", -1e-9, ValueError), ("w_noise", -1.0, ValueError),
    ("nm_thres", -1.0, ValueError), ("max_bm_factor", 0.0, ValueError), ("max_bm_res", -0.25, ValueError),
    ("noise_management", "abs_max_np_sum", ValueError), ("noise_management", "AbsMax", ValueError),
    ("bound_management", "shift", ValueError), ("w_noise_type", "pcm", ValueError),
    ("nm_decay", 0.0, ValueError), ("nm_decay", 1.5, ValueError), ("inp_res", math.nan, ValueError),
    ("out_bound", math.inf, ValueError), ("inp_sto_round", 1, TypeError), ("out_scale", "2", TypeError),
    ("inp_bound", 2.0, ValueError),  # noise management on requires inp_bound = 1 (§1.2 step 4)
])
def test_config_errors(field, value, exc):
    with pytest.raises(exc, match=f"IOConfig: {field} must"):
        IOConfig(**{field: value})


def test_negative_resolution_and_bounds_are_legal():
    io = IOConfig(inp_res=-1.0, out_res=-0.5, out_bound=-1.0, noise_management="none", inp_bound=-2.0)
    assert io.inp_res_eff() <= 0 and io.out_res_eff() <= 0
    assert io.inp_bound_eff() == math.inf and io.out_bound_eff() == math.inf


def _tile():
    tile = AnalogTile(4, 6, TileConfig(forward=IOConfig(noise_management="average_abs_max"),
                                       backward=IOConfig(noise_management="average_abs_max")), seed=3)
    tile.set_weights(torch.randn(4, 6))
    tile.forward(torch.randn(5, 6))
    return tile


@pytest.mark.parametrize("bad", [
    lambda t: t.forward(torch.zeros(5, 7)),
    lambda t: t.forward(torch.full((5, 6), math.nan)),
    lambda t: t.forward(torch.zeros(5, 6, dtype=torch.float64)),
    lambda t: t.backward(torch.zeros(5, 6)),
    lambda t: t.backward(torch.tensor([[0.0, math.inf, 0.0, 0.0]])),
    lambda t: t.forward(torch.zeros(5, 6, device="meta")),
], ids=["shape", "nan", "dtype", "backward-shape", "backward-inf", "device"])
def test_tile_untouched_after_failed_call(bad):
    tile = _tile()
    weights, calls, nm = tile.get_weights()[0], int(tile.rng_counter), tile.nm_running_max.clone()
    with pytest.raises((TypeError, ValueError)):
        bad(tile)
    assert torch.equal(tile.weight, weights)
    assert int(tile.rng_counter) == calls
    assert torch.equal(tile.nm_running_max, nm)


def test_native_guards_raise_instead_of_aborting():
    from xbarsim import _core
    from xbarsim.ops._views import view
    from xbarsim.ops.mvm import io_params

    p = io_params(IOConfig(), False)
    x = torch.zeros(4, 6)
    with pytest.raises(ValueError, match="xq must have shape"):
        _core.io_prologue(p, view(x), view(torch.zeros(4, 5)), view(torch.zeros(4)), seed=0, call=0, round=0,
                          reduction=1.0, compute_scale=True)
    with pytest.raises(ValueError, match="scale must have 4 elements"):
        _core.io_prologue(p, view(x), view(torch.zeros(4, 6)), view(torch.zeros(3)), seed=0, call=0, round=0,
                          reduction=1.0, compute_scale=True)
    with pytest.raises(ValueError, match="sat is required"):
        _core.io_epilogue(p, view(torch.zeros(4, 3)), view(torch.zeros(4, 3)), view(torch.zeros(4)), seed=0,
                          call=0, round=0, reduction=1.0, gain=1.0)
    with pytest.raises(ValueError, match="round must be < 2"):
        _core.io_prologue(p, view(x), view(torch.zeros(4, 6)), view(torch.zeros(4)), seed=0, call=0,
                          round=2**24, reduction=1.0, compute_scale=True)


def test_tile_reads_name_the_tile_method_and_its_argument():
    """Found by tests/fuzz: a tile's backward(d) reported 'analog_mvm: x must ...'."""
    tile = AnalogTile(3, 4)
    _raises(ValueError, r"AnalogTile.backward: d must have shape \[\.\.\., out_size=3\]; got \(2, 4\)", tile.backward,
            torch.zeros(2, 4))
    _raises(ValueError, r"AnalogTile.backward: d must be finite", tile.backward, torch.full((2, 3), math.nan))
    _raises(ValueError, r"AnalogTile.forward: x must have shape \[\.\.\., in_size=4\]", tile.forward, torch.zeros(2, 3))
    multi = xbarsim.algorithms.make_tile(3, 4, TileConfig(algorithm=xbarsim.algorithms.TikiTaka()))
    _raises(TypeError, "TikiTakaTile.backward: d must have dtype", multi.backward, torch.zeros(2, 3, dtype=torch.int64))
    assert int(tile.rng_counter) == 0 and int(multi.rng_counter) == 0


@pytest.mark.parametrize("device, exc", [("meta", ValueError), ("bogus", ValueError), (2.5, TypeError)])
def test_tiles_reject_devices_by_name(device, exc):
    """Found by tests/fuzz: torch's RuntimeError/TypeError (or a TensorView error) escaped the constructors."""
    _raises(exc, "AnalogTile: device must", AnalogTile, 2, 3, device=device)
    _raises(exc, "TikiTakaTile: device must", xbarsim.algorithms.make_tile, 2, 3,
            TileConfig(algorithm=xbarsim.algorithms.TikiTaka()), device=device)
    _raises(exc, "AnalogLinear: device must", xbarsim.nn.AnalogLinear, 3, 2, device=device)
    _raises(exc, "AnalogConv2d: device must", xbarsim.nn.AnalogConv2d, 1, 2, 2, device=device)


@pytest.mark.parametrize("dtype", [torch.int32, torch.float16, "float32"])
def test_layers_reject_dtypes_before_drawing_weights(dtype):
    """Found by tests/fuzz: the initial weights were drawn in the wrong dtype first (NotImplementedError)."""
    _raises(TypeError, "AnalogLinear: dtype must be torch.float32 or torch.float64", xbarsim.nn.AnalogLinear, 3, 2,
            dtype=dtype)
    _raises(TypeError, "AnalogConv2d: dtype must be", xbarsim.nn.AnalogConv2d, 1, 2, 2, dtype=dtype)


def test_set_weights_rejects_meta_and_complex_tensors_untouched():
    """Found by tests/fuzz: set_weights read a meta tensor's values (RuntimeError)."""
    tile = AnalogTile(2, 3)
    multi = xbarsim.algorithms.make_tile(2, 3, TileConfig(algorithm=xbarsim.algorithms.TikiTaka()))
    layer = xbarsim.nn.AnalogLinear(3, 2)
    for fn, where in ((tile.set_weights, "AnalogTile.set_weights: weight"),
                      (multi.set_weights, "TikiTakaTile.set_weights: weight"),
                      (layer.set_weights, "AnalogLinear.set_weights: weight")):
        _raises(ValueError, f"{where} must be on a cpu or cuda device", fn, torch.zeros(2, 3, device="meta"))
        _raises(TypeError, f"{where} must be a floating-point tensor", fn, torch.zeros(2, 3, dtype=torch.complex64))
    _raises(ValueError, "TikiTakaTile.set_tile_weights: weights must be on", multi.set_tile_weights,
            torch.zeros(2, 2, 3, device="meta"))
    assert not tile.weight.any() and not multi.weight.any()
    assert int(tile.rng_counter) == 0 and int(multi.rng_counter) == 0


def test_deferred_input_checks_flag_without_raising_then_report():
    """``set_input_checks("deferred")``: no exception (and no host synchronisation) at the op; the flag is
    reported by raise_deferred_input_errors, once, naming the callable and the argument."""
    from xbarsim.ops import raise_deferred_input_errors, set_input_checks

    w = torch.full((3, 4), 0.1)
    x = torch.rand(2, 4)
    set_input_checks("deferred")
    try:
        raise_deferred_input_errors()  # nothing pending
        xbarsim.ops.analog_mvm(x, w, xbarsim.IOConfig(is_perfect=True))
        raise_deferred_input_errors()  # finite inputs: no error
        x[1, 2] = float("nan")
        xbarsim.ops.analog_mvm(x, w, xbarsim.IOConfig(is_perfect=True))  # runs
        with pytest.raises(ValueError, match=r"analog_mvm: x must be finite .*deferred"):
            raise_deferred_input_errors()
        raise_deferred_input_errors()  # reported once, then cleared
    finally:
        set_input_checks(True)
    with pytest.raises(ValueError, match="x must be finite"):
        xbarsim.ops.analog_mvm(x, w, xbarsim.IOConfig(is_perfect=True))
    with pytest.raises(TypeError, match="set_input_checks: enabled must be True, False or 'deferred'"):
        set_input_checks("later")
