"""UpdateConfig: how a gradient reaches the crossbar as pulses (stochastic pulse coincidence).

Spec: analog-tile.md §2.1. Defaults are aihwkit's Python ``UpdateParameters`` defaults.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._fields import ConfigBase, require_bool, require_choice, require_int, require_number, require_positive
from .io import checkres

PulseType = Literal["stochastic_compressed", "stochastic", "deterministic_implicit", "mean_count", "none",
                    "none_with_device"]
PULSE_TYPES = ("stochastic_compressed", "stochastic", "deterministic_implicit", "mean_count", "none",
               "none_with_device")

#: Largest pulse-train length (desired_bl, or ceil(|lr|/granularity) without management) accepted.
MAX_BL = 4096


@dataclass(frozen=True, kw_only=True)
class UpdateConfig(ConfigBase):
    """Pulsed-update parameters of a tile.

    Attributes:
        desired_bl: pulse-train length BL (slots per vector update): the maximum with BL
            management, the fixed length without. int in [1, 4096]. Default 31.
        fixed_bl: use ``desired_bl`` as BL when BL management is off. Default True.
        update_bl_management: choose BL per vector from the expected update size. Default True.
        update_management: rebalance the x and d firing probabilities per vector; forced on whenever
            ``update_bl_management`` is on. Default True.
        um_grad_scale: factor on ``max_i |d_i|`` inside update management (< 1 clips more of d).
            > 0. Default 1.0.
        pulse_type: ``"stochastic_compressed"`` (bit lines, the default), ``"stochastic"`` (same
            scheme, aihwkit's other name), ``"deterministic_implicit"``, ``"mean_count"``,
            ``"none"`` (exact floating-point update, no device) or ``"none_with_device"`` (exact
            update, then clipped to the device bounds).
        res: discretisation step of the pulse probabilities (0 = continuous; > 1 means 1/res).
            Default 0.
        sto_round: stochastic rounding of that discretisation. Default False.
        x_res_implicit: probability discretisation of x for ``deterministic_implicit``. Default 0.
        d_res_implicit: same for d. Default 0.
        count_pulses: accumulate per-tile counters of line pulses and coincidences (§2.9). Default False.

    Spec: analog-tile.md §2.1–§2.9.
    """

    desired_bl: int = 31
    fixed_bl: bool = True
    update_bl_management: bool = True
    update_management: bool = True
    um_grad_scale: float = 1.0
    pulse_type: PulseType = "stochastic_compressed"
    res: float = 0.0
    sto_round: bool = False
    x_res_implicit: float = 0.0
    d_res_implicit: float = 0.0
    count_pulses: bool = False

    def __post_init__(self) -> None:
        require_int(self, "desired_bl", minimum=1)
        if self.desired_bl > MAX_BL:
            raise ValueError(f"UpdateConfig: desired_bl must be <= {MAX_BL}; got {self.desired_bl!r}")
        for name in ("fixed_bl", "update_bl_management", "update_management", "sto_round", "count_pulses"):
            require_bool(self, name)
        require_positive(self, "um_grad_scale")
        require_choice(self, "pulse_type", PULSE_TYPES)
        for name in ("res", "x_res_implicit", "d_res_implicit"):
            require_number(self, name)

    # Derived values. ------------------------------------------------------------------------------
    def update_management_eff(self) -> bool:
        """Update management as applied: on whenever BL management is on (§2.1)."""
        return self.update_management or self.update_bl_management

    def res_eff(self) -> float:
        """The probability discretisation step actually used (0: none)."""
        return checkres(self.res)  # the IO normalisation, also for the update (analog-tile.md §6 #9)

    def is_pulsed(self) -> bool:
        """True unless the update is the exact floating-point one (``none``/``none_with_device``)."""
        return self.pulse_type not in ("none", "none_with_device")
