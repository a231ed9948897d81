"""TT-v2 buffer, threshold and momentum arithmetic, and chopped TT-v2 chopper signs and flips, on small
tiles against float64 references. Deterministic setting: perfect IO, a ConstantStep device without any
variation, BL-1 transfer writes (one exact step per count ±1). Spec: algorithms.md §8.3, §8.4, §12."""
from __future__ import annotations

import math

import pytest
import torch

from xbarsim.algorithms import ChoppedTikiTakaV2, TikiTakaV2, make_tile
from xbarsim.algorithms import residual_learning as _rl
from xbarsim.config import ConstantStep, IOConfig, TileConfig, UpdateConfig

PERFECT = IOConfig(is_perfect=True)
EPS = 0.1
DEV = ConstantStep(w_min=-10.0, w_max=10.0, dw_min=EPS, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                   w_max_dtod=0.0, up_down_dtod=0.0)


def _tile(algo, out=4, inp=3, seed=1):
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, update=UpdateConfig(pulse_type="none"), device_model=DEV,
                     algorithm=algo)
    return make_tile(out, inp, cfg, seed=seed, dtype=torch.float64)


def _ttv2_reference(A, C, H, c, beta, thres, momentum, forget, bl=1):
    """One TT-v2 transfer of line c (algorithms.md §8.3)."""
    y = A[:, c]
    omega = H[:, c] + beta * y
    n = torch.clamp(torch.trunc(omega / (thres * EPS)), -bl, bl)
    if forget:
        H[:, c] = torch.where(n != 0, momentum * omega, omega)
    else:
        H[:, c] = omega - (1 - momentum) * n * thres * EPS
    C[:, c] = C[:, c] + n * EPS  # write d = −n with rate step·ε: one step up per count +1
    return n


@pytest.mark.parametrize("forget", [True, False])
@pytest.mark.parametrize("thres", [1.0, 0.6])
def test_ttv2_buffer_matches_reference(forget, thres):
    algo = TikiTakaV2(transfer_lr=0.4, scale_transfer_lr=False, fast_lr=0.0, momentum=0.25, forget_buffer=forget,
                      thres_scale=thres, transfer_io=PERFECT)
    t = _tile(algo)
    A = torch.tensor([[0.30, -0.05, 0.9], [-0.45, 0.2, 0.0], [0.12, -0.3, 0.26], [0.0, 0.6, -0.8]],
                     dtype=torch.float64)
    C = torch.zeros(4, 3, dtype=torch.float64)
    t.set_tile_weights(torch.stack([C, A]))
    H = torch.zeros(4, 3, dtype=torch.float64)
    x, d = torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)
    counts = []
    for step in range(9):  # three sweeps over the 3 lines; lr 0 keeps A fixed (fast_lr ≤ 0 → η = lr)
        t.update(x, d, lr=0.0)
        counts.append(_ttv2_reference(A, C, H, step % 3, 0.4, thres, 0.25, forget))
        torch.testing.assert_close(t.transfer_buffer[0], H, rtol=0, atol=1e-12)
        torch.testing.assert_close(t.tiles[0].weight, C, rtol=0, atol=1e-12)
    assert torch.stack(counts).abs().sum() > 0 and torch.equal(t.tiles[1].weight, A)


def test_ttv2_gain_uses_gamma_ratio_and_lr_scaling(monkeypatch):
    """β_t = transfer_lr·lr·(γ_A/γ_C if both > 0); write rate step·ε_C; divisor thres_scale·ε_C."""
    calls = []
    original = _rl._transfer.transfer_
    monkeypatch.setattr(_rl._transfer, "transfer_", lambda tiles, ev, rates, **kw: (calls.append((rates.tolist(), kw)),
                                                                                     original(tiles, ev, rates, **kw)))
    t = _tile(TikiTakaV2(gamma=0.5, transfer_lr=2.0, step=3.0, thres_scale=0.7, momentum=0.2))
    t.update(torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64), lr=0.1)
    (rates, kw), = calls
    assert rates == [pytest.approx([3.0 * EPS, 2.0 * 0.1 * 0.5, 0.7 * EPS])]
    assert kw["kind"] == "buffered" and kw["buffer_bl"] == 1 and kw["momentum"] == 0.2
    assert kw["forget_buffer"] is True


def _cttv2_reference(A, C, H, c, lam, c_in, c_out, momentum=0.0, forget=True, bl=1):
    y = A[:, c]
    s = torch.where(c_out != c_in[c], -1.0, 1.0).to(torch.float64)
    omega = H[:, c] + s * lam * y
    n = torch.clamp(torch.trunc(omega), -bl, bl)
    if forget:
        H[:, c] = torch.where(n != 0, momentum * omega, omega)
    else:
        H[:, c] = omega - (1 - momentum) * n
    C[:, c] = C[:, c] + n * EPS


def test_chopped_ttv2_signs_and_regular_flips():
    """Regular choppers with in_chop_prob 0.5: n_s = 2, input choppers flip on every second sweep
    (when sweeps mod 2 + 1 = 2); the buffer sign is −1 where c_in(line) ≠ c_out(i)."""
    algo = ChoppedTikiTakaV2(in_chop_prob=0.5, in_chop_random=False, transfer_lr=0.5, scale_transfer_lr=False,
                             fast_lr=0.0, buffer_granularity=1.0, transfer_every=1.0, transfer_io=PERFECT)
    t = _tile(algo)
    A = torch.tensor([[0.30, -0.05, 0.9], [-0.45, 0.2, 0.0], [0.12, -0.3, 0.26], [0.0, 0.6, -0.8]],
                     dtype=torch.float64)
    C = torch.zeros(4, 3, dtype=torch.float64)
    t.set_tile_weights(torch.stack([C, A]))
    t.chop_out.copy_(torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64))
    H = torch.zeros(4, 3, dtype=torch.float64)
    c_in = torch.ones(3, dtype=torch.float64)
    c_out = t.chop_out.clone()
    lam = 0.5 / EPS  # |β|/bg with bg = buffer_granularity·ε_A
    x, d = torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)
    sweeps = 0
    for step in range(12):  # one vector per call, period 1 vector: one line per call
        t.update(x, d, lr=0.0)
        line = step % 3
        _cttv2_reference(A, C, H, line, lam, c_in, c_out)
        if (sweeps % 2) + 1 == 2:
            c_in[line] = -c_in[line]
        if line == 2:
            sweeps += 1
        assert torch.equal(t.chop_in, c_in), step
        torch.testing.assert_close(t.transfer_buffer[0], H, rtol=0, atol=1e-12)
        torch.testing.assert_close(t.tiles[0].weight, C, rtol=0, atol=1e-12)
    assert t.sweeps == 4 and c_in.eq(1).all()  # flipped in sweeps 1 and 3: back to +1
    assert torch.equal(t.get_weights()[0], t.tiles[0].weight)  # γ = 0: C alone


def test_chopped_gradient_and_visible_weight():
    """The gradient tile accumulates x·c_in, d·c_out; with γ > 0 the visible weight is γ·(c_out c_inᵀ)∘A + C."""
    algo = ChoppedTikiTakaV2(in_chop_prob=0.0, transfer_lr=0.0, gamma=0.5, fast_lr=0.2)
    t = _tile(algo)
    t.chop_in.copy_(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))
    t.chop_out.copy_(torch.tensor([-1.0, 1.0, 1.0, 1.0], dtype=torch.float64))
    x = torch.tensor([[0.5, 0.25, -1.0]], dtype=torch.float64)
    d = torch.tensor([[0.1, -0.2, 0.3, 0.4]], dtype=torch.float64)
    t.update(x, d, lr=1.0)
    xs, ds = x * t.chop_in, d * t.chop_out
    torch.testing.assert_close(t.tiles[1].weight, -0.2 * ds.T @ xs)
    signed = t.tiles[1].weight * t.chop_out[:, None] * t.chop_in[None, :]
    torch.testing.assert_close(t.get_weights()[0], t.tiles[0].weight + 0.5 * signed)


def test_chopped_random_flips_and_output_choppers_are_reproducible():
    algo = ChoppedTikiTakaV2(in_chop_prob=0.5, out_chop_prob=0.5, fast_lr=0.0, scale_transfer_lr=False)
    a, b = _tile(algo, seed=3), _tile(algo, seed=3)
    x, d = torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64)
    flips_in = 0
    for _ in range(30):
        before = a.chop_in.clone()
        a.update(x, d, 0.0)
        b.update(x, d, 0.0)
        flips_in += int((a.chop_in != before).sum())
    assert torch.equal(a.chop_in, b.chop_in) and torch.equal(a.chop_out, b.chop_out)
    # One line is read per call, and its input chopper flips with probability 1/2 after the read: 30
    # independent trials, flips_in ~ Binomial(30, 1/2), mean 15, sigma = sqrt(30/4) = 2.74. 5 sigma:
    # |flips_in - 15| <= 13.7, i.e. 2 <= flips_in <= 28.
    n, p = 30, 0.5
    assert abs(flips_in - n * p) <= 5 * math.sqrt(n * p * (1 - p))
    assert a.sweeps == 10
