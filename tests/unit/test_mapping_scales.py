"""The mapping's digital output scales (experiments.md §0; aihwkit 0.9.2 semantics, docs/presets.md).

``m`` (``weight_scaling_omega > 0``): fixed, set by every ``set_weights`` to ``max|W|/ω`` (per row with
``weight_scaling_columnwise``); the update sees ``d/m`` of the gradient at ``m ⊙ W̄x``.
``α`` (``learn_out_scaling``): a parameter trained by the digital optimizer, reset to 1 by ``set_weights``.
References are float64 NumPy/torch computations of those formulas on ideal configs.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xbarsim
from xbarsim.config import MappingConfig
from xbarsim.errors import CheckpointMismatchError
from xbarsim.nn import AnalogConv2d, AnalogLinear, convert_to_analog
from xbarsim.optim import AnalogSGD

from _frontend import ideal_config, softbounds_config

F64 = torch.float64


def ref_scales(matrix: np.ndarray, omega: float, columnwise: bool) -> np.ndarray:
    """experiments.md §0: α_i = max_j |W_ij| / ω per row (or max |W| / ω), 1 where the max is 0."""
    peak = np.abs(matrix).max(axis=1) if columnwise else np.array([np.abs(matrix).max()])
    scales = peak / omega
    scales[scales == 0] = 1.0
    return scales


def raw_matrix(layer) -> torch.Tensor:
    """What the blocks hold (W̄ with the analog bias column), without any scale."""
    return layer._get_matrix()


# --- the config --------------------------------------------------------------------------------------

def test_mapping_config_fields():
    m = MappingConfig()
    assert (m.learn_out_scaling, m.out_scaling_columnwise, m.weight_scaling_omega, m.weight_scaling_columnwise) == \
        (False, False, 0.0, False)
    assert m.mapping_scale_shape(7) is None and m.learned_scale_shape(7) is None
    m = MappingConfig(learn_out_scaling=True, weight_scaling_omega=0.3, weight_scaling_columnwise=True)
    assert m.mapping_scale_shape(7) == (7,) and m.learned_scale_shape(7) == (1,)
    assert MappingConfig(learn_out_scaling=True, out_scaling_columnwise=True).learned_scale_shape(7) == (7,)
    assert MappingConfig(weight_scaling_omega=1).mapping_scale_shape(7) == (1,)
    assert MappingConfig(weight_scaling_columnwise=True).mapping_scale_shape(7) is None  # ω = 0: no effect
    assert MappingConfig.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="MappingConfig: weight_scaling_omega must be >= 0; got -0.1"):
        MappingConfig(weight_scaling_omega=-0.1)
    with pytest.raises(TypeError, match="MappingConfig: learn_out_scaling must be a bool; got 1"):
        MappingConfig(learn_out_scaling=1)
    with pytest.raises(ValueError, match="MappingConfig: out_scaling_columnwise must be False without"):
        MappingConfig(out_scaling_columnwise=True)


# --- the default path ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mapping", [None, MappingConfig(), MappingConfig(weight_scaling_columnwise=True)])
def test_default_path_has_no_scale_and_adds_nothing(mapping):
    """Without learn_out_scaling and with ω = 0 the layer has no scale: its output is the layer op's plus
    the bias, bit for bit, and a training step equals the default layer's."""
    x = torch.randn(6, 5)
    a = AnalogLinear(5, 3, config=softbounds_config(), mapping=mapping, seed=11)
    ref = AnalogLinear(5, 3, config=softbounds_config(), seed=11)
    assert a.mapping_scales is None and a.out_scaling_alpha is None
    assert set(a.state_dict()) == set(ref.state_dict())
    assert [n for n, _ in a.named_parameters()] == ["analog_ctx", "bias"]
    ref.set_weights(*a.get_weights())
    probe = copy.deepcopy(ref)
    y = a(x)
    assert torch.equal(y, probe.analog_matmul(x) + probe.bias)
    y_ref = ref(x)
    assert torch.equal(y, y_ref)
    for layer, out in ((a, y), (ref, y_ref)):
        opt = AnalogSGD(layer.parameters(), lr=0.1)
        out.square().sum().backward()
        opt.step()
    assert torch.equal(a.get_weights()[0], ref.get_weights()[0]) and torch.equal(a.bias, ref.bias)


# --- remapping ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("columnwise", [True, False])
@pytest.mark.parametrize("digital_bias", [True, False])
@pytest.mark.parametrize("split", [MappingConfig(), MappingConfig(max_in_size=3, max_out_size=2)])
def test_set_weights_remaps_as_the_reference(columnwise, digital_bias, split):
    omega = 0.6
    mapping = split.replace(weight_scaling_omega=omega, weight_scaling_columnwise=columnwise)
    layer = AnalogLinear(7, 5, config=ideal_config(), mapping=mapping, digital_bias=digital_bias, dtype=F64)
    w = torch.randn(5, 7, dtype=F64)
    b = torch.randn(5, dtype=F64) * 3  # the analog bias column counts in the maximum
    w[2], b[2] = 0.0, 0.0  # a zero row keeps the scale 1
    layer.set_weights(w, b)
    full = w.numpy() if digital_bias else np.concatenate([w.numpy(), b.numpy()[:, None]], axis=1)
    scales = ref_scales(full, omega, columnwise)
    assert np.allclose(layer.mapping_scales.numpy(), scales, rtol=1e-15, atol=0)
    expected_raw = full / scales[:, None]
    assert np.allclose(raw_matrix(layer).numpy(), expected_raw, rtol=1e-15, atol=1e-300)
    if columnwise:
        peaks = np.abs(raw_matrix(layer).numpy()).max(axis=1)
        assert np.allclose(np.delete(peaks, 2), omega, rtol=1e-15) and peaks[2] == 0.0
    else:
        assert np.abs(raw_matrix(layer).numpy()).max() == pytest.approx(omega, rel=1e-15)
    w2, b2 = layer.get_weights()
    assert torch.allclose(w2, w, rtol=1e-15, atol=0) and torch.allclose(b2, b, rtol=1e-15, atol=0)
    assert torch.allclose(layer.weight, w, rtol=1e-15, atol=0)
    assert layer.out_scaling_alpha is None


def test_initial_programming_and_from_digital_remap():
    mapping = MappingConfig(weight_scaling_omega=0.5, weight_scaling_columnwise=True)
    torch.manual_seed(3)
    digital = torch.nn.Linear(6, 4)
    torch.manual_seed(3)
    layer = AnalogLinear(6, 4, config=ideal_config(), mapping=mapping)
    w = digital.weight.detach()
    assert torch.allclose(layer.mapping_scales, torch.from_numpy(ref_scales(w.numpy(), 0.5, True)).float())
    assert torch.allclose(layer.weight, w, rtol=1e-6, atol=0)
    converted = AnalogLinear.from_digital(digital, ideal_config(), mapping=mapping)
    assert torch.allclose(converted.mapping_scales, layer.mapping_scales)
    assert torch.allclose(raw_matrix(converted).abs().amax(dim=1), torch.full((4,), 0.5))
    conv = torch.nn.Conv2d(2, 3, 3)
    aconv = AnalogConv2d.from_digital(conv, ideal_config(), mapping=mapping)
    assert aconv.mapping_scales.shape == (3,)
    assert torch.allclose(aconv.weight, conv.weight.detach(), rtol=1e-6, atol=0)


def test_set_weights_resets_the_learned_scale():
    layer = AnalogLinear(4, 3, config=ideal_config(), mapping=MappingConfig(learn_out_scaling=True), dtype=F64)
    w = torch.randn(3, 4, dtype=F64)
    layer.set_weights(w)
    with torch.no_grad():
        layer.out_scaling_alpha.fill_(2.0)
    assert torch.equal(layer.weight, 2 * w) and torch.equal(raw_matrix(layer), w)
    layer.set_weights(w)
    assert layer.out_scaling_alpha.item() == 1.0 and torch.equal(layer.weight, w)
    assert layer.mapping_scales is None


# --- forward, backward, update against float64 references ---------------------------------------------

OPTIONS = [
    MappingConfig(learn_out_scaling=True),
    MappingConfig(learn_out_scaling=True, out_scaling_columnwise=True),
    MappingConfig(weight_scaling_omega=0.4),
    MappingConfig(weight_scaling_omega=0.4, weight_scaling_columnwise=True),
    MappingConfig(learn_out_scaling=True, weight_scaling_omega=0.3, weight_scaling_columnwise=True),
    MappingConfig(learn_out_scaling=True, weight_scaling_omega=0.3, weight_scaling_columnwise=True,
                  max_in_size=3, max_out_size=2),
]


def _perturb_alpha(layer):
    if layer.out_scaling_alpha is not None:
        with torch.no_grad():
            layer.out_scaling_alpha.copy_(torch.linspace(0.5, 1.5, layer.out_scaling_alpha.numel(), dtype=F64))


@pytest.mark.parametrize("mapping", OPTIONS)
def test_linear_against_a_digital_model(mapping):
    """Forward, input gradient, learned-scale and bias gradients equal torch autograd on
    ``y = α ⊙ (m ⊙ W̄x) + b``; the recorded d is ``α m ∂L/∂y``; the pulse-free update is
    ``W̄ ← W̄ − lr·((α ∂L/∂y)/m)ᵀx`` (aihwkit's pre_update) and α takes an SGD step."""
    lr = 0.05
    layer = AnalogLinear(7, 5, config=ideal_config(), mapping=mapping, dtype=F64, seed=3)
    layer.set_weights(torch.randn(5, 7, dtype=F64), torch.randn(5, dtype=F64))
    _perturb_alpha(layer)
    w_bar = raw_matrix(layer).clone().requires_grad_(True)
    m = layer.mapping_scales.clone() if layer.mapping_scales is not None else torch.ones(1, dtype=F64)
    alpha = (layer.out_scaling_alpha.detach().clone() if layer.out_scaling_alpha is not None
             else torch.ones(1, dtype=F64)).requires_grad_(True)
    bias = layer.bias.detach().clone().requires_grad_(True)
    assert torch.allclose(layer.weight, alpha.detach().reshape(-1, 1) * m.reshape(-1, 1) * w_bar.detach(),
                          rtol=1e-15, atol=0)

    x = torch.randn(4, 7, dtype=F64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    g = torch.randn(4, 5, dtype=F64)
    opt = AnalogSGD(layer.parameters(), lr=lr)
    y = layer(x)
    y_ref = alpha * (m * (x_ref @ w_bar.T)) + bias
    assert torch.allclose(y, y_ref, rtol=1e-13, atol=1e-13)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    assert torch.allclose(x.grad, x_ref.grad, rtol=1e-13, atol=1e-13)
    assert torch.allclose(layer.bias.grad, bias.grad, rtol=1e-13, atol=1e-13)
    if layer.out_scaling_alpha is not None:
        assert torch.allclose(layer.out_scaling_alpha.grad, alpha.grad, rtol=1e-13, atol=1e-13)
    x_rec, d_rec = layer.recorded_batch()
    assert torch.allclose(d_rec, (alpha * m).detach() * g, rtol=1e-15, atol=0)

    opt.step()
    d_update = (alpha.detach() * g / m).numpy()  # aihwkit: gradient at m ⊙ W̄x, divided by m
    expected = w_bar.detach().numpy() - lr * d_update.T @ x.detach().numpy()
    assert np.allclose(raw_matrix(layer).numpy(), expected, rtol=1e-13, atol=1e-13)
    if layer.out_scaling_alpha is not None:
        assert torch.allclose(layer.out_scaling_alpha, alpha.detach() - lr * alpha.grad, rtol=1e-15, atol=0)
    if layer.mapping_scales is not None:
        assert torch.equal(layer.mapping_scales, m)  # fixed: only set_weights changes it


@pytest.mark.parametrize("mapping", [OPTIONS[1], OPTIONS[4]])
@pytest.mark.parametrize("digital_bias", [True, False])
def test_conv_against_a_digital_model(mapping, digital_bias):
    layer = AnalogConv2d(2, 3, 3, padding=1, stride=2, config=ideal_config(), mapping=mapping, dtype=F64,
                         digital_bias=digital_bias)
    layer.set_weights(torch.randn(3, 2, 3, 3, dtype=F64), torch.randn(3, dtype=F64))
    _perturb_alpha(layer)
    raw = raw_matrix(layer)
    kernel = raw[:, :18].reshape(3, 2, 3, 3).clone().requires_grad_(True)
    m = layer.mapping_scales.clone() if layer.mapping_scales is not None else torch.ones(1, dtype=F64)
    alpha = layer.out_scaling_alpha.detach().clone().requires_grad_(True)
    view = (1, -1, 1, 1)
    x = torch.randn(2, 2, 5, 5, dtype=F64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y = layer(x)
    z = F.conv2d(x_ref, kernel, None if digital_bias else raw[:, 18], stride=2, padding=1)
    y_ref = (alpha * m).reshape(view) * z
    if digital_bias:
        y_ref = y_ref + layer.bias.detach().reshape(view)
    assert torch.allclose(y, y_ref, rtol=1e-13, atol=1e-13)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    assert torch.allclose(x.grad, x_ref.grad, rtol=1e-13, atol=1e-13)
    assert torch.allclose(layer.out_scaling_alpha.grad, alpha.grad, rtol=1e-13, atol=1e-13)
    d_rec = layer.recorded_batch()[1]
    assert d_rec.shape == (2 * 3 * 3, 3)
    expected_d = ((alpha * m).detach().reshape(view) * g).permute(0, 2, 3, 1).reshape(-1, 3)
    assert torch.allclose(d_rec, expected_d, rtol=1e-15, atol=0)
    w_eff, b_eff = layer.get_weights()
    scale = (alpha * m).detach()
    assert torch.allclose(w_eff, scale.reshape(-1, 1, 1, 1) * kernel.detach(), rtol=1e-15, atol=0)
    if not digital_bias:
        assert torch.allclose(b_eff, scale * raw[:, 18], rtol=1e-15, atol=0)


def test_scales_with_a_multi_tile_algorithm_and_split_mapping():
    config = paper_resl_config()
    mapping = MappingConfig(learn_out_scaling=True, weight_scaling_omega=0.5, weight_scaling_columnwise=True,
                            max_in_size=4, max_out_size=2)
    model = torch.nn.Sequential(torch.nn.Linear(12, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    analog = convert_to_analog(model, config, seed=4, mapping=mapping)
    layers = [m for m in analog.modules() if isinstance(m, AnalogLinear)]
    assert len(layers) == 2 and all(len(layer.blocks) > 1 for layer in layers)
    for layer, digital in zip(layers, (model[0], model[2])):  # the device may clip: compare the scales
        expected = ref_scales(digital.weight.detach().numpy(), 0.5, True)
        assert torch.allclose(layer.mapping_scales, torch.from_numpy(expected).float())
    opt = AnalogSGD(analog.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        analog(torch.randn(8, 12)).square().mean().backward()
        opt.step()
    assert all(layer.out_scaling_alpha.item() != 1.0 for layer in layers)


def paper_resl_config():
    """Residual learning on 3 four-state SoftBounds tiles, as the paper's presets build it."""
    from xbarsim.config.algorithms import ResidualLearning

    algorithm = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(12.0, 6.0, 3.0), fast_lr=1.0,
                                 scale_fast_lr=False, warm_start="reference_cuda")
    return xbarsim.TileConfig(device_model=xbarsim.devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=4),
                              algorithm=algorithm)


# --- state ------------------------------------------------------------------------------------------------

def test_state_dict_round_trip_and_layout_check():
    mapping = MappingConfig(learn_out_scaling=True, weight_scaling_omega=0.3, weight_scaling_columnwise=True)
    a = AnalogLinear(6, 4, config=ideal_config(), mapping=mapping, seed=1)
    with torch.no_grad():
        a.out_scaling_alpha.fill_(1.25)
    sd = a.state_dict()
    assert {"mapping_scales", "out_scaling_alpha"} <= set(sd)
    assert sd["_extra_state"]["mapping_scales"] == [4] and sd["_extra_state"]["out_scaling_alpha"] == [1]
    b = AnalogLinear(6, 4, config=ideal_config(), mapping=mapping, seed=1)
    b.load_state_dict(sd)
    assert torch.equal(b.weight, a.weight) and torch.equal(b.mapping_scales, a.mapping_scales)
    assert b.out_scaling_alpha.item() == 1.25
    plain = AnalogLinear(6, 4, config=ideal_config(), seed=1)
    with pytest.raises(CheckpointMismatchError, match="mapping"):
        plain.load_state_dict(sd)
    scalar = AnalogLinear(6, 4, config=ideal_config(), mapping=mapping.replace(weight_scaling_columnwise=False))
    with pytest.raises(CheckpointMismatchError, match="mapping_scales: checkpoint \\[4\\], model \\[1\\]"):
        scalar.load_state_dict(sd)


def test_layouts_written_before_the_scales_still_load():
    layer = AnalogLinear(6, 4, config=ideal_config(), seed=1)
    sd = layer.state_dict()
    old = dict(sd["_extra_state"])
    del old["mapping_scales"], old["out_scaling_alpha"]
    old["mapping"] = {"type": "MappingConfig", "max_in_size": 0, "max_out_size": 0}
    sd["_extra_state"] = old
    fresh = AnalogLinear(6, 4, config=ideal_config(), seed=2)
    fresh.load_state_dict(sd)
    assert torch.equal(fresh.weight, layer.weight)


def test_moves_and_copies_keep_the_scales():
    mapping = MappingConfig(learn_out_scaling=True, weight_scaling_omega=0.3)
    layer = AnalogLinear(5, 3, config=ideal_config(), mapping=mapping)
    clone = copy.deepcopy(layer)
    with torch.no_grad():
        clone.out_scaling_alpha.fill_(3.0)
    assert layer.out_scaling_alpha.item() == 1.0
    layer.double()
    assert layer.mapping_scales.dtype == F64 and layer.out_scaling_alpha.dtype == F64
    assert layer(torch.randn(2, 5, dtype=F64)).dtype == F64
    assert "weight_scaling_omega=0.3" in repr(layer) and "learn_out_scaling=True" in repr(layer)
    assert isinstance(xbarsim.nn.analog_layer_of(layer.analog_ctx), AnalogLinear)
