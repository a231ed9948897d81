"""Device-to-device population (analog-tile.md §3.2) and cycle-to-cycle pulse noise (§3.3):
spreads have the configured std, the log-normal option its shape, enforce_consistency its
postconditions, stuck cells their fraction. Fixed seeds, 5 standard errors from the distributions."""
import math

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices
from xbarsim.ops import update as U

K = 5.0
SHAPE = (256, 256)
N = SHAPE[0] * SHAPE[1]


def population(dev, seed=123):
    return {k: v.double().numpy().ravel() for k, v in U.populate_device(dev, *SHAPE, seed=seed,
                                                                         dtype=torch.float64).items()}


def check_normal(sample, mean, std):
    n = len(sample)
    assert abs(sample.mean() - mean) < K * std / math.sqrt(n)
    assert abs(sample.std(ddof=1) - std) < K * std / math.sqrt(2 * (n - 1))  # SE of a normal sample's std


def test_step_and_bound_spreads():
    dev = devices.ConstantStep(dw_min=0.01, dw_min_dtod=0.3, up_down_dtod=0.0, w_max_dtod=0.2, w_min_dtod=0.25,
                               enforce_consistency=False)
    c = population(dev)
    g = c["scale_up"] / 0.01
    check_normal(g, 1.0, 0.3)
    assert np.array_equal(c["scale_up"], c["scale_down"])  # up_down_dtod = 0
    live = c["b_min"] < c["b_max"]  # dead cells (b_min > b_max drawn) sit at the midpoint
    assert live.mean() > 0.999
    check_normal(c["b_max"] / 0.6 - 1.0, 0.0, 0.2)
    check_normal(c["b_min"] / -0.6 - 1.0, 0.0, 0.25)


def test_up_down_asymmetry():
    dev = devices.ConstantStep(dw_min=0.01, dw_min_dtod=0.0, up_down=0.2, up_down_dtod=0.05)
    c = population(dev)
    check_normal(c["scale_up"] / 0.01, 1.0, 0.05)  # up_down > 0 shortens the down step only
    check_normal(c["scale_down"] / 0.01, 0.8, 0.05)
    rho = c["scale_up"] / 0.01 - 1.0
    assert np.allclose(c["scale_down"] / 0.01, 0.8 - rho)


def test_log_normal_step_spread():
    dev = devices.ConstantStep(dw_min=0.01, dw_min_dtod=0.5, dw_min_dtod_log_normal=True, up_down_dtod=0.0)
    c = population(dev)
    g = c["scale_up"] / 0.01
    assert g.min() > 0
    check_normal(np.log(g), 0.0, 0.5)
    # log-normal shape: mean exp(s^2/2), right skew
    s2 = 0.25
    mean, var = math.exp(s2 / 2), (math.exp(s2) - 1) * math.exp(s2)
    assert abs(g.mean() - mean) < K * math.sqrt(var / N)
    skew = ((g - g.mean()) ** 3).mean() / g.std() ** 3
    assert skew > 1.0  # exact value (e^s2 + 2) sqrt(e^s2 - 1) = 1.75


def test_enforce_consistency_postconditions():
    wild = dict(dw_min=0.01, dw_min_dtod=1.5, w_max_dtod=1.5, w_min_dtod=1.5, up_down=0.3, up_down_dtod=1.0)
    on = population(devices.ConstantStep(**wild))
    assert np.all(on["b_min"] <= 0) and np.all(on["b_max"] >= 0)
    assert np.all(on["scale_up"] >= 0) and np.all(on["scale_down"] >= 0)
    off = population(devices.ConstantStep(**wild, enforce_consistency=False))
    assert np.any(off["scale_up"] < 0) and np.any(off["b_max"] < 0)
    assert np.all(off["b_min"] <= off["b_max"])
    dead = off["b_min"] == off["b_max"]
    assert 0.01 < dead.mean() < 0.5


def test_corrupt_devices():
    prob = 0.1
    dev = devices.ConstantStep(dw_min=0.01, corrupt_devices_prob=prob, corrupt_devices_range=0.05)
    c = population(dev)
    stuck = c["b_min"] == c["b_max"]
    assert abs(stuck.mean() - prob) < K * math.sqrt(prob * (1 - prob) / N)
    assert np.all(c["scale_up"][stuck] == 0) and np.all(c["scale_down"][stuck] == 0)
    assert np.all(np.abs(c["b_min"][stuck]) <= 0.05)
    v = c["b_min"][stuck]
    assert abs(v.mean()) < K * 0.05 / math.sqrt(3 * stuck.sum())  # uniform on [-0.05, 0.05] (bounds are wider)


def test_perfect_bias_column():
    dev = devices.SoftBounds(dw_min=0.01, perfect_bias=True)
    c = {k: v.reshape(SHAPE) for k, v in population(dev).items()}
    assert np.all(c["scale_up"][:, -1] == 0.01) and np.all(c["scale_down"][:, -1] == 0.01)
    assert np.all(c["b_max"][:, -1] == pytest.approx(60.0)) and np.all(c["b_min"][:, -1] == pytest.approx(-60.0))
    assert np.std(c["scale_up"][:, :-1]) > 0.001


def test_linear_step_gamma_spread():
    dev = devices.LinearStep(dw_min=0.01, dw_min_dtod=0.0, up_down_dtod=0.0, gamma_up=2.0, gamma_down=3.0,
                             gamma_up_dtod=0.1, gamma_down_dtod=0.2)
    c = population(dev)
    check_normal(-c["slope_up"] * 0.6 / 0.01, 2.0, 0.1)  # slope = -gamma s / w_max
    check_normal(c["slope_down"] * 0.6 / 0.01, 3.0, 0.2)


def test_pulse_noise_normals():
    z = np.array([xbarsim._core.testing.pulse_normals4(9, 4, e) for e in range(1 << 16)]).ravel()
    n = len(z)
    assert abs(z.mean()) < K / math.sqrt(n)
    assert abs(z.var() - 1) < K * math.sqrt(2 / n)
    assert abs(np.mean(z ** 4) - 3) < K * math.sqrt(96 / n)
    assert np.abs(z).max() <= 5.8
    lanes = z.reshape(-1, 4)
    for a in range(4):
        for b in range(a + 1, 4):
            assert abs(np.corrcoef(lanes[:, a], lanes[:, b])[0, 1]) < K / math.sqrt(len(lanes))


@pytest.mark.parametrize("std", [0.3, 1.0])
def test_cycle_to_cycle_noise_through_the_update(std):
    """mean_count gives every cell exactly n pulses per vector, so ΔW = −s Σ(1 + σ ξ_k) over the n
    pulses of all vectors: mean −n s, variance n s² σ²."""
    s = 0.01
    dev = devices.ConstantStep(dw_min=s, dw_min_dtod=0.0, dw_min_std=std, w_min=-1e6, w_max=1e6, w_min_dtod=0.0,
                               w_max_dtod=0.0, up_down_dtod=0.0)
    cfg = UpdateConfig(pulse_type="mean_count", desired_bl=31)
    tile = xbarsim.AnalogTile(64, 64, TileConfig(device_model=dev, update=cfg), seed=17, dtype=torch.float64)
    x = torch.ones(4, 64, dtype=torch.float64)
    d = torch.full((4, 64), 7.0, dtype=torch.float64)  # k = 1*7*1/0.01 > 31: 31 pulses per vector
    tile.update(x, d, 1.0)
    n = 4 * 31
    w = tile.weight.numpy().ravel()
    # cells are independent: each pulse draws its own normal keyed by (sample, cell, pulse)
    check_normal(w, -n * s, s * std * math.sqrt(n))
