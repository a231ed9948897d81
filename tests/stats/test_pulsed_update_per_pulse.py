"""Cycle-to-cycle and write noise of the pulsed update in distribution: the weights the op leaves after
a known number of pulses per cell against the float64 per-pulse reference (tests/reference/
pulse_reference.py, analog-tile.md §2.6, §3.3, §3.4) sampling with its own NumPy normals; and a case
where per-pulse application and aihwkit's CUDA "summing approximation" (n pulses as one step with the
noise scaled by 1/√n, clipped once; §2.6, §6 #10) differ by many standard errors: the op must match
the per-pulse distribution and not the summed one.

Known pulse counts: x = 1 on every input line and |d| = 10 on every output line with lr = 4ε make
k = |lr| x_max d_max / ε = 40 > desired_bl, so update management saturates both probabilities
(§2.3) and every cell receives exactly desired_bl pulses per vector, in the direction of -sign(d_i)
(§2.5; the pulse counters check it). The per-cell parameters (device-to-device variation on) are read
from the tile's device_state; the reference and the op start from the same (clipped) weights.

Statistics (K = 5 standard errors, never loosened), for R independent repetitions per cell on each
side (op: one call after set_weights; reference: R draws), cells c with per-side sample means m, sample
variances v and fourth central moments μ4:
* mean, pooled over the cells of one direction pattern: Z = Σ_c (m_op − m_ref) / sqrt(Σ_c (v_op + v_ref)/R)
  (the per-cell means are independent, each with variance v/R on each side);
* variance, pooled the same way: Z = Σ_c (v_op − v_ref) / sqrt(Σ_c (SE²_op + SE²_ref)) with the
  standard error of a sample variance SE² = (μ4 − v²(R − 3)/(R − 1))/R;
* per cell: Σ_c z_c² with z_c = (m_op − m_ref)/sqrt((v_op + v_ref)/R) is approximately χ² with C
  degrees of freedom (mean C, standard deviation sqrt(2C)): it must stay below C + K sqrt(2C), which
  catches biases that cancel in the pooled sums.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices
from reference import pulse_reference as ref

K = 5.0
F64 = torch.float64
OUT, IN, BL, R = 16, 16, 16, 200
UPD = UpdateConfig(desired_bl=BL, count_pulses=True)


def direction_patterns(n_samples: int, seed: int = 3) -> np.ndarray:
    """d signs [n_samples, OUT]: a fixed random ±1 pattern per output line (row), drawn so that every
    row pattern occurs."""
    g = np.random.default_rng(seed)
    return np.where(g.random((n_samples, OUT)) < 0.5, -1.0, 1.0)


def op_samples(dev, w0: np.ndarray, signs: np.ndarray, reps: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """reps draws [reps, OUT, IN] of the weights the op leaves (apparent weights with write noise) after
    one call with the vectors x = 1, d = 10·signs, each from set_weights(w0); and the persistent
    starting weights (w0 clipped to each cell's bounds)."""
    tile = xbarsim.AnalogTile(OUT, IN, TileConfig(device_model=dev, update=UPD), seed=seed, dtype=F64)
    x = torch.ones(signs.shape[0], IN, dtype=F64)
    d = torch.tensor(10.0 * signs, dtype=F64)
    lr = 4 * dev.granularity()
    out = np.empty((reps, OUT, IN))
    for r in range(reps):
        tile.set_weights(torch.tensor(w0, dtype=F64))
        if r == 0:
            start = ref.tile_state(tile)[0]
        before = tile.pulse_counts()
        tile.update(x, d, lr)
        after = tile.pulse_counts()
        assert after["coincidences_up"] + after["coincidences_down"] - before["coincidences_up"] \
            - before["coincidences_down"] == signs.shape[0] * BL * OUT * IN  # every cell: BL pulses per vector
        out[r] = tile.weight.numpy()
    return out, start


def cells_of(dev, seed: int = 11) -> tuple[dict, tuple | None]:
    tile = xbarsim.AnalogTile(OUT, IN, TileConfig(device_model=dev, update=UPD), seed=seed, dtype=F64)
    pw = tile.device_state.piecewise()
    return ref.tile_state(tile)[2], (None if pw is None else tuple(t.numpy() for t in pw))


def per_pulse_samples(dev, start: np.ndarray, signs: np.ndarray, reps: int, rng: np.random.Generator,
                      cells: dict, pw) -> np.ndarray:
    """The reference: reps independent draws [reps, OUT, IN], BL pulses per vector one at a time with
    fresh N(0, 1) normals, vectors in order, then the write noise of §3.4."""
    w = np.broadcast_to(start, (reps, OUT, IN)).copy()
    for b in range(signs.shape[0]):
        up = np.broadcast_to((signs[b] < 0)[:, None], (OUT, IN))  # lr > 0, x > 0: up iff d < 0
        for _ in range(BL):
            w = ref.pulse(dev, cells, w, up, rng.standard_normal(w.shape), pw)
    if dev.has_write_noise():
        w = w + dev.write_noise_std * dev.dw_min * rng.standard_normal(w.shape)
    return w


def summed_samples(dev, start: np.ndarray, signs: np.ndarray, reps: int, rng: np.random.Generator,
                   cells: dict) -> np.ndarray:
    """aihwkit's summing approximation: the n = BL pulses of a vector as one step n·Δ(w)·(1 + σξ/√n) with
    the mean step Δ(w) at the train's starting weight, then one clip (ConstantStep and SoftBounds)."""
    w = np.broadcast_to(start, (reps, OUT, IN)).copy()
    sig, n = dev.dw_min_std, BL
    for b in range(signs.shape[0]):
        up = (signs[b] < 0)[:, None]
        s = np.where(up, cells["scale_up"], cells["scale_down"])
        if isinstance(dev, devices.SoftBounds):
            s = s * (1 - w / np.where(up, cells["b_max"], cells["b_min"]))
        w = w + np.where(up, 1.0, -1.0) * n * s * (1 + sig * rng.standard_normal(w.shape) / math.sqrt(n))
        w = np.clip(w, cells["b_min"], cells["b_max"])
    return w


def moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell sample mean, unbiased variance and fourth central moment over axis 0."""
    m = a.mean(0)
    c = a - m
    return m, (c ** 2).sum(0) / (a.shape[0] - 1), (c ** 4).mean(0)


def compare(op: np.ndarray, other: np.ndarray, groups: np.ndarray) -> dict:
    """The pooled mean and variance Z per group of cells (a boolean [cells] mask each) and the per-cell
    χ² of the module docstring."""
    reps = op.shape[0]
    m1, v1, q1 = moments(op.reshape(reps, -1))
    m2, v2, q2 = moments(other.reshape(other.shape[0], -1))
    se2_var = lambda v, q: np.maximum(q - v ** 2 * (reps - 3) / (reps - 1), 0) / reps  # noqa: E731
    out = {"mean": [], "var": []}
    for g in groups:
        out["mean"].append((m1[g] - m2[g]).sum() / math.sqrt(((v1[g] + v2[g]) / reps).sum()))
        out["var"].append((v1[g] - v2[g]).sum() / math.sqrt((se2_var(v1[g], q1[g]) + se2_var(v2[g], q2[g])).sum()))
    live = (v1 + v2) > 0
    assert np.all(m1[~live] == m2[~live])  # cells without spread on either side (pinned at a bound) agree
    z = (m1[live] - m2[live]) / np.sqrt((v1[live] + v2[live]) / reps)
    out["chi2"], out["dof"] = float((z ** 2).sum()), int(live.sum())
    return out


def assert_same_distribution(stats: dict) -> None:
    for key in ("mean", "var"):
        for z in stats[key]:
            assert abs(z) <= K, (key, stats)
    dof = stats["dof"]
    assert stats["chi2"] <= dof + K * math.sqrt(2 * dof), stats


def row_groups(signs: np.ndarray) -> list[np.ndarray]:
    """Cells grouped by their row's direction pattern (cells of one group share the mean trajectory)."""
    keys = [tuple(signs[:, i]) for i in range(OUT)]
    return [np.repeat(np.array([k == key for k in keys]), IN) for key in sorted(set(keys))]


@pytest.mark.parametrize("name", sorted(ref.MODEL_CASES))
def test_noise_matches_per_pulse_reference(name):
    """σ = 0.3 cycle-to-cycle noise (and write noise 0.5·dw_min on the models that have it), 3 vectors of
    16 pulses per cell (48 pulses), 256 cells, R = 200 repetitions per side."""
    dev = ref.noisy(ref.MODEL_CASES[name])
    g = np.random.default_rng(5)
    w0 = g.uniform(-0.3, 0.3, (OUT, IN))
    signs = direction_patterns(3)
    op, start = op_samples(dev, w0, signs, R)
    cells, pw = cells_of(dev)
    want = per_pulse_samples(dev, start, signs, R, np.random.default_rng(6), cells, pw)
    assert op.std(0).mean() > 0.1 * dev.dw_min  # the noise is on and visible
    assert_same_distribution(compare(op, want, row_groups(signs)))


def test_noise_scale_is_resolved():
    """The statistic can fail: the op's ConstantStep samples against a reference with σ = 0.27 instead
    of 0.3 (10 % less cycle-to-cycle noise) exceed the 5-sigma variance bound."""
    dev = ref.noisy(ref.MODEL_CASES["ConstantStep"])
    w0 = np.zeros((OUT, IN))
    signs = -np.ones((1, OUT))  # 16 up pulses from 0: never at a bound
    op, start = op_samples(dev, w0, signs, R)
    cells, pw = cells_of(dev)
    wrong = per_pulse_samples(dev.replace(dw_min_std=0.27), start, signs, R, np.random.default_rng(6), cells, pw)
    right = per_pulse_samples(dev, start, signs, R, np.random.default_rng(6), cells, pw)
    assert_same_distribution(compare(op, right, [np.ones(OUT * IN, dtype=bool)]))
    assert compare(op, wrong, [np.ones(OUT * IN, dtype=bool)])["var"][0] > K


def test_per_pulse_not_summed_soft_bounds():
    """SoftBounds (the paper's device), σ = 0.3 (aihwkit sums up to 0.33), dw_min = 0.1 on ±1 (with the
    default device-to-device spreads), one train of BL = 16 pulses towards the bound of each cell's row
    from w0 in [−0.5, 0.5]. Per pulse the distance to the bound shrinks by the factor (1 − s/b)(1 + ...)
    per pulse: the mean ends at b − (b − w0)(1 − s/b)^16 ≈ b − 0.19(b − w0); summed, one step
    16·s(1 − w0/b) = 1.6(b − w0) overshoots and is clipped to b (for all but the rare draws with
    ξ < −√16·0.6/(1.6·0.3) ≈ −5, beyond the normal's range). The means differ by ≈ 0.19(b − w0) ≈ 0.2
    while a cell's spread is ≈ 0.03, so over 256 cells × 200 repetitions the pooled mean Z against the
    summed model is in the hundreds; it must exceed 50 (and stay within 5 against per-pulse)."""
    dev = devices.SoftBounds(dw_min=0.1, w_min=-1.0, w_max=1.0, dw_min_std=0.3)
    g = np.random.default_rng(8)
    w0 = g.uniform(-0.5, 0.5, (OUT, IN))
    signs = direction_patterns(1, seed=4)
    op, start = op_samples(dev, w0, signs, R)
    cells, _ = cells_of(dev)
    groups = row_groups(signs)
    per_pulse = per_pulse_samples(dev, start, signs, R, np.random.default_rng(9), cells, None)
    summed = summed_samples(dev, start, signs, R, np.random.default_rng(9), cells)
    assert_same_distribution(compare(op, per_pulse, groups))
    z_summed = compare(op, summed, groups)
    assert min(abs(z) for z in z_summed["mean"]) > 50, z_summed


def test_per_pulse_not_summed_constant_step_at_the_bound():
    """ConstantStep with σ = 0.33 (the largest σ aihwkit's CUDA path sums), each cell at its upper bound
    b_max, one train of 16 up pulses. Summed: b_max + 16 s(1 + 0.33ξ/4) is clipped to b_max in every
    draw (ξ would need to be < −12). Per pulse: a pulse with 1 + 0.33ξ < 0 (ξ < −3.03, probability
    p = 1.2e-3) steps down from the bound, and if it is the last pulse nothing brings the cell back, so
    the cell ends below b_max with probability ≈ p (a negative step earlier is undone by the next one).
    With N = 256 cells × 400 repetitions: expected counts ≈ Np ≈ 126 (op and reference) and exactly 0
    summed. Counts X ~ Poisson: the op and the per-pulse reference agree within 5 sqrt(X_op + X_ref),
    and X_op exceeds 0 (the summed prediction) by more than 5 sqrt(X_op), i.e. X_op > 25; expected
    ≈ 11 sigma."""
    dev = devices.ConstantStep(dw_min=0.05, dw_min_std=0.33)
    reps = 2 * R
    w0 = np.full((OUT, IN), 10.0)  # clipped to each cell's b_max by set_weights
    signs = -np.ones((1, OUT))
    op, start = op_samples(dev, w0, signs, reps)
    cells, _ = cells_of(dev)
    assert np.array_equal(start, cells["b_max"])
    per_pulse = per_pulse_samples(dev, start, signs, reps, np.random.default_rng(12), cells, None)
    summed = summed_samples(dev, start, signs, reps, np.random.default_rng(12), cells)
    below = lambda a: int((a < cells["b_max"]).sum())  # noqa: E731
    x_op, x_ref = below(op), below(per_pulse)
    assert below(summed) == 0
    assert abs(x_op - x_ref) <= K * math.sqrt(x_op + x_ref), (x_op, x_ref)
    assert x_op > K * math.sqrt(max(x_op, 1)), x_op
