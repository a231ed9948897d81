"""Device presets: aihwkit's preset devices and the paper's soft-bounds device.

Each preset is a function returning a frozen device config; fields not listed keep the model's
defaults (analog-tile.md §3.1, §3.3). Keyword arguments override fields, e.g.
``ReRamArrayOM(dw_min_std=0.0)``. Spec: analog-tile.md §5.
"""
from __future__ import annotations

from typing import Any

from ..config.devices import ConstantStep, ExpStep, LinearStep, SoftBounds, SoftBoundsReference

__all__ = ["ReRamArrayHfO2", "ReRamArrayOM", "ReRamSB", "ReRamES", "Capacitor", "EcRam", "EcRamMO", "PCM",
           "Idealized", "GokmenVlasov", "PaperSoftBounds", "DEVICE_PRESETS"]


def _make(cls, values: dict[str, Any], overrides: dict[str, Any]):
    return cls(**{**values, **overrides})


def ReRamArrayHfO2(**overrides: Any) -> SoftBoundsReference:
    """ReRAM array, HfO2 (Gong 2022): about 4.3 states. Measured 9.77 % stuck cells are not enabled."""
    return _make(SoftBoundsReference, dict(
        dw_min=0.4622, w_min=-1.0, w_max=1.0, dw_min_dtod=0.7125, dw_min_dtod_log_normal=True,
        up_down=0.0, up_down_dtod=0.01, w_max_dtod=0.4295, w_min_dtod=0.5990, dw_min_std=0.2174,
        write_noise_std=0.5841, subtract_symmetry_point=True, reference_std=0.05, enforce_consistency=True,
        corrupt_devices_range=0.01, corrupt_devices_prob=0.0), overrides)


def ReRamArrayOM(**overrides: Any) -> SoftBoundsReference:
    """ReRAM array, OM (Gong 2022): about 21 states. Measured 13.48 % stuck cells are not enabled."""
    return _make(SoftBoundsReference, dict(
        dw_min=0.0949, w_min=-1.0, w_max=1.0, dw_min_dtod=0.7829, dw_min_dtod_log_normal=True,
        up_down=0.0, up_down_dtod=0.01, w_max_dtod=0.3499, w_min_dtod=0.5695, dw_min_std=0.4158,
        write_noise_std=1.4113, subtract_symmetry_point=True, reference_std=0.05,
        corrupt_devices_range=0.01, corrupt_devices_prob=0.0), overrides)


def ReRamSB(**overrides: Any) -> SoftBoundsReference:
    """ReRAM with soft bounds and large additive noise: 1000 nominal states."""
    return _make(SoftBoundsReference, dict(
        dw_min=0.002, w_min=-0.75, w_max=1.25, dw_min_dtod=0.3, up_down=0.0, up_down_dtod=0.01,
        w_max_dtod=0.3 / 1.25, w_min_dtod=0.3 / 0.75, dw_min_std=3.75, mult_noise=False,
        write_noise_std=56.0), overrides)


def ReRamES(**overrides: Any) -> ExpStep:
    """ReRAM with exponential steps: 1481 nominal states (1152 with xbarsim's granularity)."""
    return _make(ExpStep, dict(
        dw_min=0.00135, w_min=-1.0, w_max=1.0, dw_min_dtod=0.2, up_down=0.259359, up_down_dtod=0.05,
        w_max_dtod=0.3, w_min_dtod=0.3, dw_min_std=5.0, a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0,
        A_up=-1.18445, A_down=-0.081404, write_noise_std=75.0), overrides)


def Capacitor(**overrides: Any) -> LinearStep:
    """Capacitor-based cell (Li 2018): 400 states, small linear step dependence, slow decay."""
    return _make(LinearStep, dict(
        dw_min=0.005, w_min=-1.0, w_max=1.0, dw_min_dtod=0.1, up_down=0.0, up_down_dtod=0.06,
        w_max_dtod=0.07, w_min_dtod=0.07, dw_min_std=0.3, gamma_up=0.05, gamma_down=0.05,
        gamma_up_dtod=0.01, gamma_down_dtod=0.01, mult_noise=False, mean_bound_reference=True,
        lifetime=1e6, lifetime_dtod=0.3), overrides)


def EcRam(**overrides: Any) -> LinearStep:
    """Electro-chemical RAM (Tang 2018): 1000 states."""
    return _make(LinearStep, dict(
        dw_min=0.002, w_min=-0.8276, w_max=1.1724, dw_min_dtod=0.1, up_down=0.0, up_down_dtod=0.01,
        w_max_dtod=0.05, w_min_dtod=0.05, dw_min_std=0.3, gamma_up=0.1153, gamma_down=0.5085,
        gamma_up_dtod=0.05, gamma_down_dtod=0.05, mult_noise=True), overrides)


def EcRamMO(**overrides: Any) -> LinearStep:
    """Metal-oxide ECRAM (Kim 2019): about 7089 states."""
    return _make(LinearStep, dict(
        dw_min=2.8214e-4, w_min=-0.8286, w_max=1.1714, dw_min_dtod=0.1, up_down=0.0, up_down_dtod=0.01,
        w_max_dtod=0.05, w_min_dtod=0.05, dw_min_std=2.0, gamma_up=0.4152, gamma_down=0.7342,
        gamma_up_dtod=0.05, gamma_down_dtod=0.05), overrides)


def PCM(**overrides: Any) -> ExpStep:
    """PCM-like unidirectional device (Nandakumar 2020), meant for a one-sided pair with refresh."""
    return _make(ExpStep, dict(
        dw_min=0.01, w_min=0.0, w_max=2.0, dw_min_dtod=0.2, up_down=0.0, up_down_dtod=0.05,
        w_max_dtod=0.1, w_min_dtod=0.0, dw_min_std=0.6, a=-1.0, b=0.0, gamma_up=2.5, gamma_down=2.5,
        A_up=-27.235, A_down=-2.235, dw_min_std_add=0.042, dw_min_std_slope=0.108, reset=0.01,
        reset_dtod=0.02), overrides)


def Idealized(**overrides: Any) -> ConstantStep:
    """Idealised constant-step device with 10000 states."""
    return _make(ConstantStep, dict(
        dw_min=0.0002, w_min=-1.0, w_max=1.0, dw_min_dtod=0.3, up_down=0.0, up_down_dtod=0.0,
        w_max_dtod=0.3, w_min_dtod=0.3, dw_min_std=0.3), overrides)


def GokmenVlasov(**overrides: Any) -> ConstantStep:
    """The constant-step device of Gokmen & Vlasov (2016): 1250 states."""
    return _make(ConstantStep, dict(
        dw_min=0.0016, w_min=-1.0, w_max=1.0, dw_min_dtod=0.3, up_down=0.0, up_down_dtod=0.01,
        w_max_dtod=0.3, w_min_dtod=0.3, dw_min_std=0.3), overrides)


def PaperSoftBounds(n_states: float = 4, **overrides: Any) -> SoftBounds:
    """The paper's device: SoftBounds on [-1, 1] with dw_min = 2/n_states, every other field default.

    This is what the paper's reference code instantiates as ``SoftBoundsDevice(w_min=-1, w_max=1,
    dw_min=...)``, so 30 % device-to-device variation and 30 % cycle-to-cycle noise are active.
    """
    return _make(SoftBounds, dict(w_min=-1.0, w_max=1.0, n_states=n_states), overrides)


#: Every preset by name.
DEVICE_PRESETS = {
    "ReRamArrayHfO2": ReRamArrayHfO2, "ReRamArrayOM": ReRamArrayOM, "ReRamSB": ReRamSB, "ReRamES": ReRamES,
    "Capacitor": Capacitor, "EcRam": EcRam, "EcRamMO": EcRamMO, "PCM": PCM, "Idealized": Idealized,
    "GokmenVlasov": GokmenVlasov, "PaperSoftBounds": PaperSoftBounds,
}
