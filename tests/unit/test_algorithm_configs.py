"""Algorithm configs: validation, defaults against the spec tables, derived vectors and the learning-rate
semantics. Spec: algorithms.md §0 (numbering, aihwkit order), §3.1 (fields), §4 (rates), §8 (baselines)."""
from __future__ import annotations

import pytest

from xbarsim.config import IOConfig, SoftBounds, TileConfig, UpdateConfig
from xbarsim.config.algorithms import (
    ChoppedTikiTakaV2,
    MixedPrecision,
    ResidualLearning,
    SingleTile,
    TikiTaka,
    TikiTakaV2,
)


def test_tile_config_default_algorithm_is_single_tile():
    assert TileConfig().algorithm == SingleTile()
    with pytest.raises(TypeError, match="algorithm must be a AlgorithmConfig"):
        TileConfig(algorithm="residual")


def test_residual_learning_defaults_match_spec_table():
    """algorithms.md §3.1."""
    r = ResidualLearning(n_tiles=3, gamma=0.5)
    assert (r.transfer_every, r.units_in_mbatch, r.transfer_lr, r.scale_transfer_lr) == (1.0, True, 1.0, True)
    assert (r.fast_lr, r.scale_fast_lr, r.n_reads_per_transfer, r.transfer_columns) == (1.0, True, 1, True)
    assert (r.random_selection, r.warm_start, r.read, r.gradient_device_model) == (False, "none", "reduced", None)
    assert r.transfer_update == UpdateConfig()
    assert r.transfer_io == IOConfig(noise_management="none", bound_management="none")


def test_residual_learning_vectors_in_xbarsim_order():
    r = ResidualLearning(n_tiles=4, gamma=0.5)
    assert r.gammas() == (1.0, 0.5, 0.25, 0.125)
    assert r.periods() == (8.0, 4.0, 2.0, 1.0)  # scalar period of the gradient tile, growth 1/γ per tile
    assert ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=2.0, transfer_every_growth=5).periods() == (50, 10, 2)
    r = ResidualLearning(n_tiles=3, gamma_vec=(1.0, 0.2, 0.04), transfer_every=1.0)
    assert r.periods() == pytest.approx((25.0, 5.0, 1.0))  # growth gamma_vec[N-1]/gamma_vec[N]
    r = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=(50, 10, 2), transfer_lr=(0.1, 0.12, 0.144))
    assert r.periods() == (50.0, 10.0, 2.0) and r.transfer_lrs() == (0.1, 0.12, 0.144)


def test_aihwkit_order_is_reversed():
    """algorithms.md §0 and §7: aihwkit gamma_vec [0.25, 0.5, 1] = xbarsim [1, 0.5, 0.25]."""
    a = ResidualLearning(n_tiles=3, gamma_vec=(0.25, 0.5, 1.0), transfer_every=(2, 10, 50),
                         transfer_lr=(0.144, 0.12, 0.1), order="aihwkit")
    x = ResidualLearning(n_tiles=3, gamma_vec=(1.0, 0.5, 0.25), transfer_every=(50, 10, 2),
                         transfer_lr=(0.1, 0.12, 0.144))
    assert a.gammas() == x.gammas() and a.periods() == x.periods() and a.transfer_lrs() == x.transfer_lrs()
    with pytest.raises(ValueError, match="non-zero entry for tile 0"):
        ResidualLearning(n_tiles=2, gamma_vec=(1.0, 0.0), order="aihwkit")


def test_learning_rate_semantics():
    """algorithms.md §4: η_N = fast_lr·(lr if scale_fast_lr) if fast_lr > 0 else lr; β_n = transfer_lr[n]·(lr if
    scale_transfer_lr)."""
    lr = 0.05
    r = ResidualLearning(n_tiles=3, gamma=0.5, fast_lr=1.0, scale_fast_lr=False, transfer_lr=(0.1, 0.12, 0.144),
                         scale_transfer_lr=False)
    assert r.fast_rate(lr) == 1.0 and r.transfer_rates(lr) == (0.1, 0.12, 0.144)
    r = r.replace(scale_fast_lr=True, scale_transfer_lr=True)
    assert r.fast_rate(lr) == pytest.approx(0.05)
    assert r.transfer_rates(lr) == pytest.approx((0.005, 0.006, 0.0072))
    assert r.replace(fast_lr=0.0).fast_rate(lr) == lr and r.replace(fast_lr=-1.0).fast_rate(lr) == lr


def test_residual_learning_validation():
    with pytest.raises(ValueError, match="gamma must be given"):
        ResidualLearning(n_tiles=3)
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\)"):
        ResidualLearning(n_tiles=3, gamma=1.5)
    with pytest.raises(ValueError, match="n_tiles must be >= 2"):
        ResidualLearning(n_tiles=1, gamma=0.5)
    with pytest.raises(ValueError, match="gamma_vec must have n_tiles=3 entries"):
        ResidualLearning(n_tiles=3, gamma_vec=(1.0, 0.5))
    with pytest.raises(ValueError, match="transfer_every must be >= 0"):
        ResidualLearning(n_tiles=2, gamma=0.5, transfer_every=(1, -1))
    with pytest.raises(ValueError, match="warm_start must be one of"):
        ResidualLearning(n_tiles=2, gamma=0.5, warm_start="always")
    with pytest.raises(ValueError, match="read must be 'reduced'"):
        ResidualLearning(n_tiles=2, gamma=0.5, read="analog_sum")
    with pytest.raises(ValueError, match="transfer_every_growth must be given"):
        ResidualLearning(n_tiles=2, gamma_vec=(1.0, 0.0))
    with pytest.warns(UserWarning, match="forced to 'none'"):
        r = ResidualLearning(n_tiles=2, gamma=0.5, transfer_io=IOConfig())
    assert r.transfer_io_eff().noise_management == "none" and r.transfer_io_eff().bound_management == "none"


def test_round_trip_through_dict():
    r = ResidualLearning(n_tiles=3, gamma_vec=(1.0, 0.2, 0.04), transfer_every=(50, 10, 2), transfer_lr=0.3,
                         warm_start="reference_cuda", gradient_device_model=SoftBounds(dw_min=0.1))
    cfg = TileConfig(algorithm=r)
    assert TileConfig.from_dict(cfg.to_dict()) == cfg
    for algo in (TikiTaka(), TikiTakaV2(), ChoppedTikiTakaV2(), MixedPrecision(n_x_bins=5), SingleTile()):
        c = TileConfig(algorithm=algo)
        assert TileConfig.from_dict(c.to_dict()) == c


def test_baseline_defaults_match_spec():
    t = TikiTaka()
    assert (t.n_tiles, t.gamma, t.transfer_every, t.units_in_mbatch, t.transfer_lr, t.scale_transfer_lr) == \
        (2, 0.0, 1.0, True, 1.0, True)
    assert (t.fast_lr, t.scale_fast_lr, t.with_reset_prob) == (1.0, True, 0.0)
    assert t.gammas() == (1.0, 0.0)  # γ = 0: C alone is visible
    assert TikiTaka(gamma=0.3).gammas() == (1.0, 0.3)
    # aihwkit's code rule for scalar periods with more tiles: T_{k+1} = T_k · out / n_reads
    assert TikiTaka(n_tiles=3, transfer_every=2.0).periods(out_size=5, in_size=7) == (50.0, 10.0, 2.0)
    v2 = TikiTakaV2()
    assert (v2.thres_scale, v2.step, v2.momentum, v2.forget_buffer) == (1.0, 1.0, 0.1, True)
    assert v2.transfer_update == UpdateConfig(desired_bl=1, update_bl_management=False, update_management=False)
    c = ChoppedTikiTakaV2()
    assert (c.in_chop_prob, c.in_chop_random, c.out_chop_prob, c.buffer_granularity, c.auto_granularity) == \
        (0.1, True, 0.0, 1.0, 0.0)
    assert (c.step, c.momentum, c.forget_buffer, c.no_buffer, c.units_in_mbatch, c.auto_scale) == \
        (1.0, 0.0, True, False, False, False)
    assert (c.auto_momentum, c.fast_lr, c.scale_fast_lr, c.transfer_lr, c.scale_transfer_lr, c.transfer_every) == \
        (0.99, 1.0, False, 1.0, True, 1.0)
    m = MixedPrecision()
    assert (m.transfer_every, m.n_rows_per_transfer, m.random_row, m.granularity, m.transfer_lr) == \
        (1, -1, False, 0.0, 1.0)
    assert (m.n_x_bins, m.n_d_bins, m.stoc_round_x, m.stoc_round_d) == (0, 0, True, True)


def test_baseline_validation():
    with pytest.raises(ValueError, match="with_reset_prob"):
        TikiTaka(with_reset_prob=1.5)
    with pytest.raises(ValueError, match="momentum"):
        TikiTakaV2(momentum=2.0)
    with pytest.raises(ValueError, match="thres_scale must be > 0"):
        TikiTakaV2(thres_scale=0.0)
    with pytest.raises(ValueError, match="in_chop_prob"):
        ChoppedTikiTakaV2(in_chop_prob=-0.1)
    with pytest.raises(ValueError, match="n_rows_per_transfer"):
        MixedPrecision(n_rows_per_transfer=0)
    with pytest.raises(TypeError, match="n_x_bins must be an int"):
        MixedPrecision(n_x_bins=2.5)
