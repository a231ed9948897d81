"""Reproducibility of the read path: draws are keyed by (seed, stream, call, round, original row,
line) only (csrc/include/xbarsim/io/draws.h), so the same inputs give the same bits, another call or
seed gives other noise, and a row's result does not depend on the other rows of the batch."""
from __future__ import annotations

import pytest
import torch

from xbarsim import IOConfig, _core
from xbarsim.ops import analog_mvm

NOISY = IOConfig(inp_noise=0.05, inp_sto_round=True, out_sto_round=True, w_noise=0.03,
                 w_noise_type="additive_constant")
NOISY_PCM = NOISY.replace(w_noise_type="pcm_read")


def _data(m=24, n_in=40, n_out=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m, n_in, generator=g), torch.randn(n_out, n_in, generator=g) * 0.3


@pytest.mark.parametrize("io", [IOConfig(), NOISY, NOISY_PCM], ids=["default", "additive", "pcm"])
@pytest.mark.parametrize("transpose", [False, True])
def test_same_seed_and_call_give_identical_bits(io, transpose):
    x, W = _data()
    if transpose:
        x = x[:, :20]
    a = analog_mvm(x, W, io, transpose, seed=5, call=11)
    b = analog_mvm(x, W, io, transpose, seed=5, call=11)
    assert torch.equal(a, b)
    assert not torch.equal(a, analog_mvm(x, W, io, transpose, seed=5, call=12))
    assert not torch.equal(a, analog_mvm(x, W, io, transpose, seed=6, call=11))


def test_large_seed_and_call():
    x, W = _data()
    a = analog_mvm(x, W, NOISY, seed=2**64 - 1, call=2**48 - 1)
    assert torch.equal(a, analog_mvm(x, W, NOISY, seed=2**64 - 1, call=2**48 - 1))
    assert not torch.equal(a, analog_mvm(x, W, NOISY, seed=2**63 - 1, call=2**48 - 1))


@pytest.mark.parametrize("io", [IOConfig(), NOISY, NOISY_PCM], ids=["default", "additive", "pcm"])
def test_row_independent_of_other_rows_values(io):
    x, W = _data()
    y = analog_mvm(x, W, io, seed=1, call=3)
    x2 = x.clone()
    x2[::2] = torch.randn_like(x2[::2]) * 5  # other rows change (some saturate)
    y2 = analog_mvm(x2, W, io, seed=1, call=3)
    assert torch.equal(y[1::2], y2[1::2])


def test_row_independent_of_batch_size():
    """Rows may even be dropped from the batch: the draws of a row are numbered by its own index and
    line, not by the batch size. Dyadic data make the GEMM exact, so any BLAS blocking gives the same
    sums and the comparison can be bitwise."""
    g = torch.Generator().manual_seed(2)
    x = torch.randint(-64, 65, (16, 24), generator=g).float() / 64   # multiples of the DAC step 1/64
    W = torch.randint(-8, 9, (12, 24), generator=g).float() / 8
    io = IOConfig(noise_management="none", inp_res=1 / 128, out_sto_round=True, w_noise=0.02,
                  w_noise_type="additive_constant", out_bound=4.0)
    y = analog_mvm(x, W, io, seed=4, call=1)
    assert torch.equal(analog_mvm(x[:5], W, io, seed=4, call=1), y[:5])
    assert torch.equal(analog_mvm(x[:1], W, io, seed=4, call=1), y[:1])


def test_threads_do_not_change_results():
    """One thread or several, in torch (the GEMM) and in the native kernels (OpenMP): the same bits.
    Dyadic data as in test_row_independent_of_batch_size make every dot product exact, whatever the
    summation order: x = k/64 with |k| <= 64 and a 1 in every row (so abs_max noise management scales
    by 1 and the DAC grid 1/64 of inp_res = 1/128 holds x exactly, before and after the halvings of
    bound management), W = k/8; a sum of 256 such products is a multiple of 2^-10 below 2^9, and
    ||v||^2 of the additive weight noise a multiple of 2^-12 below 2^8: far inside float32's 24 bits.
    The noise sources that do not feed the GEMM stay on (stochastic rounding in DAC and ADC, output
    noise, output-referred weight noise); input noise would make the GEMM operands non-dyadic."""
    g = torch.Generator().manual_seed(3)
    x = torch.randint(-64, 65, (512, 256), generator=g).float() / 64
    x[torch.arange(512), torch.randint(0, 256, (512,), generator=g)] = 1.0
    W = torch.randint(-8, 9, (64, 256), generator=g).float() / 8
    io = NOISY.replace(inp_noise=0.0, inp_res=1 / 128)
    before, before_omp = torch.get_num_threads(), _core.openmp_threads()
    y = analog_mvm(x, W, io, seed=3, call=2)
    try:
        torch.set_num_threads(1)
        _core.set_openmp_threads(1)
        y1 = analog_mvm(x, W, io, seed=3, call=2)
    finally:
        torch.set_num_threads(before)
        _core.set_openmp_threads(before_omp)
    assert torch.equal(y, y1)
    z = analog_mvm(x, W, io.replace(out_noise=0.0, w_noise=0.0), seed=3, call=2)
    assert not torch.equal(y, z)  # the noise is on
