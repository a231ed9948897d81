"""The paper presets reproduce the tables of experiments.md §1.4, §1.5, §2.4, §2.5 and algorithms.md §10."""
from __future__ import annotations

import pytest

from xbarsim.config.algorithms import MixedPrecision, ResidualLearning, SingleTile, TikiTaka, TikiTakaV2
from xbarsim.presets import paper


@pytest.mark.parametrize("n_tiles, te, lrs", [
    (3, (50, 10, 2), (0.1, 0.12, 0.144)),
    (4, (250, 50, 10, 2), (0.1, 0.12, 0.144, 0.1728)),
    (6, (6250, 1250, 250, 50, 10, 2), (0.1, 0.12, 0.144, 0.1728, 0.20736, 0.248832)),
])
def test_table1_residual_learning_vectors(n_tiles, te, lrs):
    p = paper.table1("ours", dataset="fashion_mnist", n_tiles=n_tiles)
    a = p.config.algorithm
    assert isinstance(a, ResidualLearning)
    assert a.gammas() == pytest.approx(tuple(0.2**n for n in range(n_tiles)))
    assert a.periods() == te and a.transfer_lrs() == pytest.approx(lrs)
    assert (a.fast_lr, a.scale_fast_lr, a.scale_transfer_lr, a.units_in_mbatch) == (1.0, False, False, True)
    assert a.warm_start == "reference_cuda" and p.plateau_rule == "reference_mnist"
    assert p.config.device_model.dw_min == 0.5 and p.config.forward.is_perfect and a.transfer_io.is_perfect
    assert (p.batch_size, p.lr, p.epochs, p.lr_schedule) == (16, 0.05, 200, (0.1, 50))
    text = paper.table1("ours", dataset="mnist", n_tiles=n_tiles, variant="text")
    assert text.config.algorithm.gammas()[1] == 0.5 and text.config.device_model.dw_min == pytest.approx(0.2)
    assert text.config.algorithm.warm_start == "paper" and text.epochs == 100


def test_table1_baselines():
    tt = paper.table1("ttv1", dataset="fashion_mnist")
    assert isinstance(tt.config.algorithm, TikiTaka)
    assert (tt.config.algorithm.fast_lr, tt.config.algorithm.transfer_lr) == (0.1, 1.0)  # code
    assert tt.config.device_model.model == "SoftBoundsReference" and not tt.config.forward.is_perfect
    tt = paper.table1("ttv1", dataset="fashion_mnist", variant="text")
    assert (tt.config.algorithm.fast_lr, tt.config.algorithm.transfer_lr) == (0.01, 0.1)
    v2 = paper.table1("ttv2", dataset="fashion_mnist", variant="text")
    assert isinstance(v2.config.algorithm, TikiTakaV2) and v2.config.algorithm.fast_lr == 0.05
    assert v2.config.update.desired_bl == 10 and v2.config.algorithm.momentum == 0.1
    assert isinstance(paper.table1("mp").config.algorithm, MixedPrecision)
    assert isinstance(paper.table1("sgd").config.algorithm, SingleTile)
    with pytest.raises(ValueError, match="method"):
        paper.table1("agad")


@pytest.mark.parametrize("n_tiles", [4, 6, 8])
def test_table2_residual_learning_vectors(n_tiles):
    p = paper.table2("ours", n_tiles=n_tiles, n_states=4)
    a = p.config.algorithm
    N = n_tiles - 1
    assert a.periods() == tuple(3.0 * 2 ** (N - n) for n in range(n_tiles))
    assert a.transfer_lrs() == pytest.approx(tuple(0.3 * 1.2**n for n in range(n_tiles)))
    assert a.gammas()[1] == 0.5 and a.scale_transfer_lr is True  # code variant
    assert not a.transfer_io.is_perfect and a.transfer_io.noise_management == "none"
    assert p.learn_out_scaling and p.plateau_rule == "reference_cifar"
    t = paper.table2("ours", n_tiles=n_tiles, n_states=16, variant="text")
    assert t.config.algorithm.gammas()[1] == 0.1 and t.config.algorithm.scale_transfer_lr is False
    assert t.config.device_model.dw_min == 0.125


def test_toy_presets_match_section_10():
    p = paper.toy_least_squares(4)
    a = p.config.algorithm
    assert a.gammas() == pytest.approx((1.0, 0.1, 0.01, 0.001))
    assert a.periods() == (16.0, 8.0, 4.0, 2.0)  # aihwkit [2·2ⁿ] reversed
    assert a.transfer_lrs() == (0.01,) * 4 and a.fast_lr == 0.01 and not a.scale_fast_lr
    assert not a.scale_transfer_lr and a.warm_start == "none" and a.units_in_mbatch and a.transfer_columns
    upd = p.config.update
    assert not upd.update_bl_management and not upd.update_management and upd.desired_bl == 31
    dev = p.config.device_model
    assert (dev.w_min, dev.w_max, dev.dw_min, dev.dw_min_std, dev.dw_min_dtod) == (-1.0, 1.0, 0.5, 0.3, 0.3)
    assert p.config.forward.is_perfect and p.lr == 0.001
    sgd = paper.toy_least_squares(1)
    assert isinstance(sgd.config.algorithm, SingleTile) and sgd.lr == 0.01
    nf = paper.toy_least_squares(2, variant="theory", device_noise=False)
    assert nf.config.device_model.dw_min_std == 0.0 and nf.config.device_model.dw_min_dtod == 0.0
    assert nf.config.algorithm.periods() == (16.0, 1.0)
    assert nf.config.algorithm.transfer_lrs()[1] == pytest.approx(2 * 0.1 * 0.5**2 / 16)
