"""xbarsim.compat.aihwkit: aihwkit RPUConfigs -> TileConfig (issue 12).

Runs on dumps of real aihwkit 1.2.0 configurations recorded by validation/aihwkit_configs.py
(tests/data/aihwkit_1.2.0_configs.json), so it needs no aihwkit; the live tests at the bottom run
where aihwkit is importable and skip otherwise.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import pathlib
import sys
import warnings

import pytest

from xbarsim.compat import aihwkit as compat
from xbarsim.config import IOConfig, TileConfig, UpdateConfig
from xbarsim.config import devices as xdev
from xbarsim.config.algorithms import (ChoppedTikiTakaV2, MixedPrecision, ResidualLearning, SingleTile, TikiTaka,
                                       TikiTakaV2)

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECORDED = json.loads((ROOT / "tests" / "data" / "aihwkit_1.2.0_configs.json").read_text())
DUMPS = RECORDED["configs"]


def convert(name: str, mutate=None) -> compat.Converted:
    data = copy.deepcopy(DUMPS[name])
    if mutate is not None:
        mutate(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ExpStep granularity warning has its own test
        return compat.from_dump(data)


def test_recording_is_aihwkit_1_2_0():
    assert RECORDED["aihwkit_version"] == "1.2.0"


@pytest.mark.parametrize("name", sorted(DUMPS))
def test_every_recorded_config_converts(name):
    conv = convert(name)
    assert isinstance(conv.tile, TileConfig)
    # The result survives xbarsim's own serialisation (what checkpoints and run directories store).
    assert TileConfig.from_dict(conv.tile.to_dict()) == conv.tile


def test_default_single_device_is_xbarsims_default():
    # xbarsim's defaults are aihwkit's Python defaults (analog-tile.md §1.1, §2.1, §3.1).
    conv = convert("single_default")
    assert conv.tile.forward == IOConfig()
    assert conv.tile.backward == IOConfig()
    assert conv.tile.update == UpdateConfig()
    assert conv.tile.device_model == xdev.ConstantStep()
    assert conv.tile.algorithm == SingleTile()
    # aihwkit 1.2 splits layers into 512 x 512 tiles and keeps the bias digital by default.
    assert (conv.mapping.max_in_size, conv.mapping.max_out_size) == (512, 512)
    assert conv.digital_bias is True


def test_device_fields_are_copied():
    assert convert("single_linear_step").tile.device_model == xdev.LinearStep(gamma_up=0.1, gamma_down=0.2)
    assert convert("single_pow_step").tile.device_model == xdev.PowStep(pow_gamma=2.0)
    pw = convert("single_piecewise_step").tile.device_model
    assert pw == xdev.PiecewiseStep(piecewise_up=(1.2, 1.0, 0.8), piecewise_down=(0.8, 1.0, 1.2))
    paper = convert("single_paper_perfect").tile
    assert paper.device_model == xdev.SoftBounds(dw_min=0.5, w_min=-1.0, w_max=1.0, dw_min_dtod=0.0, dw_min_std=0.0,
                                                 w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0)
    assert paper.forward.is_perfect and paper.backward.is_perfect


def test_soft_bounds_pmax_is_derived_as_aihwkit_does():
    model = convert("single_soft_bounds_pmax").tile.device_model
    assert model == xdev.SoftBoundsPmax(p_max=100, alpha=0.01)


def test_io_fields_and_enums():
    fwd = convert("single_io_grid_example").tile.forward
    assert fwd.noise_management == "max" and fwd.nm_thres == 0.5 and fwd.out_noise == 0.0
    assert fwd.inp_res == pytest.approx(1 / 254) and fwd.out_res == pytest.approx(1 / 1022)


def test_exp_step_warns_about_the_granularity_decision():
    with pytest.warns(UserWarning, match="§6 #1"):
        compat.from_dump(copy.deepcopy(DUMPS["single_exp_step"]))


def test_residual_learning_vectors_are_reversed_into_xbarsim_order():
    # aihwkit lists the gradient tile first; xbarsim's tile 0 is the most significant (algorithms.md §0).
    alg = convert("resl_4_gamma_vec").tile.algorithm
    assert isinstance(alg, TikiTaka) and alg.order == "xbarsim"
    assert alg.gammas() == (1.0, 0.5, 0.25, 0.125)
    assert alg.periods(out_size=10) == (0.0, 50.0, 10.0, 2.0)
    assert alg.transfer_lrs() == pytest.approx((0.1, 0.12, 0.144, 0.1728))
    # The rates are stated explicitly (the paper's aihwkit 0.9.2 semantics here).
    assert (alg.fast_lr, alg.scale_fast_lr, alg.scale_transfer_lr) == (1.0, False, False)
    assert alg.transfer_io.is_perfect


def test_changed_defaults_become_explicit():
    # aihwkit 1.2: TransferCompound and BufferedTransferCompound scale fast_lr by lr; chopped does not.
    tt1 = convert("ttv1_default").tile.algorithm
    assert isinstance(tt1, TikiTaka) and tt1.scale_fast_lr is True
    assert (tt1.transfer_io.noise_management, tt1.transfer_io.bound_management) == ("none", "none")
    tt2 = convert("ttv2_default").tile.algorithm
    assert isinstance(tt2, TikiTakaV2) and tt2.scale_fast_lr is True and tt2.momentum == 0.1
    assert tt2.transfer_update.desired_bl == 1 and not tt2.transfer_update.update_management
    ctt = convert("cttv2_default").tile.algorithm
    assert isinstance(ctt, ChoppedTikiTakaV2) and ctt.scale_fast_lr is False and ctt.units_in_mbatch is False


def test_gradient_device_of_its_own_becomes_residual_learning():
    alg = convert("resl_2_own_gradient_device").tile.algorithm
    assert isinstance(alg, ResidualLearning) and alg.warm_start == "none"
    assert alg.gammas() == (1.0, 0.5)
    assert alg.gradient_device_model.dw_min == pytest.approx(2 / 16)
    assert convert("resl_2_own_gradient_device").tile.device_model.dw_min == pytest.approx(0.5)


def test_mixed_precision():
    conv = convert("mp_default")
    assert conv.tile.algorithm == MixedPrecision()
    assert isinstance(conv.tile.device_model, xdev.SoftBounds)


# --- errors: every field that cannot be mapped is named ---------------------------------------------

@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["forward"].update(ir_drop=1.0), "rpu_config.forward.ir_drop"),
    (lambda d: d["backward"].update(out_noise_std=0.1), "rpu_config.backward.out_noise_std"),
    (lambda d: d["forward"].update(noise_management="AbsMaxNPSum"), "rpu_config.forward.noise_management"),
    (lambda d: d["forward"].update(bound_management="Shift"), "rpu_config.forward.bound_management"),
    (lambda d: d["forward"].update(mv_type="PosNegSeparate"), "rpu_config.forward.mv_type"),
    (lambda d: d["device"]["drift"].update(nu=0.05), "rpu_config.device.drift"),
    (lambda d: d["mapping"].update(weight_scaling_lr_compensation=True),
     "rpu_config.mapping.weight_scaling_lr_compensation"),
    (lambda d: d["pre_post"]["input_range"].update(enable=True), "rpu_config.pre_post.input_range.enable"),
    (lambda d: d["forward"].update(some_new_field=1), "some_new_field"),
    (lambda d: d["device"].update(__class__="OneSidedUnitCell"), "OneSidedUnitCell"),
    (lambda d: d.update(__class__="InferenceRPUConfig"), "InferenceRPUConfig"),
])
def test_unmappable_fields_are_named(mutate, field):
    with pytest.raises(compat.AihwkitConversionError, match=field.replace(".", r"\.")):
        convert("single_default", mutate)


def test_soft_bounds_reverse_is_refused():
    with pytest.raises(compat.AihwkitConversionError, match="reverse_up"):
        convert("single_soft_bounds", lambda d: d["device"].update(reverse_up=True))


def test_discarded_slow_devices_must_match():
    def third_differs(d):
        devs = d["device"]["unit_cell_devices"]
        devs.append(copy.deepcopy(devs[1]))
        devs[2]["dw_min"] = 0.123
    with pytest.raises(compat.AihwkitConversionError, match=r"unit_cell_devices\[2\]"):
        convert("ttv1_default", third_differs)


def test_tt_variants_need_one_device_model():
    def differ(d):
        d["device"]["unit_cell_devices"][0]["dw_min"] = 0.01
    for name in ("ttv2_default", "cttv2_default"):
        with pytest.raises(compat.AihwkitConversionError, match=r"unit_cell_devices\[0\] differs"):
            convert(name, differ)


def test_scalar_period_with_own_gradient_device_and_more_tiles_is_refused():
    def three(d):
        devs = d["device"]["unit_cell_devices"]
        devs.append(copy.deepcopy(devs[1]))
    with pytest.raises(compat.AihwkitConversionError, match="transfer_every_vec"):
        convert("resl_2_own_gradient_device", three)


def test_not_a_dump_is_an_error():
    with pytest.raises(compat.AihwkitConversionError, match="expected a dumped aihwkit object"):
        compat.from_dump({"forward": {}})


def test_without_aihwkit_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "aihwkit", None)  # makes `import aihwkit` raise ImportError
    with pytest.raises(ModuleNotFoundError, match="aihwkit-env.sh"):
        compat.from_aihwkit(object())
    with pytest.raises(ModuleNotFoundError, match="pip install aihwkit"):
        compat.aihwkit_version()


def test_dump_needs_no_aihwkit_and_rejects_unknown_values():
    with pytest.raises(compat.AihwkitConversionError, match="cannot record"):
        compat.dump(object())


# --- live: the real aihwkit, where installed -----------------------------------------------------------

def _live_configs():
    pytest.importorskip("aihwkit", reason="aihwkit not installed (validation/aihwkit-env.sh builds it)")
    spec = importlib.util.spec_from_file_location("aihwkit_configs", ROOT / "validation" / "aihwkit_configs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.configs()


def test_live_dumps_match_the_recording():
    # The recorded dumps are what this aihwkit produces (else re-record with validation/aihwkit_configs.py).
    live = _live_configs()
    assert sorted(live) == sorted(DUMPS)
    for name, cfg in live.items():
        assert compat.dump(cfg) == DUMPS[name], name


def test_live_from_aihwkit_equals_from_dump():
    live = _live_configs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cfg in live.items():
            conv = compat.from_aihwkit(cfg)
            assert conv.tile == convert(name).tile, name
            assert conv.aihwkit_version.startswith("1.2")


def test_live_non_aihwkit_object_is_a_type_error():
    pytest.importorskip("aihwkit")
    with pytest.raises(TypeError, match="must be an aihwkit RPUConfig"):
        compat.from_aihwkit(TileConfig())
