"""Quantisation noise of a pulsed update (paper Lemma 1, analog-tile.md §4): for a constant-step
device without noise or variation, ΔW = −η x d + ζ with E[ζ] = 0 and Var[ζ] = |η x d| Δw (1 − |η x d| /
(BL Δw)); cells sharing a line are correlated through its bit line. Fixed seeds, 5 standard errors
derived from the binomial moments, never loosened.

Independent repetitions come cheaply from one call: a 1×R tile and a batch of R vectors, vector b
being (x = ±e_b, d): only cell b sees vector b, and every vector draws fresh bit lines.
"""
import math

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices

K = 5.0
F64 = torch.float64
R = 128


def ideal(dw_min):
    return devices.ConstantStep(dw_min=dw_min, dw_min_dtod=0.0, dw_min_std=0.0, w_min=-1e6, w_max=1e6,
                                w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0)


def lemma_samples(dw_min, x_val, d_val, lr, bl_management, n, seed):
    """n independent ΔW of one cell updated with (x_val, d_val, lr)."""
    cfg = UpdateConfig(update_bl_management=bl_management, update_management=True, desired_bl=31)
    tile = xbarsim.AnalogTile(1, R, TileConfig(device_model=ideal(dw_min), update=cfg), seed=seed, dtype=F64)
    x = x_val * torch.eye(R, dtype=F64)
    d = torch.full((R, 1), d_val, dtype=F64)
    out, prev = [], tile.weight[0].clone()
    for _ in range(n // R):
        tile.update(x, d, lr)
        cur = tile.weight[0].clone()
        out.append(cur - prev)
        prev = cur
    return torch.cat(out).numpy()


def var_se(var, kurt, n):
    """Standard error of the unbiased sample variance of n iid draws with kurtosis kurt."""
    return var * math.sqrt((kurt - 1 + 2 / (n - 1)) / n)


def binomial_checks(samples, eps, bl, p, mean_expected):
    n = len(samples)
    var = eps ** 2 * bl * p * (1 - p)
    if var == 0:  # p = 1: every slot fires on both lines, the update is exact (up to the float64
        # rounding of differences of accumulated weights)
        np.testing.assert_allclose(samples, mean_expected, rtol=0, atol=1e-9)
        return var
    assert abs(samples.mean() - mean_expected) < K * math.sqrt(var / n)
    kurt = 3 + (1 - 6 * p * (1 - p)) / (bl * p * (1 - p))
    assert abs(samples.var(ddof=1) - var) < K * var_se(var, kurt, n)
    return var


GRID = [(dw, k, bl_man) for dw in (0.5, 0.2, 0.125) for k in (0.05, 0.5, 3.7, 30.0) for bl_man in (True, False)]


def _run_case(dw_min, k, bl_man, n, seed):
    lr = 0.5
    sign = -1.0 if (int(k * 10) + int(bl_man)) % 2 else 1.0  # both signs of x d across the grid
    x_val, d_val = sign * 1.0, k * dw_min / lr
    samples = lemma_samples(dw_min, x_val, d_val, lr, bl_man, n, seed)
    bl = min(math.ceil(k), 31) if bl_man else 31
    p = k / bl  # P(both lines fire in a slot) = p_j q_i
    var = binomial_checks(samples, dw_min, bl, p, -lr * x_val * d_val)
    # the spec's closed form of the variance
    assert var == pytest.approx(abs(lr * x_val * d_val) * dw_min * (1 - abs(lr * x_val * d_val) / (bl * dw_min)))
    # every change is a whole number of steps
    steps = samples / dw_min
    assert np.allclose(steps, np.rint(steps), atol=1e-9)


@pytest.mark.parametrize("dw_min, k, bl_man", GRID)
def test_lemma1_single_cell(dw_min, k, bl_man):
    _run_case(dw_min, k, bl_man, n=1 << 16, seed=1000 + GRID.index((dw_min, k, bl_man)))


@pytest.mark.slow
@pytest.mark.parametrize("dw_min, k, bl_man", [(0.5, 0.05, True), (0.2, 0.5, False), (0.125, 3.7, True),
                                               (0.5, 30.0, False)])
def test_lemma1_single_cell_spec_size(dw_min, k, bl_man):
    """The spec's protocol size, N = 10^6 repetitions, for one case per k (the grid above uses 2^16)."""
    _run_case(dw_min, k, bl_man, n=R * 7813, seed=5000 + GRID.index((dw_min, k, bl_man)))


@pytest.mark.parametrize("bl_man", [True, False])
def test_clipped_update_at_the_largest_element(bl_man):
    # k = 0.5 * 1 * 40 / 0.5 = 40 > desired_bl = 31: both probabilities saturate at the largest cell
    samples = lemma_samples(0.5, -1.0, 40.0, 0.5, bl_man, n=R * 4, seed=7)
    assert np.all(samples == 0.5 * 31)  # -sign(x d) * dw_min * desired_bl


def test_covariance_of_cells_sharing_lines():
    """4×3 tile, distinct x and d: each cell's mean and variance, and the covariances created by
    shared bit lines (§4 step 2); cells sharing no line are uncorrelated."""
    eps, lr = 0.2, 0.3
    xv = np.array([0.9, -0.4, 0.25])
    dv = np.array([1.1, 0.5, -0.8, 0.3])
    reps = 32
    cfg = UpdateConfig(desired_bl=31)  # BL and update management on
    tile = xbarsim.AnalogTile(4 * reps, 3, TileConfig(device_model=ideal(eps), update=cfg), seed=21, dtype=F64)
    x = torch.tensor(xv, dtype=F64).repeat(reps, 1)
    d = torch.zeros(reps, 4 * reps, dtype=F64)
    for r in range(reps):  # vector r writes block r (rows 4r..4r+3): independent replicas of a 4×3 tile
        d[r, 4 * r:4 * r + 4] = torch.tensor(dv)
    calls = 1024
    blocks = []
    prev = tile.weight.clone()
    for _ in range(calls):
        tile.update(x, d, lr)
        blocks.append((tile.weight - prev).reshape(reps, 4, 3).numpy())
        prev = tile.weight.clone()
    n_ij = -np.concatenate(blocks) / eps * np.sign(dv)[None, :, None] * np.sign(xv)[None, None, :]  # counts
    N = n_ij.shape[0]
    bl, a, b = xbarsim._core.testing.calc_bl_ab(lr, eps, 31, True, True, True, 1.0, float(np.abs(xv).max()),
                                                float(np.abs(dv).max()))
    p = np.minimum(b * np.abs(xv), 1)
    q = np.minimum(a * np.abs(dv), 1)
    mean = bl * q[:, None] * p[None, :]
    var = bl * (q[:, None] * p[None, :]) * (1 - q[:, None] * p[None, :])
    assert np.all(np.abs(n_ij.mean(0) - mean) < K * np.sqrt(var / N))
    for i in range(4):
        for j in range(3):
            s = n_ij[:, i, j]
            kurt = 3 + (1 - 6 * (mean[i, j] / bl) * (1 - mean[i, j] / bl)) / var[i, j]
            assert abs(s.var(ddof=1) - var[i, j]) < K * var_se(var[i, j], kurt, N)

    def check_cov(u, v, expected):
        uc, vc = u - u.mean(), v - v.mean()
        se = np.std(uc * vc) / math.sqrt(N)
        assert abs(np.mean(uc * vc) - expected) < K * se

    for i in range(4):
        for j in range(3):
            for j2 in range(j + 1, 3):  # same output line
                check_cov(n_ij[:, i, j], n_ij[:, i, j2], bl * q[i] * (1 - q[i]) * p[j] * p[j2])
    for j in range(3):
        for i in range(4):
            for i2 in range(i + 1, 4):  # same input line
                check_cov(n_ij[:, i, j], n_ij[:, i2, j], bl * p[j] * (1 - p[j]) * q[i] * q[i2])
    check_cov(n_ij[:, 0, 0], n_ij[:, 1, 1], 0.0)  # no shared line
    check_cov(n_ij[:, 2, 1], n_ij[:, 3, 2], 0.0)
    # the covariances are real, not zero: the largest is many standard errors away from 0
    assert np.corrcoef(n_ij[:, 0, 0], n_ij[:, 0, 1])[0, 1] > 0.05


def test_sto_round_probabilities():
    """res with stochastic rounding (§2.4): P = res·rint(p/res + U − ½) is res·floor(p/res) or one step
    more, with probability frac(p/res); each line rounds on its own, so E[n] = BL·E[P]·E[Q] (P
    saturating at 1)."""
    eps, lr, k = 0.5, 0.5, 3.7
    cfg = UpdateConfig(desired_bl=31, res=0.3, sto_round=True)
    tile = xbarsim.AnalogTile(1, R, TileConfig(device_model=ideal(eps), update=cfg), seed=3, dtype=F64)
    x = torch.eye(R, dtype=F64)
    d = torch.full((R, 1), k * eps / lr, dtype=F64)
    total = []
    for _ in range(128):
        before = tile.weight[0].clone()
        tile.update(x, d, lr)
        total.append((tile.weight[0] - before).numpy())
    s = np.concatenate(total)
    bl = 4  # ceil(k)
    p = math.sqrt(k / bl)  # p = q = 0.9618 -> 0.9 or 1.2 (fires always)
    frac = p / 0.3 - math.floor(p / 0.3)
    e_p = (1 - frac) * 0.9 + frac * 1.0
    e_n = bl * e_p * e_p
    sd_bound = bl / 2  # n in [0, BL]: Var[n] <= BL^2 / 4 (Popoviciu), a bound on the standard error
    assert abs(s.mean() + eps * e_n) < K * eps * sd_bound / math.sqrt(len(s))
    assert not np.isclose(s.mean(), -eps * k, atol=K * eps * sd_bound / math.sqrt(len(s)))  # not the unrounded p
