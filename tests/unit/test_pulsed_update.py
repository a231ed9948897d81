"""AnalogTile.update and xbarsim.ops.pulsed_update: the exact pulse types, the deterministic pulse
types against their closed forms (analog-tile.md §2.7), device bounds, write noise, counters, bad
input (the tile is left untouched), state and replay."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices, presets
from xbarsim.ops import update as U


F64 = torch.float64


def ideal(dw_min=0.5, bound=1e6, **kw):
    """Constant steps, no variation, no noise, far bounds: every pulse moves the weight by dw_min."""
    return devices.ConstantStep(dw_min=dw_min, dw_min_dtod=0.0, dw_min_std=0.0, w_min=-bound, w_max=bound,
                                w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0, **kw)


def make_tile(out_size=5, in_size=7, device_model=None, update=None, seed=3, dtype=F64):
    cfg = TileConfig(device_model=device_model or presets.PaperSoftBounds(4), update=update or UpdateConfig())
    return xbarsim.AnalogTile(out_size, in_size, cfg, seed=seed, dtype=dtype)


def batch(m=6, in_size=7, out_size=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m, in_size, generator=g, dtype=F64), torch.randn(m, out_size, generator=g, dtype=F64)


def snapshot(tile):
    return {k: v.clone() for k, v in tile.state_dict().items() if isinstance(v, torch.Tensor)}, int(tile.rng_counter)


def assert_unchanged(tile, snap):
    state, calls = snap
    assert int(tile.rng_counter) == calls
    for k, v in tile.state_dict().items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, state[k]), k


# --- exact pulse types -----------------------------------------------------------------------------

def test_pulse_type_none_is_the_exact_sgd_update():
    tile = make_tile(update=UpdateConfig(pulse_type="none"))
    w0 = torch.rand(5, 7, dtype=F64) - 0.5
    tile.set_weights(w0)
    w0 = tile.get_weights()[0]
    x, d = batch()
    tile.update(x * 10, d * 10, 0.3)  # far beyond the bounds: no clipping
    assert torch.equal(tile.weight, w0.addmm(d.T * 10, x * 10, alpha=-0.3))
    assert tile.weight.abs().max() > 2.0


def test_pulse_type_none_with_device_clips():
    tile = make_tile(update=UpdateConfig(pulse_type="none_with_device"))
    x, d = batch()
    tile.update(x * 10, d * 10, 0.3)
    cells = tile.device_state.cells()
    exact = torch.zeros(5, 7, dtype=F64).addmm(d.T * 10, x * 10, alpha=-0.3)
    assert torch.equal(tile.weight, torch.minimum(torch.maximum(exact, cells["b_min"]), cells["b_max"]))


def test_leading_dimensions_are_flattened_in_order():
    a, b = make_tile(device_model=ideal()), make_tile(device_model=ideal())
    x, d = batch(m=6)
    a.update(x.reshape(2, 3, 7), d.reshape(2, 3, 5), 0.2)
    b.update(x, d, 0.2)
    assert torch.equal(a.weight, b.weight)


# --- deterministic pulse types (closed forms, §2.7) -----------------------------------------------------

def bl_ab(lr, eps, cfg, x, d):
    """(BL, A, B) from the spec's §2.3 (reference in tests/reference/test_update_management.py)."""
    return xbarsim._core.testing.calc_bl_ab(lr, eps, cfg.desired_bl, cfg.fixed_bl, cfg.update_bl_management,
                                            cfg.update_management, cfg.um_grad_scale, float(np.abs(x).max()),
                                            float(np.abs(d).max()))


def reference_counts(kind, lr, eps, cfg, xs, ds):
    """Signed pulse counts n[b, i, j] (positive = down when lr > 0) of the deterministic types."""
    out = []
    for x, d in zip(xs, ds):
        bl, a, b = bl_ab(lr, eps, cfg, x, d)
        if bl == 0:
            out.append(np.zeros((len(d), len(x))))
            continue
        if kind == "mean_count":
            cx = np.sign(x) * np.clip(np.rint(bl * (np.abs(x) * b)), 0, bl)
            cd = np.sign(d) * np.clip(np.rint(bl * (np.abs(d) * a)), 0, bl)
            cx[x == 0] = 0
            n = np.rint(cd[:, None] * cx[None, :] / bl)
        else:
            def disc(p, res):
                res = 0.0 if res < 0 else (1 / res if res > 1 else res)
                return np.clip(res * np.rint(p / res) if res > 0 else p, 0, 1)
            px = np.where(x < 0, -1.0, 1.0) * disc(np.abs(x) * b, cfg.x_res_implicit)
            qd = bl * (np.where(d < 0, -1.0, 1.0) * disc(np.abs(d) * a, cfg.d_res_implicit))
            n = np.rint(qd[:, None] * px[None, :])
        out.append(n)
    return np.array(out)


@pytest.mark.parametrize("kind, extra", [("mean_count", {}), ("deterministic_implicit", {}),
                                         ("deterministic_implicit", dict(x_res_implicit=0.1, d_res_implicit=0.25)),
                                         ("mean_count", dict(update_bl_management=False))])
@pytest.mark.parametrize("lr", [0.7, -0.4, 3.0])
def test_deterministic_types_match_closed_forms(kind, extra, lr):
    cfg = UpdateConfig(pulse_type=kind, **extra)
    eps = 0.5
    tile = make_tile(device_model=ideal(eps), update=cfg)
    xs, ds = batch(m=5)
    xs[1] = 0.0  # an all-zero vector does nothing
    tile.update(xs, ds, lr)
    n = reference_counts(kind, lr, eps, cfg, xs.numpy(), ds.numpy())
    want = -np.sign(lr) * eps * n.sum(axis=0)
    np.testing.assert_array_equal(tile.weight.numpy(), want)
    # zero variance: another seed gives the same weights
    other = make_tile(device_model=ideal(eps), update=cfg, seed=99)
    other.update(xs, ds, lr)
    assert torch.equal(other.weight, tile.weight)


# --- device behaviour through the full op ----------------------------------------------------------------

@pytest.mark.parametrize("dev", [
    devices.ConstantStep(dw_min=0.2), devices.LinearStep(dw_min=0.2, gamma_up=0.5, gamma_down=0.5),
    devices.SoftBounds(dw_min=0.3), devices.SoftBoundsReference(dw_min=0.3, reference_std=0.2, dw_min_std=1.0),
    devices.ExpStep(dw_min=0.2), devices.PowStep(dw_min=0.3), devices.ConstantStep(dw_min=0.2, perfect_bias=True),
    devices.PiecewiseStep(dw_min=0.2, piecewise_up=(0.5, 1, 2), piecewise_down=(2, 1, 0.5)),
    devices.SoftBounds(dw_min=0.2, write_noise_std=3.0), devices.ConstantStep(dw_min=0.2, corrupt_devices_prob=0.3),
], ids=lambda d: type(d).__name__)
def test_bounds_are_never_exceeded(dev):
    tile = make_tile(device_model=dev, out_size=6, in_size=9, update=UpdateConfig(desired_bl=63))
    cells = tile.device_state.cells()
    r = cells.get("reference", torch.zeros(()))
    weights = tile.weight if tile.weight_persistent is None else tile.weight_persistent
    g = torch.Generator().manual_seed(1)
    for step in range(30):
        x = torch.randn(8, 9, generator=g, dtype=F64)
        d = torch.randn(8, 6, generator=g, dtype=F64)
        tile.update(x, d, 5.0 if step % 2 else -5.0)
        state = weights + r
        # SoftBoundsReference stores w = g - r, so w + r may differ from the clipped g by rounding
        tol = 1e-15 if "reference" in cells else 0.0
        assert bool((state >= cells["b_min"] - tol).all()) and bool((state <= cells["b_max"] + tol).all())
    assert tile.weight.abs().max() > 0


def test_noise_free_constant_step_reaches_n_states_plus_one_levels():
    dev = devices.ConstantStep(w_min=-1.0, w_max=1.0, n_states=4, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                               w_max_dtod=0.0, up_down_dtod=0.0)
    tile = make_tile(device_model=dev, out_size=1, in_size=1, update=UpdateConfig(pulse_type="mean_count"))
    levels = {0.0}
    g = torch.Generator().manual_seed(5)
    for _ in range(200):
        s = float(torch.randn((), generator=g))
        tile.update(torch.ones(1, 1, dtype=F64), torch.full((1, 1), s, dtype=F64), 0.6)
        levels.add(float(tile.weight))
    assert sorted(levels) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert len(levels) == dev.n_states() + 1


def test_set_weights_clips_to_each_cell():
    tile = make_tile(device_model=devices.SoftBounds(w_min=-1.0, w_max=1.0))
    tile.set_weights(torch.full((5, 7), 10.0, dtype=F64))
    assert torch.equal(tile.weight, tile.device_state.b_max)
    sbr = make_tile(device_model=devices.SoftBoundsReference(reference_std=0.2))
    sbr.set_weights(torch.full((5, 7), -10.0, dtype=F64))  # §6 #12: the device state w + r is clipped
    cells = sbr.device_state.cells()
    assert torch.allclose(sbr.weight + cells["reference"], cells["b_min"], rtol=0, atol=1e-15)


def test_stuck_cells_keep_their_value():
    dev = devices.ConstantStep(dw_min=0.05, corrupt_devices_prob=0.5, corrupt_devices_range=0.05)
    tile = make_tile(device_model=dev, out_size=20, in_size=20)
    cells = tile.device_state.cells()
    stuck = cells["b_min"] == cells["b_max"]
    assert 100 < int(stuck.sum()) < 300
    assert torch.equal(tile.weight[stuck], cells["b_min"][stuck])
    assert float(tile.weight[stuck].abs().max()) <= 0.05
    before = tile.weight[stuck].clone()
    x, d = batch(m=10, in_size=20, out_size=20)
    tile.update(x, d, 1.0)
    assert torch.equal(tile.weight[stuck], before)
    assert not torch.equal(tile.weight[~stuck], torch.zeros_like(tile.weight[~stuck]))


def test_write_noise_persistent_and_apparent_weights():
    dev = devices.SoftBounds(dw_min=0.1, write_noise_std=2.0)
    tile = make_tile(device_model=dev, out_size=40, in_size=50)
    assert tile.weight_persistent is not None
    w = torch.rand(40, 50, dtype=F64) * 0.2
    tile.set_weights(w)
    cells = tile.device_state.cells()
    assert torch.equal(tile.weight_persistent, torch.minimum(torch.maximum(w, cells["b_min"]), cells["b_max"]))
    noise = (tile.weight - tile.weight_persistent) / (2.0 * 0.1)
    assert abs(float(noise.std()) - 1.0) < 5 * math.sqrt(0.5 / 2000)
    # only touched cells get a new apparent weight
    before_app, before_pers = tile.weight.clone(), tile.weight_persistent.clone()
    x = torch.zeros(1, 50, dtype=F64)
    x[0, :5] = 1.0
    d = torch.ones(1, 40, dtype=F64)
    tile.update(x, d, 0.5)
    touched = tile.weight_persistent != before_pers
    assert bool(touched[:, :5].any()) and not bool(touched[:, 5:].any())
    assert torch.equal(tile.weight[:, 5:], before_app[:, 5:])
    assert bool((tile.weight[touched] != tile.weight_persistent[touched]).all())
    # apply_write_noise_on_set False: set gives w_a = w_p
    quiet = make_tile(device_model=dev.replace(apply_write_noise_on_set=False))
    quiet.set_weights(torch.full((5, 7), 0.1, dtype=F64))
    assert torch.equal(quiet.weight, quiet.weight_persistent)


# --- counters (§2.9) -------------------------------------------------------------------------------------------

def test_counters_are_exact():
    cfg = UpdateConfig(count_pulses=True)
    tile = make_tile(device_model=ideal(0.5), update=cfg, out_size=4, in_size=3)
    # saturated vector: k = 1*2*20/0.5 = 80 > 31, so every line fires in every one of the 31 slots
    x = torch.tensor([[2.0, 2.0, 2.0]], dtype=F64)
    d = torch.tensor([[20.0, 20.0, 20.0, 20.0]], dtype=F64)
    tile.update(x, d, 1.0)
    assert tile.pulse_counts() == dict(input_pulses=3 * 31, output_pulses=4 * 31, coincidences_up=0,
                                       coincidences_down=12 * 31, pulse_slots=31)
    assert torch.equal(tile.weight, torch.full((4, 3), -31 * 0.5, dtype=F64))
    # random batch: coincidences equal the net steps of the ideal device
    tile2 = make_tile(device_model=ideal(0.5), update=cfg)
    x, d = batch(m=20)
    tile2.update(x.abs(), d.abs(), 2.0)
    counts = tile2.pulse_counts()
    assert counts["coincidences_up"] == 0
    assert counts["coincidences_down"] == int(round(-tile2.weight.sum().item() / 0.5))
    assert counts["input_pulses"] > 0 and counts["output_pulses"] > 0
    # slots: Σ BL, at most desired_bl per vector, and at least the longest line's pulses of a vector
    assert 0 < counts["pulse_slots"] <= 31 * 20
    off = make_tile(device_model=ideal(0.5))
    off.update(x, d, 2.0)
    assert off.pulse_counts() == dict.fromkeys(U.COUNTER_NAMES, 0)


# --- sign convention, long trains ---------------------------------------------------------------------------------

def test_sign_convention():
    tile = make_tile(device_model=ideal(0.5), out_size=1, in_size=1)
    one = torch.ones(1, 1, dtype=F64)
    tile.update(one, one * 20, 1.0)  # saturated: exactly desired_bl down pulses
    assert float(tile.weight) == -31 * 0.5
    tile.update(-one, one * 20, 1.0)
    assert float(tile.weight) == 0.0
    tile.update(one, one * 20, -1.0)
    assert float(tile.weight) == 31 * 0.5


@pytest.mark.parametrize("desired_bl", [63, 64, 65, 200, 256])
def test_long_pulse_trains(desired_bl):
    tile = make_tile(device_model=ideal(0.5), out_size=2, in_size=2, update=UpdateConfig(desired_bl=desired_bl))
    tile.update(torch.ones(1, 2, dtype=F64), torch.full((1, 2), 1000.0, dtype=F64), 1.0)
    assert torch.equal(tile.weight, torch.full((2, 2), -desired_bl * 0.5, dtype=F64))
    unmanaged = make_tile(device_model=ideal(0.5), out_size=1, in_size=1,
                          update=UpdateConfig(update_bl_management=False, update_management=False, fixed_bl=False))
    unmanaged.update(torch.ones(1, 1, dtype=F64), torch.ones(1, 1, dtype=F64), 50.0)  # BL = 100, A = B = 1
    assert float(unmanaged.weight) == -100 * 0.5


# --- bad input leaves the tile untouched ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, exc, match", [
    ((torch.full((2, 7), math.nan, dtype=F64), torch.ones(2, 5, dtype=F64), 0.1), ValueError, "x must be finite"),
    ((torch.ones(2, 7, dtype=F64), torch.full((2, 5), math.inf, dtype=F64), 0.1), ValueError, "d must be finite"),
    ((torch.ones(2, 6, dtype=F64), torch.ones(2, 5, dtype=F64), 0.1), ValueError,
     r"x must have shape \[..., in_size=7\]; got \(2, 6\)"),
    ((torch.ones(2, 7, dtype=F64), torch.ones(2, 4, dtype=F64), 0.1), ValueError,
     r"d must have shape \[..., out_size=5\]; got \(2, 4\)"),
    ((torch.ones(2, 7, dtype=F64), torch.ones(3, 5, dtype=F64), 0.1), ValueError, "x and d must have the same leading dimensions"),
    ((torch.ones(2, 7, dtype=F64), torch.ones(2, 5, dtype=F64), math.nan), ValueError, "lr must be finite"),
    ((torch.ones(2, 7, dtype=F64), torch.ones(2, 5, dtype=F64), math.inf), ValueError, "lr must be finite"),
    ((torch.ones(2, 7, dtype=F64), torch.ones(2, 5, dtype=F64), "0.1"), TypeError, "lr must be a number"),
    ((torch.ones(2, 7, dtype=torch.int64), torch.ones(2, 5, dtype=F64), 0.1), TypeError, "x must be a floating"),
    (([[1.0] * 7], torch.ones(1, 5, dtype=F64), 0.1), TypeError, "x must be a torch.Tensor"),
])
def test_bad_input_raises_and_leaves_the_tile_untouched(args, exc, match):
    tile = make_tile(device_model=devices.SoftBounds(write_noise_std=1.0), update=UpdateConfig(count_pulses=True))
    tile.set_weights(torch.rand(5, 7, dtype=F64) * 0.1)
    tile.update(*batch(m=3), 0.5)
    snap = snapshot(tile)
    with pytest.raises(exc, match=f"AnalogTile.update: {match}"):
        tile.update(*args)
    assert_unchanged(tile, snap)


def test_too_long_unmanaged_train_is_rejected_untouched():
    tile = make_tile(device_model=ideal(0.001), update=UpdateConfig(update_bl_management=False, update_management=False,
                                                              fixed_bl=False))
    snap = snapshot(tile)
    with pytest.raises(ValueError, match="AnalogTile.update: lr must give at most 4096 pulses"):
        tile.update(*batch(), 10.0)
    assert_unchanged(tile, snap)


def test_bad_update_override_is_rejected():
    tile = make_tile()
    with pytest.raises(TypeError, match="AnalogTile.update: update must be an UpdateConfig"):
        tile.update(*batch(), 0.1, update="none")


def test_lr_zero_and_empty_batch_are_no_ops():
    tile = make_tile()
    tile.set_weights(torch.rand(5, 7, dtype=F64) * 0.1)
    w = tile.get_weights()[0]
    tile.update(*batch(), 0.0)
    tile.update(torch.empty(0, 7, dtype=F64), torch.empty(0, 5, dtype=F64), 1.0)
    assert torch.equal(tile.weight, w)


def test_update_override_config():
    tile = make_tile(device_model=ideal(0.5), out_size=1, in_size=1)
    tile.update(torch.ones(1, 1, dtype=F64), torch.full((1, 1), 100.0, dtype=F64), 1.0,
                update=UpdateConfig(desired_bl=3))
    assert float(tile.weight) == -1.5


# --- replay, state and thread independence -------------------------------------------------------------------------------

def test_same_seed_same_weights_and_resume_from_state_dict():
    a, b = make_tile(seed=11, dtype=torch.float32), make_tile(seed=11, dtype=torch.float32)
    x, d = batch()
    for t in (a, b):
        t.update(x.float(), d.float(), 0.4)
    assert torch.equal(a.weight, b.weight)
    c = make_tile(seed=11, dtype=torch.float32)
    c.load_state_dict(a.state_dict())
    a.update(x.float(), d.float(), 0.4)
    c.update(x.float(), d.float(), 0.4)
    assert torch.equal(a.weight, c.weight)
    for name in ("b_min", "b_max", "scale_up", "scale_down", "slope_up", "slope_down"):
        assert f"device_state.{name}" in a.state_dict()


def test_population_depends_on_seed_and_construction_seed():
    a, b = make_tile(seed=1), make_tile(seed=2)
    assert not torch.equal(a.device_state.b_max, b.device_state.b_max)
    dev = presets.PaperSoftBounds(4, construction_seed=77)
    c, e = make_tile(seed=1, device_model=dev), make_tile(seed=2, device_model=dev)
    assert torch.equal(c.device_state.b_max, e.device_state.b_max)


SCRIPT = """
import torch, xbarsim
from xbarsim import presets
cfg = xbarsim.TileConfig(device_model=presets.ReRamArrayOM(), update=xbarsim.UpdateConfig(count_pulses=True))
t = xbarsim.AnalogTile(64, 200, cfg, seed=5)  # large enough for both phases to run in parallel
g = torch.Generator().manual_seed(0)
t.update(torch.rand(100, 200, generator=g), torch.randn(100, 64, generator=g), 0.5)
torch.save((t.weight, t.weight_persistent, t.pulse_counters), {path!r})
"""


def test_results_do_not_depend_on_the_thread_count(tmp_path):
    outs = []
    for threads in (1, 2):
        path = tmp_path / f"w{threads}.pt"
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        subprocess.run([sys.executable, "-c", SCRIPT.format(path=str(path))], check=True, env=env)
        outs.append(torch.load(path))
    for a, b in zip(*outs):
        assert torch.equal(a, b)


# --- found by tests/fuzz: arguments of the op that used to reach pybind11 or torch unchecked ----------

@pytest.mark.parametrize("kw, exc, match", [
    (dict(seed=2**64), ValueError, r"pulsed_update: seed must be an int in \[0, 2\*\*64\)"),
    (dict(seed=-1), ValueError, "pulsed_update: seed must be an int"),
    (dict(call=2**48), ValueError, r"pulsed_update: call must be an int in \[0, 2\*\*48\)"),
    (dict(call=1.5), TypeError, "pulsed_update: call must be an int"),
    (dict(persistent=torch.zeros(5, 7, dtype=torch.float16)), TypeError, "pulsed_update: persistent must have dtype"),
    (dict(persistent=torch.zeros(5, 7, dtype=F64, device="meta")), ValueError, "pulsed_update: persistent must be on"),
    (dict(persistent=torch.zeros(7, 5, dtype=F64).t()), ValueError, "pulsed_update: persistent must be contiguous"),
    (dict(counters=torch.zeros(4)), TypeError, "pulsed_update: counters must have dtype torch.int64"),
    (dict(counters=[0, 0, 0, 0]), TypeError, "pulsed_update: counters must be a torch.Tensor"),
    (dict(piecewise="table"), TypeError, "pulsed_update: piecewise must be a pair of tensors"),
    (dict(piecewise=(torch.ones(2, dtype=F64), torch.ones(3, dtype=F64))), ValueError,
     "pulsed_update: piecewise must hold two tables of the same length"),
    (dict(piecewise=(torch.ones(2, dtype=torch.float16),) * 2), TypeError,
     r"pulsed_update: piecewise\[0\] must have dtype"),
])
def test_op_state_arguments_are_checked_by_name(kw, exc, match):
    dev = devices.PiecewiseStep(write_noise_std=1.0)
    cells = U.populate_device(dev, 5, 7, seed=1, dtype=F64)
    weight = torch.zeros(5, 7, dtype=F64)
    args = dict(update=UpdateConfig(), cells=cells, seed=1, call=0, persistent=torch.zeros(5, 7, dtype=F64),
                counters=torch.zeros(5, dtype=torch.int64))
    args.update(kw)
    args["device_model"] = dev
    with pytest.raises(exc, match=match):
        xbarsim.ops.pulsed_update(weight, *batch(), 0.5, **args)
    assert not weight.any()
