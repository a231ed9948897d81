"""Noise of the read path against closed forms (analog-tile.md §1.3): sample mean and variance per
output over N independent vectors (every row draws its own noise), 5 standard errors derived from the
distributions, fixed seeds. Normals are Box-Muller of 24-bit uniforms (|z| <= 5.77, variance 1 to
within 1e-7); uniforms lie on a 2^-24 grid, which biases stochastic rounding by at most 2^-24 of a step.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from xbarsim import IOConfig
from xbarsim.ops import analog_mvm

K = 5.0
N = 20000
# Everything off except the source under test: no quantisation, no bounds, no management.
CLEAN = IOConfig(noise_management="none", bound_management="none", inp_res=0.0, inp_bound=0.0, out_res=0.0,
                 out_bound=0.0, out_noise=0.0)


def _batch(x0: torch.Tensor) -> torch.Tensor:
    return x0.expand(N, -1).contiguous()


def _data(n_in=16, n_out=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_in, generator=g, dtype=torch.float64) * 0.5, \
        torch.randn(n_out, n_in, generator=g, dtype=torch.float64) * 0.4


def _assert_gaussian_moments(y: np.ndarray, mean: np.ndarray, var: np.ndarray):
    """Per column: |mean - mean_hat| <= K sqrt(var/N); sample variance (ddof 1) of a Gaussian has
    standard error var sqrt(2/(N-1))."""
    m_hat = y.mean(axis=0)
    v_hat = y.var(axis=0, ddof=1)
    assert np.all(np.abs(m_hat - mean) <= K * np.sqrt(var / N)), (m_hat, mean)
    assert np.all(np.abs(v_hat - var) <= K * var * np.sqrt(2 / (N - 1))), (v_hat, var)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_input_noise(dtype):
    x0, W = _data()
    sigma = 0.3
    y = analog_mvm(_batch(x0).to(dtype), W.to(dtype), CLEAN.replace(inp_noise=sigma), seed=1).double().numpy()
    Wn = W.numpy()
    _assert_gaussian_moments(y, Wn @ x0.numpy(), sigma**2 * (Wn**2).sum(axis=1))


@pytest.mark.parametrize("transpose", [False, True])
def test_output_noise(transpose):
    x0, W = _data()
    if transpose:
        x0 = x0[:8]
    sigma = 0.2
    y = analog_mvm(_batch(x0).float(), W.float(), CLEAN.replace(out_noise=sigma), transpose, seed=2).double().numpy()
    Wm = W.numpy().T if transpose else W.numpy()
    _assert_gaussian_moments(y, Wm @ x0.numpy(), np.full(Wm.shape[0], sigma**2))


def test_output_noise_is_rescaled_by_noise_management():
    # Noise is added to the normalised output and multiplied by a = max|x| afterwards (§1.3 step 8).
    x0, W = _data()
    x0 = x0 / x0.abs().max() * 3.0
    sigma = 0.1
    io = CLEAN.replace(noise_management="abs_max", inp_bound=1.0, out_noise=sigma)
    y = analog_mvm(_batch(x0).float(), W.float(), io, seed=3).double().numpy()
    _assert_gaussian_moments(y, W.numpy() @ x0.numpy(), np.full(8, (3.0 * sigma) ** 2))


def test_lanes_of_one_philox_call_are_uncorrelated():
    # Lines 0-3 share a Philox call (two Box-Muller pairs); their noises must be independent.
    x0, W = _data()
    y = analog_mvm(_batch(x0).float(), W.float(), CLEAN.replace(out_noise=1.0), seed=4).double().numpy()
    c = np.corrcoef(y[:, :4].T)
    off = c[~np.eye(4, dtype=bool)]
    assert np.all(np.abs(off) <= K / np.sqrt(N))


@pytest.mark.parametrize("kind", ["additive_constant", "pcm_read"])
def test_weight_noise(kind):
    x0, W = _data()
    w = 0.25
    y = analog_mvm(_batch(x0).float(), W.float(), CLEAN.replace(w_noise=w, w_noise_type=kind), seed=5)
    v = x0.float().double().numpy()
    Wn = W.float().double().numpy()
    if kind == "additive_constant":
        var = np.full(8, w**2 * (v**2).sum())
    else:
        var = w**2 * (np.abs(Wn) @ v**2)
    _assert_gaussian_moments(y.double().numpy(), Wn @ v, var)


def _sto_round_moments(y: np.ndarray, x: np.ndarray, step: float):
    """Q = step·rint(x/step + U − ½) takes the two neighbouring levels with P(up) = f = frac(x/step):
    E[Q] = x, Var[Q] = step² f(1 − f). The variance is estimated about the known mean (unbiased), with
    standard error sqrt((μ4 − σ⁴)/N), μ4 = step⁴ f(1−f)(1 − 3f(1−f)) for a two-point distribution."""
    f = x / step - np.floor(x / step)
    var = step**2 * f * (1 - f)
    mu4 = step**4 * f * (1 - f) * (1 - 3 * f * (1 - f))
    # 24-bit uniforms move P(up) by <= 2^-24; the kernel's float32 x/step moves f by <= (|x/step| + 1) 2^-23.
    grid_bias = step * (2.0**-24 + (np.abs(x / step) + 1) * 2.0**-23)
    m_hat = y.mean(axis=0)
    v_hat = ((y - x) ** 2).mean(axis=0)
    assert np.all(np.abs(m_hat - x) <= K * np.sqrt(var / N) + grid_bias), (m_hat, x)
    assert np.all(np.abs(v_hat - var) <= K * np.sqrt((mu4 - var**2) / N) + 2 * grid_bias * step), (v_hat, var)
    # only the two neighbouring levels occur
    lo = np.floor(x / step) * step
    assert np.all((np.abs(y - lo) < 1e-5) | (np.abs(y - lo - step) < 1e-5))


def test_input_stochastic_rounding():
    fracs = np.array([0.1, 0.3, 0.7, 0.93, 0.02, 0.5 + 1 / 64])
    step = 0.1
    x0 = torch.tensor((np.arange(len(fracs)) - 3 + fracs) * step)
    io = CLEAN.replace(inp_res=0.05, inp_bound=1.0, inp_sto_round=True)  # step 0.05 * 2 * 1 = 0.1
    W = torch.eye(len(fracs))
    y = analog_mvm(_batch(x0).float(), W, io, seed=6).double().numpy()
    _sto_round_moments(y, x0.float().double().numpy(), np.float32(step).item())


def test_output_stochastic_rounding():
    fracs = np.array([0.15, 0.4, 0.6, 0.85, 0.97, 0.25])
    step = 0.1
    x0 = torch.tensor((np.arange(len(fracs)) - 3 + fracs) * step)
    io = CLEAN.replace(out_res=0.05, out_bound=1.0, out_sto_round=True)
    W = torch.eye(len(fracs))
    y = analog_mvm(_batch(x0).float(), W, io, seed=7).double().numpy()
    _sto_round_moments(y, x0.float().double().numpy(), np.float32(step).item())


def test_deterministic_rounding_has_no_variance():
    x0, W = _data()
    io = CLEAN.replace(inp_res=1 / 126, inp_bound=1.0, out_res=1 / 510, out_bound=12.0)
    y = analog_mvm(_batch(x0).float()[:100], W.float(), io, seed=8)
    assert torch.equal(y, y[:1].expand_as(y))
