"""Float64 NumPy reference of the analog read path, written from analog-tile.md §1.2–§1.6.

Independent of the kernels: it follows the spec's per-vector description literally (noise management,
then the bound-management loop of DAC, MVM, weight noise, ADC and bound test, then the rescale),
vectorised over the vectors that are still active in a round. It is slow and meant for small sizes.

Noise: pass a ``numpy.random.Generator`` as ``rng`` to draw the Gaussian noise and the stochastic-
rounding uniforms from it (for distribution checks); without ``rng`` every noise source must be off.

Precision: ``dtype`` is the precision of the kernel under test. The digital stages before the GEMM
(noise-management scale, DAC) are pure elementwise IEEE operations, so the reference runs them in that
dtype in the spec's order (NumPy rounds every float32 operation correctly, as the kernels do without
FMA contraction); their outputs are then exact, and the comparison needs no allowance for them.
sigma is computed as the spec writes it and aihwkit computes it, 1/a then divided by r, in dtype, and
the DAC multiplies: v = sigma·x_j (x_j / (a·r) only where 1/a overflows). The rounding of 1/a matters
at exact ties: at r = 2 the largest |x_j| lands on 0.5 = 31.5 steps of the 7-bit DAC, and aihwkit 1.2.0
picks the level from fl(fl(1/a)/2)·a (validation/level1_read_path.py). The GEMM and everything after it
run in float64.

Rounding-error bookkeeping (``unit_roundoff``, the u of ``dtype``): the kernel's GEMM sums in another
order and in its own precision, so an ADC input within the GEMM's rounding error of a decision
boundary (a half step of the ADC, a saturation bound) may legitimately be decided the other way by the
kernel. With ``unit_roundoff`` set the reference derives per element:

* ``tol``: the bound on |kernel - reference| when every decision agrees: the rescale's roundings (the
  step, the level k·step, the gain, two products: 6u relative) plus, without ADC quantisation, the GEMM
  error bound times the rescale factor. The GEMM bound is Higham's deterministic bound for a length-n
  dot product in any summation order, n·u·Σ_j |W_ij| |v_j| (with 2u of slack for 1/(1 - n·u) and the
  output asymmetry product), plus 4u·|ŷ| for the kernel's rounding of ŷ / step;
* ``step``: one ADC step times the rescale factor where the ADC input lies within that bound of a half
  step (the kernel may pick the neighbouring level), else 0;
* ``fragile_rows``: rows where a saturation decision of any round lies within that bound of the
  bound (then the number of rounds may differ). Tests skip those rows and assert they are rare.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def checkres(r: float) -> float:
    """§1.2 step 1."""
    if r < 0:
        return 0.0
    if r > 1:
        return 1.0 / r
    return float(r)


@dataclass
class Normalised:
    """§1.2: effective steps with the bounds as given, then bounds <= 0 replaced by +inf."""

    inp_res: float
    inp_bound: float
    out_res: float
    out_bound: float
    nm_thres: float


def normalise(io) -> Normalised:
    inp_res = checkres(io.inp_res) * 2.0 * io.inp_bound
    out_res = checkres(io.out_res) * 2.0 * io.out_bound
    return Normalised(
        inp_res=inp_res,
        inp_bound=io.inp_bound if io.inp_bound > 0 else np.inf,
        out_res=out_res,
        out_bound=io.out_bound if io.out_bound > 0 else np.inf,
        nm_thres=0.0 if io.noise_management == "none" else io.nm_thres,
    )


def adc_kmax(e: Normalised) -> float:
    """Number of ADC levels on each side that lie within the bound: out_bound / step, a whole number up
    to the rounding of the step (1e-9 relative absorbs it); +inf when unbounded."""
    if not np.isfinite(e.out_bound) or e.out_res <= 0:
        return np.inf
    return float(np.floor(e.out_bound / e.out_res * (1 + 1e-9)))


def quantize(v: np.ndarray, res: float, sto: bool, rng) -> np.ndarray:
    """Q(v; r, sto) of §1.2: r·rint(v/r), or r·rint(v/r + U − ½) stochastically; r <= 0: v."""
    if res <= 0:
        return v
    t = v / res
    if sto:
        t = t + (rng.random(v.shape) - 0.5)
    return res * np.rint(t)


def half_step_distance(t: np.ndarray) -> np.ndarray:
    """Distance of t (in steps) to the nearest rounding boundary k + 1/2."""
    return np.abs(np.abs(t - np.floor(t)) - 0.5)


@dataclass
class ReferenceResult:
    y: np.ndarray             # [m, L_out] the output
    rounds: np.ndarray        # [m] rounds run per vector (1 without bound management; 0 for the short cut)
    a: np.ndarray             # [m] noise-management scale
    tol: np.ndarray | None = None
    step: np.ndarray | None = None
    fragile_rows: np.ndarray | None = None


def analog_mvm_reference(x, W, io, transpose: bool = False, *, alpha: float = 1.0, nm_state: float | None = None,
                         dtype=np.float64, unit_roundoff: float | None = None, rng=None) -> ReferenceResult:
    """The read path of analog-tile.md §1.3 (forward) / §1.4 (``transpose``) on rows of ``x``.

    Args:
        x: ``[m, L_in]`` inputs (any float dtype; computed in float64).
        W: ``[out, in]`` weights.
        io: an ``xbarsim.IOConfig``.
        transpose: backward pass: ``Wᵀ``, bound management off, backward short-cut rule.
        alpha: digital weight scale.
        nm_state: running maximum for ``average_abs_max`` (< 0 or None: not initialised).
        dtype: precision of the kernel under test, used for noise management and the DAC.
        unit_roundoff: u of the kernel under test; enables ``tol``/``step``/``fragile_rows``.
        rng: numpy Generator for the noise sources (required when any is on).
    """
    dt = np.dtype(dtype).type
    x = np.asarray(x).astype(dt)
    W = np.asarray(W, dtype=np.float64)
    Wm = W.T if transpose else W                       # y = Wm v
    m, n = x.shape
    L_out = Wm.shape[0]
    e = normalise(io)
    gain = io.out_scale * alpha

    # Step 0: perfect mode.
    if io.is_perfect:
        y = gain * (x.astype(np.float64) @ Wm.T)
        res = ReferenceResult(y=y, rounds=np.ones(m, dtype=int), a=np.ones(m))
        if unit_roundoff is not None:
            G = np.abs(x) @ np.abs(Wm).T
            res.tol = (n + 2) * unit_roundoff * G * abs(gain) + 4 * unit_roundoff * np.abs(y)
            res.step = np.zeros_like(y)
            res.fragile_rows = np.zeros(m, dtype=bool)
        return res

    noisy = (io.inp_noise > 0 or io.out_noise > 0 or (io.w_noise > 0 and io.w_noise_type != "none")
             or (io.inp_sto_round and e.inp_res > 0) or (io.out_sto_round and e.out_res > 0))
    if noisy and rng is None:
        raise ValueError("analog_mvm_reference: rng is required when a noise source is on")
    if noisy and unit_roundoff is not None:
        raise ValueError("analog_mvm_reference: rounding-error bookkeeping needs all noise off")

    # Step 1: noise management (in dt: maxima are exact, the running maximum rounds like the kernel).
    nm = io.noise_management
    nm_on = nm != "none"
    if nm == "none":
        a = np.ones(m, dtype=dt)
    elif nm in ("abs_max", "max"):
        a = np.abs(x).max(axis=1) if nm == "abs_max" else x.max(axis=1)
        if e.nm_thres > 0:
            a = np.minimum(a, dt(e.nm_thres))
    elif nm == "constant":
        a = np.full(m, dt(e.nm_thres) if e.nm_thres > 0 else dt(1.0), dtype=dt)
    elif nm == "average_abs_max":
        a = np.empty(m, dtype=dt)
        decay = dt(io.nm_decay)
        state = dt(-1.0) if nm_state is None else dt(nm_state)
        for i in range(m):  # once per vector, in sample order
            amax = np.abs(x[i]).max()
            state = amax if state < 0 else (dt(1.0) - decay) * state + decay * amax
            a[i] = state
    else:
        raise ValueError(f"unknown noise_management {nm!r}")

    short_cut = nm_on & (a <= 0) & (transpose or io.inp_noise <= 0)
    bm = io.bound_management == "iterative" and not transpose

    y = np.zeros((m, L_out))
    rounds = np.zeros(m, dtype=int)
    track = unit_roundoff is not None
    u = unit_roundoff or 0.0
    tol = np.zeros((m, L_out)) if track else None
    step = np.zeros((m, L_out)) if track else None
    fragile = np.zeros(m, dtype=bool)

    active = np.flatnonzero(~short_cut)
    r = 1.0
    while active.size:
        xa = x[active]
        aa = a[active]
        # Step 2: input scale sigma = (1/a)/r in dt, applied as sigma·x (see the module docstring).
        d = np.ones(active.size, dtype=dt)
        sig = np.ones(active.size, dtype=dt)
        pos = nm_on & (aa > 0)
        d[pos] = aa[pos]
        with np.errstate(over="ignore", divide="ignore"):
            sig[pos] = dt(1) / aa[pos]
        if bm:
            d = d * dt(r)
            sig = sig / dt(r)
        finite = np.isfinite(sig)
        # Step 3: DAC, in dt.
        with np.errstate(invalid="ignore", over="ignore"):
            v = np.where(finite[:, None], xa * sig[:, None], xa / d[:, None]).astype(dt)
        v = quantize(v, dt(e.inp_res), io.inp_sto_round, rng).astype(dt)
        v = np.clip(v, -dt(e.inp_bound), dt(e.inp_bound))
        if io.inp_noise > 0:
            v = v + io.inp_noise * rng.standard_normal(v.shape)
        if io.inp_asymmetry != 0:
            v = np.where(v < 0, v * dt(1 - io.inp_asymmetry), v)
        v = v.astype(np.float64)
        # Step 4: MVM.
        yh = v @ Wm.T
        # Step 5.3: output-referred weight noise.
        if io.w_noise > 0 and io.w_noise_type == "additive_constant":
            yh = yh + io.w_noise * np.linalg.norm(v, axis=1)[:, None] * rng.standard_normal(yh.shape)
        elif io.w_noise > 0 and io.w_noise_type == "pcm_read":
            yh = yh + io.w_noise * np.sqrt((v * v) @ np.abs(Wm).T) * rng.standard_normal(yh.shape)
        # Step 6: ADC.
        if io.out_asymmetry != 0:
            yh = np.where(yh < 0, yh * (1 - io.out_asymmetry), yh)
        if io.out_noise > 0:
            yh = yh + io.out_noise * rng.standard_normal(yh.shape)
        if track:
            G = np.abs(v) @ np.abs(Wm).T * max(1.0, abs(1 - io.out_asymmetry))
            gemm_err = (n + 2) * u * G + 4 * u * np.abs(yh) + 1e-300
        # Quantise, clip and test the bound. With an ADC step the outputs are levels k·step and the
        # range holds |k| <= kmax = out_bound / step (a whole number for the usual resolutions, §1.2
        # step 5: k = -255..255 at the defaults); the test is made on k, exactly, rather than on the
        # rounded product k·step.
        if e.out_res > 0:
            t = yh / e.out_res
            if io.out_sto_round:
                t = t + (rng.random(t.shape) - 0.5)
            k = np.rint(t)
            kmax = adc_kmax(e)
            sat_pos, sat_neg = k > kmax, k < -kmax
            yq = np.where(sat_pos, e.out_bound, np.where(sat_neg, -e.out_bound, e.out_res * k))
        else:
            sat_pos, sat_neg = yh > e.out_bound, yh < -e.out_bound
            yq = np.clip(yh, -e.out_bound, e.out_bound)
        saturated = (sat_pos | (sat_neg & io.bm_test_negative_bound)).any(axis=1)
        # Step 8: rescale (written every round; the last round's value stands).
        f = np.where(nm_on & (aa > 0), aa.astype(np.float64), 1.0) * (r if bm else 1.0) * gain
        y[active] = f[:, None] * yq
        rounds[active] += 1
        if track:
            fa = np.abs(f)[:, None]
            near_edge = np.zeros_like(yh, dtype=bool)
            if e.out_res > 0:
                tq = yh / e.out_res
                flip = half_step_distance(tq) * e.out_res <= gemm_err
                # The two candidate levels around a half step; a flip matters for the bound test if
                # they fall on different sides of a tested bound.
                lo, hi, kmax = np.floor(tq), np.ceil(tq), adc_kmax(e)
                near_edge = flip & (((lo > kmax) != (hi > kmax))
                                    | (io.bm_test_negative_bound & ((lo < -kmax) != (hi < -kmax))))
                step[active] = np.where(flip, e.out_res * fa, 0.0)
                tol[active] = 6 * u * np.abs(y[active]) + 1e-300
            else:
                near_edge = np.abs(yh - e.out_bound) <= gemm_err
                if io.bm_test_negative_bound:
                    near_edge |= np.abs(yh + e.out_bound) <= gemm_err
                step[active] = 0.0
                tol[active] = gemm_err * fa + 6 * u * np.abs(y[active]) + 1e-300
            if bm:
                fragile[active] |= near_edge.any(axis=1)
        # Step 7: bound test and stop rules.
        if not bm:
            break
        if r > io.max_bm_factor or (e.inp_res > 0 and r > io.max_bm_res / e.inp_res):
            break
        active = active[saturated]
        r *= 2.0

    out = ReferenceResult(y=y, rounds=rounds, a=a.astype(np.float64))
    if track:
        out.tol, out.step, out.fragile_rows = tol, step, fragile
    return out


def assert_matches_reference(y_kernel, ref: ReferenceResult, *, max_fragile_fraction: float = 0.05,
                             context: str = "") -> None:
    """Compare a kernel output with a reference run with ``unit_roundoff`` (see the module docstring).

    Every element of a non-fragile row must satisfy |Δ| <= tol, or |Δ| <= tol + step where the ADC
    input was within rounding error of a half step. At most ``max_fragile_fraction`` of the rows may be
    fragile (else the comparison would prove little).
    """
    y_kernel = np.asarray(y_kernel, dtype=np.float64)
    assert y_kernel.shape == ref.y.shape, f"{context}: shape {y_kernel.shape} != {ref.y.shape}"
    ok_rows = ~ref.fragile_rows
    m = ref.y.shape[0]
    assert ref.fragile_rows.sum() <= max(1, max_fragile_fraction * m), (
        f"{context}: {int(ref.fragile_rows.sum())} of {m} rows are within rounding error of a decision")
    diff = np.abs(y_kernel - ref.y)[ok_rows]
    allowed = (ref.tol + ref.step)[ok_rows]
    bad = diff > allowed
    if bad.any():
        i, j = np.argwhere(bad)[0]
        rows = np.flatnonzero(ok_rows)
        raise AssertionError(
            f"{context}: {int(bad.sum())} elements differ beyond the derived tolerance; first at "
            f"row {rows[i]}, line {j}: kernel {y_kernel[rows[i], j]!r}, reference {ref.y[rows[i], j]!r}, "
            f"allowed {allowed[i, j]!r} (tol {ref.tol[ok_rows][i, j]!r}, step {ref.step[ok_rows][i, j]!r})")
