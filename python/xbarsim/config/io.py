"""IOConfig: the analog read path of a tile (DAC, MVM, noise, ADC, noise and bound management).

Spec: analog-tile.md §1. Defaults are aihwkit's Python ``IOParameters`` defaults (§1.1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ._fields import (
    ConfigBase,
    require_bool,
    require_choice,
    require_non_negative,
    require_number,
    require_positive,
)

NoiseManagement = Literal["none", "abs_max", "max", "constant", "average_abs_max"]
BoundManagement = Literal["none", "iterative"]
WeightNoiseType = Literal["none", "additive_constant", "pcm_read"]

NOISE_MANAGEMENT_TYPES = ("none", "abs_max", "max", "constant", "average_abs_max")
BOUND_MANAGEMENT_TYPES = ("none", "iterative")
WEIGHT_NOISE_TYPES = ("none", "additive_constant", "pcm_read")


def checkres(r: float) -> float:
    """Resolution normalisation of analog-tile.md §1.2: r < 0 -> 0, r > 1 -> 1/r, else r."""
    if r < 0:
        return 0.0
    if r > 1:
        return 1.0 / r
    return float(r)


@dataclass(frozen=True, kw_only=True)
class IOConfig(ConfigBase):
    """Read-path configuration of one direction (forward or backward) of an analog tile.

    Attributes:
        is_perfect: exact floating-point MVM; only ``out_scale`` is applied. Default False.
        inp_bound: DAC range ±inp_bound (input units); <= 0 means unbounded. Default 1.0.
        inp_res: DAC resolution as a fraction of the full range (> 1: a number of steps;
            <= 0: no quantisation). Default 1/126 (7 bit).
        inp_sto_round: stochastic rounding in the DAC. Default False.
        inp_noise: std of Gaussian noise added to each DAC output after clipping. Default 0.
        inp_asymmetry: negative DAC outputs are multiplied by (1 - inp_asymmetry). Default 0.
        out_bound: ADC range ±out_bound; <= 0 means unbounded. Default 12.
        out_res: ADC resolution, conventions as ``inp_res``. Default 1/510 (9 bit).
        out_sto_round: stochastic rounding in the ADC. Default False.
        out_noise: std of additive Gaussian noise on each output line before the ADC. Default 0.06.
        out_scale: digital factor applied to the final output. Default 1.
        out_asymmetry: negative outputs multiplied by (1 - out_asymmetry). Default 0.
        w_noise: output-referred weight read-noise strength. Default 0.
        w_noise_type: "none", "additive_constant" (w_noise·‖v‖₂·ξ) or "pcm_read"
            (w_noise·sqrt(Σ_j |W_ij| v_j²)·ξ). Default "none".
        noise_management: "none", "abs_max", "max", "constant", "average_abs_max". Default "abs_max".
        nm_thres: cap of the noise-management scale (the scale itself for "constant"). Default 0.
        nm_decay: decay of the running maximum of "average_abs_max". Default 1e-3.
        bound_management: "none" or "iterative" (forward only). Default "iterative".
        max_bm_factor: bound management stops once the reduction factor exceeds this. Default 1000.
        max_bm_res: bound management stops once the reduction exceeds max_bm_res / inp_res_eff.
            Default 0.25.
        bm_test_negative_bound: negative saturation also triggers another round. Default True.

    Spec: analog-tile.md §1.1–§1.2.
    """

    is_perfect: bool = False
    inp_bound: float = 1.0
    inp_res: float = 1.0 / 126.0
    inp_sto_round: bool = False
    inp_noise: float = 0.0
    inp_asymmetry: float = 0.0
    out_bound: float = 12.0
    out_res: float = 1.0 / 510.0
    out_sto_round: bool = False
    out_noise: float = 0.06
    out_scale: float = 1.0
    out_asymmetry: float = 0.0
    w_noise: float = 0.0
    w_noise_type: WeightNoiseType = "none"
    noise_management: NoiseManagement = "abs_max"
    nm_thres: float = 0.0
    nm_decay: float = 1e-3
    bound_management: BoundManagement = "iterative"
    max_bm_factor: float = 1000.0
    max_bm_res: float = 0.25
    bm_test_negative_bound: bool = True

    def __post_init__(self) -> None:
        for name in ("is_perfect", "inp_sto_round", "out_sto_round", "bm_test_negative_bound"):
            require_bool(self, name)
        for name in ("inp_bound", "inp_res", "out_bound", "out_res", "out_scale", "inp_asymmetry",
                     "out_asymmetry", "nm_thres"):
            require_number(self, name)
        for name in ("inp_noise", "out_noise", "w_noise", "nm_thres"):
            require_non_negative(self, name)
        for name in ("max_bm_factor", "max_bm_res"):
            require_positive(self, name)
        require_number(self, "nm_decay")
        if not 0.0 < self.nm_decay <= 1.0:
            raise ValueError(f"IOConfig: nm_decay must be in (0, 1]; got {self.nm_decay!r}")
        require_choice(self, "noise_management", NOISE_MANAGEMENT_TYPES)
        require_choice(self, "bound_management", BOUND_MANAGEMENT_TYPES)
        require_choice(self, "w_noise_type", WEIGHT_NOISE_TYPES)
        if self.noise_management != "none" and self.inp_bound != 1.0 and not self.is_perfect:
            raise ValueError(
                "IOConfig: inp_bound must be 1.0 when noise_management is on "
                f"(noise_management={self.noise_management!r}); got {self.inp_bound!r}"
            )

    # Derived values (analog-tile.md §1.2). ---------------------------------------------------
    def inp_res_eff(self) -> float:
        """DAC step in input units; <= 0 means no quantisation."""
        return checkres(self.inp_res) * 2.0 * self.inp_bound

    def out_res_eff(self) -> float:
        """ADC step in output units; <= 0 means no quantisation."""
        return checkres(self.out_res) * 2.0 * self.out_bound

    def inp_bound_eff(self) -> float:
        """DAC clip level; +inf when unbounded."""
        return self.inp_bound if self.inp_bound > 0 else math.inf

    def out_bound_eff(self) -> float:
        """ADC clip level; +inf when unbounded."""
        return self.out_bound if self.out_bound > 0 else math.inf

    def nm_thres_eff(self) -> float:
        """nm_thres, treated as 0 without noise management."""
        return 0.0 if self.noise_management == "none" else self.nm_thres

    def for_backward(self) -> "IOConfig":
        """The same config with bound management off, as the backward pass always runs (§1.4)."""
        return self if self.bound_management == "none" else self.replace(bound_management="none")
