"""Hand-worked checks of the float64 read-path reference (io_reference.py) against analog-tile.md §1,
so that the kernels are compared with something whose own behaviour is pinned."""
from __future__ import annotations

import numpy as np
import pytest

from reference.io_reference import analog_mvm_reference, checkres, normalise
from xbarsim import IOConfig


def test_checkres_and_normalisation():
    assert checkres(-0.5) == 0.0 and checkres(126) == 1 / 126 and checkres(0.25) == 0.25
    e = normalise(IOConfig())
    assert e.inp_res == pytest.approx(1 / 63) and e.out_res == pytest.approx(24 / 510)
    e = normalise(IOConfig(noise_management="none", inp_bound=0.0, out_bound=-2.0, nm_thres=3.0))
    assert e.inp_res == 0.0 and e.inp_bound == np.inf and e.out_res < 0 and e.out_bound == np.inf
    assert e.nm_thres == 0.0


def test_one_hot_passes_the_default_dac():
    # §1.9: a one-hot 1 is 63 * (1/63): the DAC passes it unchanged; the output is the column,
    # quantised to the ADC step 24/510.
    W = np.array([[0.3, -0.2], [5.0, 1.0], [-20.0, 0.0]])
    io = IOConfig(out_noise=0.0, bound_management="none")
    ref = analog_mvm_reference(np.array([[1.0, 0.0]]), W, io)
    step = 24 / 510
    assert ref.y[0].tolist() == pytest.approx([step * round(0.3 / step), step * round(5.0 / step), -12.0])


def test_dac_levels_and_clip():
    # nm none, 7-bit DAC: v = clip(rint(x * 63) / 63, -1, 1); identity weights expose v.
    x = np.array([[0.5, 0.51, -0.995, 1.7, 1 / 126]])
    io = IOConfig(noise_management="none", out_res=0.0, out_bound=0.0, out_noise=0.0, bound_management="none")
    y = analog_mvm_reference(x, np.eye(5), io).y[0]
    # 0.5 * 63 = 31.5 rounds half to even (32); 1/126 * 63 = 0.5 rounds to 0
    assert y.tolist() == pytest.approx([32 / 63, 32 / 63, -1.0, 1.0, 0.0])


def test_bound_management_rounds_and_rescale():
    # abs_max: a = 2; outputs W x / a = [9, 30]: 30 > 12 needs r = 4 (30/4 = 7.5), i.e. 3 rounds.
    x = np.array([[2.0, 0.0]])
    W = np.array([[9.0, 0.0], [30.0, 0.0]])
    io = IOConfig(inp_res=0.0, out_res=0.0, out_noise=0.0)
    ref = analog_mvm_reference(x, W, io)
    assert ref.rounds[0] == 3 and ref.y[0].tolist() == pytest.approx([18.0, 60.0])
    assert analog_mvm_reference(x, W, io.replace(bound_management="none")).y[0].tolist() == [18.0, 24.0]
    # backward never runs bound management
    assert analog_mvm_reference(np.array([[1.0, 0.0]]), W.T, io, transpose=True).rounds[0] == 1


def test_short_cut_and_noise_management_modes():
    W = np.array([[1.0, 1.0]])
    io = IOConfig(out_noise=0.0, inp_res=0.0, out_res=0.0)
    assert analog_mvm_reference(np.zeros((1, 2)), W, io).rounds[0] == 0  # short cut: no round at all
    neg = np.array([[-0.5, -0.25]])
    assert analog_mvm_reference(neg, W, io.replace(noise_management="max")).y[0, 0] == 0.0  # a = -0.25 <= 0
    # constant: a = nm_thres; inputs beyond it clip at the DAC bound
    ref = analog_mvm_reference(np.array([[3.0, 1.0]]), W, io.replace(noise_management="constant", nm_thres=2.0))
    assert ref.y[0, 0] == pytest.approx(2.0 * (1.0 + 0.5))
    # average_abs_max: running maximum per vector, first vector initialises
    x = np.array([[1.0, 0.0], [3.0, 0.0]])
    ref = analog_mvm_reference(x, W, io.replace(noise_management="average_abs_max", nm_decay=0.5))
    assert ref.a.tolist() == [1.0, 2.0]
    ref = analog_mvm_reference(x, W, io.replace(noise_management="average_abs_max", nm_decay=0.5), nm_state=5.0)
    assert ref.a.tolist() == [3.0, 3.0]  # 0.5 * 5 + 0.5 * 1, then 0.5 * 3 + 0.5 * 3


def test_asymmetries_and_scales():
    W = np.eye(2)
    io = IOConfig(noise_management="none", inp_res=0.0, out_res=0.0, out_bound=0.0, out_noise=0.0,
                  inp_asymmetry=0.5, out_asymmetry=-1.0, out_scale=3.0)
    y = analog_mvm_reference(np.array([[0.5, -0.5]]), W, io, alpha=2.0).y[0]
    # input -0.5 -> -0.25 (DAC asymmetry), output -0.25 -> -0.5 (ADC asymmetry); times 3 * 2
    assert y.tolist() == pytest.approx([3.0, -3.0])


def test_noise_requires_rng_and_is_drawn():
    W = np.eye(3)
    io = IOConfig(noise_management="none", out_res=0.0, out_bound=0.0, out_noise=0.5)
    with pytest.raises(ValueError, match="rng is required"):
        analog_mvm_reference(np.ones((2, 3)), W, io)
    y = analog_mvm_reference(np.ones((4000, 3)) * 0.5, W, io, rng=np.random.default_rng(0)).y
    assert abs(y.std() - 0.5) < 5 * 0.5 / np.sqrt(2 * y.size)
