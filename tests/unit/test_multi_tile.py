"""Runtime bookkeeping of the multi-tile algorithms on hand-worked small cases: which tile gets the
gradient, when each transfer happens, which line, with which rate; initialisation; warm start through
the tile; exact resume; bad input. Spec: algorithms.md §3–§6, §8.2, §11, §12."""
from __future__ import annotations

import copy

import pytest
import torch

import xbarsim
from xbarsim.algorithms import (
    MixedPrecision,
    MixedPrecisionTile,
    PlateauDetector,
    ResidualLearning,
    ResidualLearningTile,
    SingleTile,
    TikiTaka,
    make_tile,
    signal_warm_start,
)
from xbarsim.algorithms import residual_learning as _rl
from xbarsim.config import ConstantStep, IOConfig, SoftBounds, TileConfig, UpdateConfig

PERFECT = IOConfig(is_perfect=True)
EXACT = UpdateConfig(pulse_type="none")  # the exact float update W ← W − η d xᵀ


def _cfg(algo, device_model=None, update=EXACT):
    return TileConfig(forward=PERFECT, backward=PERFECT, update=update,
                      device_model=device_model or SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.25), algorithm=algo)


@pytest.fixture
def recorder(monkeypatch):
    """Records every fused transfer call: (events [E, 6] as lists, rates [E, 3] as lists)."""
    calls = []
    original = _rl._transfer.transfer_

    def record(tiles, events, rates, **kw):
        calls.append((events.tolist(), rates.tolist(), kw))
        return original(tiles, events, rates, **kw)

    monkeypatch.setattr(_rl._transfer, "transfer_", record)
    return calls


def test_factory_and_single_tile():
    t = make_tile(3, 4, TileConfig(), seed=1)
    assert type(t) is xbarsim.AnalogTile
    assert type(make_tile(3, 4, _cfg(ResidualLearning(n_tiles=2, gamma=0.5)))) is ResidualLearningTile
    with pytest.raises(TypeError, match="config.algorithm must be SingleTile"):
        xbarsim.AnalogTile(3, 4, _cfg(ResidualLearning(n_tiles=2, gamma=0.5)))
    with pytest.raises(TypeError, match="config must be a TileConfig"):
        make_tile(3, 4, "cfg")


def test_tiles_have_their_own_seeds_and_populations():
    t = make_tile(4, 5, _cfg(ResidualLearning(n_tiles=3, gamma=0.5)), seed=7)
    seeds = [s.seed for s in t.tiles]
    assert len(set(seeds)) == 3 and 7 not in seeds
    scales = [s.device_state.scale_up for s in t.tiles]
    assert not torch.equal(scales[0], scales[1]) and not torch.equal(scales[1], scales[2])


def test_set_weights_goes_into_tile_zero():
    """algorithms.md §5: tile 0 ← W/gamma_vec[0] clipped to the cells' bounds, the others 0."""
    algo = ResidualLearning(n_tiles=3, gamma_vec=(2.0, 0.5, 0.25))
    t = make_tile(3, 2, _cfg(algo), seed=1, dtype=torch.float64)
    w = torch.tensor([[0.2, -0.4], [3.0, -3.0], [0.0, 1.0]], dtype=torch.float64)
    t.set_weights(w)
    tw = t.get_tile_weights()
    b_min, b_max = t.tiles[0].device_state.b_min, t.tiles[0].device_state.b_max
    assert torch.equal(tw[0], torch.maximum(torch.minimum(w / 2.0, b_max), b_min))
    assert torch.count_nonzero(tw[1:]) == 0
    assert torch.equal(t.get_weights()[0], 2.0 * tw[0] + 0.5 * tw[1] + 0.25 * tw[2])


def test_only_the_gradient_tile_receives_the_gradient():
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_lr=0.0, fast_lr=0.3, scale_fast_lr=False)
    t = make_tile(3, 4, _cfg(algo), seed=2, dtype=torch.float64)
    t.set_weights(torch.full((3, 4), 0.1, dtype=torch.float64))
    before = t.get_tile_weights()
    x = torch.rand(5, 4, dtype=torch.float64)
    d = torch.randn(5, 3, dtype=torch.float64) * 0.1
    t.update(x, d, lr=7.0)
    after = t.get_tile_weights()
    assert torch.equal(after[0], before[0]) and torch.equal(after[1], before[1])
    torch.testing.assert_close(after[2], before[2] - 0.3 * d.T @ x)  # η_N = fast_lr (constant)
    torch.testing.assert_close(t.get_weights()[0], after[0] + 0.5 * after[1] + 0.25 * after[2])


def test_transfer_times_lines_and_rates(recorder):
    """4 tiles, transfer_every [8, 4, 2, 1] mini-batches (xbarsim order), batch 3: events after the last
    vector of batches 1, 2, ...; same-step order fastest source first; lines from each source's pointer;
    rates β_n = transfer_lr[n]·lr (scale_transfer_lr)."""
    algo = ResidualLearning(n_tiles=4, gamma=0.5, transfer_every=(8, 4, 2, 1), transfer_lr=(9.0, 0.1, 0.2, 0.3))
    t = make_tile(2, 3, _cfg(algo), seed=3)
    x, d = torch.rand(3, 3), torch.rand(3, 2) * 0.01
    counters_after = []
    for _ in range(4):
        t.update(x, d, lr=0.5)
        counters_after.append([int(tile.rng_counter) for tile in t.tiles])
    seq = [[(e[0], e[1], e[2]) for e in ev] for ev, _, _ in recorder]
    assert seq == [[(3, 2, 0)], [(3, 2, 1), (2, 1, 0)], [(3, 2, 2)], [(3, 2, 0), (2, 1, 1), (1, 0, 0)]]
    rates = {e[0]: r[0] for ev, rs, _ in recorder for e, r in zip(ev, rs)}
    assert rates == pytest.approx({3: 0.15, 2: 0.1, 1: 0.05})
    # Every line read consumes one call of its source (read_call, column 3) and then one of its target
    # (write_call, column 4), in event order: replay the tiles' call counters. Each mini-batch first
    # spends one call of the gradient tile (3) on its update, then the events of its transfer point.
    calls = [0, 0, 0, 0]
    for (ev, _, _), after in zip(recorder, counters_after):
        calls[3] += 1
        for e in ev:
            assert e[3] == calls[e[0]], (e, calls)
            calls[e[0]] += 1
            assert e[4] == calls[e[1]], (e, calls)
            calls[e[1]] += 1
        assert calls == after
    # the batch-4 chain 3 -> 2 -> 1 -> 0: a tile written by one event is read by the next with its next call
    ev = recorder[3][0]
    assert ev[0][4] + 1 == ev[1][3] and ev[1][4] + 1 == ev[2][3]
    assert recorder[0][2]["kind"] == "direct" and recorder[0][2]["transpose"] is False


def test_zero_rate_transfers_do_nothing(recorder):
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(1, 1, 1), transfer_lr=(0.0, 0.0, 1.0))
    t = make_tile(2, 3, _cfg(algo), seed=3)
    t.update(torch.rand(1, 3), torch.rand(1, 2), lr=0.1)
    assert [[(e[0], e[1]) for e in ev] for ev, _, _ in recorder] == [[(2, 1)]]
    assert t.schedule.pointers == [0, 0, 1]  # the disabled source's pointer did not move


def test_non_integer_period_transfers_inside_the_batch(recorder):
    """transfer_every 0.5 mini-batches of 4 vectors: the gradient tile gets vectors 0-1, transfer,
    vectors 2-3, transfer (algorithms.md §3.2)."""
    algo = ResidualLearning(n_tiles=2, gamma=0.5, transfer_every=0.5, fast_lr=1.0, scale_fast_lr=False)
    t = make_tile(2, 3, _cfg(algo), seed=4, dtype=torch.float64)
    calls = []
    original = t.gradient_tile.update

    def spy(x, d, lr, **kw):
        calls.append(x.shape[0])
        return original(x, d, lr, **kw)

    t.gradient_tile.update = spy
    t.update(torch.rand(4, 3, dtype=torch.float64), torch.rand(4, 2, dtype=torch.float64), lr=0.1)
    assert calls == [2, 2] and len(recorder) == 2


def test_rows_mode_reads_output_lines(recorder):
    algo = ResidualLearning(n_tiles=2, gamma=0.5, transfer_columns=False)
    t = make_tile(3, 5, _cfg(algo), seed=1)
    for _ in range(4):
        t.update(torch.rand(1, 5), torch.rand(1, 3), lr=0.1)
    assert [ev[0][2] for ev, _, _ in recorder] == [0, 1, 2, 0]  # pointers run over out_size = 3
    assert recorder[0][2]["transpose"] is True


def test_warm_start_through_the_model(recorder):
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(4, 2, 1), warm_start="paper")
    layer = make_tile(2, 3, _cfg(algo), seed=1)
    model = torch.nn.ModuleDict({"a": layer, "b": make_tile(2, 3, _cfg(SingleTile()))})
    x, d = torch.rand(1, 3), torch.rand(1, 2)
    layer.update(x, d, 0.1)
    det = PlateauDetector("paper")
    for loss in (1.0, 1.1):
        if det.update(loss):
            assert signal_warm_start(model) == 1
    layer.update(x, d, 0.1)
    layer.update(x, d, 0.1)
    targets = [(ev[0][0], ev[0][1]) for ev, _, _ in recorder]
    assert targets == [(2, 0), (2, 1), (2, 1)]  # k = 0, then k = 1 after the signal; N → k only


def test_exact_resume_from_state_dict():
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(4, 2, 1), random_selection=True,
                            warm_start="reference_cuda")
    cfg = _cfg(algo, update=UpdateConfig())
    a = make_tile(4, 5, cfg, seed=11)
    a.set_weights(torch.rand(4, 5) * 0.5)
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.rand(3, 5, generator=gen), torch.randn(3, 4, generator=gen)) for _ in range(12)]
    for x, d in batches[:5]:
        a.update(x, d, 0.1)
    a.signal_warm_start()
    state = copy.deepcopy(a.state_dict())
    b = make_tile(4, 5, cfg, seed=11)
    b.load_state_dict(state)
    for x, d in batches[5:]:
        a.update(x, d, 0.1)
        b.update(x, d, 0.1)
    assert torch.equal(a.get_tile_weights(), b.get_tile_weights())
    assert torch.equal(a.get_weights()[0], b.get_weights()[0])
    assert a.schedule.state() == b.schedule.state() and int(a.rng_counter) == int(b.rng_counter)
    assert [int(t.rng_counter) for t in a.tiles] == [int(t.rng_counter) for t in b.tiles]
    c = make_tile(4, 5, _cfg(algo.replace(gamma=0.4), update=UpdateConfig()), seed=11)
    with pytest.raises(ValueError, match="config differs"):
        c.load_state_dict(state)


def test_bad_input_changes_nothing():
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(1, 1, 1))
    t = make_tile(2, 3, _cfg(algo, update=UpdateConfig()), seed=5)
    t.update(torch.rand(2, 3), torch.rand(2, 2), 0.1)
    snap = copy.deepcopy(t.state_dict())
    sched = t.schedule.state()
    bad = [(torch.rand(2, 4), torch.rand(2, 2), 0.1, ValueError, "x must have shape"),
           (torch.rand(2, 3), torch.rand(3, 2), 0.1, ValueError, "same leading dimensions"),
           (torch.full((2, 3), float("nan")), torch.rand(2, 2), 0.1, ValueError, "x must be finite"),
           (torch.rand(2, 3), torch.rand(2, 2), float("inf"), ValueError, "lr must be finite"),
           (torch.rand(2, 3), torch.rand(2, 2).int(), 0.1, TypeError, "floating-point"),
           ([1.0], torch.rand(2, 2), 0.1, TypeError, "x must be a torch.Tensor")]
    for x, d, lr, exc, msg in bad:
        with pytest.raises(exc, match=msg):
            t.update(x, d, lr)
    after = t.state_dict()
    for k, v in snap.items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, after[k]), k
    assert t.schedule.state() == sched


def test_tiki_taka_visible_weight_and_reset(recorder):
    t = make_tile(3, 4, _cfg(TikiTaka(gamma=0.0, with_reset_prob=1.0, transfer_lr=0.5)), seed=1,
                  dtype=torch.float64)
    t.set_tile_weights(torch.rand(2, 3, 4, dtype=torch.float64) * 0.4)
    assert torch.equal(t.get_weights()[0], t.get_tile_weights()[0])  # γ = 0: C alone
    dev = t.tiles[1].config.device_model
    t.update(torch.rand(1, 4, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64), 0.1)
    col = t.get_tile_weights()[1][:, 0]
    # reset to reset + reset_std·ξ (defaults 0, 0.01), then clipped
    assert float(col.abs().max()) < 0.01 * 6 and dev.reset == 0.0


def test_mixed_precision_accumulator_and_row_transfer():
    """χ += lr·dᵀx; every mini-batch all rows: n = trunc(χ/ε), χ −= n·ε, W[r] −= ε·transfer_lr·n. With a
    deterministic device and mean_count pulses the write is exact (algorithms.md §8.6)."""
    dev = ConstantStep(w_min=-10.0, w_max=10.0, dw_min=0.1, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                       w_max_dtod=0.0, up_down_dtod=0.0)
    t = make_tile(3, 4, _cfg(MixedPrecision(), device_model=dev, update=UpdateConfig(pulse_type="mean_count")),
                  seed=1, dtype=torch.float64)
    assert isinstance(t, MixedPrecisionTile)
    x = torch.tensor([[1.0, -2.0, 0.5, 0.0], [0.3, 0.1, -0.2, 1.0]], dtype=torch.float64)
    d = torch.tensor([[0.4, -0.1, 0.0], [1.0, 0.2, -0.7]], dtype=torch.float64)
    lr = 0.2
    chi = lr * d.T @ x
    n = torch.trunc(chi / 0.1)
    t.update(x, d, lr)
    torch.testing.assert_close(t.chi, chi - n * 0.1)
    torch.testing.assert_close(t.get_weights()[0], -0.1 * n, atol=1e-12, rtol=0)
    assert t.batches == 1


def test_mixed_precision_row_pointer_and_period():
    cfg = _cfg(MixedPrecision(n_rows_per_transfer=2, transfer_every=2))
    t = make_tile(5, 3, cfg, seed=1)
    x, d = torch.rand(1, 3), torch.rand(1, 5)
    t.update(x, d, 0.1)
    assert t.row_pointer == 0  # no transfer after the first batch
    t.update(x, d, 0.1)
    assert t.row_pointer == 2
    t.update(x, d, 0.1)
    t.update(x, d, 0.1)
    t.update(x, d, 0.1)
    t.update(x, d, 0.1)
    assert t.row_pointer == 1  # 0-1, 2-3, 4-0, next 1


def test_quantize_bins_reference():
    from xbarsim.algorithms.mixed_precision import quantize_bins

    v = torch.tensor([[0.9, -0.3, 0.05, 0.0]], dtype=torch.float64)
    q = quantize_bins(v, 5, None)  # half = 2, w = 0.45
    torch.testing.assert_close(q, torch.tensor([[0.9, -0.45, 0.0, 0.0]], dtype=torch.float64))
    u = torch.tensor([[0.0, 0.99, 0.95, 0.5]])
    q = quantize_bins(v, 5, u)  # rint(v/w + u − ½)
    torch.testing.assert_close(q, torch.tensor([[0.9, 0.0, 0.45, 0.0]], dtype=torch.float64))
    assert torch.equal(quantize_bins(torch.zeros(1, 3), 4, None), torch.zeros(1, 3))


def test_residual_learning_equals_aihwkit_order_tiki_taka():
    """algorithms.md §12: ResidualLearning with xbarsim vectors = TikiTaka (TransferCompound semantics) with
    the same vectors in aihwkit order, for a deterministic configuration."""
    dev = ConstantStep(w_min=-10.0, w_max=10.0, dw_min=0.05, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                       w_max_dtod=0.0, up_down_dtod=0.0)
    upd = UpdateConfig(pulse_type="mean_count")
    common = dict(units_in_mbatch=True, fast_lr=0.5, scale_fast_lr=False, scale_transfer_lr=True, transfer_io=PERFECT,
                  transfer_update=upd)
    resl = ResidualLearning(n_tiles=3, gamma_vec=(1.0, 0.3, 0.09), transfer_every=(4, 2, 1),
                            transfer_lr=(0.0, 2.0, 3.0), **common)
    tt = TikiTaka(n_tiles=3, gamma_vec=(0.09, 0.3, 1.0), transfer_every=(1, 2, 4), transfer_lr=(3.0, 2.0, 0.0),
                  order="aihwkit", **common)
    a = make_tile(3, 4, _cfg(resl, device_model=dev, update=upd), seed=2, dtype=torch.float64)
    b = make_tile(3, 4, _cfg(tt, device_model=dev, update=upd), seed=2, dtype=torch.float64)
    w = torch.rand(3, 4, dtype=torch.float64) - 0.5
    a.set_weights(w)
    b.set_weights(w)
    g = torch.Generator().manual_seed(3)
    for _ in range(9):
        x = torch.rand(2, 4, generator=g, dtype=torch.float64)
        d = torch.randn(2, 3, generator=g, dtype=torch.float64)
        a.update(x, d, 0.5)
        b.update(x, d, 0.5)
    assert torch.equal(a.get_tile_weights(), b.get_tile_weights())
    assert torch.equal(a.get_weights()[0], b.get_weights()[0])
    assert torch.count_nonzero(a.get_tile_weights()[1]) > 0


def test_reference_cuda_self_transfer_and_write_back_run(recorder):
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(100, 1, 1), warm_start="reference_cuda")
    t = make_tile(2, 3, _cfg(algo, update=UpdateConfig()), seed=1)
    t.set_tile_weights(torch.rand(3, 2, 3) * 0.5)
    x, d = torch.rand(1, 3), torch.rand(1, 2)
    t.signal_warm_start()
    t.update(x, d, 0.1)  # c = 1: relay N−1 → N−1 (executed self-transfer)
    t.signal_warm_start()
    t.update(x, d, 0.1)  # c = 0: N−1 → N (write-back into the gradient tile)
    assert [[(e[0], e[1]) for e in ev] for ev, _, _ in recorder][-2:] == [[(2, 1), (1, 1)], [(2, 1), (1, 2)]]


def test_scaled_fast_rate_reaches_the_gradient_tile():
    algo = ResidualLearning(n_tiles=2, gamma=0.5, transfer_lr=0.0, fast_lr=0.3, scale_fast_lr=True)
    t = make_tile(3, 4, _cfg(algo), seed=2, dtype=torch.float64)
    before = t.get_tile_weights()
    x, d = torch.rand(2, 4, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64) * 0.1
    t.update(x, d, lr=2.0)
    torch.testing.assert_close(t.get_tile_weights()[1], before[1] - 0.6 * d.T @ x)  # η_N = fast_lr·lr


def test_mixed_precision_binning_without_rounding_noise():
    from xbarsim.algorithms.mixed_precision import quantize_bins

    algo = MixedPrecision(n_x_bins=5, n_d_bins=3, stoc_round_x=False, stoc_round_d=False, transfer_every=0)
    t = make_tile(3, 4, _cfg(algo), seed=1, dtype=torch.float64)
    x = torch.tensor([[0.9, -0.3, 0.05, 0.0]], dtype=torch.float64)
    d = torch.tensor([[0.2, -0.7, 0.1]], dtype=torch.float64)
    t.update(x, d, 0.5)
    expected = 0.5 * quantize_bins(d, 3, None).T @ quantize_bins(x, 5, None)
    torch.testing.assert_close(t.chi, expected)
    assert torch.count_nonzero(t.get_weights()[0]) == 0  # transfer_every 0: no row transfer
