"""Single-pulse responses of every device model against the analog-tile.md §3.3 formulas in float64
(random cell parameters and states, through the _core.testing probe of the XB_HD step functions),
the population of §3.2 against a float64 reference fed with the same Philox normals, and the
float64 exact-math helpers."""
import math

import numpy as np
import pytest
import torch

from xbarsim import _core, devices
from xbarsim.ops import update as U
from xbarsim.ops._views import view

RTOL = 1e-12
rng = np.random.default_rng(11)


def pulse(dev, cell, w, up, xi, pw=None):
    kw = {}
    if pw is not None:
        kw = dict(piecewise_up=list(pw[0]), piecewise_down=list(pw[1]))
    return _core.testing.device_pulse(U.pack_device(dev), cell, float(w), bool(up), float(xi), "float64", **kw)


def random_cell():
    b_max = rng.uniform(0.2, 1.5)
    b_min = -rng.uniform(0.2, 1.5)
    return dict(b_min=b_min, b_max=b_max, scale_up=rng.uniform(0.01, 0.3), scale_down=rng.uniform(0.01, 0.3))


def clip(w, c):
    return min(max(w, c["b_min"]), c["b_max"])


def close(got, want):
    assert got == pytest.approx(want, rel=RTOL, abs=1e-15)


def states(c, n=20):
    return rng.uniform(c["b_min"], c["b_max"], n)


@pytest.mark.parametrize("std", [0.0, 0.3])
def test_constant_step(std):
    dev = devices.ConstantStep(dw_min_std=std)
    for _ in range(20):
        c = random_cell()
        for w in states(c):
            xi = rng.normal()
            close(pulse(dev, c, w, True, xi), clip(w + c["scale_up"] * (1 + std * xi), c))
            close(pulse(dev, c, w, False, xi), clip(w - c["scale_down"] * (1 + std * xi), c))


@pytest.mark.parametrize("mult", [True, False])
def test_linear_step(mult):
    dev = devices.LinearStep(mult_noise=mult, dw_min_std=0.2)
    for _ in range(20):
        c = random_cell()
        gu, gd = rng.uniform(0, 1, 2)
        ru, rd = 0.6, -0.6
        c.update(slope_up=-gu * c["scale_up"] / ru, slope_down=-gd * c["scale_down"] / rd)
        for w in states(c):
            xi = rng.normal()
            if mult:
                up = w + c["scale_up"] * (1 - gu * w / ru) * (1 + 0.2 * xi)
                down = w - c["scale_down"] * (1 - gd * w / rd) * (1 + 0.2 * xi)
            else:
                up = w + c["slope_up"] * w + c["scale_up"] * (1 + 0.2 * xi)
                down = w - (c["slope_down"] * w + c["scale_down"] * (1 + 0.2 * xi))
            close(pulse(dev, c, w, True, xi), clip(up, c))
            close(pulse(dev, c, w, False, xi), clip(down, c))


def test_soft_bounds():
    dev = devices.SoftBounds(dw_min_std=0.3)
    for _ in range(20):
        c = random_cell()
        c.update(slope_up=-c["scale_up"] / c["b_max"], slope_down=-c["scale_down"] / c["b_min"])
        for w in states(c):
            xi = rng.normal()
            close(pulse(dev, c, w, True, xi), clip(w + c["scale_up"] * (1 - w / c["b_max"]) * (1 + 0.3 * xi), c))
            close(pulse(dev, c, w, False, xi), clip(w - c["scale_down"] * (1 - w / c["b_min"]) * (1 + 0.3 * xi), c))


def test_soft_bounds_step_shrinks_linearly_to_zero_at_the_bound():
    dev = devices.SoftBounds(dw_min_std=0.0)
    c = dict(b_min=-0.8, b_max=1.2, scale_up=0.1, scale_down=0.15)
    c.update(slope_up=-0.1 / 1.2, slope_down=-0.15 / -0.8)
    ws = np.linspace(-0.8, 1.2, 41)
    up = np.array([pulse(dev, c, w, True, 0.0) - w for w in ws])
    down = np.array([w - pulse(dev, c, w, False, 0.0) for w in ws])
    assert up == pytest.approx(0.1 * (1 - ws / 1.2), abs=1e-15)
    assert down[1:] == pytest.approx(0.15 * (1 - ws[1:] / -0.8), abs=1e-15)
    assert up[-1] == pytest.approx(0.0, abs=1e-16) and down[0] == pytest.approx(0.0, abs=1e-16)
    assert np.all(np.diff(up) < 0) and np.all(np.diff(down) > 0)


@pytest.mark.parametrize("mult", [False, True])
def test_soft_bounds_reference(mult):
    dev = devices.SoftBoundsReference(mult_noise=mult, dw_min_std=0.4)
    for _ in range(20):
        c = random_cell()
        r = rng.uniform(-0.1, 0.1)
        c["reference"] = r
        for w in rng.uniform(c["b_min"] - r, c["b_max"] - r, 20):
            xi = rng.normal()
            g = w + r
            au, ad = g / c["b_max"], g / c["b_min"]
            if mult:
                gu = g + c["scale_up"] * (1 - au) * (1 + 0.4 * xi)
                gd = g - c["scale_down"] * (1 - ad) * (1 + 0.4 * xi)
            else:
                gu = g + c["scale_up"] * (1 - au + 0.4 * xi)
                gd = g - c["scale_down"] * (1 - ad + 0.4 * xi)
            close(pulse(dev, c, w, True, xi), clip(gu, c) - r)
            close(pulse(dev, c, w, False, xi), clip(gd, c) - r)


@pytest.mark.parametrize("extra", [dict(), dict(dw_min_std_add=0.05, dw_min_std_slope=0.1)])
def test_exp_step(extra):
    dev = devices.ExpStep(dw_min_std=0.5, **extra)
    for _ in range(20):
        c = random_cell()
        for w in states(c):
            xi = rng.normal()
            z = 2 * dev.a * w / (c["b_max"] - c["b_min"]) + dev.b
            yu = max(1 - dev.A_up * math.exp(dev.gamma_up * z), 0)
            yd = max(1 - dev.A_down * math.exp(-dev.gamma_down * z), 0)
            for up, delta in ((True, yu * c["scale_up"]), (False, -yd * c["scale_down"])):
                if extra:
                    want = w + delta + 0.5 * (abs(delta) + 0.05 + 0.1 * abs(w)) * xi
                else:
                    want = w + delta * (1 + 0.5 * xi)
                assert pulse(dev, c, w, up, xi) == pytest.approx(clip(want, c), rel=1e-12, abs=1e-14)
    # a frozen cell (b_max == b_min) is skipped
    assert pulse(dev, dict(b_min=0.1, b_max=0.1, scale_up=0.1, scale_down=0.1), 0.1, True, 0.3) == 0.1


def test_pow_step():
    dev = devices.PowStep(dw_min_std=0.2)
    for _ in range(20):
        c = random_cell()
        c.update(gamma_up=rng.uniform(0.3, 3), gamma_down=rng.uniform(0.3, 3))
        rr = c["b_max"] - c["b_min"]
        for w in states(c):
            xi = rng.normal()
            up = w + c["scale_up"] * ((c["b_max"] - w) / rr) ** c["gamma_up"] * (1 + 0.2 * xi)
            down = w - c["scale_down"] * ((w - c["b_min"]) / rr) ** c["gamma_down"] * (1 + 0.2 * xi)
            assert pulse(dev, c, w, True, xi) == pytest.approx(clip(up, c), rel=1e-12, abs=1e-14)
            assert pulse(dev, c, w, False, xi) == pytest.approx(clip(down, c), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("length", [1, 2, 5, 64, 100])
def test_piecewise_step(length):
    up_t = tuple(rng.uniform(0.2, 2, length))
    down_t = tuple(rng.uniform(0.2, 2, length))
    dev = devices.PiecewiseStep(dw_min_std=0.1, piecewise_up=up_t, piecewise_down=down_t)

    def node(table, w, c):
        if length == 1 or not c["b_max"] > c["b_min"]:
            return table[0]
        n = length - 1
        u = max((w - c["b_min"]) / (c["b_max"] - c["b_min"]) * n, 0.0)
        k = min(math.floor(u), n - 1)
        t = min(u - k, 1.0)
        return (1 - t) * table[k] + t * table[k + 1]

    for _ in range(10):
        c = random_cell()
        for w in list(states(c)) + [c["b_min"], c["b_max"]]:
            xi = rng.normal()
            up = w + node(up_t, w, c) * c["scale_up"] * (1 + 0.1 * xi)
            down = w - node(down_t, w, c) * c["scale_down"] * (1 + 0.1 * xi)
            close(pulse(dev, c, w, True, xi, (up_t, down_t)), clip(up, c))
            close(pulse(dev, c, w, False, xi, (up_t, down_t)), clip(down, c))


# --- population (§3.2) -------------------------------------------------------------------------------

def philox_normals(seed, cells, params):
    out = torch.empty(params * cells)
    _core.testing.fill_random(view(out), seed, 32, 0, "normal")  # Stream::kPopulation, call 0
    return out.double().numpy().reshape(params, cells)


def philox_uniforms(seed, cells, params):
    out = torch.empty(params * cells)
    _core.testing.fill_random(view(out), seed, 32, 1, "uniform")  # Stream::kPopulation, call 1
    return out.double().numpy().reshape(params, cells)


def reference_population(dev, seed, out_size, in_size):
    cells = out_size * in_size
    xi = philox_normals(seed, cells, 11)
    uni = philox_uniforms(seed, cells, 2)
    b_max = dev.w_max * (1 + dev.w_max_dtod * xi[0])
    b_min = dev.w_min * (1 + dev.w_min_dtod * xi[1])
    g = np.exp(dev.dw_min_dtod * xi[2]) if dev.dw_min_dtod_log_normal else 1 + dev.dw_min_dtod * xi[2]
    rho = dev.up_down_dtod * xi[3]
    up_bias, down_bias = min(dev.up_down, 0), -max(dev.up_down, 0)
    s_up = (g + up_bias + rho) * dev.dw_min
    s_down = (g + down_bias - rho) * dev.dw_min
    if dev.enforce_consistency:
        s_up, s_down = np.abs(s_up), np.abs(s_down)
        swap = b_min > b_max
        b_min, b_max = np.where(swap, b_max, b_min), np.where(swap, b_min, b_max)
        b_max, b_min = np.abs(b_max), -np.abs(b_min)
    else:
        dead = b_min > b_max
        mid = (b_min + b_max) / 2
        b_min, b_max = np.where(dead, mid, b_min), np.where(dead, mid, b_max)
    stuck = uni[0] < dev.corrupt_devices_prob
    lo = np.maximum(np.minimum(b_min, b_max), -dev.corrupt_devices_range)
    hi = np.minimum(np.maximum(b_min, b_max), dev.corrupt_devices_range)
    v = lo + (hi - lo) * uni[1]
    b_min, b_max = np.where(stuck, v, b_min), np.where(stuck, v, b_max)
    s_up, s_down = np.where(stuck, 0, s_up), np.where(stuck, 0, s_down)
    if dev.perfect_bias:
        last = (np.arange(cells) % in_size) == in_size - 1
        s_up, s_down = np.where(last, dev.dw_min, s_up), np.where(last, dev.dw_min, s_down)
        b_min, b_max = np.where(last, 100 * dev.w_min, b_min), np.where(last, 100 * dev.w_max, b_max)
    out = dict(b_min=b_min, b_max=b_max, scale_up=s_up, scale_down=s_down)
    if isinstance(dev, devices.LinearStep):
        gu = dev.gamma_up + dev.gamma_up_dtod * xi[8]
        gd = dev.gamma_down + dev.gamma_down_dtod * xi[9]
        if not dev.allow_increasing:
            gu, gd = np.abs(gu), np.abs(gd)
        ru = np.full(cells, dev.w_max) if dev.mean_bound_reference else b_max
        rd = np.full(cells, dev.w_min) if dev.mean_bound_reference else b_min
        out["slope_up"] = np.where(ru != 0, -gu * s_up / np.where(ru != 0, ru, 1), 0)
        out["slope_down"] = np.where(rd != 0, -gd * s_down / np.where(rd != 0, rd, 1), 0)
    if isinstance(dev, devices.SoftBounds):
        out["slope_up"] = np.where(b_max != 0, -s_up / np.where(b_max != 0, b_max, 1), 0)
        out["slope_down"] = np.where(b_min != 0, -s_down / np.where(b_min != 0, b_min, 1), 0)
    if isinstance(dev, devices.SoftBoundsReference):
        ok = (b_max > 0) & (b_min < 0)
        kd = -s_down / np.where(ok, b_min, -1) * np.abs(1 + dev.slope_down_dtod * xi[9])
        ku = s_up / np.where(ok, b_max, 1) * np.abs(1 + dev.slope_up_dtod * xi[8])
        b_max = np.where(ok & (ku > 0), s_up / np.where(ku > 0, ku, 1), b_max)
        b_min = np.where(ok & (kd > 0), -s_down / np.where(kd > 0, kd, 1), b_min)
        r = dev.reference_mean + dev.reference_std * xi[10]
        if dev.subtract_symmetry_point:
            den = s_up / np.where(ok, b_max, 1) - s_down / np.where(ok, b_min, -1)
            r = r + np.where(ok & (den > 0), (s_up - s_down) / np.where(den > 0, den, 1), 0)
        out.update(b_min=b_min, b_max=b_max, reference=r)
    if isinstance(dev, devices.PowStep):
        gp = 1 + dev.pow_gamma_dtod * xi[8]
        rp = dev.pow_up_down_dtod * xi[9]
        gu = (min(dev.pow_up_down, 0) + gp + rp) * dev.pow_gamma
        gd = (-max(dev.pow_up_down, 0) + gp - rp) * dev.pow_gamma
        if dev.enforce_consistency:
            gu, gd = np.abs(gu), np.abs(gd)
        out.update(gamma_up=gu, gamma_down=gd)
    return {k: v.reshape(out_size, in_size) for k, v in out.items()}


POPULATION_CASES = [
    devices.ConstantStep(dw_min=0.01, dw_min_dtod=0.5, w_max_dtod=0.6, w_min_dtod=0.6, up_down=0.2, up_down_dtod=0.3),
    devices.ConstantStep(dw_min=0.01, dw_min_dtod=0.8, w_max_dtod=1.0, w_min_dtod=1.0, enforce_consistency=False,
                         up_down=-0.1),
    devices.ConstantStep(dw_min_dtod_log_normal=True, dw_min_dtod=0.7, corrupt_devices_prob=0.3, perfect_bias=True),
    devices.LinearStep(gamma_up=0.3, gamma_down=-0.2, gamma_up_dtod=0.4, allow_increasing=True),
    devices.LinearStep(gamma_up=0.3, gamma_down=0.5, mean_bound_reference=False),
    devices.SoftBounds(dw_min=0.05, w_min=-1.0, w_max=1.0),
    devices.SoftBoundsReference(dw_min=0.1, w_min=-1.0, w_max=1.0, slope_up_dtod=0.2, slope_down_dtod=0.3,
                                reference_mean=0.05, reference_std=0.1, subtract_symmetry_point=True),
    devices.PowStep(pow_gamma=2.0, pow_gamma_dtod=0.3, pow_up_down=0.4, pow_up_down_dtod=0.2),
    devices.ExpStep(),
    devices.PiecewiseStep(piecewise_up=(1, 2, 3), piecewise_down=(3, 2, 1)),
]


@pytest.mark.parametrize("dev", POPULATION_CASES, ids=lambda d: type(d).__name__)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_population_against_reference(dev, dtype):
    out_size, in_size, seed = 13, 17, 4242
    got = U.populate_device(dev, out_size, in_size, seed=seed, dtype=dtype)
    want = reference_population(dev, seed, out_size, in_size)
    assert set(got) == set(U.device_cell_fields(dev))
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == torch.float64 else dict(rtol=3e-6, atol=1e-7)
    for name, tensor in got.items():
        np.testing.assert_allclose(tensor.double().numpy(), want[name], err_msg=name, **tol)


def test_population_probe_equals_op():
    dev = devices.SoftBoundsReference(reference_std=0.1, slope_up_dtod=0.1)
    got = U.populate_device(dev, 3, 5, seed=9, dtype=torch.float64)
    for cell in range(15):
        probe = _core.testing.populate_cell(U.pack_device(dev), 9, 15, cell, 5, "float64")
        for name in got:
            assert got[name].reshape(-1)[cell].item() == probe[name]


# --- float64 exact math ------------------------------------------------------------------------------

def test_exact_log_exp_pow_float64():
    xs = np.concatenate([10 ** rng.uniform(-300, 300, 2000), rng.uniform(0.5, 2, 2000), [5e-324, 2.2e-308, 1.0]])
    for v in xs:
        assert _core.testing.exact_log64(v) == pytest.approx(math.log(v), rel=1e-15, abs=1e-300)
    for v in rng.uniform(-700, 700, 3000):
        assert _core.testing.exact_exp64(v) == pytest.approx(math.exp(v), rel=1e-15)
    assert _core.testing.exact_exp64(800.0) == math.inf and _core.testing.exact_exp64(-800.0) == 0.0
    for x, y in zip(rng.uniform(0, 1, 500), rng.uniform(0, 4, 500)):
        assert _core.testing.exact_pow(x, y) == pytest.approx(x ** y, rel=2e-14)
        assert _core.testing.exact_pow(x, y, "float32") == pytest.approx(np.float32(x) ** np.float32(y), rel=2e-6,
                                                                          abs=1e-30)
    assert _core.testing.exact_pow(0.0, 2.0) == 0.0 and _core.testing.exact_pow(0.0, 0.0) == 1.0
