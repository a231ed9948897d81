"""Uniform and normal variates of the counter-based generator: moments and independence, with
tolerances of 5 standard errors derived from the distributions (analog-tile.md Appendix A)."""
import numpy as np
import pytest
import torch

from xbarsim import _core
from xbarsim.ops._views import view

N = 1 << 20
K = 5.0  # standard errors


def _fill(kind: str, seed=1234, stream=0, call=0, n=N, device="cpu") -> np.ndarray:
    out = torch.empty(n, dtype=torch.float32, device=device)
    _core.testing.fill_random(view(out), seed, stream, call, kind)
    return out.cpu().double().numpy()


def test_uniform_moments_and_range():
    u = _fill("uniform")
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < K * np.sqrt(1 / 12 / N)
    assert abs(u.var() - 1 / 12) < K * np.sqrt((1 / 80 - 1 / 144) / N)
    # uniform grid of 2^-24: every value is a multiple of it
    assert np.all(np.mod(u * 2**24, 1.0) == 0)


def test_normal_moments():
    z = _fill("normal")
    assert abs(z.mean()) < K / np.sqrt(N)
    assert abs(z.var() - 1) < K * np.sqrt(2 / N)
    # third and fourth moments: Var[z^3] = 15, Var[z^4] = 96
    assert abs(np.mean(z**3)) < K * np.sqrt(15 / N)
    assert abs(np.mean(z**4) - 3) < K * np.sqrt(96 / N)
    assert np.abs(z).max() <= 5.8


def test_normal_tail_probability():
    z = _fill("normal")
    p = 2 * 0.022750131948179195  # P(|z| > 2)
    frac = np.mean(np.abs(z) > 2)
    assert abs(frac - p) < K * np.sqrt(p * (1 - p) / N)


def test_streams_calls_and_seeds_are_independent():
    a = _fill("normal", n=1 << 16)
    for other in (_fill("normal", seed=1235, n=1 << 16), _fill("normal", stream=1, n=1 << 16),
                  _fill("normal", call=1, n=1 << 16)):
        corr = np.corrcoef(a, other)[0, 1]
        assert abs(corr) < K / np.sqrt(1 << 16)
        assert not np.array_equal(a, other)
    # lag-1 correlation within one stream (neighbouring lanes share a Philox call)
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < K / np.sqrt(1 << 16)


def test_reproducible():
    assert np.array_equal(_fill("normal", n=1000), _fill("normal", n=1000))


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.cuda
def test_cpu_cuda_bit_identical(kind):
    cpu = _fill(kind, n=100_003)
    gpu = _fill(kind, n=100_003, device="cuda")
    assert np.array_equal(cpu, gpu)
