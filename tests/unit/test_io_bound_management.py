"""Iterative bound management (analog-tile.md §1.3 steps 2, 7, 8 and §1.6): the number of rounds per
vector, the round caps, per-vector semantics and that later rounds recompute only saturated rows."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import xbarsim
from reference.io_reference import analog_mvm_reference
from xbarsim import IOConfig
from xbarsim.ops import analog_mvm

# No quantisation and no noise: the reduced output W x / r is exact, so the rounds are pure ceil(log2).
EXACT = IOConfig(inp_res=0.0, out_res=0.0, out_noise=0.0)


@pytest.fixture
def rounds_log(monkeypatch):
    """Records (round, number of rows) of every prologue call."""
    log: list[tuple[int, int]] = []
    original = xbarsim._core.io_prologue

    def spy(params, x, xq, *args, **kwargs):
        log.append((kwargs["round"], xq.shape[0]))
        return original(params, x, xq, *args, **kwargs)

    monkeypatch.setattr(xbarsim._core, "io_prologue", spy)
    return log


def _one_hot_case(peaks):
    """Row i is the one-hot e_0 (a = 1, v = e_0 / r), W[i, 0] = peaks[i]: y_i = peaks[i] / r before the ADC."""
    m = len(peaks)
    x = torch.zeros(m, 4)
    x[:, 0] = 1.0
    W = torch.zeros(m, 4)
    W[:, 0] = torch.tensor(peaks)
    return x, W


@pytest.mark.parametrize("peak", [5.0, 12.0, 12.5, 30.0, 100.0, 384.0, 385.0, 1000.0, 12000.0])
def test_rounds_are_ceil_log2(peak, rounds_log):
    x, W = _one_hot_case([peak])
    y = analog_mvm(x, W, EXACT)
    bound = EXACT.out_bound
    expected = 1 + max(0, math.ceil(math.log2(peak / bound)))  # an output equal to the bound passes
    assert len(rounds_log) == expected
    assert [r for r, _ in rounds_log] == list(range(expected))
    assert y[0, 0].item() == peak            # the last round fits: a * r * (peak / r) is exact
    ref = analog_mvm_reference(x.numpy(), W.numpy(), EXACT, dtype=np.float32)
    assert ref.rounds[0] == expected


def test_round_cap_defaults_is_5(rounds_log):
    io = IOConfig(out_noise=0.0)
    assert xbarsim.ops.max_bm_rounds(io) == 5  # r = 16 > max_bm_res / inp_res_eff = 15.75
    x, W = _one_hot_case([1e6])
    y = analog_mvm(x, W, io)
    assert [r for r, _ in rounds_log] == [0, 1, 2, 3, 4]
    # The last round's output is returned although it saturated: clip(12) * a (1) * r (16).
    assert y[0, 0].item() == 12.0 * 16


@pytest.mark.parametrize("inp_res", [0.0, -1.0])
def test_round_cap_without_dac_quantisation_is_11(inp_res, rounds_log):
    io = IOConfig(inp_res=inp_res, out_noise=0.0)
    assert xbarsim.ops.max_bm_rounds(io) == 11
    x, W = _one_hot_case([1e6])
    y = analog_mvm(x, W, io)
    assert [r for r, _ in rounds_log] == list(range(11))
    assert y[0, 0].item() == 12.0 * 1024


@pytest.mark.parametrize("max_bm_factor, expected", [(1.5, 2), (4.0, 4), (0.5, 1)])
def test_max_bm_factor_stop_rule(max_bm_factor, expected, rounds_log):
    io = EXACT.replace(max_bm_factor=max_bm_factor)
    x, W = _one_hot_case([1e6])
    analog_mvm(x, W, io)
    assert len(rounds_log) == expected == xbarsim.ops.max_bm_rounds(io)


def test_negative_saturation_only_with_bm_test_negative_bound(rounds_log):
    x, W = _one_hot_case([-100.0])
    y = analog_mvm(x, W, EXACT)
    assert len(rounds_log) == 5 and y[0, 0].item() == -100.0  # 100 / 16 = 6.25 passes
    rounds_log.clear()
    y = analog_mvm(x, W, EXACT.replace(bm_test_negative_bound=False))
    assert len(rounds_log) == 1 and y[0, 0].item() == -12.0


def test_only_saturated_rows_are_recomputed(rounds_log):
    # Row i is e_i and W is diagonal: row i sees peaks[i] on line i and 0 elsewhere.
    peaks = [1.0, 50.0, 3.0, 200.0, -7.0, 13.0, 0.5, 2.0]
    m = len(peaks)
    x = torch.eye(m)
    W = torch.diag(torch.tensor(peaks))
    y = analog_mvm(x, W, EXACT)
    assert torch.equal(y.diagonal(), torch.tensor(peaks))
    # r = 1: all 8 rows, 50, 200 and 13 exceed 12; r = 2: 25, 100 (6.5 passes); r = 4: 12.5, 50;
    # r = 8: 25 (6.25 passes); r = 16: 12.5; r = 32: 6.25 passes.
    assert rounds_log == [(0, 8), (1, 3), (2, 2), (3, 2), (4, 1), (5, 1)]


def test_non_saturating_rows_untouched_by_saturating_ones():
    """With the default (noisy) config, the rows that do not saturate are bit-identical whether the
    other rows of the batch saturate or are replaced by harmless rows."""
    g = torch.Generator().manual_seed(3)
    W = torch.randn(32, 64, generator=g) * 0.1
    x = torch.randn(40, 64, generator=g)
    hot = torch.tensor([2, 5, 17, 30, 31])
    x_hot = x.clone()
    x_hot[hot] = 0.0
    x_hot[hot, 7] = 1.0
    W_hot = W.clone()
    W_hot[:, 7] = 80.0  # input line 7 drives every output far beyond the bound
    # Input line 7 is zero in the harmless rows, so W_hot acts there exactly like W.
    x[:, 7] = 0.0
    x_hot[~torch.isin(torch.arange(40), hot), 7] = 0.0
    io = IOConfig(inp_noise=0.01, w_noise=0.02, w_noise_type="additive_constant")
    y_hot = analog_mvm(x_hot, W_hot, io, seed=9, call=4)
    x_cold = x_hot.clone()
    x_cold[hot] = x[hot]
    y_cold = analog_mvm(x_cold, W_hot, io, seed=9, call=4)
    keep = ~torch.isin(torch.arange(40), hot)
    assert torch.equal(y_hot[keep], y_cold[keep])
    assert not torch.equal(y_hot[hot], y_cold[hot])
    # the hot rows really went through bound management: their outputs exceed the bound
    assert y_hot[hot].abs().max() > 12.0


@pytest.mark.parametrize("steps, levels", [(126, {31}), (254, {63, 64})])
def test_round_two_tie_follows_the_spec_order_of_the_input_scale(steps, levels):
    """At r = 2 the largest input lands on the DAC tie 0.5 (issue 12): 31.5 steps of 1/63 (7 bits),
    63.5 steps of 1/127 (8 bits).

    The spec (§1.3 steps 2-3) and aihwkit form sigma = (1/a)/r and v = sigma·x, so the level is
    rint(fl(fl(fl(1/a)/2)·a) / step). fl(a·fl(1/a)) is 1 or 1 - 2^-24, never above 1: with 7 bits the
    level is 31 for every a (0.5 / fl(1/63) = 31.499998; real arithmetic gives 32), with 8 bits 64 or
    63 as 1/a rounds. aihwkit 1.2.0 gives exactly these levels (validation/level1_read_path.py).
    """
    a = np.random.default_rng(0).uniform(0.01, 10.0, 500).astype(np.float32)
    x = torch.zeros(a.size, 2)
    x[:, 0] = torch.from_numpy(a)
    W = torch.zeros(1, 2)
    W[0, 0] = 1.5  # round 1 reads 1.5 > out_bound 1 and saturates; round 2 reads 0.75 ± a DAC step
    io = IOConfig(out_noise=0.0, out_res=-1.0, out_bound=1.0, inp_res=1.0 / steps)
    y = analog_mvm(x, W, io)[:, 0].numpy()
    level = np.rint(y / (1.5 * a * 2) * (steps // 2)).astype(int)
    sigma = (np.float32(1) / a) / np.float32(2)
    step = np.float32(io.inp_res_eff())
    expected = np.rint((a * sigma) / step).astype(int)
    assert np.array_equal(level, expected)
    assert set(level.tolist()) == levels


def test_input_scale_falls_back_to_division_when_one_over_a_overflows():
    a = np.float32(1e-39)  # subnormal: 1/a is inf in float32
    x = torch.tensor([[a, a / 2, 0.0]], dtype=torch.float32)
    W = torch.eye(3)
    y = analog_mvm(x, W, IOConfig(out_noise=0.0, inp_res=0.0, out_res=0.0, bound_management="none"))
    assert torch.isfinite(y).all()
    assert y[0, 2].item() == 0.0 and y[0, 0].item() == pytest.approx(float(a), rel=1e-6)
