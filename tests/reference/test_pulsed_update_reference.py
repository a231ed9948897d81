"""The full op ``xbarsim.ops.pulsed_update`` (through ``AnalogTile.update``) against the float64 per-pulse
reference of tests/reference/pulse_reference.py, written from analog-tile.md §2–§3, for every device
model: the reference rebuilds each sample's bit lines from the Philox words, counts the coincidences,
and applies the device steps one pulse at a time, samples in order, with each cell's parameters read
from the tile's device_state.

* Noise off (dw_min_std = 0, no write noise): the weights agree to float64 rounding, and bitwise for
  ConstantStep (whose step is the same two operations in the op and the spec).
* Noise on: the reference is handed the op's normals (pulse noise and write noise, see
  ``pulse_reference.OpNoise``), so it is deterministic too and agrees to float64 rounding; this pins
  which normal each pulse uses and that every pulse draws its own. Whether those normals have the
  spec's distribution is checked in tests/stats/test_pulsed_update_per_pulse.py.
* Every call also checks the pulse counters (§2.9) against the reference's exact counts.

Tolerance (where not bitwise): the reference evaluates each step in the spec's form (e.g. SoftBounds
``s(1 − w/b_max)``) where the op uses the population's slope (``slope·w + s``), and exp/pow come from
NumPy instead of exact_math.h: a few ulp per pulse. The steps are contractions or mild expansions in
w (|d step/dw| <= 1 + 2 % per pulse for these parameters) and the clip to a bound is exact, so the
differences stay at the level of single roundings: the largest seen is 2.2e-16 (1 ulp of 1.0).
ATOL = 1e-13 (about 450 ulp) leaves room for a few ulp per pulse over the up to 1500 pulses a cell
receives here, and is nine orders of magnitude below the effect of one misplaced pulse, a wrong
direction or a wrong normal (a fraction of a step, >= 1e-4 here).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices
from reference import pulse_reference as ref

ATOL = 1e-13
F64 = torch.float64
OUT, IN, M, CALLS = 7, 9, 5, 3   # 9 input lines: two full Philox groups of 4 lanes and one with a single line

MODELS = ref.MODEL_CASES
quiet, noisy = ref.quiet, ref.noisy


def batch(g: np.random.Generator):
    """x in [-1, 1] with a dead input line, d ~ N(0, 0.6²) with an all-zero vector (BL = 0, §2.8)."""
    x = g.uniform(-1, 1, (M, IN))
    x[:, 0] = 0.0
    d = g.normal(0.0, 0.6, (M, OUT))
    d[1] = 0.0
    return x, d


def check_against_reference(dev, upd, lr, noise_on, seed=5, data_seed=1, batches=None, count=True, min_moved=None):
    """Run CALLS updates on a float64 tile and on the reference (carried forward from the tile's initial
    state, never re-synchronised) and compare the weights after every call (and the pulse counters,
    unless ``count`` is False: the op then skips draws no pulse depends on)."""
    cfg = TileConfig(device_model=dev, update=upd.replace(count_pulses=count))
    tile = xbarsim.AnalogTile(OUT, IN, cfg, seed=seed, dtype=F64)
    g = np.random.default_rng(data_seed)
    tile.set_weights(torch.tensor(g.uniform(-0.5, 0.5, (OUT, IN)), dtype=F64))
    w, w_app, cells = ref.tile_state(tile)
    pw = tile.device_state.piecewise()
    pw = None if pw is None else tuple(t.numpy() for t in pw)
    moved = 0.0
    for step in range(CALLS):
        x, d = batches[step] if batches is not None else batch(g)
        call = int(tile.rng_counter)
        noise = (ref.OpNoise(seed, call, OUT * IN, ref.base_bl(lr, dev.granularity(), upd)) if noise_on
                 else ref.NoNoise())
        before_w, before = w.copy(), tile.pulse_counts()
        want = ref.pulsed_update_reference(w, w_app, cells, dev, upd, x, d, lr, seed, call, noise, pw)
        tile.update(torch.tensor(x, dtype=F64), torch.tensor(d, dtype=F64), lr)
        got_counts = {k: v - before[k] for k, v in tile.pulse_counts().items()}
        assert not count or got_counts == {"input_pulses": want.input_pulses, "output_pulses": want.output_pulses,
                              "coincidences_up": want.up, "coincidences_down": want.down,
                              "pulse_slots": want.slots}, step
        target = tile.weight if tile.weight_persistent is None else tile.weight_persistent
        if isinstance(dev, devices.ConstantStep) and not noise_on:
            np.testing.assert_array_equal(target.numpy(), w, err_msg=f"call {step}")
        else:
            np.testing.assert_allclose(target.numpy(), w, rtol=0, atol=ATOL, err_msg=f"call {step}")
        if w_app is not None:
            np.testing.assert_allclose(tile.weight.numpy(), w_app, rtol=0, atol=ATOL, err_msg=f"apparent, call {step}")
        moved = max(moved, float(np.abs(w - before_w).max()))
    assert moved > (10 * dev.dw_min * 0.5 if min_moved is None else min_moved)  # many pulses, not a no-op
    return tile


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("noise_on", [False, True], ids=["noise_off", "op_normals"])
def test_every_model_matches_per_pulse_reference(name, noise_on):
    dev = noisy(MODELS[name]) if noise_on else quiet(MODELS[name])
    # k = |lr|·x_max·d_max/ε ≈ 30·1·1.4: BL management clips the larger vectors to desired_bl
    check_against_reference(dev, UpdateConfig(), 30 * dev.granularity(), noise_on)


UPDATES = {
    "bl100_two_words": (UpdateConfig(desired_bl=100), 80.0),
    "bl_management_off": (UpdateConfig(update_bl_management=False), 20.0),
    "unmanaged_long_trains": (UpdateConfig(update_bl_management=False, update_management=False, fixed_bl=False,
                                           desired_bl=10), 40.0),
    "negative_lr": (UpdateConfig(), -30.0),
    "um_grad_scale": (UpdateConfig(um_grad_scale=0.5), 30.0),
    "sto_round_res": (UpdateConfig(res=0.1, sto_round=True), 30.0),
    "res_gt_one": (UpdateConfig(res=16.0), 30.0),
    "stochastic_alias": (UpdateConfig(pulse_type="stochastic"), 30.0),
    "mean_count": (UpdateConfig(pulse_type="mean_count", desired_bl=40), 30.0),
    "deterministic_implicit": (UpdateConfig(pulse_type="deterministic_implicit", x_res_implicit=0.05,
                                            d_res_implicit=0.1), 30.0),
}


@pytest.mark.parametrize("upd", sorted(UPDATES))
@pytest.mark.parametrize("name", ["SoftBounds", "PiecewiseStep", "ConstantStep"])
def test_update_variants_match_per_pulse_reference(name, upd):
    cfg, k = UPDATES[upd]
    dev = noisy(MODELS[name])
    check_against_reference(dev, cfg, k * dev.granularity(), noise_on=True)


def test_samples_are_applied_in_order_not_netted():
    """Two identical-magnitude vectors of opposite sign in one call: a per-call net count would leave a
    ConstantStep cell far inside its bounds where it started; in order, the first train drives it
    into the bound (clipped), the second pulls it back by a full train: the result is not the start."""
    dev = quiet(MODELS["ConstantStep"]).replace(dw_min_dtod=0.0, w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0)
    x = np.ones((2, IN))
    d = np.stack([np.full(OUT, 1.0), np.full(OUT, -1.0)])
    tile = check_against_reference(dev, UpdateConfig(), -40 * dev.dw_min, noise_on=False,
                                   batches=[(x, d)] * CALLS)
    # -lr > 0 with x d > 0: up first (31 pulses from <= 0.5 hit 0.6), then 31 down:
    # 0.6 − 31·0.05 = −0.95 → −0.6
    assert np.all(tile.weight.numpy() == -0.6)


def test_philox_reference_known_answers_and_stream_layout():
    """The reference's Philox against Appendix A, and its (seed, stream, call, element) layout against
    the op's uniform_at through _core.testing.fill_random (stream 0, testing)."""
    assert ref.philox4x32_10(([0], [0], [0], [0]), (0, 0))[:, 0].tolist() == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C,
                                                                               0x9B00DBD8]
    assert ref.philox4x32_10(([0xFFFFFFFF],) * 4, (0xFFFFFFFF, 0xFFFFFFFF))[:, 0].tolist() == [
        0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    c, k = (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0)
    assert ref.philox4x32_10(c, k).tolist() == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]
    from xbarsim import _core
    from xbarsim.ops._views import view
    for seed, call in ((7, 3), (2**64 - 1, 2**48 - 1)):
        got = torch.empty(1000)
        _core.testing.fill_random(view(got), seed, 0, call, "uniform")
        np.testing.assert_array_equal(got.double().numpy(), ref.uniform_at(seed, 0, call, np.arange(1000)))


@pytest.mark.parametrize("name", ["PiecewiseStep", "SoftBoundsReference", "LinearStep_additive"])
def test_op_called_directly_matches_reference(name):
    """``xbarsim.ops.pulsed_update`` on a tile's tensors (persistent weights of a write-noise device, the
    PiecewiseStep tables, counters), one call of a batch of M vectors with seed and call of our choice."""
    dev = noisy(MODELS[name])
    tile = xbarsim.AnalogTile(OUT, IN, TileConfig(device_model=dev, update=UpdateConfig(count_pulses=True)), seed=9,
                              dtype=F64)
    g = np.random.default_rng(4)
    tile.set_weights(torch.tensor(g.uniform(-0.5, 0.5, (OUT, IN)), dtype=F64))
    w, w_app, cells = ref.tile_state(tile)
    pw = tile.device_state.piecewise()
    x, d = batch(g)
    seed, call, lr = 2**63 + 12345, 2**40 + 7, -25 * dev.granularity()
    want = ref.pulsed_update_reference(w, w_app, cells, dev, UpdateConfig(), x, d, lr, seed, call,
                                       ref.OpNoise(seed, call, OUT * IN, ref.base_bl(lr, dev.granularity(),
                                                                                     UpdateConfig())),
                                       None if pw is None else tuple(t.numpy() for t in pw))
    counters = torch.zeros(5, dtype=torch.int64)
    xbarsim.ops.pulsed_update(tile.weight, torch.tensor(x, dtype=F64), torch.tensor(d, dtype=F64), lr,
                       update=UpdateConfig(count_pulses=True), device_model=dev, cells=tile.device_state.cells(),
                       seed=seed, call=call, persistent=tile.weight_persistent, counters=counters, piecewise=pw)
    assert counters.tolist() == [want.input_pulses, want.output_pulses, want.up, want.down, want.slots]
    target = tile.weight if tile.weight_persistent is None else tile.weight_persistent
    np.testing.assert_allclose(target.numpy(), w, rtol=0, atol=ATOL)
    if w_app is not None:
        np.testing.assert_allclose(tile.weight.numpy(), w_app, rtol=0, atol=ATOL)


@pytest.mark.parametrize("name", ["SoftBounds", "ConstantStep"])
@pytest.mark.parametrize("noise_on", [False, True], ids=["noise_off", "op_normals"])
def test_sparse_inputs_and_silent_outputs_without_counters(name, noise_on):
    """What the CPU loop skips when no counter needs it (csrc/cpu/pulsed_update.cpp): the draws of groups
    of four input lines that are all zero (lines 0-7 here: two whole Philox groups), and every input
    draw of a sample none of whose output lines fired (a small k = lr·x_max·d_max/ε ≈ 0.3 leaves most
    samples silent). The weights must still be the reference's, which draws everything."""
    dev = noisy(MODELS[name]) if noise_on else quiet(MODELS[name])
    g = np.random.default_rng(11)
    batches = []
    for _ in range(CALLS):
        x = g.uniform(-1, 1, (40, IN))
        x[:, :8] = 0.0
        x[::3, 8] = 0.0  # every third sample all zero: BL = 0
        batches.append((x, g.normal(0.0, 0.6, (40, OUT))))
    check_against_reference(dev, UpdateConfig(), 0.3 * dev.granularity() / 1.5, noise_on, batches=batches,
                            count=False, min_moved=0.5 * dev.dw_min)
