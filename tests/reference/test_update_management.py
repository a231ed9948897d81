"""BL, A and B of one vector (analog-tile.md §2.3) through the _core.testing probe of the XB_HD
function, against a float64 reference written from the spec and the spec's hand-worked example."""
import math

import numpy as np
import pytest

from xbarsim import _core

calc = _core.testing.calc_bl_ab


def reference_bl_ab(lr, eps, desired_bl, fixed_bl, bl_man, um, um_grad_scale, x_max, d_max):
    lr = abs(lr)
    if fixed_bl or bl_man:
        bl, a = desired_bl, math.sqrt(lr / (eps * desired_bl))
        b = a
    elif eps * desired_bl < lr:
        a = b = 1.0
        bl = max(math.ceil(lr / eps), 1)
    else:
        bl, a = desired_bl, math.sqrt(lr / (eps * desired_bl))
        b = a
    if not (bl_man or um):
        return bl, a, b
    d_max = um_grad_scale * d_max
    if x_max == 0 or d_max == 0:
        return 0, 0.0, 0.0
    k = lr * x_max * d_max / eps
    if bl_man:
        bl = min(max(math.ceil(k), 1), desired_bl)
        a = b = math.sqrt(lr / (eps * bl))
    if k > desired_bl:
        d_max = d_max * desired_bl / k
    return bl, a * math.sqrt(x_max / d_max), b * math.sqrt(d_max / x_max)


def test_spec_worked_example():
    # eta 0.1, eps 0.5, x = (1, 0.5), d = (2), defaults
    bl, a, b = calc(0.1, 0.5, 31, True, True, True, 1.0, 1.0, 2.0)
    assert bl == 1
    assert a == pytest.approx(0.31622776601683794, rel=1e-15)
    assert b == pytest.approx(0.6324555320336759, rel=1e-15)
    p = b * np.array([1.0, 0.5])
    q = a * 2.0
    assert p == pytest.approx([0.6325, 0.3162], abs=1e-4) and q == pytest.approx(0.6325, abs=1e-4)
    assert bl * p * q == pytest.approx([0.4, 0.2])  # eta |x_j d_i| / eps


def test_all_zero_vector_gives_no_update():
    assert calc(0.1, 0.5, 31, True, True, True, 1.0, 0.0, 2.0)[0] == 0
    assert calc(0.1, 0.5, 31, True, True, True, 1.0, 1.0, 0.0)[0] == 0
    assert calc(0.1, 0.5, 31, True, False, True, 1.0, 0.0, 2.0)[0] == 0


def test_clipped_update_saturates_both_probabilities():
    # k = 1 * 2 * 10 / 0.5 = 40 > 31: BL = 31, p_max = 1, q_max = k / 31 > 1 (saturates)
    bl, a, b = calc(1.0, 0.5, 31, True, True, True, 1.0, 2.0, 10.0)
    assert bl == 31
    assert b * 2.0 == pytest.approx(1.0)
    assert a * 10.0 == pytest.approx(40 / 31)


def test_bl_management_off_update_management_on_keeps_probabilities_below_one():
    for k in (0.05, 0.5, 3.7, 30.0):
        bl, a, b = calc(1.0, 0.5, 31, True, False, True, 1.0, 1.0, k * 0.5)
        assert bl == 31
        assert b * 1.0 == pytest.approx(a * k * 0.5) == pytest.approx(math.sqrt(k / 31))


def test_unmanaged_long_trains_and_bl_max():
    # fixed_bl False, no management, eps * desired_bl < |lr|: A = B = 1, BL = ceil(|lr| / eps)
    assert calc(20.0, 0.1, 31, False, False, False, 1.0, 1.0, 1.0) == (200, 1.0, 1.0)
    assert _core.testing.update_bl_max(20.0, 0.1, 31, False, False) == 200
    assert _core.testing.update_bl_max(20.0, 0.1, 31, True, False) == 31
    assert _core.testing.update_bl_max(1.0, 0.1, 31, False, False) == 31
    # negative lr: magnitudes only
    assert calc(-20.0, 0.1, 31, False, False, False, 1.0, 1.0, 1.0) == (200, 1.0, 1.0)


def test_against_reference_on_random_inputs():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        lr = float(10 ** rng.uniform(-4, 1)) * rng.choice([-1, 1])
        eps = float(10 ** rng.uniform(-4, 0))
        desired = int(rng.choice([1, 5, 31, 63, 64, 100, 256]))
        flags = [bool(v) for v in rng.integers(0, 2, 3)]
        ugs = float(rng.choice([1.0, 0.5, 2.0]))
        x_max = float(rng.choice([0.0, 10 ** rng.uniform(-3, 2)]))
        d_max = float(rng.choice([0.0, 10 ** rng.uniform(-3, 2)]))
        got = calc(lr, eps, desired, *flags, ugs, x_max, d_max)
        want = reference_bl_ab(lr, eps, desired, *flags, ugs, x_max, d_max)
        assert got[0] == want[0]
        assert got[1] == pytest.approx(want[1], rel=1e-14, abs=0)
        assert got[2] == pytest.approx(want[2], rel=1e-14, abs=0)
        if got[0] > 0 and (flags[1] or flags[2]) and (flags[0] or flags[1]):
            # A*B = |lr| / (eps BL) is not changed by update management
            assert got[1] * got[2] == pytest.approx(abs(lr) / (eps * got[0]), rel=1e-13)
