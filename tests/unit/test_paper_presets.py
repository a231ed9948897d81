"""The paper presets reproduce the tables of experiments.md §1–§4 and algorithms.md §10.

Every cell of Tables 1, 2, 9, 10, 11 is constructible in both variants, its name parses back to it,
its vectors are the spec's, and the published numbers are complete.
"""
from __future__ import annotations

import dataclasses
import pathlib

import pytest

import xbarsim
from xbarsim.config import MappingConfig
from xbarsim.config.algorithms import MixedPrecision, ResidualLearning, SingleTile, TikiTaka, TikiTakaV2
from xbarsim.presets import paper

ALL_ROWS = [(t, v) for t in paper.TABLES for v in ("code", "text")]


# --- residual-learning vectors, as experiments.md §1.4 and §2.4 list them ------------------------------

@pytest.mark.parametrize("n_tiles, te, lrs", [
    (3, (50, 10, 2), (0.1, 0.12, 0.144)),
    (4, (250, 50, 10, 2), (0.1, 0.12, 0.144, 0.1728)),
    (6, (6250, 1250, 250, 50, 10, 2), (0.1, 0.12, 0.144, 0.1728, 0.20736, 0.248832)),
])
@pytest.mark.parametrize("dataset, gamma", [("fashion-mnist", 0.2), ("mnist", 0.5)])
def test_table1_residual_learning_vectors(n_tiles, te, lrs, dataset, gamma):
    p = paper.experiment(1, dataset, "resl", n_tiles=n_tiles)
    a = p.config.algorithm
    assert isinstance(a, ResidualLearning)
    assert a.gammas() == pytest.approx(tuple(gamma**n for n in range(n_tiles)))
    assert a.periods() == te and a.transfer_lrs() == pytest.approx(lrs)
    assert (a.fast_lr, a.scale_fast_lr, a.scale_transfer_lr, a.units_in_mbatch) == (1.0, False, False, True)
    assert a.transfer_columns and a.n_reads_per_transfer == 1
    assert a.warm_start == "reference_cuda" and p.plateau_rule == "reference_mnist"
    n_states = 4 if dataset == "fashion-mnist" else 10
    assert p.config.device_model.dw_min == pytest.approx(2 / n_states) and p.n_states == n_states
    assert p.config.forward.is_perfect and p.config.backward.is_perfect and a.transfer_io.is_perfect
    assert (p.batch_size, p.lr, p.epochs, p.lr_schedule) == (16 if dataset == "fashion-mnist" else 8, 0.05, 200,
                                                             (0.1, 50))
    assert p.mapping == MappingConfig(weight_scaling_columnwise=True)
    assert (p.loss, p.label_smoothing, p.num_classes, p.model, p.analog_layers) == ("nll", 0.0, 10, "lenet5", None)
    text = paper.experiment(1, dataset, "resl", n_tiles=n_tiles, variant="text")
    assert text.config.algorithm.gammas()[1] == gamma and text.config.algorithm.warm_start == "paper"
    assert (text.epochs, text.lr_schedule, text.plateau_rule) == (100, (0.5, 30), "paper")
    assert text.lr == (0.2 if dataset == "fashion-mnist" else 0.05)


@pytest.mark.parametrize("table, n_states, gamma", [(2, 4, 0.5), (2, 16, 0.1), (9, 4, 0.5), (9, 10, 0.1),
                                                    (10, 4, 0.5), (11, 80, 0.1)])
def test_cifar_residual_learning_vectors(table, n_states, gamma):
    dataset = "cifar100" if table == 10 else "cifar10"
    for n_tiles in paper.TABLE_LAYOUTS[table].resl_tiles:
        p = paper.experiment(table, dataset, "resl", n_tiles=n_tiles, n_states=n_states)
        a = p.config.algorithm
        N = n_tiles - 1
        assert a.gammas() == pytest.approx(tuple(gamma**n for n in range(n_tiles)))
        assert a.periods() == tuple(3.0 * 2 ** (N - n) for n in range(n_tiles))
        assert a.transfer_lrs() == pytest.approx(tuple(0.3 * 1.2**n for n in range(n_tiles)))
        assert a.scale_transfer_lr is True and (a.fast_lr, a.scale_fast_lr) == (1.0, False)  # code
        assert not a.transfer_io.is_perfect and a.transfer_io.noise_management == "none"
        assert a.transfer_io.bound_management == "none"
        assert p.config.device_model.dw_min == pytest.approx(2 / n_states)
        assert p.mapping == MappingConfig(learn_out_scaling=True, weight_scaling_columnwise=True)
        assert p.plateau_rule == "reference_cifar" and a.warm_start == "reference_cuda"
        assert (p.lr, p.lr_schedule, p.batch_size) == (0.1, (0.1, 100), 128)
        assert (p.loss, p.label_smoothing, p.autoaugment) == ("label_smoothing_ce", 0.1, True)
        t = paper.experiment(table, dataset, "resl", n_tiles=n_tiles, n_states=n_states, variant="text")
        ta = t.config.algorithm
        assert ta.scale_transfer_lr is False and ta.transfer_io.is_perfect and ta.warm_start == "paper"
        assert t.plateau_rule == "paper" and ta.gammas()[1] == gamma


def test_spec_vector_rows_of_table_2():
    """The explicit rows of experiments.md §2.4 (8 tiles)."""
    a = paper.experiment(2, "cifar10", "resl", n_tiles=8).config.algorithm
    assert a.periods() == (384, 192, 96, 48, 24, 12, 6, 3)
    assert a.transfer_lrs() == pytest.approx((0.3, 0.36, 0.432, 0.5184, 0.62208, 0.746496, 0.895795, 1.07495),
                                             abs=5e-6)  # the spec rounds to 6 digits


def test_models_layers_and_epochs_per_table():
    assert {t: paper.TABLE_LAYOUTS[t].model for t in paper.TABLES} == \
        {1: "lenet5", 2: "resnet34", 9: "resnet18", 10: "resnet18", 11: "resnet34"}
    assert paper.RESNET_ANALOG_LAYERS == tuple(xbarsim.models.PAPER_ANALOG_LAYERS)
    assert paper.experiment(11, "cifar10", "mp").analog_layers == ("layer2", "layer3", "layer4", "fc")
    assert paper.experiment(9, "cifar10", "mp").analog_layers == ("layer3", "layer4", "fc")
    epochs = {(t, d, v): paper.experiment(t, d, "mp", variant=v).epochs
              for t in (2, 11) for d in ("cifar10", "cifar100") for v in ("code", "text")}
    assert epochs == {(2, "cifar10", "code"): 200, (2, "cifar100", "code"): 200, (2, "cifar10", "text"): 200,
                      (2, "cifar100", "text"): 400, (11, "cifar10", "code"): 200, (11, "cifar100", "code"): 400,
                      (11, "cifar10", "text"): 200, (11, "cifar100", "text"): 400}
    assert paper.experiment(10, "cifar100", "mp", variant="text").epochs == 400
    assert paper.experiment(9, "cifar10", "mp", variant="text").epochs == 200
    assert paper.experiment(2, "cifar100", "sgd").num_classes == 100
    t11 = paper.experiment(11, "cifar100", "resl", n_tiles=5)
    assert t11.config.device_model.dw_min == pytest.approx(0.025) and "[X]" in t11.notes and "[U]" in t11.notes
    assert "[X]" in paper.experiment(9, "cifar10", "resl", n_tiles=4, n_states=10).notes


# --- baselines -----------------------------------------------------------------------------------------

def test_table1_baselines():
    tt = paper.experiment(1, "fashion-mnist", "ttv1")
    a = tt.config.algorithm
    assert isinstance(a, TikiTaka) and not isinstance(a, TikiTakaV2) and tt.n_tiles == 2
    assert (a.fast_lr, a.transfer_lr, a.scale_transfer_lr, a.gamma) == (0.1, 1.0, True, 0.0)  # code
    assert tt.config.device_model.model == "SoftBoundsReference" and not tt.config.forward.is_perfect
    assert tt.config.device_model.construction_seed == 10
    assert tt.mapping == MappingConfig(learn_out_scaling=True, weight_scaling_columnwise=True)
    tt = paper.experiment(1, "fashion-mnist", "ttv1", variant="text")
    assert (tt.config.algorithm.fast_lr, tt.config.algorithm.transfer_lr) == (0.01, 0.1)
    assert tt.config.device_model.model == "SoftBounds" and tt.config.forward.is_perfect and tt.lr == 0.1
    v2 = paper.experiment(1, "fashion-mnist", "ttv2", variant="text")
    assert isinstance(v2.config.algorithm, TikiTakaV2) and v2.config.algorithm.fast_lr == 0.05
    assert v2.config.update.desired_bl == 10 and v2.config.algorithm.momentum == 0.1
    assert paper.experiment(1, "mnist", "ttv2", variant="text").config.algorithm.fast_lr == 0.1
    mp = paper.experiment(1, "mnist", "mp")
    assert isinstance(mp.config.algorithm, MixedPrecision) and mp.n_tiles == 1 and mp.mapping == MappingConfig()
    assert mp.config.device_model.dw_min == pytest.approx(0.2) and not mp.config.forward.is_perfect
    sgd = paper.experiment(1, "fashion-mnist", "sgd")
    assert isinstance(sgd.config.algorithm, SingleTile) and sgd.config.forward.is_perfect and "[X]" in sgd.notes
    resl = paper.experiment(1, "fashion-mnist", "resl", n_tiles=4)
    assert sgd.config.device_model == resl.config.device_model and sgd.mapping == resl.mapping
    digital = paper.experiment(1, "mnist", "digital")
    assert digital.config is None and digital.n_tiles is None and digital.n_states is None


def test_cifar_baselines():
    tt = paper.experiment(2, "cifar10", "ttv1", n_states=16)
    dev = tt.config.device_model
    assert dev.model == "SoftBoundsReference" and dev.dw_min == 0.125 and (dev.w_min_dtod, dev.w_max_dtod) == (0, 0)
    assert tt.config.forward.is_perfect and tt.config.algorithm.transfer_io.is_perfect
    v2 = paper.experiment(2, "cifar10", "ttv2")
    assert (v2.config.algorithm.fast_lr, v2.config.algorithm.thres_scale) == (0.5, 0.9)
    assert v2.mapping == MappingConfig(learn_out_scaling=True, weight_scaling_columnwise=True,
                                       weight_scaling_omega=0.3)
    v2t = paper.experiment(2, "cifar10", "ttv2", variant="text")
    assert (v2t.config.algorithm.fast_lr, v2t.config.algorithm.thres_scale) == (0.1, 1.0)
    assert v2t.mapping.weight_scaling_omega == 0.0
    mp = paper.experiment(2, "cifar100", "mp")
    assert mp.config.device_model.model == "SoftBounds" and mp.config.forward.is_perfect
    sgd = paper.experiment(11, "cifar10", "sgd")
    assert sgd.mapping == MappingConfig(learn_out_scaling=True, weight_scaling_columnwise=True)
    assert sgd.config.device_model.dw_min == pytest.approx(2 / 80)


# --- every row, names, published numbers ------------------------------------------------------------

@pytest.mark.parametrize("table, variant", ALL_ROWS)
def test_every_row_is_constructible_and_parses_back(table, variant):
    rows = paper.table_rows(table, variant=variant)
    layout = paper.TABLE_LAYOUTS[table]
    assert len(rows) == 7 * len(layout.rows) + len(layout.datasets())
    names = [p.name() for p in rows]
    assert len(set(names)) == len(names)
    for p in rows:
        assert paper.parse(p.name()) == p
        assert p.variant == variant and p.preprocess_variant == variant and p.table == table
        assert p.model == layout.model and p.analog_layers == layout.analog_layers
        assert type(p).from_dict(p.to_dict()) == p
        assert p.notes and ("[X]" in p.notes or p.method not in ("sgd", "digital"))
        if p.config is not None:
            assert p.config.algorithm.num_tiles() == p.n_tiles
            assert p.config.device_model.dw_min == pytest.approx(2 / p.n_states)
        assert (p.plateau_rule is not None) == (p.method == "resl")
        assert p.autoaugment == (p.model != "lenet5")
    # the paper's column order in every row, xbarsim's rows after
    first = [(p.method, p.n_tiles) for p in rows[:7]]
    assert first == [("ttv1", 2), ("ttv2", 2), ("mp", 1)] + [("resl", n) for n in layout.resl_tiles] + [("sgd", 1)]
    assert [p.method for p in rows[-len(layout.datasets()):]] == ["digital"] * len(layout.datasets())


def test_presets_name_what_the_data_package_provides():
    from xbarsim.data import DATASETS, Preprocess

    stats = ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    for table, variant in ALL_ROWS:
        for p in paper.table_rows(table, variant=variant):
            assert p.dataset in DATASETS
            for train in (True, False):
                Preprocess.for_dataset(p.dataset, train=train, variant=p.preprocess_variant,
                                       autoaugment=p.autoaugment,
                                       channel_stats=stats if p.dataset.startswith("cifar") else None)


def test_names():
    assert paper.experiment(1, "fashion-mnist", "resl", n_tiles=4).name() == "table1/fashion-mnist/resl-4"
    assert paper.experiment(2, "cifar100", "ttv2", n_states=16, variant="text").name() == \
        "table2/cifar100/16-states/ttv2@text"
    assert paper.experiment(10, "cifar100", "mp").name() == "table10/cifar100/mp"
    assert paper.parse("table2/cifar10/resl-6") == paper.parse("table2/cifar10/4-states/resl-6@code")
    assert paper.parse("table1/mnist/resl-5").n_tiles == 5  # off-table tile counts use the same formulas
    for bad in ("table3/cifar10/mp", "table1/cifar10/mp", "table1/mnist/agad", "table1/mnist/resl", "tableX",
                "table2/cifar10/5-states/mp", "table1/mnist/ttv1-2", "table1/mnist/mp@paper"):
        with pytest.raises(ValueError, match="presets.paper.(parse|experiment)"):
            paper.parse(bad)
    with pytest.raises(TypeError):
        paper.parse(1)


def test_experiment_rejects_what_the_tables_do_not_have():
    cases = [
        (dict(table=3, dataset="mnist", method="mp"), "table must be one of"),
        (dict(table=1, dataset="cifar10", method="mp"), "dataset must be one of"),
        (dict(table=1, dataset="mnist", method="ours"), "method must be one of"),
        (dict(table=1, dataset="mnist", method="resl"), "n_tiles must be an int >= 2"),
        (dict(table=1, dataset="mnist", method="ttv1", n_tiles=3), "n_tiles must be None or 2"),
        (dict(table=2, dataset="cifar10", method="mp", n_states=10), "n_states must be one of 4, 16"),
        (dict(table=2, dataset="cifar10", method="digital", n_states=4), "n_states must be None"),
        (dict(table=1, dataset="mnist", method="mp", variant="paper"), "variant must be one of"),
    ]
    for kwargs, message in cases:
        table, dataset, method = kwargs.pop("table"), kwargs.pop("dataset"), kwargs.pop("method")
        with pytest.raises(ValueError, match=f"presets.paper.experiment: {message}"):
            paper.experiment(table, dataset, method, **kwargs)


def test_preset_validation():
    p = paper.experiment(1, "mnist", "mp")
    for change, message in [(dict(method="digital"), "config must be None exactly"),
                            (dict(n_tiles=2), "n_tiles must equal"),
                            (dict(num_classes=100), "num_classes must be 10"),
                            (dict(lr_schedule=(0.1, 0)), "lr_schedule must be"),
                            (dict(plateau_rule="fast"), "plateau_rule must be"),
                            (dict(loss="label_smoothing_ce"), "label_smoothing must be 0 exactly"),
                            (dict(dataset="svhn"), "dataset must be one of")]:
        with pytest.raises(ValueError, match=f"ExperimentPreset: {message}"):
            dataclasses.replace(p, **change)
    with pytest.raises(TypeError, match="ExperimentPreset: analog_layers must be"):
        dataclasses.replace(p, analog_layers="layer3")


def test_lr_schedule():
    p = paper.experiment(1, "mnist", "mp")
    assert [p.lr_at(e) for e in (0, 49, 50, 100)] == pytest.approx([0.05, 0.05, 0.005, 0.0005])
    t = paper.experiment(1, "mnist", "mp", variant="text")
    assert [t.lr_at(e) for e in (29, 30, 60)] == pytest.approx([0.05, 0.025, 0.0125])


def test_plateau_rules_match_the_detector():
    from xbarsim.algorithms.plateau import PLATEAU_RULES

    assert paper.PLATEAU_RULES == PLATEAU_RULES


def test_paper_results_are_complete_and_verbatim():
    for table in paper.TABLES:
        layout = paper.TABLE_LAYOUTS[table]
        published = [p for p in paper.table_rows(table) if p.method not in ("sgd", "digital")]
        assert len(published) == 6 * len(layout.rows) == len(paper.PAPER_RESULTS[table])
        for p in published:
            assert paper.paper_result(table, p.cell()) is not None, p.name()
        for p in paper.table_rows(table):
            if p.method in ("sgd", "digital"):
                assert paper.paper_result(table, p.cell()) is None
    r = paper.PAPER_RESULTS
    assert r[1][("fashion-mnist", 4, "resl", 6)] == (75.11, 0.07)
    assert r[1][("mnist", 10, "ttv1", 2)] == (78.65, 2.36)
    assert r[2][("cifar100", 16, "mp", 1)] == (73.16, 0.07)
    assert r[2][("cifar10", 4, "resl", 8)] == (90.65, 0.09)
    assert r[9][("cifar10", 10, "ttv2", 2)] == (89.17, 0.11)
    assert r[10][("cifar100", 4, "resl", 4)] == (58.36, 0.36)
    assert r[11][("cifar100", 80, "resl", 7)] == (50.82, 0.14)
    assert r[11][("cifar10", 80, "ttv1", 2)] == (10.04, 0.04)


def test_docs_list_every_preset():
    """docs/presets.md's generated section is what ``describe`` makes of the presets today."""
    doc = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "presets.md").read_text()
    block = doc.split("<!-- generated: presets -->\n")[1].split("<!-- end generated -->")[0]
    assert block == paper.presets_markdown(), "regenerate with python -m xbarsim.presets.paper.describe"
    row = paper.describe(paper.experiment(2, "cifar10", "ttv2"))
    assert (row["mapping"], row["fast_lr"], row["IO f/b/t"]) == ("learn, col, ω 0.3", "0.5", "P/P/P")


# --- the least-squares toy ------------------------------------------------------------------------------

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
    with pytest.raises(ValueError, match="presets.paper.toy_least_squares: variant must be one of"):
        paper.toy_least_squares(2, variant="code")
