"""The device processes applied on request (analog-tile.md §3.5) and their per-cell parameters
(§3.2 step 8): decay towards the reset bias, diffusion noise, reset of selected input lines, each
clipped to the cell's bounds. Exact float64 references where nothing is random; spreads and noise
within 5 standard errors of the distributions (fixed seeds)."""
import math

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, devices
from xbarsim.nn import AnalogLinear

K = 5.0
SHAPE = (256, 256)
N = SHAPE[0] * SHAPE[1]


def const(**fields):
    """ConstantStep on [-1, 1] without bound spread (set weights are not clipped), plus ``fields``."""
    return devices.ConstantStep(**{"dw_min": 0.01, "w_min": -1.0, "w_max": 1.0, "w_min_dtod": 0.0, "w_max_dtod": 0.0,
                                   **fields})


def tile(dev, w0, seed=11, shape=SHAPE):
    t = xbarsim.AnalogTile(*shape, TileConfig(device_model=dev), seed=seed, dtype=torch.float64)
    t.set_weights(w0 if isinstance(w0, torch.Tensor) else torch.full(shape, float(w0), dtype=torch.float64))
    return t


def check_normal(sample, mean, std):
    n = len(sample)
    assert abs(sample.mean() - mean) < K * std / math.sqrt(n)
    assert abs(sample.std(ddof=1) - std) < K * std / math.sqrt(2 * (n - 1))


def flat(t):
    return t.get_weights()[0].numpy().ravel()


def test_decay_matches_the_formula_without_spread():
    dev = const(lifetime=50.0, reset=0.2)
    w0 = (torch.rand(SHAPE, generator=torch.Generator().manual_seed(1), dtype=torch.float64) - 0.5) * 1.2
    t = tile(dev, w0)
    t.decay_weights(alpha=0.5)
    scale = 1.0 - 0.5 * (1.0 - (1.0 - 1.0 / 50.0))
    expected = (w0.numpy() - 0.2) * scale + 0.2
    np.testing.assert_allclose(t.get_weights()[0].numpy(), expected, rtol=0, atol=1e-15)


def test_decay_scale_spread():
    # w0 = 0.5, reset bias 0: one decay gives w1 = w0 (1 - 1/t), t = lifetime (1 + lifetime_dtod xi)
    dev = const(lifetime=100.0, lifetime_dtod=0.1)
    t = tile(dev, 0.5)
    t.decay_weights()
    lifetime = 1.0 / (1.0 - flat(t) / 0.5)
    check_normal(lifetime / 100.0 - 1.0, 0.0, 0.1)


def test_short_lifetime_decays_to_the_reset_bias_at_once():
    dev = const(lifetime=0.5, reset=-0.3)  # t <= 1: decay scale 0
    t = tile(dev, 0.7, shape=(8, 9))
    t.decay_weights()
    assert torch.equal(t.get_weights()[0], torch.full((8, 9), -0.3, dtype=torch.float64))


def test_reset_bias_spread_and_reset_noise():
    dev = const(reset=0.1, reset_dtod=0.05, reset_std=0.0)
    t = tile(dev, 0.5)
    t.reset_columns()
    bias = flat(t)
    check_normal(bias, 0.1, 0.05)
    # the same cells with c2c noise: the bias is a population draw (the same), the noise is fresh
    t2 = tile(const(reset=0.1, reset_dtod=0.05, reset_std=0.02), 0.5)
    t2.reset_columns()
    check_normal(flat(t2) - bias, 0.0, 0.02)


def test_decay_goes_towards_the_cells_reset_bias():
    dev = const(lifetime=0.5, reset=0.1, reset_dtod=0.05)
    t = tile(dev, 0.5, shape=(64, 64))
    t.decay_weights()
    r = tile(const(reset=0.1, reset_dtod=0.05, reset_std=0.0), 0.5, shape=(64, 64))
    r.reset_columns()
    assert torch.equal(t.get_weights()[0], r.get_weights()[0])


@pytest.mark.parametrize("dtod", [0.0, 0.3])
def test_diffusion_noise(dtod):
    dev = const(diffusion=0.01, diffusion_dtod=dtod)
    t = tile(dev, 0.0)
    t.diffuse_weights(alpha=2.0)
    step1 = flat(t)
    # Var = alpha^2 E[r^2], r = |0.01 (1 + dtod xi')|: E[r^2] = 0.01^2 (1 + dtod^2)
    check_normal(step1, 0.0, 2.0 * 0.01 * math.sqrt(1.0 + dtod ** 2))
    t.diffuse_weights(alpha=2.0)
    step2 = flat(t) - step1
    assert abs(np.corrcoef(step1, step2)[0, 1]) < K / math.sqrt(N)  # fresh noise every call (dtod = 0)


def test_diffusion_rate_is_per_cell():
    dev = const(diffusion=0.01, diffusion_dtod=0.5)
    t = tile(dev, 0.0)
    steps = []
    for _ in range(40):
        before = flat(t)
        t.diffuse_weights()
        steps.append(flat(t) - before)
    rate = np.sqrt(np.mean(np.square(steps), axis=0))  # per-cell rms over 40 calls: |0.01 (1 + 0.5 xi')|
    assert rate.std() > 0.003  # about 0.005 for a per-cell rate, about 0.0011 (sampling) for a shared one


def test_processes_clip_to_the_cells_bounds():
    dev = const(w_min=-0.5, w_max=0.5, reset=2.0, reset_std=0.0)
    t = tile(dev, 0.0, shape=(8, 8))
    t.reset_columns()
    assert torch.equal(t.get_weights()[0], torch.full((8, 8), 0.5, dtype=torch.float64))


def test_reset_columns_selects_input_lines():
    dev = const(reset=0.0, reset_std=0.0)
    for columns in ([1, -1], torch.tensor([1, 5]), torch.tensor([False, True, False, False, False, True])):
        t = tile(dev, 0.3, shape=(4, 6))
        t.reset_columns(columns)
        w = t.get_weights()[0]
        assert torch.all(w[:, [1, 5]] == 0.0) and torch.all(w[:, [0, 2, 3, 4]] == 0.3)


def test_layer_reset_columns_across_split_tiles():
    dev = const(reset=0.0, reset_std=0.0)
    layer = AnalogLinear(7, 3, bias=True, config=TileConfig(device_model=dev), mapping=xbarsim.MappingConfig(max_in_size=3),
                         digital_bias=False, dtype=torch.float64)
    layer.set_matrix_weights(torch.full((3, 7), 0.4, dtype=torch.float64), torch.full((3,), 0.2, dtype=torch.float64))
    layer.reset_columns([0, 4, 6])
    w, b = layer.get_matrix_weights()
    assert torch.all(w[:, [0, 4, 6]] == 0.0) and torch.all(w[:, [1, 2, 3, 5]] == 0.4) and torch.all(b == 0.2)
    layer.reset_columns()
    w, b = layer.get_matrix_weights()
    assert torch.all(w == 0.0) and torch.all(b == 0.0)


def test_write_noise_device_processes_the_persistent_weights():
    dev = devices.LinearStep(dw_min=0.01, w_min=-1.0, w_max=1.0, w_min_dtod=0.0, w_max_dtod=0.0, write_noise_std=2.0,
                             lifetime=10.0)
    t = tile(dev, 0.4, shape=(32, 32))
    before = t.weight_persistent.clone()
    t.decay_weights()
    np.testing.assert_allclose(t.weight_persistent.numpy(), before.numpy() * 0.9, rtol=0, atol=1e-15)
    noise = (t.weight - t.weight_persistent).numpy().ravel()
    check_normal(noise, 0.0, 2.0 * 0.01)


def test_inactive_processes_change_nothing():
    t = tile(const(), 0.3, shape=(5, 5))
    calls = int(t.rng_counter)
    t.decay_weights()
    t.diffuse_weights()
    assert torch.equal(t.get_weights()[0], torch.full((5, 5), 0.3, dtype=torch.float64)) and int(t.rng_counter) == calls


@pytest.mark.parametrize("call, exc, match", [
    (lambda t: t.decay_weights(alpha=-1.0), ValueError, "alpha"),
    (lambda t: t.diffuse_weights(alpha=float("nan")), ValueError, "alpha"),
    (lambda t: t.decay_weights(alpha=True), ValueError, "alpha"),
    (lambda t: t.reset_columns([0, 9]), IndexError, "columns"),
    (lambda t: t.reset_columns(torch.tensor([True, False])), ValueError, "columns"),
    (lambda t: t.reset_columns(torch.tensor([0.5])), TypeError, "columns"),
    (lambda t: t.reset_columns("all"), TypeError, "columns"),
])
def test_bad_arguments_raise_and_leave_the_tile_untouched(call, exc, match):
    t = tile(const(lifetime=5.0, diffusion=0.1), 0.3, shape=(4, 6))
    state = {k: v.clone() for k, v in t.state_dict().items() if isinstance(v, torch.Tensor)}
    calls = int(t.rng_counter)
    with pytest.raises(exc, match=match):
        call(t)
    assert int(t.rng_counter) == calls
    for k, v in t.state_dict().items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, state[k]), k


def test_multi_tile_processes_every_sub_tile():
    dev = const(lifetime=4.0)
    cfg = TileConfig(device_model=dev, algorithm=xbarsim.algorithms.ResidualLearning(n_tiles=3, gamma=0.5))
    mt = xbarsim.algorithms.make_tile(5, 6, cfg, seed=3, dtype=torch.float64)
    mt.set_tile_weights(torch.full((3, 5, 6), 0.4, dtype=torch.float64))
    mt.decay_weights()
    assert torch.allclose(mt.get_tile_weights(), torch.full((3, 5, 6), 0.3, dtype=torch.float64), rtol=0, atol=1e-15)
    gammas = torch.as_tensor(mt.gammas(), dtype=torch.float64).reshape(-1, 1, 1)
    assert torch.allclose(mt.get_weights()[0], (gammas * mt.get_tile_weights()).sum(0), rtol=0, atol=1e-14)


def test_same_seed_same_processes():
    dev = const(diffusion=0.05, reset_std=0.1, reset_dtod=0.2)
    a, b = tile(dev, 0.1, shape=(16, 16)), tile(dev, 0.1, shape=(16, 16))
    for t in (a, b):
        t.diffuse_weights()
        t.reset_columns([3])
    assert torch.equal(a.get_weights()[0], b.get_weights()[0]) and int(a.rng_counter) == int(b.rng_counter)


def test_layer_decay_and_diffusion_reach_every_tile():
    dev = const(lifetime=4.0)
    layer = AnalogLinear(7, 3, bias=False, config=TileConfig(device_model=dev), mapping=xbarsim.MappingConfig(max_in_size=3),
                         dtype=torch.float64)
    layer.set_matrix_weights(torch.full((3, 7), 0.4, dtype=torch.float64))
    layer.decay_weights()
    assert torch.allclose(layer.get_matrix_weights()[0], torch.full((3, 7), 0.3, dtype=torch.float64), rtol=0,
                          atol=1e-15)
    layer.diffuse_weights()  # no diffusion configured: nothing changes
    assert torch.allclose(layer.get_matrix_weights()[0], torch.full((3, 7), 0.3, dtype=torch.float64), rtol=0,
                          atol=1e-15)
    with pytest.raises(ValueError, match="AnalogLinear.decay_weights: alpha"):
        layer.decay_weights(alpha=-2.0)
