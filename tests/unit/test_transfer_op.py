"""The fused transfer op against the sequence of single-vector ops it replaces, and closed forms.

Spec: algorithms.md §3.3 (one transfer event), §3.5 (fusion must equal the sequential order), §8.3,
§12 ("with perfect transfer IO and a deterministic device a transfer changes exactly one column by the
closed-form amount").
"""
from __future__ import annotations

import copy

import pytest
import torch

import xbarsim
from xbarsim.algorithms import ResidualLearning, make_tile
from xbarsim.algorithms.base import transfer_tile
from xbarsim.config import ConstantStep, IOConfig, SoftBounds, TileConfig, UpdateConfig
from xbarsim.ops import mvm as _mvm
from xbarsim.ops import transfer as _transfer
from xbarsim.ops import update as _update

PERFECT = IOConfig(is_perfect=True)
NOISY_READ = IOConfig(noise_management="none", bound_management="none", out_noise=0.06)


def _compound(n_tiles=3, out=5, inp=7, device_model=None, transfer_io=PERFECT, transfer_update=None, columns=True,
              seed=3, dtype=torch.float64):
    device_model = device_model or SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.25)
    algo = ResidualLearning(n_tiles=n_tiles, gamma=0.5, transfer_every=1.0, transfer_io=transfer_io,
                            transfer_update=transfer_update or UpdateConfig(), transfer_columns=columns)
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=device_model, algorithm=algo)
    t = make_tile(out, inp, cfg, seed=seed, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    t.set_tile_weights(torch.rand(n_tiles, out, inp, generator=g, dtype=dtype) * 1.6 - 0.8)
    return t


def _events(rows):
    ev = torch.tensor([r[:6] for r in rows], dtype=torch.int64)
    rates = torch.tensor([[r[6], 0.0, 1.0] for r in rows], dtype=torch.float64)
    return ev, rates


def _reference(t, rows, io, update, columns=True):
    """The sequence the fused op replaces: a one-hot analog read, then a pulsed write, per event."""
    for src_i, tgt_i, line, read_call, write_call, _, lr in rows:
        src, tgt = t.tiles[src_i], t.tiles[tgt_i]
        n_in = t.in_size if columns else t.out_size
        onehot = torch.zeros(1, n_in, dtype=src.weight.dtype)
        onehot[0, line] = 1.0
        y = _mvm.analog_mvm(onehot, src.weight, io, transpose=not columns, seed=src.seed, call=read_call)
        x, d = (onehot, -y) if columns else (-y, onehot)
        _update.pulsed_update(tgt.weight, x, d, lr, update=update, device_model=tgt.config.device_model,
                              cells=tgt.device_state.cells(), seed=tgt.seed, call=write_call,
                              persistent=tgt.weight_persistent, counters=tgt.pulse_counters)


def _fused(t, rows, io, update, columns=True):
    ev, rates = _events(rows)
    _transfer.transfer_([transfer_tile(x) for x in t.tiles], ev, rates, io=io, update=update, transpose=not columns)


# (source, target, line, read_call, write_call, buffer, lr): a cascade step with a same-line dependency
# (tile 1 line 2 is written by the first event and read by the second), a repeated line and a large rate.
ROWS = [(2, 1, 2, 11, 12, -1, 0.9), (1, 0, 2, 13, 14, -1, 0.7), (2, 1, 4, 15, 16, -1, 2.5),
        (2, 1, 4, 17, 18, -1, 0.3)]


@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize("io", [PERFECT, NOISY_READ], ids=["perfect", "noisy_read"])
@pytest.mark.parametrize("update", [UpdateConfig(), UpdateConfig(update_bl_management=False, update_management=False),
                                    UpdateConfig(desired_bl=1, update_bl_management=False, update_management=False),
                                    UpdateConfig(pulse_type="mean_count")],
                         ids=["managed", "fixed_bl", "bl1", "mean_count"])
def test_fused_equals_sequential_ops(columns, io, update):
    a = _compound(columns=columns)
    b = copy.deepcopy(a)
    rows = [(s, t, min(line, (a.in_size if columns else a.out_size) - 1), rc, wc, bi, lr)
            for s, t, line, rc, wc, bi, lr in ROWS]
    _fused(a, rows, io, update, columns)
    _reference(b, rows, io, update, columns)
    for ta, tb in zip(a.tiles, b.tiles):
        assert torch.equal(ta.weight, tb.weight)
    assert not torch.equal(a.tiles[1].weight, copy.deepcopy(_compound(columns=columns)).tiles[1].weight)


def test_fused_equals_sequential_with_write_noise_and_counters():
    dev = SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.25, write_noise_std=0.3)
    upd = UpdateConfig(count_pulses=True)
    a = _compound(device_model=dev)
    b = copy.deepcopy(a)
    _fused(a, ROWS, PERFECT, upd)
    _reference(b, ROWS, PERFECT, upd)
    for ta, tb in zip(a.tiles, b.tiles):
        assert torch.equal(ta.weight, tb.weight)
        assert torch.equal(ta.weight_persistent, tb.weight_persistent)
        assert torch.equal(ta.pulse_counters, tb.pulse_counters)
    assert int(a.tiles[1].pulse_counters.sum()) > 0


def test_exact_pulse_type_none():
    upd = UpdateConfig(pulse_type="none")
    a = _compound()
    before = a.get_tile_weights()
    _fused(a, [(2, 1, 3, 0, 0, -1, 0.5)], PERFECT, upd)
    expected = before[1].clone()
    expected[:, 3] += 0.5 * before[2][:, 3]
    assert torch.equal(a.tiles[1].weight, expected)


def test_closed_form_with_deterministic_device():
    """ConstantStep without noise, mean_count pulses, perfect IO: a transfer of line c moves column c of
    the target by rint-rounded whole steps toward +β·W_source[:, c] and touches nothing else."""
    dev = ConstantStep(w_min=-10.0, w_max=10.0, dw_min=0.1, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                       w_max_dtod=0.0, up_down_dtod=0.0)
    upd = UpdateConfig(pulse_type="mean_count", update_bl_management=False, update_management=False, desired_bl=100)
    a = _compound(device_model=dev, transfer_update=upd)
    src = torch.tensor([0.3, -0.5, 0.0, 0.25, -0.05], dtype=torch.float64)
    w = a.get_tile_weights()
    w[2][:, 4] = src
    a.set_tile_weights(w)
    before = a.get_tile_weights()
    beta = 2.0
    _fused(a, [(2, 1, 4, 0, 0, -1, beta)], PERFECT, upd)
    after = a.get_tile_weights()
    # mean_count: BL = 100, A = B = sqrt(β/(ε·BL)); counts c_x = rint(BL·B·1), c_d = rint(BL·A·|y|),
    # n = rint(c_x c_d / BL) pulses of dw_min each, direction −sign(d) = +sign(W_source).
    bl, eps = 100, 0.1
    ab = (beta / (eps * bl)) ** 0.5
    cx = torch.round(torch.tensor(bl * ab))
    cd = torch.round(bl * ab * src.abs())
    n = torch.round(cx * cd / bl)
    expected = before[1][:, 4] + torch.sign(src) * n * eps
    torch.testing.assert_close(after[1][:, 4], expected, rtol=0, atol=1e-12)
    assert torch.allclose(n * eps, beta * src.abs(), atol=eps)  # ≈ β·|w| in whole steps
    mask = torch.ones_like(after[1], dtype=torch.bool)
    mask[:, 4] = False
    assert torch.equal(after[1][mask], before[1][mask])
    assert torch.equal(after[0], before[0]) and torch.equal(after[2], before[2])  # no reset of the source


def test_reduce_tiles_sums_in_tile_order():
    ws = [torch.randn(3, 4, dtype=torch.float64) for _ in range(4)]
    g = [1.0, 0.5, 0.25, 0.125]
    out = torch.empty(3, 4, dtype=torch.float64)
    _transfer.reduce_tiles_(out, ws, g)
    ref = g[0] * ws[0]
    for k in range(1, 4):
        ref = ref + g[k] * ws[k]
    assert torch.equal(out, ref)


def test_bad_tables_change_nothing():
    a = _compound()
    before = a.get_tile_weights()
    tiles = [transfer_tile(x) for x in a.tiles]
    with pytest.raises(ValueError, match="lines"):
        _transfer.transfer_(tiles, *_events([(2, 1, 99, 0, 0, -1, 0.5)]), io=PERFECT, update=UpdateConfig())
    with pytest.raises(ValueError, match="tiles"):
        _transfer.transfer_(tiles, *_events([(5, 1, 0, 0, 0, -1, 0.5)]), io=PERFECT, update=UpdateConfig())
    with pytest.raises(ValueError, match="noise_management"):
        _transfer.transfer_(tiles, *_events([(2, 1, 0, 0, 0, -1, 0.5)]), io=IOConfig(), update=UpdateConfig())
    with pytest.raises(ValueError, match="finite"):
        _transfer.transfer_(tiles, *_events([(2, 1, 0, 0, 0, -1, float("nan"))]), io=PERFECT, update=UpdateConfig())
    with pytest.raises(ValueError, match="buffer"):
        _transfer.transfer_(tiles, *_events([(2, 1, 0, 0, 0, -1, 0.5)]), io=PERFECT, update=UpdateConfig(),
                            kind="buffered", buffers=torch.zeros(1, 5, 7, dtype=torch.float64))
    assert torch.equal(a.get_tile_weights(), before)


def test_random_line_and_fills_are_deterministic():
    lines = [_transfer.random_line(5, c, 0, 7) for c in range(200)]
    assert set(lines) == set(range(7))
    assert lines == [_transfer.random_line(5, c, 0, 7) for c in range(200)]
    u = _transfer.fill_uniform_(torch.empty(1000), 3, 4)
    assert 0.0 <= float(u.min()) and float(u.max()) < 1.0
    assert torch.equal(u, _transfer.fill_uniform_(torch.empty(1000), 3, 4))
    z = _transfer.fill_normal_(torch.empty(4000), 3, 4)
    assert abs(float(z.mean())) < 5 / 4000**0.5 and abs(float(z.std()) - 1) < 5 * (0.5 / 4000) ** 0.5
    assert xbarsim.ops.transfer.uniform(3, 4, 2) == float(u[2])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("out,inp,m", [(1, 1, 1), (3, 5, 3), (16, 25, 37), (17, 300, 9), (40, 513, 4)])
@pytest.mark.parametrize("threads", [1, 2])
def test_chi_accumulate_adds_the_samples_in_order(dtype, out, inp, m, threads):
    """χ[i, j] ← (…((χ + (lr·d_0i)·x_0j) + (lr·d_1i)·x_1j) …), each product and sum rounded once, samples in
    order (transfer.h: chi_term). The reference does the same operations elementwise, one sample after
    another, so the cache-blocked CPU loop must give its bits for every block and remainder shape."""
    g = torch.Generator().manual_seed(out * 1000 + inp + m)
    chi = torch.randn(out, inp, generator=g, dtype=dtype)
    x, d = torch.randn(m, inp, generator=g, dtype=dtype), torch.randn(m, out, generator=g, dtype=dtype)
    lr = 0.37
    expected = chi.clone()
    for b in range(m):
        expected = expected + (torch.tensor(lr, dtype=dtype) * d[b]).unsqueeze(1) * x[b].unsqueeze(0)
    before = xbarsim.ops.num_threads()
    try:
        xbarsim.ops.set_num_threads(threads)
        _transfer.chi_accumulate_(chi, x, d, lr)
    finally:
        xbarsim.ops.set_num_threads(before)
    assert torch.equal(chi, expected)
