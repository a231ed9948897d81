"""A float64 NumPy reference of the pulsed update, written from analog-tile.md §2 and §3 (not from the
C++): Philox4x32-10 (Appendix A), BL/A/B (§2.3), bit lines and coincidence counts (§2.4), the
deterministic pulse types (§2.7), the per-pulse device models (§3.3), applied one pulse at a time,
cells independent, samples in order (§2.6), and write noise (§3.4).

Where the spec leaves a choice to xbarsim, the reference follows the numbering documented next to
the draws (analog-tile.md says "document it in the code"): streams and the (key, counter) layout in
csrc/include/xbarsim/rng/streams.h, the bit-line elements in update/bit_lines.h, the probability
rounding uniforms and the write-noise normal in ops/pulsed_update.h, the pulse-noise elements in
update/pulse_noise.h. With those, the reference reproduces the op's coincidence counts exactly from
the Philox words, and with the op's normals (given to it, see ``OpNoise``) its weights to float64
rounding. With NumPy normals instead (``NumpyNoise``) it samples the spec's distribution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from xbarsim import _core, devices

# --- Philox4x32-10 (Appendix A) and the stream layout -----------------------------------------------

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)

STREAM_BIT_LINE_X, STREAM_BIT_LINE_D, STREAM_PULSE_NOISE, STREAM_WRITE_NOISE, STREAM_PROB_ROUND = 16, 17, 18, 19, 20


def philox4x32_10(counter, key) -> np.ndarray:
    """Philox4x32-10 of counters ``counter`` (4 arrays of uint32 values, broadcast together) and one key
    (k0, k1): the 4 output words as a uint64 array ``[4, ...]``. One round maps (c0, c1, c2, c3) to
    (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)); the key is bumped by (W0, W1)
    between rounds."""
    c = [np.asarray(v, dtype=np.uint64) & MASK32 for v in np.broadcast_arrays(*counter)]
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for _ in range(10):
        p0 = np.uint64(M0) * c[0]  # < 2^64: exact in uint64
        p1 = np.uint64(M1) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0), p1 & MASK32,
             (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1), p0 & MASK32]
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    return np.stack(c)


def philox_draw(seed: int, stream: int, call: int, element) -> np.ndarray:
    """The 4 words of draw ``element`` of (seed, stream, call): key = (seed lo, seed hi), counter =
    (element lo, element hi, call lo, (call >> 32 & 0xffff) | stream << 16)."""
    e = np.asarray(element, dtype=np.uint64)
    return philox4x32_10((e & MASK32, e >> np.uint64(32), np.uint64(call & 0xFFFFFFFF),
                          np.uint64(((call >> 32) & 0xFFFF) | (stream << 16))), (seed, seed >> 32))


def uniform_closed_open(words: np.ndarray) -> np.ndarray:
    """Appendix A: the top 24 bits of a word, (u >> 8)·2^-24, in [0, 1)."""
    return (words >> np.uint64(8)).astype(np.float64) * 2.0 ** -24


def uniform_at(seed: int, stream: int, call: int, index) -> np.ndarray:
    """Uniform number ``index`` of a stream: lane index % 4 of element index // 4."""
    index = np.asarray(index, dtype=np.uint64)
    words = philox_draw(seed, stream, call, index >> np.uint64(2))
    return uniform_closed_open(np.take_along_axis(words, (index & np.uint64(3)).astype(np.int64)[None], 0)[0])


# --- BL, A, B (§2.3) --------------------------------------------------------------------------------

def update_res(r: float) -> float:
    """§6 #9: res > 1 means 1/res; res <= 0 means no discretisation."""
    return 0.0 if r <= 0 else (1.0 / r if r > 1 else r)


def base_bl_ab(lr: float, eps: float, upd) -> tuple[int, float]:
    """§2.3 step 1: (BL, A = B) before management."""
    lr = abs(lr)
    if upd.fixed_bl or upd.update_bl_management:
        return upd.desired_bl, math.sqrt(lr / (eps * upd.desired_bl))
    if eps * upd.desired_bl < lr:
        return max(math.ceil(lr / eps), 1), 1.0
    return upd.desired_bl, math.sqrt(lr / (eps * upd.desired_bl))


def base_bl(lr: float, eps: float, upd) -> int:
    """BL of §2.3 step 1: the longest train of the call (the op numbers its pulse noise by it)."""
    return base_bl_ab(lr, eps, upd)[0]


def bl_a_b(lr: float, eps: float, upd, x_max: float, d_max: float) -> tuple[int, float, float]:
    """(BL, A, B) of one vector, §2.3 steps 1-6 (update management is on whenever BL management is)."""
    lr = abs(lr)
    bl, a = base_bl_ab(lr, eps, upd)
    b = a
    if not (upd.update_bl_management or upd.update_management):
        return bl, a, b
    d_max = upd.um_grad_scale * d_max
    if x_max == 0 or d_max == 0:
        return 0, 0.0, 0.0
    k = lr * x_max * d_max / eps
    if upd.update_bl_management:
        bl = min(math.ceil(k), upd.desired_bl)
        a = b = math.sqrt(lr / (eps * bl))
    if k > upd.desired_bl:
        d_max = d_max * upd.desired_bl / k
    return bl, a * math.sqrt(x_max / d_max), b * math.sqrt(d_max / x_max)


def line_probabilities(v: np.ndarray, scale: float, res: float, sto_round: bool, u: np.ndarray | None) -> np.ndarray:
    """§2.4: P = D(|v|·scale), D(p) = p (res <= 0) or res·rint(p/res (+ U − 1/2 with sto_round))."""
    p = np.abs(v) * scale
    if res > 0:
        q = p / res
        if sto_round:
            q = q + (u - 0.5)
        p = res * np.rint(q)
    return p


def bit_lines(prob: np.ndarray, bl: int, bl_max: int, b: int, seed: int, stream: int, call: int) -> np.ndarray:
    """Bits ``[bl, lines]`` of one side of sample b (§2.4): line l fires in slot k if P_l > U, with U of
    lane l % 4 of Philox element (b·bl_max + k)·groups + l // 4 (groups = ceil(lines / 4))."""
    lines = prob.shape[0]
    groups = (lines + 3) // 4
    k = np.arange(bl, dtype=np.uint64)[:, None]
    g = np.arange(groups, dtype=np.uint64)[None, :]
    words = philox_draw(seed, stream, call, (np.uint64(b * bl_max) + k) * np.uint64(groups) + g)  # [4, bl, groups]
    u = uniform_closed_open(words).transpose(1, 2, 0).reshape(bl, 4 * groups)[:, :lines]  # lane l -> line 4g + l
    return prob[None, :] > u


# --- device models, one pulse (§3.3) ----------------------------------------------------------------

def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den, 0 where den is 0 (a zero reference gives a zero slope)."""
    return np.divide(num, den, out=np.zeros(np.broadcast_shapes(num.shape, den.shape)), where=den != 0)


def pulse(dev, c: dict, w: np.ndarray, up: np.ndarray, xi: np.ndarray, pw: tuple | None = None) -> np.ndarray:
    """One pulse on every element of w (up where ``up``, down elsewhere) with its own normal ``xi``;
    ``c`` holds the cells' parameters (arrays broadcastable to w). Ends with the clip to the cell's
    bounds, except where the spec skips the pulse (frozen ExpStep / PowStep cells)."""
    sig = dev.dw_min_std
    b_min, b_max, s_up, s_down = c["b_min"], c["b_max"], c["scale_up"], c["scale_down"]
    s = np.where(up, s_up, s_down)
    sign = np.where(up, 1.0, -1.0)
    model = type(dev).__name__
    if model == "ConstantStep":
        # up w += s↑(1 + σξ); down w −= s↓(1 + σξ)
        return np.clip(w + sign * (s * (1 + sig * xi)), b_min, b_max)
    if model == "LinearStep":
        # slopes m = −γ s / r per cell (population); mult: w ± (m w + s)(1 + σξ), else w ± (m w + s(1 + σξ))
        m = np.where(up, c["slope_up"], c["slope_down"])
        step = (m * w + s) * (1 + sig * xi) if dev.mult_noise else m * w + s * (1 + sig * xi)
        return np.clip(w + sign * step, b_min, b_max)
    if model == "SoftBounds":
        # up s↑(1 − w/b_max), down s↓(1 − w/b_min); a zero bound gives a constant step (slope 0)
        shrink = 1 - np.where(up, _ratio(w, b_max + 0 * w), _ratio(w, b_min + 0 * w))
        step = s * shrink * (1 + sig * xi) if dev.mult_noise else s * shrink + s * sig * xi
        return np.clip(w + sign * step, b_min, b_max)
    if model == "SoftBoundsReference":
        r = c["reference"]
        g = w + r
        a = np.where(up, np.where(b_max > 0, _ratio(g, b_max + 0 * g), 0.0),
                     np.where(b_min < 0, _ratio(g, b_min + 0 * g), 0.0))
        step = s * (1 - a) * (1 + sig * xi) if dev.mult_noise else s * (1 - a + sig * xi)
        return np.clip(g + sign * step, b_min, b_max) - r
    if model == "ExpStep":
        span = b_max - b_min
        z = 2 * dev.a * w / np.where(span > 0, span, 1.0) + dev.b
        y = np.where(up, np.maximum(1 - dev.A_up * np.exp(dev.gamma_up * z), 0),
                     np.maximum(1 - dev.A_down * np.exp(-dev.gamma_down * z), 0))
        delta = sign * y * s
        if sig > 0 and (dev.dw_min_std_add != 0 or dev.dw_min_std_slope != 0):
            new = w + delta + sig * (np.abs(delta) + dev.dw_min_std_add + dev.dw_min_std_slope * np.abs(w)) * xi
        else:
            new = w + delta * (1 + sig * xi)
        return np.where(span > 0, np.clip(new, b_min, b_max), w)
    if model == "PowStep":
        span = b_max - b_min
        safe = np.where(span != 0, span, 1.0)
        base = np.where(up, (b_max - w) / safe, (w - b_min) / safe)
        y = np.power(np.maximum(base, 0.0), np.where(up, c["gamma_up"], c["gamma_down"]))
        new = w + sign * s * y * (1 + sig * xi)
        return np.where(span != 0, np.clip(new, b_min, b_max), w)
    if model == "PiecewiseStep":
        up_t, down_t = (np.asarray(t, dtype=np.float64) for t in (pw or (dev.piecewise_up, dev.piecewise_down)))
        n_nodes = up_t.shape[0]
        if n_nodes == 1:
            node = np.where(up, up_t[0], down_t[0]) + 0 * w
        else:
            n = n_nodes - 1
            span = b_max - b_min
            u = np.maximum((w - b_min) / np.where(span > 0, span, 1.0) * n, 0.0)
            k = np.minimum(np.floor(u), n - 1).astype(np.int64)
            t = np.minimum(u - k, 1.0)
            node = np.where(up, (1 - t) * up_t[k] + t * up_t[k + 1], (1 - t) * down_t[k] + t * down_t[k + 1])
            node = np.where(span > 0, node, np.where(up, up_t[0], down_t[0]))
        return np.clip(w + sign * (node * s * (1 + sig * xi)), b_min, b_max)
    raise NotImplementedError(model)


# --- noise sources ----------------------------------------------------------------------------------

class NoNoise:
    """dw_min_std = 0 and no write noise: no normal is ever needed."""

    def pulse_normals(self, b, cells, k):
        return np.zeros(len(cells))

    def write_normals(self, cells):
        raise AssertionError("write noise without a noise source")


@dataclass
class OpNoise:
    """The op's own normals, handed to the reference as inputs: pulse k of cell c in sample b uses lane
    k % 4 of pulse-noise element (b·cells + c)·ceil(bl_max / 4) + k // 4 (update/pulse_noise.h); the
    write noise of a touched cell is normal number c of the write-noise stream (ops/pulsed_update.h).
    Their distribution is the stats tests' business; here they make the comparison exact."""

    seed: int
    call: int
    n_cells: int
    bl_max: int
    _cache: dict = field(default_factory=dict)

    def pulse_normals(self, b, cells, k):
        words = (self.bl_max + 3) // 4
        out = np.empty(len(cells))
        for n, cell in enumerate(cells):
            element = (b * self.n_cells + int(cell)) * words + k // 4
            if element not in self._cache:
                self._cache[element] = _core.testing.pulse_normals4(self.seed, self.call, element)
            out[n] = self._cache[element][k % 4]
        return out

    def write_normals(self, cells):
        z = torch.empty(self.n_cells)
        _core.testing.fill_random(_view(z), self.seed, STREAM_WRITE_NOISE, self.call, "normal")
        return z.double().numpy()[cells]


@dataclass
class NumpyNoise:
    """Independent standard normals from NumPy: samples the spec's distribution."""

    rng: np.random.Generator

    def pulse_normals(self, b, cells, k):
        return self.rng.standard_normal(len(cells))

    def write_normals(self, cells):
        return self.rng.standard_normal(len(cells))


def _view(t):
    from xbarsim.ops._views import view
    return view(t)


# --- the whole update (§2.6 order) ------------------------------------------------------------------

@dataclass
class UpdateResult:
    counts: list          # per sample: signed pulse counts [out, in] (+ = up), None for BL = 0
    input_pulses: int
    output_pulses: int
    up: int
    down: int
    slots: int = 0        # pulse-train slots: Σ BL over the samples (§2.3)


def signed_counts(x, d, lr, upd, eps, b, bl_max, seed, call) -> tuple[np.ndarray | None, int, int]:
    """Signed pulse counts [out, in] of sample b (+: up pulses) and the line pulses fired on each side."""
    bl, a, bb = bl_a_b(lr, eps, upd, float(np.abs(x).max()), float(np.abs(d).max()))
    if bl == 0:
        return None, 0, 0
    n_in, n_out = x.shape[0], d.shape[0]
    ptype = upd.pulse_type
    if ptype in ("stochastic_compressed", "stochastic"):
        res = update_res(upd.res)
        u = None
        if upd.sto_round and res > 0:
            u = uniform_at(seed, STREAM_PROB_ROUND, call, b * (n_in + n_out) + np.arange(n_in + n_out))
        px = line_probabilities(x, bb, res, upd.sto_round, None if u is None else u[:n_in])
        qd = line_probabilities(d, a, res, upd.sto_round, None if u is None else u[n_in:])
        fx = bit_lines(px, bl, bl_max, b, seed, STREAM_BIT_LINE_X, call)
        fd = bit_lines(qd, bl, bl_max, b, seed, STREAM_BIT_LINE_D, call)
        n = fd.astype(np.int64).T @ fx.astype(np.int64)  # coincidences [out, in]
        direction = np.sign(d)[:, None] * np.sign(x)[None, :] * np.sign(lr)  # > 0: down (§2.5)
        return np.where(direction > 0, -n, n), int(fx.sum()), int(fd.sum())
    if ptype == "mean_count":
        res = update_res(upd.res)
        cx = np.sign(x) * np.clip(np.rint(bl * line_probabilities(x, bb, res, False, None)), 0, bl)
        cd = np.sign(d) * np.clip(np.rint(bl * line_probabilities(d, a, res, False, None)), 0, bl)
        n = np.rint(cd[:, None] * cx[None, :] / bl)
        return (-np.sign(lr) * n).astype(np.int64), int(np.abs(cx).sum()), int(np.abs(cd).sum())
    if ptype == "deterministic_implicit":
        px = np.clip(line_probabilities(x, bb, update_res(upd.x_res_implicit), False, None), 0, 1)
        qd = np.clip(line_probabilities(d, a, update_res(upd.d_res_implicit), False, None), 0, 1)
        n = np.rint((bl * (np.sign(d) * qd))[:, None] * (np.sign(x) * px)[None, :])
        return ((-np.sign(lr) * n).astype(np.int64), int(np.rint(bl * px).sum()), int(np.rint(bl * qd).sum()))
    raise ValueError(ptype)


def pulsed_update_reference(w: np.ndarray, w_app: np.ndarray | None, cells: dict, dev, upd, x: np.ndarray,
                            d: np.ndarray, lr: float, seed: int, call: int, noise, pw=None) -> UpdateResult:
    """Apply one call's update in place to the float64 weights ``w`` (the persistent ones with write
    noise; ``w_app`` the apparent ones, else None): for each sample in order, the signed coincidence
    counts, then pulse after pulse on every cell (pulse k of all cells with more than k pulses at
    once: the cells are independent), then the write noise of the touched cells."""
    if lr == 0:
        return UpdateResult([], 0, 0, 0, 0)
    eps = dev.granularity()
    bl_max = base_bl(lr, eps, upd)
    flat = {k: v.reshape(-1) for k, v in cells.items()}
    wf = w.reshape(-1)
    touched = np.zeros(wf.shape[0], dtype=bool)
    res = UpdateResult([], 0, 0, 0, 0)
    for b in range(x.shape[0]):
        sn, fired_x, fired_d = signed_counts(x[b], d[b], lr, upd, eps, b, bl_max, seed, call)
        res.counts.append(sn)
        if sn is None:
            continue
        res.input_pulses += fired_x
        res.output_pulses += fired_d
        res.slots += bl_a_b(lr, eps, upd, float(np.abs(x[b]).max()), float(np.abs(d[b]).max()))[0]
        sn = sn.reshape(-1)
        n, up = np.abs(sn), sn > 0
        res.up += int(n[up].sum())
        res.down += int(n[~up].sum())
        touched |= n > 0
        for k in range(int(n.max(initial=0))):
            idx = np.nonzero(n > k)[0]
            xi = noise.pulse_normals(b, idx, k) if dev.dw_min_std > 0 else np.zeros(len(idx))
            c = {name: v[idx] for name, v in flat.items()}
            wf[idx] = pulse(dev, c, wf[idx], up[idx], xi, pw)
    if w_app is not None:
        idx = np.nonzero(touched)[0]
        w_app.reshape(-1)[idx] = wf[idx] + dev.write_noise_std * dev.dw_min * noise.write_normals(idx)
    return res


def tile_state(tile) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """(persistent or only weights, apparent weights or None, per-cell parameters) of a tile, float64."""
    cells = {k: v.detach().double().numpy().copy() for k, v in tile.device_state.cells().items()}
    if tile.weight_persistent is not None:
        return tile.weight_persistent.double().numpy().copy(), tile.weight.double().numpy().copy(), cells
    return tile.weight.double().numpy().copy(), None, cells


# --- the device cases shared by the reference and stats tests -----------------------------------------

COMMON = dict(dw_min=0.05)  # 24 mean steps across [-0.6, 0.6]: trains of ~30 pulses reach the bounds
MODEL_CASES = {
    "ConstantStep": devices.ConstantStep(**COMMON),
    "LinearStep": devices.LinearStep(gamma_up=0.4, gamma_down=0.2, gamma_up_dtod=0.1, **COMMON),
    "LinearStep_additive": devices.LinearStep(gamma_up=0.3, gamma_down=0.5, mult_noise=False,
                                              mean_bound_reference=False, **COMMON),
    "LinearStep_reverse": devices.LinearStep(gamma_up=0.3, gamma_down=0.3, reverse_up=True, reverse_down=True,
                                             reverse_offset=0.2, **COMMON),
    "SoftBounds": devices.SoftBounds(w_min=-1.0, w_max=1.0, **COMMON),
    "SoftBounds_additive": devices.SoftBounds(mult_noise=False, up_down=0.2, **COMMON),
    "SoftBoundsReference": devices.SoftBoundsReference(reference_mean=0.05, reference_std=0.1, slope_up_dtod=0.2,
                                                       slope_down_dtod=0.2, subtract_symmetry_point=True, **COMMON),
    "SoftBoundsReference_mult": devices.SoftBoundsReference(mult_noise=True, reference_std=0.1, **COMMON),
    "ExpStep": devices.ExpStep(**COMMON),
    "ExpStep_complex_noise": devices.ExpStep(dw_min_std_add=0.02, dw_min_std_slope=0.1, **COMMON),
    "PowStep": devices.PowStep(pow_gamma=2.0, pow_gamma_dtod=0.3, pow_up_down=0.2, pow_up_down_dtod=0.1, **COMMON),
    "PiecewiseStep": devices.PiecewiseStep(piecewise_up=(1.6, 1.2, 1.0, 0.5, 0.1),
                                           piecewise_down=(0.2, 0.6, 1.0, 1.3, 1.5), **COMMON),
}


def quiet(dev):
    """The model without cycle-to-cycle or write noise (device-to-device variation stays on)."""
    return dev.replace(dw_min_std=0.0, write_noise_std=0.0)


def noisy(dev):
    """σ = 0.3 cycle-to-cycle noise, and write noise 0.5·dw_min where the model has it (§3.4)."""
    return dev.replace(dw_min_std=0.3, write_noise_std=0.5 if dev.supports_write_noise else 0.0)
