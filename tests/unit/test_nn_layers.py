"""Analog layers: construction, bad input (clear errors, tile state untouched), weights, moves, copies.

Spec: analog-tile.md §0; STYLE.md §3 (errors).
"""
from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import xbarsim
from xbarsim.config.seeds import child_seed
from xbarsim.nn import AnalogConv1d, AnalogConv2d, AnalogLinear, analog_layer_of

from _frontend import ideal_config


def _state(layer):
    return {k: (v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)) for k, v in layer.state_dict().items()}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("make, x, match", [
    (lambda: AnalogLinear(4, 3), torch.rand(2, 5), r"AnalogLinear: input must have shape \[\.\.\., in_features=4\]; got \(2, 5\)"),
    (lambda: AnalogLinear(4, 3), torch.rand(2, 4, dtype=torch.float64), "input must have the layer's dtype torch.float32"),
    (lambda: AnalogConv2d(3, 2, 3), torch.rand(3, 8), r"input must have shape \[N, C, H, W\] or \[C, H, W\]"),
    (lambda: AnalogConv2d(3, 2, 3), torch.rand(2, 4, 8, 8), "input must have in_channels=3 channels; got 4"),
    (lambda: AnalogConv2d(3, 2, 5), torch.rand(1, 3, 4, 4), "at least as large as the dilated kernel"),
    (lambda: AnalogConv1d(2, 2, 3), torch.rand(2, 2, 4, 4), r"input must have shape \[N, C, L\] or \[C, L\]"),
    (lambda: AnalogConv2d(1, 2, 1, padding=1), torch.rand(2, 1, 1, 0), "input must have non-zero spatial dimensions"),
    (lambda: AnalogLinear(4, 3), torch.tensor([[0.0, float("nan"), 0.0, 0.0]]), "input must be finite"),
])
def test_bad_input_raises_and_leaves_tiles_untouched(make, x, match):
    layer = make()
    before = _state(layer)
    with pytest.raises((ValueError, TypeError), match=match):
        layer(x)
    _assert_same_state(before, _state(layer))


def test_bad_input_error_types():
    layer = AnalogLinear(4, 3)
    with pytest.raises(TypeError):
        layer(torch.rand(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError):
        layer(torch.rand(2, 5))
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        layer([1.0, 2.0, 3.0, 4.0])


@pytest.mark.cuda
def test_cuda_model_with_cpu_input_raises():
    layer = AnalogLinear(4, 3, device="cuda")
    before = _state(layer)
    with pytest.raises(ValueError, match="input must be on the layer's device cuda:0; got cpu"):
        layer(torch.rand(2, 4))
    _assert_same_state(before, _state(layer))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(in_features=0, out_features=3), ValueError, "in_features must be a positive int"),
    (dict(in_features=3, out_features=3, config=xbarsim.IOConfig()), TypeError, "config must be a TileConfig"),
    (dict(in_features=3, out_features=3, seed=-1), ValueError, "seed must be an int in"),
    (dict(in_features=3, out_features=3, dtype=torch.float16), TypeError, "dtype must be torch.float32 or torch.float64"),
    (dict(in_features=3, out_features=3, digital_bias=1), TypeError, "digital_bias must be a bool"),
])
def test_bad_construction(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AnalogLinear(**kwargs)


def test_bad_conv_construction():
    with pytest.raises(ValueError, match="groups must be 1"):
        AnalogConv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be 'zeros'"):
        AnalogConv2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding='same' requires stride 1"):
        AnalogConv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="kernel_size must be an int >= 1 or a tuple of 2"):
        AnalogConv2d(4, 4, (3, 3, 3))


def test_set_weights_validates_before_changing_anything():
    layer = AnalogLinear(5, 3, config=ideal_config(), mapping=xbarsim.MappingConfig(max_in_size=2), digital_bias=False)
    before = _state(layer)
    bad = torch.rand(3, 5)
    bad[2, 4] = float("inf")
    with pytest.raises(ValueError, match=r"AnalogLinear.set_weights: weight must be finite"):
        layer.set_weights(bad)
    with pytest.raises(ValueError, match=r"weight must have shape \[3, 5\]; got \(5, 3\)"):
        layer.set_weights(torch.rand(5, 3))
    with pytest.raises(ValueError, match=r"bias must have shape \[3\]"):
        layer.set_weights(torch.rand(3, 5), torch.rand(4))
    _assert_same_state(before, _state(layer))


@pytest.mark.parametrize("digital_bias", [True, False])
def test_weights_round_trip_across_tile_grid(digital_bias):
    layer = AnalogConv2d(3, 5, 3, config=ideal_config(), digital_bias=digital_bias,
                         mapping=xbarsim.MappingConfig(max_in_size=8, max_out_size=2))
    assert len(layer.blocks) == 3 * 4  # 5 outputs -> 2,2,1; 27(+1) inputs -> 4 blocks
    w, b = torch.randn(5, 3, 3, 3) * 0.1, torch.randn(5) * 0.1
    layer.set_weights(w, b)
    w2, b2 = layer.get_weights()
    assert torch.equal(w2, w) and torch.equal(b2, b)
    layer.set_weights(w * 2)  # bias=None keeps the bias
    assert torch.equal(layer.get_weights()[1], b)


def test_initialisation_matches_torch_layers_draw_for_draw():
    torch.manual_seed(7)
    ref = torch.nn.Conv2d(2, 4, 3)
    torch.manual_seed(7)
    layer = AnalogConv2d(2, 4, 3, config=ideal_config())
    w, b = layer.get_weights()
    assert torch.equal(w, ref.weight.detach()) and torch.equal(b, ref.bias.detach())
    torch.manual_seed(8)
    ref = torch.nn.Linear(6, 2)
    torch.manual_seed(8)
    w, b = AnalogLinear(6, 2, config=ideal_config()).get_weights()
    assert torch.equal(w, ref.weight.detach()) and torch.equal(b, ref.bias.detach())


def test_block_seeds_are_the_layer_seeds_children():
    layer = AnalogLinear(10, 4, mapping=xbarsim.MappingConfig(max_in_size=4), seed=123)
    seeds = [t.seed for t in layer.blocks]
    assert seeds == [child_seed(123, k) for k in range(3)] and len(set(seeds + [123])) == 4


def test_double_and_to_move_every_tile_buffer():
    model = torch.nn.Sequential(AnalogLinear(4, 3, mapping=xbarsim.MappingConfig(max_in_size=2)), AnalogConv1d(1, 2, 2))
    model.double()
    for name, t in model.state_dict().items():
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            assert t.dtype == torch.float64, name
    assert model[0](torch.rand(2, 4, dtype=torch.float64)).dtype == torch.float64
    model.to("cpu", torch.float32)
    assert all(t.dtype == torch.float32 for t in model.state_dict().values()
               if isinstance(t, torch.Tensor) and t.is_floating_point())
    assert analog_layer_of(model[0].analog_ctx) is model[0]


@pytest.mark.cuda
def test_cuda_move_keeps_state_and_optimizer_link():
    model = torch.nn.Sequential(AnalogLinear(4, 3, config=ideal_config()))
    sd = {k: v.clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    model.cuda()
    assert all(v.is_cuda for v in model.state_dict().values() if isinstance(v, torch.Tensor))
    for k, v in sd.items():
        assert torch.equal(model.state_dict()[k].cpu(), v)
    assert analog_layer_of(model[0].analog_ctx) is model[0]
    model(torch.rand(2, 4, device="cuda")).sum().backward()
    xbarsim.optim.AnalogSGD(model.parameters(), lr=0.1).step()


def test_deepcopy_and_pickle_give_independent_layers():
    layer = AnalogLinear(4, 3, config=ideal_config())
    layer(torch.rand(2, 4)).sum().backward()
    clone = copy.deepcopy(layer)
    assert clone._handle != layer._handle and not clone.has_recorded_batch()
    assert analog_layer_of(clone.analog_ctx) is clone and analog_layer_of(layer.analog_ctx) is layer
    assert torch.equal(clone.get_weights()[0], layer.get_weights()[0])
    clone(torch.rand(2, 4)).sum().backward()  # the clone records into itself
    assert clone.has_recorded_batch() and len(layer._records) == 1
    buf = io.BytesIO()
    torch.save(layer, buf, pickle_protocol=pickle.DEFAULT_PROTOCOL)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert analog_layer_of(loaded.analog_ctx) is loaded and torch.equal(loaded.get_weights()[0], layer.get_weights()[0])


def test_eval_noise_free_reads_exactly_and_draws_nothing():
    torch.manual_seed(0)
    config = xbarsim.TileConfig()  # default non-ideal IO: noisy reads
    layer = AnalogLinear(8, 4, config=config, eval_noise_free=True)
    x = torch.rand(16, 8)
    w, b = layer.get_weights()
    layer.eval()
    calls = int(layer.blocks[0].rng_counter)
    torch.testing.assert_close(layer(x), x @ w.t() + b, rtol=0, atol=1e-6)
    assert int(layer.blocks[0].rng_counter) == calls
    layer.train()
    noisy = layer(x)
    assert not torch.allclose(noisy, x @ w.t() + b, atol=1e-3)


def test_eval_keeps_the_noisy_read_by_default():
    torch.manual_seed(0)
    layer = AnalogLinear(8, 4).eval()
    x = torch.rand(16, 8)
    w, b = layer.get_weights()
    assert not torch.allclose(layer(x), x @ w.t() + b, atol=1e-3)


def test_extra_repr_mentions_the_mapping():
    layer = AnalogLinear(10, 4, mapping=xbarsim.MappingConfig(max_in_size=4), digital_bias=False)
    text = repr(layer)
    assert "in_features=10, out_features=4, bias=True" in text and "analog_bias=True" in text and "blocks=1x3" in text


def test_layers_build_the_runtime_of_the_configured_algorithm():
    from xbarsim.algorithms import MixedPrecision, ResidualLearning, signal_warm_start
    from xbarsim.presets import PaperSoftBounds

    resl = xbarsim.TileConfig(device_model=PaperSoftBounds(4), algorithm=ResidualLearning(
        n_tiles=3, gamma=0.5, warm_start="paper", scale_fast_lr=False))
    model = torch.nn.Sequential(AnalogConv2d(1, 2, 3, config=resl, seed=0, mapping=xbarsim.MappingConfig(max_in_size=5)),
                                torch.nn.Flatten(),
                                AnalogLinear(2 * 4 * 4, 3, config=xbarsim.TileConfig(algorithm=MixedPrecision()), seed=1))
    assert [type(t).__name__ for t in model[0].blocks] == ["ResidualLearningTile"] * 2
    assert type(model[2].blocks[0]).__name__ == "MixedPrecisionTile"
    w0 = [layer.get_weights()[0].clone() for layer in (model[0], model[2])]
    model(torch.rand(2, 1, 6, 6)).square().sum().backward()
    xbarsim.optim.AnalogSGD(model.parameters(), lr=0.1).step()
    assert any(not torch.equal(layer.get_weights()[0], w) for layer, w in zip((model[0], model[2]), w0))
    assert signal_warm_start(model) == 2  # the training loop's hook reaches the tiles inside layers


def test_conv_with_an_empty_batch_matches_torch():
    """Found by tests/fuzz: a batch of 0 images failed in a reshape (torch's Conv2d returns an empty output)."""
    conv = AnalogConv2d(2, 3, 2, padding=1)
    x = torch.rand(0, 2, 4, 4, requires_grad=True)
    y = conv(x)
    assert y.shape == torch.nn.Conv2d(2, 3, 2, padding=1)(x).shape == (0, 3, 5, 5)
    y.sum().backward()
    assert x.grad.shape == x.shape


def test_eager_calls_skip_the_op_dispatcher_with_the_same_bits(monkeypatch):
    """Eager training calls a layer's op implementation directly (nn/_autograd.py: _eager); through the
    registered custom ops (what torch.compile sees) the steps give the same outputs, gradients, weights
    and state, bit for bit."""
    from xbarsim.nn import _autograd

    def run(eager: bool):
        monkeypatch.setattr(_autograd, "_eager", lambda t: eager and type(t) is torch.Tensor)
        torch.manual_seed(0)  # the layers' initial weights come from torch's generator
        model = torch.nn.Sequential(AnalogConv2d(1, 3, 3, config=xbarsim.TileConfig(), seed=4), torch.nn.Flatten(),
                                    AnalogLinear(3 * 6 * 6, 5, config=xbarsim.TileConfig(), seed=5))
        opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(0)
        outs = []
        for _ in range(3):
            x = torch.rand(4, 1, 8, 8, generator=g, requires_grad=True)
            opt.zero_grad()
            y = model(x)
            y.square().sum().backward()
            opt.step()
            outs += [y.detach(), x.grad]
        return outs, _state(model)

    direct, dispatched = run(True), run(False)
    for a, b in zip(direct[0], dispatched[0]):
        assert torch.equal(a, b)
    _assert_same_state(direct[1], dispatched[1])
