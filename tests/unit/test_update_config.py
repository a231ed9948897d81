"""UpdateConfig, device dataclasses and presets: defaults equal the spec tables, validation names
the argument, packing into the native structs is complete (analog-tile.md §2.1, §3.1, §3.3, §5)."""
import dataclasses
import math
import typing

import pytest

import xbarsim
from xbarsim import _core, devices, presets
from xbarsim.config import update as update_mod
from xbarsim.config.devices import PulsedDevice
from xbarsim.ops import update as U

# analog-tile.md §2.1
UPDATE_DEFAULTS = dict(desired_bl=31, fixed_bl=True, update_bl_management=True, update_management=True,
                       um_grad_scale=1.0, pulse_type="stochastic_compressed", res=0.0, sto_round=False,
                       x_res_implicit=0.0, d_res_implicit=0.0, count_pulses=False)

# analog-tile.md §3.1
COMMON_DEFAULTS = dict(dw_min=0.001, dw_min_dtod=0.3, dw_min_dtod_log_normal=False, dw_min_std=0.3, w_min=-0.6,
                       w_max=0.6, w_min_dtod=0.3, w_max_dtod=0.3, up_down=0.0, up_down_dtod=0.01,
                       enforce_consistency=True, write_noise_std=0.0, apply_write_noise_on_set=True,
                       perfect_bias=False, corrupt_devices_prob=0.0, corrupt_devices_range=0.1, reset=0.0,
                       reset_dtod=0.0, reset_std=0.01, lifetime=0.0, lifetime_dtod=0.0, diffusion=0.0,
                       diffusion_dtod=0.0, construction_seed=0)

# analog-tile.md §3.3
MODEL_DEFAULTS = {
    "ConstantStep": {},
    "LinearStep": dict(gamma_up=0.0, gamma_down=0.0, gamma_up_dtod=0.05, gamma_down_dtod=0.05,
                       allow_increasing=False, mean_bound_reference=True, mult_noise=True, reverse_up=False,
                       reverse_down=False, reverse_offset=0.01),
    "SoftBounds": dict(mult_noise=True),
    "SoftBoundsReference": dict(mult_noise=False, slope_up_dtod=0.0, slope_down_dtod=0.0, reference_mean=0.0,
                                reference_std=0.0, subtract_symmetry_point=False),
    "ExpStep": dict(A_up=0.00081, A_down=0.36833, gamma_up=12.44625, gamma_down=12.78785, a=0.244, b=0.2425,
                    dw_min_std_add=0.0, dw_min_std_slope=0.0),
    "PowStep": dict(pow_gamma=1.0, pow_gamma_dtod=0.1, pow_up_down=0.0, pow_up_down_dtod=0.0),
    "PiecewiseStep": dict(piecewise_up=(1.0,), piecewise_down=(1.0,)),
}


def test_update_defaults_equal_spec_table():
    cfg = xbarsim.UpdateConfig()
    assert {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)} == UPDATE_DEFAULTS


@pytest.mark.parametrize("name", sorted(MODEL_DEFAULTS))
def test_device_defaults_equal_spec_tables(name):
    dev = devices.DEVICE_MODELS[name]()
    got = {f.name: getattr(dev, f.name) for f in dataclasses.fields(dev)}
    assert got == {**COMMON_DEFAULTS, **MODEL_DEFAULTS[name]}


def test_pulse_type_literal_matches_native_enum():
    assert typing.get_args(update_mod.PulseType) == update_mod.PULSE_TYPES
    assert set(update_mod.PULSE_TYPES) == set(_core.PulseType.__members__)
    assert set(devices.DEVICE_MODELS) == set(_core.DeviceModel.__members__)


@pytest.mark.parametrize("name", sorted(MODEL_DEFAULTS))
def test_pack_device_copies_every_field(name):
    dev = devices.DEVICE_MODELS[name]()
    args = U.pack_device(dev)
    for f in dataclasses.fields(dev):
        value = getattr(dev, f.name)
        if isinstance(value, tuple):
            continue
        assert getattr(args, f.name) == value, f.name
    assert args.model == _core.DeviceModel[name]


def test_native_device_struct_has_no_field_unknown_to_the_dataclasses():
    names = {f.name for cls in devices.DEVICE_MODELS.values() for f in dataclasses.fields(cls)}
    args = _core.DeviceConfigArgs()
    native = {n for n in dir(args) if not n.startswith("_") and not callable(getattr(args, n))} - {"model"}
    assert native <= names


def test_pack_update_copies_every_field():
    cfg = xbarsim.UpdateConfig(desired_bl=7, pulse_type="mean_count", res=0.1, count_pulses=True)
    args = U.pack_update(cfg)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "pulse_type":
            value = _core.PulseType[value]
        assert getattr(args, f.name) == value


@pytest.mark.parametrize("kwargs, match", [
    (dict(desired_bl=0), "desired_bl must be >= 1"),
    (dict(desired_bl=-3), "desired_bl must be >= 1"),
    (dict(desired_bl=5000), "desired_bl must be <= 4096"),
    (dict(desired_bl=2.5), "desired_bl must be an int"),
    (dict(pulse_type="bogus"), "pulse_type must be one of"),
    (dict(um_grad_scale=0.0), "um_grad_scale must be > 0"),
    (dict(res=math.nan), "res must be a finite number"),
    (dict(fixed_bl=1), "fixed_bl must be a bool"),
])
def test_update_config_validation(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=f"UpdateConfig: {match}"):
        xbarsim.UpdateConfig(**kwargs)


def test_update_config_supports_long_trains():
    assert xbarsim.UpdateConfig(desired_bl=256).desired_bl == 256
    assert xbarsim.UpdateConfig(update_bl_management=False, update_management=False).update_management_eff() is False
    assert xbarsim.UpdateConfig(update_management=False).update_management_eff() is True
    assert xbarsim.UpdateConfig(res=4).res_eff() == 0.25


@pytest.mark.parametrize("cls, kwargs, match", [
    (devices.ConstantStep, dict(dw_min=0.0), "dw_min must be > 0"),
    (devices.ConstantStep, dict(dw_min=-0.1), "dw_min must be > 0"),
    (devices.SoftBounds, dict(w_min=0.5, w_max=0.2), "w_min must be <= w_max"),
    (devices.SoftBounds, dict(w_min=0.1, w_max=0.5), r"\[w_min, w_max\] must contain 0"),
    (devices.SoftBounds, dict(w_min=-1.0, w_max=-0.5), r"\[w_min, w_max\] must contain 0"),
    (devices.SoftBounds, dict(n_states=0.5), "n_states must be >= 1"),
    (devices.ConstantStep, dict(write_noise_std=0.1), "write_noise_std must be 0"),
    (devices.PiecewiseStep, dict(piecewise_up=(1, 2), piecewise_down=(1,)),
     "piecewise_up and piecewise_down must have the same length"),
    (devices.PiecewiseStep, dict(piecewise_up=(), piecewise_down=()), "piecewise_up and piecewise_down must have the same length >= 1"),
    (devices.PiecewiseStep, dict(piecewise_up=(1, -1), piecewise_down=(1, 1)), "piecewise_up must hold finite numbers >= 0"),
    (devices.ConstantStep, dict(dw_min_dtod=-0.1), "dw_min_dtod must be >= 0"),
    (devices.ConstantStep, dict(corrupt_devices_prob=1.5), r"corrupt_devices_prob must be in \[0, 1\]"),
    (devices.ConstantStep, dict(dw_min=math.inf), "dw_min must be a finite number"),
    (devices.LinearStep, dict(reverse_up=True, mult_noise=False), "mult_noise must be True"),
    (devices.ConstantStep, dict(enforce_consistency=0), "enforce_consistency must be a bool"),
])
def test_device_validation_names_the_argument(cls, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=f"{cls.__name__}: {match}"):
        cls(**kwargs)


def test_pulsed_device_base_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        PulsedDevice()


def test_n_states_convenience_and_methods():
    dev = devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=4)
    assert dev.dw_min == 0.5
    assert dev.granularity() == 0.5
    assert dev.n_states() == 4.0
    # replace keeps dw_min unless n_states is given again
    assert dataclasses.replace(dev, dw_min_std=0.0).dw_min == 0.5
    assert dev.replace(w_max=2.0).dw_min == 0.5
    assert dev.replace(n_states=10).dw_min == pytest.approx(0.2)
    assert devices.ConstantStep().n_states() == pytest.approx(1200.0)
    assert devices.PowStep(dw_min=0.1, pow_gamma=2.0).granularity() == pytest.approx(0.025)
    assert devices.PiecewiseStep(dw_min=0.1, piecewise_up=(1, 2, 3), piecewise_down=(1, 1, 1)).granularity() == \
        pytest.approx(0.2)


def test_expstep_granularity_is_the_mean_of_up_and_down():
    dev = devices.ExpStep()
    up = dev.dw_min * max(1 - dev.A_up * math.exp(dev.gamma_up * dev.b), 0)
    down = dev.dw_min * max(1 - dev.A_down * math.exp(-dev.gamma_down * dev.b), 0)
    assert dev.granularity() == pytest.approx((up + down) / 2)
    # spec §6 #1: xbarsim's epsilon for the ReRamES preset
    assert presets.ReRamES().granularity() == pytest.approx(0.001736, rel=1e-3)


def test_round_trip_and_hashing():
    for name in devices.DEVICE_MODELS:
        dev = devices.DEVICE_MODELS[name](dw_min=0.01)
        assert type(dev).from_dict(dev.to_dict()) == dev
        assert PulsedDevice.from_dict(dev.to_dict()) == dev
        hash(dev)
    cfg = xbarsim.TileConfig(device_model=presets.PaperSoftBounds(4), update=xbarsim.UpdateConfig(desired_bl=5))
    assert xbarsim.TileConfig.from_dict(cfg.to_dict()) == cfg
    pw = devices.PiecewiseStep(piecewise_up=[1, 2, 3], piecewise_down=[3, 2, 1])
    assert pw.piecewise_up == (1.0, 2.0, 3.0)
    assert devices.PiecewiseStep.from_dict(pw.to_dict()) == pw


def test_tile_config_defaults():
    cfg = xbarsim.TileConfig()
    assert cfg.update == xbarsim.UpdateConfig()
    assert cfg.device_model == devices.ConstantStep()
    with pytest.raises(TypeError, match="TileConfig: device_model must be a PulsedDevice"):
        xbarsim.TileConfig(device_model="SoftBounds")


# analog-tile.md §5: (model, dw_min, w_min, w_max, dw_min_dtod, up_down, up_down_dtod, w_max_dtod, w_min_dtod,
# dw_min_std, other fields, nominal n_states)
PRESETS = {
    "ReRamArrayHfO2": ("SoftBoundsReference", 0.4622, -1, 1, 0.7125, 0, 0.01, 0.4295, 0.5990, 0.2174,
                       dict(dw_min_dtod_log_normal=True, write_noise_std=0.5841, subtract_symmetry_point=True,
                            reference_std=0.05, enforce_consistency=True, corrupt_devices_range=0.01,
                            corrupt_devices_prob=0.0), 4.33),
    "ReRamArrayOM": ("SoftBoundsReference", 0.0949, -1, 1, 0.7829, 0, 0.01, 0.3499, 0.5695, 0.4158,
                     dict(dw_min_dtod_log_normal=True, write_noise_std=1.4113, subtract_symmetry_point=True,
                          reference_std=0.05, corrupt_devices_range=0.01, corrupt_devices_prob=0.0), 21.07),
    "ReRamSB": ("SoftBoundsReference", 0.002, -0.75, 1.25, 0.3, 0, 0.01, 0.24, 0.4, 3.75,
                dict(mult_noise=False, write_noise_std=56.0), 1000),
    "ReRamES": ("ExpStep", 0.00135, -1, 1, 0.2, 0.259359, 0.05, 0.3, 0.3, 5.0,
                dict(a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0, A_up=-1.18445, A_down=-0.081404,
                     write_noise_std=75.0), None),
    "Capacitor": ("LinearStep", 0.005, -1, 1, 0.1, 0, 0.06, 0.07, 0.07, 0.3,
                  dict(gamma_up=0.05, gamma_down=0.05, gamma_up_dtod=0.01, gamma_down_dtod=0.01, mult_noise=False,
                       mean_bound_reference=True, lifetime=1e6, lifetime_dtod=0.3), 400),
    "EcRam": ("LinearStep", 0.002, -0.8276, 1.1724, 0.1, 0, 0.01, 0.05, 0.05, 0.3,
              dict(gamma_up=0.1153, gamma_down=0.5085, gamma_up_dtod=0.05, gamma_down_dtod=0.05, mult_noise=True),
              1000),
    "EcRamMO": ("LinearStep", 2.8214e-4, -0.8286, 1.1714, 0.1, 0, 0.01, 0.05, 0.05, 2.0,
                dict(gamma_up=0.4152, gamma_down=0.7342, gamma_up_dtod=0.05, gamma_down_dtod=0.05), 7089),
    "PCM": ("ExpStep", 0.01, 0, 2, 0.2, 0, 0.05, 0.1, 0.0, 0.6,
            dict(a=-1.0, b=0.0, gamma_up=2.5, gamma_down=2.5, A_up=-27.235, A_down=-2.235, dw_min_std_add=0.042,
                 dw_min_std_slope=0.108, reset=0.01, reset_dtod=0.02), None),
    "Idealized": ("ConstantStep", 0.0002, -1, 1, 0.3, 0, 0.0, 0.3, 0.3, 0.3, {}, 10000),
    "GokmenVlasov": ("ConstantStep", 0.0016, -1, 1, 0.3, 0, 0.01, 0.3, 0.3, 0.3, {}, 1250),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_equal_spec_table(name):
    model, dw_min, w_min, w_max, dtod, up_down, ud_dtod, wmax_dtod, wmin_dtod, std, other, n_states = PRESETS[name]
    dev = presets.DEVICE_PRESETS[name]()
    assert type(dev).__name__ == model
    expected = dict(dw_min=dw_min, w_min=w_min, w_max=w_max, dw_min_dtod=dtod, up_down=up_down,
                    up_down_dtod=ud_dtod, w_max_dtod=wmax_dtod, w_min_dtod=wmin_dtod, dw_min_std=std, **other)
    for key, value in expected.items():
        assert getattr(dev, key) == pytest.approx(value), key
    defaults = {**COMMON_DEFAULTS, **MODEL_DEFAULTS[model]}
    for f in dataclasses.fields(dev):  # every field not in the table keeps its default
        if f.name not in expected:
            assert getattr(dev, f.name) == defaults[f.name], f.name
    if n_states is not None:
        assert dev.n_states() == pytest.approx(n_states, rel=2e-3)


def test_special_preset_granularities():
    # §5: ReRamES 1152 and PCM 12.7 states with xbarsim's granularity (§6 #1)
    assert presets.ReRamES().n_states() == pytest.approx(1152, rel=2e-3)
    assert presets.PCM().n_states() == pytest.approx(12.7, rel=5e-3)


@pytest.mark.parametrize("n", [4, 10, 16, 80])
def test_paper_soft_bounds(n):
    dev = presets.PaperSoftBounds(n)
    assert isinstance(dev, devices.SoftBounds)
    assert (dev.w_min, dev.w_max) == (-1.0, 1.0)
    assert dev.dw_min == pytest.approx(2.0 / n)
    assert dev.n_states() == pytest.approx(n)
    fields = {f.name: getattr(dev, f.name) for f in dataclasses.fields(dev)}
    assert fields == {**COMMON_DEFAULTS, **MODEL_DEFAULTS["SoftBounds"], "w_min": -1.0, "w_max": 1.0,
                      "dw_min": pytest.approx(2.0 / n)}


def test_preset_io_and_update():
    io = presets.PresetIO()
    assert (io.noise_management, io.bound_management, io.out_bound, io.out_noise) == ("abs_max", "iterative", 20.0, 0.1)
    assert io.inp_res == pytest.approx(1 / 126) and io.out_res == pytest.approx(1 / 510)
    up = presets.PresetUpdate()
    assert (up.desired_bl, up.pulse_type, up.update_management, up.update_bl_management) == \
        (31, "stochastic_compressed", True, True)


def test_soft_bounds_pmax_defaults():
    dev = devices.SoftBoundsPmax()
    assert dev.w_max == pytest.approx(4.083, abs=1e-3)
    assert dev.dw_min == pytest.approx(0.002541, rel=1e-3)
    assert dev.up_down == pytest.approx(0.6065, abs=1e-4)
    assert dev.n_states() == pytest.approx(2000, rel=1e-9)
