"""Reproducibility of the read path: draws are keyed by (seed, stream, call, round, original row,
line) only (csrc/include/xbarsim/io/draws.h), so the same inputs give the same bits, another call or
seed gives other noise, and a row's result does not depend on the other rows of the batch."""
from __future__ import annotations

import pytest
import torch

from xbarsim import IOConfig
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
    x, W = _data(m=512, n_in=256, n_out=64)
    before = torch.get_num_threads()
    y = analog_mvm(x, W, NOISY, seed=3, call=2)
    try:
        torch.set_num_threads(1)
        y1 = analog_mvm(x, W, NOISY, seed=3, call=2)
    finally:
        torch.set_num_threads(before)
    # The GEMM may sum in another order with another thread count; the kernels' noise must not move.
    assert (y - y1).abs().max() <= 0.1 * y.abs().max()
    z = analog_mvm(x, W, NOISY.replace(out_noise=0.0, inp_noise=0.0), seed=3, call=2)
    assert not torch.equal(y, z)
