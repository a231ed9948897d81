"""Fuzzing the layers ``xbarsim.nn.AnalogLinear`` and ``AnalogConv2d``: construction with random and
wrong arguments (sizes, kernel hyper-parameters, configs of every algorithm, mappings, seeds, devices,
dtypes), then forward with random inputs (shapes, dtypes, strides, NaN/inf/1e38/1e-45, meta), the
backward with random upstream gradients, an optimizer step, set_weights and the device processes.
Every call succeeds or raises ValueError/TypeError naming the argument (IndexError for reset_columns),
and a rejected call leaves the layer's state_dict untouched."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import xbarsim
from xbarsim.nn import AnalogConv2d, AnalogLinear
from xbarsim.optim import AnalogSGD

from _fuzz import (ALGORITHMS, DTYPES_OK, any_value, bad_pairs, check_call, fuzz_settings, mostly, tensors,
                   tile_configs)

LAYER_ARGS = {"in_features", "out_features", "bias", "config", "mapping", "digital_bias", "eval_noise_free", "seed",
              "device", "dtype"}
CONV_ARGS = LAYER_ARGS - {"in_features", "out_features"} | {"in_channels", "out_channels", "kernel_size", "stride",
                                                            "padding", "dilation", "groups", "padding_mode"}
BAD_COMMON = {
    "bias": [0, 1, None, "yes"],
    "config": ["cfg", xbarsim.IOConfig(), 3],
    "mapping": ["map", xbarsim.TileConfig(), {"max_in_size": 2}],
    "digital_bias": [0, None, "yes"],
    "eval_noise_free": [1, None, "yes"],
    "seed": [-1, 2**64, 1.5, True, "3"],
    "device": ["meta", "bogus", 2.5, torch.device("meta")],
    "dtype": [torch.float16, torch.int32, torch.complex64, "float32", 32],
}
BAD_SIZE = [0, -1, True, 2.0, None, "3"]
BAD_TUPLE = [0, -1, (1,), (1, 2, 3), "2", 1.5, None, (1, -1)]
BAD_LINEAR = {**BAD_COMMON, "in_features": BAD_SIZE, "out_features": BAD_SIZE}
BAD_CONV = {**BAD_COMMON, "in_channels": BAD_SIZE, "out_channels": BAD_SIZE, "kernel_size": BAD_TUPLE,
            "stride": BAD_TUPLE, "dilation": BAD_TUPLE,
            "padding": [-1, (1,), (1, 2, 3), "2", 1.5, None, "full", (1, -1)],
            "groups": [2, 0, -1], "padding_mode": ["reflect", "circular", None]}


def configs() -> st.SearchStrategy:
    return st.sampled_from(sorted(ALGORITHMS)).flatmap(tile_configs)


@st.composite
def valid_common(draw) -> dict:
    return dict(config=draw(configs()), seed=draw(st.integers(0, 2**64 - 1)), bias=draw(st.booleans()),
                digital_bias=draw(st.booleans()), eval_noise_free=draw(st.booleans()),
                mapping=xbarsim.MappingConfig(max_in_size=draw(st.integers(0, 3)),
                                              max_out_size=draw(st.integers(0, 2))),
                device=draw(st.sampled_from(["cpu", None, torch.device("cpu")])),
                dtype=draw(st.sampled_from([torch.float32, torch.float64, None])))


@st.composite
def valid_linear(draw) -> dict:
    return dict(in_features=draw(st.integers(1, 4)), out_features=draw(st.integers(1, 4)), **draw(valid_common()))


@st.composite
def valid_conv(draw) -> dict:
    kw = dict(in_channels=draw(st.integers(1, 2)), out_channels=draw(st.integers(1, 3)),
              kernel_size=draw(st.sampled_from([1, 2, (1, 2), (2, 1)])), stride=draw(st.sampled_from([1, 2, (1, 2)])),
              dilation=draw(st.sampled_from([1, 2])), groups=1, padding_mode="zeros", **draw(valid_common()))
    kw["padding"] = draw(st.sampled_from([0, 1, (0, 1), "valid"] + (["same"] if kw["stride"] == 1 else [])))
    return kw


@fuzz_settings(40)
@given(kw=st.one_of(valid_linear(), valid_conv()))
def test_layer_construction(kw):
    """Valid arguments: every layer builds, with weights of its dtype."""
    cls = AnalogLinear if "in_features" in kw else AnalogConv2d
    ok, layer = check_call(lambda: cls(**kw), names=set())
    assert ok and layer.get_weights()[0].dtype == layer.dtype


@pytest.mark.parametrize("name, value", bad_pairs(BAD_LINEAR))
@fuzz_settings(2)
@given(valid=valid_linear())
def test_linear_rejects_a_wrong_argument_by_name(name, value, valid):
    """Random valid arguments with one replaced by a wrong value: the rejection names that argument."""
    ok, _ = check_call(lambda: AnalogLinear(**{**valid, name: value}), names={name})
    assert not ok, f"{name}={value!r} was accepted"


@pytest.mark.parametrize("name, value", bad_pairs(BAD_CONV))
@fuzz_settings(2)
@given(valid=valid_conv())
def test_conv2d_rejects_a_wrong_argument_by_name(name, value, valid):
    ok, _ = check_call(lambda: AnalogConv2d(**{**valid, name: value}), names={name})
    assert not ok, f"{name}={value!r} was accepted"


@st.composite
def layers(draw):
    config = draw(configs())
    dtype = draw(st.sampled_from(DTYPES_OK))
    kw = dict(config=config, seed=draw(st.integers(0, 2**64 - 1)), dtype=dtype, bias=draw(st.booleans()),
              digital_bias=draw(st.booleans()), eval_noise_free=draw(st.booleans()),
              mapping=xbarsim.MappingConfig(max_in_size=draw(st.integers(0, 3)), max_out_size=draw(st.integers(0, 2))))
    if draw(st.booleans()):
        layer = AnalogLinear(draw(st.integers(1, 4)), draw(st.integers(1, 4)), **kw)
    else:
        layer = AnalogConv2d(draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, (1, 2)])),
                             padding=draw(st.sampled_from([0, 1, "same"])), **kw)
    if draw(st.booleans()):
        layer.eval()
    return layer


@st.composite
def inputs(draw, layer):
    dtype = layer.dtype
    if isinstance(layer, AnalogLinear):
        return draw(tensors(layer.in_features, dtype=dtype))
    spatial = st.lists(st.integers(0, 4), min_size=2, max_size=2)
    lead = mostly(st.one_of(st.tuples(st.integers(0, 2), st.just(layer.in_channels), st.integers(1, 4)).map(list),
                            st.tuples(st.just(layer.in_channels), st.integers(1, 4)).map(list)), spatial)
    return draw(tensors(draw(st.integers(1, 4)), lead=lead, dtype=dtype))


def _forward_backward_step(data, layer) -> None:
    x = data.draw(inputs(layer))
    ok, y = check_call(lambda: layer(x), names={"input"}, module=layer)
    if not ok:
        return
    if not (layer.training and torch.is_grad_enabled()):
        return
    grad = data.draw(tensors(y.shape[-1] if y.dim() else 1, lead=st.just(list(y.shape[:-1])), good=0.8,
                             dtype=y.dtype))
    if grad.shape != y.shape or grad.dtype != y.dtype or grad.device != y.device:
        return  # torch's own autograd checks, not ours
    ok, _ = check_call(lambda: y.backward(grad), names={"grad_output"}, module=layer)
    if ok:
        lr = data.draw(st.sampled_from([0.1, 0.0, 1.0]))
        check_call(lambda: AnalogSGD(layer.parameters(), lr=lr).step(), names={"lr"}, module=None)


@st.composite
def _set_weights_args(draw, layer):
    w_shape = list(layer.get_weights()[0].shape)
    w = draw(tensors(w_shape[-1], lead=st.just(w_shape[:-1]), good=0.8, dtype=layer.dtype))
    bias = draw(st.one_of(st.none(), tensors(layer.out_size, lead=st.just([]), good=0.8, dtype=layer.dtype)))
    return (w, bias)


@fuzz_settings(80)
@given(data=st.data())
def test_layer_calls(data):
    layer = data.draw(layers())
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["forward", "forward", "set_weights", "process", "reset"]))
        if action == "forward":
            _forward_backward_step(data, layer)
        elif action == "set_weights":
            args = data.draw(_set_weights_args(layer))
            check_call(lambda: layer.set_weights(*args), names={"weight", "bias"}, module=layer)
        elif action == "process":
            method = data.draw(st.sampled_from(["decay_weights", "diffuse_weights"]))
            alpha = data.draw(mostly(st.sampled_from([1.0, 0.5]), any_value(), p_bad=0.3))
            check_call(lambda: getattr(layer, method)(alpha), names={"alpha"}, module=layer)
        else:
            n = layer.in_size
            columns = data.draw(st.one_of(st.none(), st.integers(-n - 1, n), st.lists(st.integers(-n - 1, n),
                                                                                       max_size=3),
                                          st.sampled_from([torch.ones(n, dtype=torch.bool), "0", 0.5])))
            check_call(lambda: layer.reset_columns(columns), names={"columns"}, module=layer, index_error=True)
    w, b = layer.get_weights()
    assert w.dtype == layer.dtype and torch.isfinite(w).all()
    assert len(layer.blocks) >= 1
