"""Helpers shared by the front-end tests (xbarsim.nn / optim / train): configs and reference bounds."""
from __future__ import annotations

import torch

import xbarsim

PERFECT = xbarsim.IOConfig(is_perfect=True)


def ideal_config(**kw) -> "xbarsim.TileConfig":
    """Perfect reads, the exact update W <- W - lr d^T x (analog-tile.md §1.5, §2.7), and a device whose
    bounds (±1e6, no spread) never clip: setting weights clips them to the cell bounds (§3.5)."""
    from xbarsim import devices

    wide = devices.ConstantStep(w_min=-1e6, w_max=1e6, w_min_dtod=0.0, w_max_dtod=0.0)
    return xbarsim.TileConfig(forward=PERFECT, backward=PERFECT, update=xbarsim.UpdateConfig(pulse_type="none"),
                              device_model=wide, **kw)


def softbounds_config(n_states: int = 16, **kw) -> "xbarsim.TileConfig":
    """Default (non-ideal) IO, default pulsed update, SoftBounds on [-1, 1] with n_states states."""
    from xbarsim import devices

    return xbarsim.TileConfig(device_model=devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=n_states), **kw)


def dot_bound(a_abs: torch.Tensor, b_abs: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """Rounding-error bound of a sum of n products in any order: gamma_n * (|a| @ |b|).

    gamma_n = n u / (1 - n u) with u the unit roundoff of dtype (Higham, Accuracy and Stability of
    Numerical Algorithms, eq. 3.5); doubled because both results compared carry such an error.
    """
    u = torch.finfo(dtype).eps / 2
    gamma = n * u / (1 - n * u)
    return 2 * gamma * (a_abs @ b_abs) + torch.finfo(dtype).tiny


def assert_close_bound(actual: torch.Tensor, expected: torch.Tensor, bound: torch.Tensor) -> None:
    err = (actual.double() - expected.double()).abs()
    excess = err - bound.double()
    assert bool((excess <= 0).all()), f"max error {err.max().item():.3e} exceeds its bound by {excess.max().item():.3e}"
