"""Noise-off read path against the float64 spec reference over the grid of analog-tile.md §7:
inp_res, out_res in {1/14, 1/126, 1/510, 0}, inp_bound, out_bound in {0.1, 1, 10, 0} (inp_bound != 1
only without noise management, §1.2 step 4), every noise-management type, bound management on/off,
bm_test_negative_bound. The tolerance is derived in tests/reference/io_reference.py: the DAC must be
exact, the ADC may differ by one step only where the reference's ADC input lies within the float32
GEMM's error bound of a half step, and rows whose saturation decision lies that close to the bound
are skipped (and must be rare)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from reference.io_reference import analog_mvm_reference, assert_matches_reference
from xbarsim import IOConfig
from xbarsim.ops import analog_mvm

RES = (1 / 14, 1 / 126, 1 / 510, 0.0)
BOUNDS = (0.1, 1.0, 10.0, 0.0)
U = {torch.float32: 2.0**-24, torch.float64: 2.0**-53}
NP = {torch.float32: np.float32, torch.float64: np.float64}

NM_CASES = [
    dict(noise_management="none"),
    dict(noise_management="abs_max"),
    dict(noise_management="abs_max", nm_thres=0.7),
    dict(noise_management="max"),
    dict(noise_management="constant"),
    dict(noise_management="constant", nm_thres=2.5),
    dict(noise_management="average_abs_max", nm_decay=0.3),
]
BM_CASES = [
    dict(bound_management="none"),
    dict(bound_management="iterative", bm_test_negative_bound=True),
    dict(bound_management="iterative", bm_test_negative_bound=False),
]


def _data(n_in=24, n_out=12, m=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n_out, n_in, generator=g, dtype=torch.float64)
    scales = torch.logspace(-2, 1, m, dtype=torch.float64)[:, None]
    x = torch.randn(m, n_in, generator=g, dtype=torch.float64) * scales
    x[3] = 0.0                      # short cut with noise management
    x[5] = -x[5].abs() - 0.1        # all negative: "max" gives a < 0
    x[7, 2] = 40.0                  # one spike: clipping and saturation
    return x, W


def _check(io, dtype, transpose=False, state=None, alpha=1.0, seed=0):
    x, W = _data(seed=seed)
    if transpose:
        x = x[:, :W.shape[0]].contiguous()
    nm_state = torch.tensor([-1.0 if state is None else state], dtype=dtype)
    y = analog_mvm(x.to(dtype), W.to(dtype), io, transpose, seed=1, call=2, nm_state=nm_state, alpha=alpha)
    ref = analog_mvm_reference(x.numpy(), W.numpy(), io, transpose, alpha=alpha, nm_state=state,
                               dtype=NP[dtype], unit_roundoff=U[dtype])
    assert_matches_reference(y.numpy(), ref, max_fragile_fraction=0.07, context=f"{io} transpose={transpose}")
    return ref


def _configs(nm: dict, bm: dict):
    inp_bounds = BOUNDS if nm["noise_management"] == "none" else (1.0,)
    for inp_res, out_res, inp_bound, out_bound in itertools.product(RES, RES, inp_bounds, BOUNDS):
        yield IOConfig(inp_res=inp_res, out_res=out_res, inp_bound=inp_bound, out_bound=out_bound, out_noise=0.0,
                       **nm, **bm)


@pytest.mark.parametrize("bm", BM_CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
@pytest.mark.parametrize("nm", NM_CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_forward_grid_float32(nm, bm):
    rounds_seen = set()
    for io in _configs(nm, bm):
        ref = _check(io, torch.float32)
        rounds_seen.add(int(ref.rounds.max()))
    if bm["bound_management"] == "iterative":
        assert max(rounds_seen) > 1, "the grid must exercise bound management"


@pytest.mark.parametrize("nm", NM_CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_backward_grid_float32(nm):
    # Bound management in the config is ignored by the backward pass (§1.4).
    for io in _configs(nm, dict(bound_management="iterative")):
        ref = _check(io, torch.float32, transpose=True)
        assert ref.rounds.max() <= 1


@pytest.mark.parametrize("nm", NM_CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_forward_grid_float64(nm):
    for io in _configs(nm, dict(bound_management="iterative")):
        _check(io, torch.float64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_asymmetry_scale_alpha_and_running_state(dtype):
    for inp_asym, out_asym, out_scale, alpha, state in [(0.2, 0.0, 1.0, 1.0, None), (0.0, -0.3, 2.0, 0.5, None),
                                                        (0.5, 0.25, -1.5, 3.0, 0.8)]:
        for nm in ("abs_max", "average_abs_max", "none"):
            io = IOConfig(out_noise=0.0, inp_asymmetry=inp_asym, out_asymmetry=out_asym, out_scale=out_scale,
                          noise_management=nm, out_bound=3.0)
            _check(io, dtype, alpha=alpha, state=state)
            _check(io, dtype, transpose=True, alpha=alpha, state=state)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_perfect_mode_is_exact_product(dtype):
    x, W = _data()
    io = IOConfig(is_perfect=True, out_scale=0.5)
    y = analog_mvm(x.to(dtype), W.to(dtype), io, alpha=3.0)
    ref = analog_mvm_reference(x.numpy(), W.numpy(), io, alpha=3.0, dtype=NP[dtype], unit_roundoff=U[dtype])
    assert_matches_reference(y.numpy(), ref)
    z = analog_mvm(x[:, :12].to(dtype), W.to(dtype), io, True)
    ref = analog_mvm_reference(x[:, :12].numpy(), W.numpy(), io, True, dtype=NP[dtype], unit_roundoff=U[dtype])
    assert_matches_reference(z.numpy(), ref)


def test_default_config_noise_off_and_batch_dims():
    x, W = _data()
    io = IOConfig(out_noise=0.0)
    xb = x.float().reshape(2, 8, 24)
    y = analog_mvm(xb, W.float(), io)
    assert y.shape == (2, 8, 12)
    ref = analog_mvm_reference(x.numpy(), W.numpy(), io, dtype=np.float32, unit_roundoff=U[torch.float32])
    assert_matches_reference(y.reshape(16, 12).numpy(), ref)
    # a non-contiguous input gives the same result
    xt = x.float().t().contiguous().t()
    assert not xt.is_contiguous()
    assert torch.equal(analog_mvm(xt, W.float(), io), y.reshape(16, 12))


# With the grid's resolutions 1/(2^k - 2) the bound is a whole number of steps, so clip and quantise
# commute; resolutions that leave the bound between two levels tell their order apart (§1.3 steps 3, 6).
ODD_RES = (1 / 125, 0.3, 1 / 9, 40.0)


@pytest.mark.parametrize("nm", NM_CASES[:4], ids=lambda c: "-".join(str(v) for v in c.values()))
def test_forward_grid_odd_resolutions(nm):
    inp_bounds = (0.1, 1.0, 10.0) if nm["noise_management"] == "none" else (1.0,)
    for inp_res, out_res, inp_bound, out_bound in itertools.product(ODD_RES, ODD_RES, inp_bounds, (0.1, 1.0, 10.0)):
        for bm in BM_CASES[:2]:
            io = IOConfig(inp_res=inp_res, out_res=out_res, inp_bound=inp_bound, out_bound=out_bound, out_noise=0.0,
                          **nm, **bm)
            _check(io, torch.float32)
