"""Philox4x32-10 against the published known-answer vectors (analog-tile.md Appendix A), and the
exact math functions against NumPy in float64."""
import math

import numpy as np
import pytest

from xbarsim import _core

KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_known_answers(counter, key, expected):
    assert tuple(_core.testing.philox4x32_10(list(counter), list(key))) == expected


def _ulp_error(got: float, want: float) -> float:
    return abs(got - want) / np.spacing(np.float32(abs(want)))


def test_exact_log_accuracy():
    rng = np.random.default_rng(0)
    # uniform_open_closed's whole range, plus wide magnitudes
    xs = np.concatenate([rng.uniform(2**-24, 1.0, 2000), np.exp(rng.uniform(-80, 80, 2000))]).astype(np.float32)
    worst = max(_ulp_error(_core.testing.exact_logf(float(x)), math.log(float(x))) for x in xs if abs(math.log(float(x))) > 1e-3)
    assert worst <= 4.0
    assert _core.testing.exact_logf(1.0) == 0.0


def test_exact_exp_accuracy():
    rng = np.random.default_rng(1)
    xs = rng.uniform(-80, 80, 4000).astype(np.float32)
    worst = max(_ulp_error(_core.testing.exact_expf(float(x)), math.exp(float(x))) for x in xs)
    assert worst <= 4.0
    assert _core.testing.exact_expf(0.0) == 1.0
    assert _core.testing.exact_expf(-100.0) == 0.0
    assert math.isinf(_core.testing.exact_expf(100.0))


def test_exact_sincos_accuracy():
    us = (np.arange(4096, dtype=np.float64) / 4096).astype(np.float32)
    for u in us:
        s, c = _core.testing.exact_sincos_2pi(float(u))
        angle = 2 * math.pi * float(u)
        assert abs(s - math.sin(angle)) < 3e-7
        assert abs(c - math.cos(angle)) < 3e-7
