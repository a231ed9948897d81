"""aihwkit's preset read and update parameters (``PresetIOParameters``, ``PresetUpdateParameters``).

Spec: analog-tile.md §5 (notes).
"""
from __future__ import annotations

from typing import Any

from ..config.io import IOConfig
from ..config.update import UpdateConfig

__all__ = ["PresetIO", "PresetUpdate"]


def PresetIO(**overrides: Any) -> IOConfig:
    """abs_max noise management, iterative bound management, 7-bit DAC, 9-bit ADC, out_bound 20,
    out_noise 0.1 (the rest IOConfig defaults)."""
    values = dict(noise_management="abs_max", bound_management="iterative", inp_res=1.0 / 126.0,
                  out_res=1.0 / 510.0, out_bound=20.0, out_noise=0.1)
    return IOConfig(**{**values, **overrides})


def PresetUpdate(**overrides: Any) -> UpdateConfig:
    """desired_bl 31, stochastic_compressed, update and BL management on."""
    values = dict(desired_bl=31, pulse_type="stochastic_compressed", update_management=True,
                  update_bl_management=True)
    return UpdateConfig(**{**values, **overrides})
