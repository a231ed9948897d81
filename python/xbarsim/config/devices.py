"""Resistive-device models of the pulsed update (``xbarsim.devices``).

A device model gives, per cell, the response to one up or down pulse and the cell's bounds. Every
model shares the parameters of :class:`PulsedDevice` (analog-tile.md §3.1) and the device-to-device
population of §3.2; each adds its own per-pulse rule (§3.3). Defaults are aihwkit's Python defaults.

Each model has ``granularity()`` (ε, the weight change of one mean pulse, §3.6) and
``n_states()`` (``(w_max - w_min) / ε``). ``n_states`` is also accepted at construction as a
convenience: ``SoftBounds(w_min=-1, w_max=1, n_states=4)`` sets ``dw_min = (w_max - w_min)/4 = 0.5``
(only ``dw_min`` is stored; ``replace(...)`` keeps it unless ``n_states=`` is given again).

Spec: analog-tile.md §3.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import InitVar, dataclass
from typing import Any, ClassVar

from ._fields import ConfigBase, require_bool, require_non_negative, require_number

__all__ = ["PulsedDevice", "ConstantStep", "LinearStep", "SoftBounds", "SoftBoundsReference", "ExpStep",
           "PowStep", "PiecewiseStep", "SoftBoundsPmax", "DEVICE_MODELS"]


class _BoundNStates:
    """``device.n_states``: callable, returning the number of states of the device (§3.6)."""

    __slots__ = ("_device",)

    def __init__(self, device: "PulsedDevice") -> None:
        self._device = device

    def __call__(self) -> float:
        dev = self._device
        return (dev.w_max - dev.w_min) / dev.granularity()

    def __repr__(self) -> str:
        return f"<bound method n_states of {type(self._device).__name__}>"


class _NStates:
    """Descriptor making ``n_states`` both the method ``n_states()`` and the init-only ``n_states=``.

    ``dataclasses.replace`` passes the current attribute value of every init-only field; it then
    receives the bound method and ``__post_init__`` ignores it (the stored ``dw_min`` stays).
    """

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return _BoundNStates(obj)


@dataclass(frozen=True, kw_only=True)
class PulsedDevice(ConfigBase):
    """Parameters shared by every device model (aihwkit ``PulsedDevice``).

    Attributes:
        dw_min: mean step size at the symmetric point (weight units). > 0. Default 0.001.
        dw_min_dtod: device-to-device spread of the step size (relative). Default 0.3.
        dw_min_dtod_log_normal: draw that spread log-normally, ``exp(dw_min_dtod ξ)``. Default False.
        dw_min_std: cycle-to-cycle spread of each step (relative; multiplicative or additive as the
            model says). Default 0.3.
        w_min, w_max: mean hard bounds (weight units); ``[w_min, w_max]`` must contain 0.
            Defaults -0.6, 0.6.
        w_min_dtod, w_max_dtod: relative device-to-device spread of the bounds. Defaults 0.3, 0.3.
        up_down: systematic up/down asymmetry (> 0 shortens the down step, < 0 the up step).
            Default 0.
        up_down_dtod: device-to-device spread of the asymmetry (relative to dw_min). Default 0.01.
        enforce_consistency: make step signs and bounds consistent (``b_min <= 0 <= b_max``).
            Default True (aihwkit's Python default).
        write_noise_std: write noise in units of dw_min (models that support it, §3.4). Default 0.
        apply_write_noise_on_set: redraw the write noise when weights are set. Default True.
        perfect_bias: the last input line gets exact steps and ×100 bounds. Default False.
        corrupt_devices_prob: probability that a cell is stuck. Default 0.
        corrupt_devices_range: stuck values are drawn within ±this. Default 0.1.
        reset, reset_dtod, reset_std: reset target, its d2d and c2c spread; used by
            ``reset_columns`` and (the bias) by ``decay_weights`` (§3.5, applied only on request,
            never by the update). Defaults 0, 0, 0.01.
        lifetime, lifetime_dtod: decay lifetime in calls of ``decay_weights`` (0: none) and its
            spread (§3.5, on request). Defaults 0, 0.
        diffusion, diffusion_dtod: diffusion rate of ``diffuse_weights`` and its spread (§3.5, on
            request). Defaults 0, 0.
        construction_seed: seed of the device-to-device draws; 0 uses the tile's seed. Default 0.
        n_states: init-only convenience, sets ``dw_min = (w_max - w_min) / n_states`` (>= 1).

    Spec: analog-tile.md §3.1, §3.2.
    """

    #: Name of the model in the native core (``_core.DeviceModel``); None for this abstract base.
    model: ClassVar[str | None] = None
    #: Whether the model supports write noise (models marked WN in §3.3).
    supports_write_noise: ClassVar[bool] = True

    dw_min: float = 0.001
    dw_min_dtod: float = 0.3
    dw_min_dtod_log_normal: bool = False
    dw_min_std: float = 0.3
    w_min: float = -0.6
    w_max: float = 0.6
    w_min_dtod: float = 0.3
    w_max_dtod: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    enforce_consistency: bool = True
    write_noise_std: float = 0.0
    apply_write_noise_on_set: bool = True
    perfect_bias: bool = False
    corrupt_devices_prob: float = 0.0
    corrupt_devices_range: float = 0.1
    reset: float = 0.0
    reset_dtod: float = 0.0
    reset_std: float = 0.01
    lifetime: float = 0.0
    lifetime_dtod: float = 0.0
    diffusion: float = 0.0
    diffusion_dtod: float = 0.0
    construction_seed: int = 0
    n_states: InitVar[float | None] = None

    def __post_init__(self, n_states: Any) -> None:
        name = type(self).__name__
        if self.model is None:
            raise TypeError(f"{name}: PulsedDevice is abstract; use a model such as ConstantStep or SoftBounds")
        for f in dataclasses.fields(self):
            if f.type in ("bool",):
                require_bool(self, f.name)
        for f in ("dw_min", "w_min", "w_max", "up_down", "reset"):
            require_number(self, f)
        for f in ("dw_min_dtod", "dw_min_std", "w_min_dtod", "w_max_dtod", "up_down_dtod", "write_noise_std",
                  "corrupt_devices_range", "reset_dtod", "reset_std", "lifetime", "lifetime_dtod", "diffusion",
                  "diffusion_dtod"):
            require_non_negative(self, f)
        seed = self.construction_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"{name}: construction_seed must be an int in [0, 2**64); got {seed!r}")
        if self.w_min > self.w_max:
            raise ValueError(f"{name}: w_min must be <= w_max; got w_min={self.w_min!r}, w_max={self.w_max!r}")
        if not self.w_min <= 0.0 <= self.w_max:
            raise ValueError(f"{name}: [w_min, w_max] must contain 0; got [{self.w_min!r}, {self.w_max!r}]")
        if not 0.0 <= require_number(self, "corrupt_devices_prob") <= 1.0:
            raise ValueError(f"{name}: corrupt_devices_prob must be in [0, 1]; got {self.corrupt_devices_prob!r}")
        if isinstance(n_states, _BoundNStates):
            n_states = None  # dataclasses.replace passing the method back: keep dw_min
        if n_states is not None:
            if isinstance(n_states, bool) or not isinstance(n_states, (int, float)) or not math.isfinite(n_states):
                raise TypeError(f"{name}: n_states must be a finite number; got {n_states!r}")
            if n_states < 1:
                raise ValueError(f"{name}: n_states must be >= 1; got {n_states!r}")
            if not self.w_max > self.w_min:
                raise ValueError(f"{name}: n_states needs w_max > w_min; got [{self.w_min!r}, {self.w_max!r}]")
            object.__setattr__(self, "dw_min", (self.w_max - self.w_min) / n_states)
        if not self.dw_min > 0:
            raise ValueError(f"{name}: dw_min must be > 0; got {self.dw_min!r}")
        if self.write_noise_std > 0 and not self.supports_write_noise:
            raise ValueError(f"{name}: write_noise_std must be 0 ({name} has no write noise); "
                             f"got {self.write_noise_std!r}")
        self._validate_model()

    def _validate_model(self) -> None:
        """Checks of the model's own fields (overridden per model)."""

    # Derived values (§3.6). ---------------------------------------------------------------------
    def granularity(self) -> float:
        """ε: the weight change of one mean-sized pulse (dw_min for most models), > 0."""
        return float(self.dw_min)

    def has_write_noise(self) -> bool:
        """True if cells keep separate persistent and apparent weights (§3.4)."""
        return self.write_noise_std > 0

    def population_seed(self, tile_seed: int) -> int:
        """The seed of the device-to-device draws: construction_seed, or the tile's seed if it is 0."""
        return self.construction_seed if self.construction_seed != 0 else int(tile_seed)


PulsedDevice.n_states = _NStates()  # type: ignore[assignment]


def _require_finite(obj: Any, *names: str) -> None:
    for n in names:
        require_number(obj, n)


@dataclass(frozen=True, kw_only=True)
class ConstantStep(PulsedDevice):
    """Constant steps: up ``w += s↑(1 + σξ)``, down ``w -= s↓(1 + σξ)``, clipped to the cell's bounds.

    No write noise (``write_noise_std > 0`` is an error). ε = dw_min.

    Spec: analog-tile.md §3.3 (ConstantStep).
    """

    model: ClassVar[str] = "ConstantStep"
    supports_write_noise: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True)
class LinearStep(PulsedDevice):
    """Steps linear in the weight: up ``s↑(1 − γ↑ w / r↑)``, down ``s↓(1 − γ↓ w / r↓)``.

    Attributes:
        gamma_up, gamma_down: mean slopes γ (made non-negative unless ``allow_increasing``).
            Defaults 0, 0.
        gamma_up_dtod, gamma_down_dtod: device-to-device spread of γ (absolute). Defaults 0.05, 0.05.
        allow_increasing: allow negative γ (steps growing towards the bound). Default False.
        mean_bound_reference: references r are the mean bounds (w_max, w_min), else the cell's.
            Default True.
        mult_noise: multiplicative cycle-to-cycle noise on the whole step, else only on s. Default True.
        reverse_up, reverse_down: reference of the up (down) slope is the opposite bound shifted by
            ``reverse_offset``; needs ``mult_noise``. Defaults False, False.
        reverse_offset: that shift. Default 0.01.

    ε = dw_min. Spec: analog-tile.md §3.3 (LinearStep).
    """

    model: ClassVar[str] = "LinearStep"

    gamma_up: float = 0.0
    gamma_down: float = 0.0
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    allow_increasing: bool = False
    mean_bound_reference: bool = True
    mult_noise: bool = True
    reverse_up: bool = False
    reverse_down: bool = False
    reverse_offset: float = 0.01

    def _validate_model(self) -> None:
        _require_finite(self, "gamma_up", "gamma_down", "reverse_offset")
        require_non_negative(self, "gamma_up_dtod")
        require_non_negative(self, "gamma_down_dtod")
        if (self.reverse_up or self.reverse_down) and not self.mult_noise:
            raise ValueError(f"{type(self).__name__}: mult_noise must be True with reverse_up/reverse_down; got False")


@dataclass(frozen=True, kw_only=True)
class SoftBounds(PulsedDevice):
    """Soft bounds: up ``w += s↑(1 − w/b_max)(1 + σξ)``, down ``w −= s↓(1 − w/b_min)(1 + σξ)``.

    The step shrinks linearly to zero at the cell's bound (LinearStep with γ = 1 and the cell's own
    bounds as references). With ``w_max = -w_min = τ`` and no noise or variation it is the paper's
    asymmetric linear device.

    Attributes:
        mult_noise: multiplicative cycle-to-cycle noise on the whole step. Default True.

    ε = dw_min. Spec: analog-tile.md §3.3 (SoftBounds), §3.7.
    """

    model: ClassVar[str] = "SoftBounds"

    mult_noise: bool = True


@dataclass(frozen=True, kw_only=True)
class SoftBoundsReference(PulsedDevice):
    """Soft bounds on the device state ``g = w + r`` with a per-cell reference ``r``.

    Attributes:
        mult_noise: multiplicative noise, else additive ``s(1 − a + σξ)``. Default False.
        slope_up_dtod, slope_down_dtod: device-to-device spread of the soft-bound slopes. Defaults 0, 0.
        reference_mean, reference_std: the reference r ~ N(mean, std²) per cell. Defaults 0, 0.
        subtract_symmetry_point: add the cell's symmetry point to r (so w = 0 is symmetric).
            Default False.

    ε = dw_min. Spec: analog-tile.md §3.3 (SoftBoundsReference), §6 #12.
    """

    model: ClassVar[str] = "SoftBoundsReference"

    mult_noise: bool = False
    slope_up_dtod: float = 0.0
    slope_down_dtod: float = 0.0
    reference_mean: float = 0.0
    reference_std: float = 0.0
    subtract_symmetry_point: bool = False

    def _validate_model(self) -> None:
        for n in ("slope_up_dtod", "slope_down_dtod", "reference_std"):
            require_non_negative(self, n)
        _require_finite(self, "reference_mean")


@dataclass(frozen=True, kw_only=True)
class ExpStep(PulsedDevice):
    """Exponential step-size dependence on the weight.

    With ``z = 2a·w/(b_max − b_min) + b``: ``y↑ = max(1 − A_up·exp(gamma_up·z), 0)``,
    ``y↓ = max(1 − A_down·exp(−gamma_down·z), 0)``; up ``w += y↑ s↑ (1 + σξ)``, down
    ``w −= y↓ s↓ (1 + σξ)``; with ``dw_min_std_add`` or ``dw_min_std_slope`` non-zero the noise is
    ``σ(|Δ| + dw_min_std_add + dw_min_std_slope·|w|)ξ`` instead.

    Attributes:
        A_up, A_down: Defaults 0.00081, 0.36833.
        gamma_up, gamma_down: Defaults 12.44625, 12.78785.
        a, b: Defaults 0.244, 0.2425.
        dw_min_std_add, dw_min_std_slope: extra noise terms. Defaults 0, 0.

    ε = (Δ↑(0) + Δ↓(0))/2 from the mean parameters (dw_min if that is <= 0).
    Spec: analog-tile.md §3.3 (ExpStep), §6 #1.
    """

    model: ClassVar[str] = "ExpStep"

    A_up: float = 0.00081
    A_down: float = 0.36833
    gamma_up: float = 12.44625
    gamma_down: float = 12.78785
    a: float = 0.244
    b: float = 0.2425
    dw_min_std_add: float = 0.0
    dw_min_std_slope: float = 0.0

    def _validate_model(self) -> None:
        _require_finite(self, "A_up", "A_down", "gamma_up", "gamma_down", "a", "b")
        require_non_negative(self, "dw_min_std_add")
        require_non_negative(self, "dw_min_std_slope")

    def granularity(self) -> float:
        def step(scale: float, A: float, expo: float) -> float:
            return scale * self.dw_min * max(1.0 - A * _safe_exp(expo), 0.0)

        up = step(1.0 + min(self.up_down, 0.0), self.A_up, self.gamma_up * self.b)
        down = step(1.0 - max(self.up_down, 0.0), self.A_down, -self.gamma_down * self.b)
        eps = (up + down) / 2.0
        return eps if eps > 0 else float(self.dw_min)


def _safe_exp(v: float) -> float:
    return math.inf if v > 709.0 else math.exp(v)


@dataclass(frozen=True, kw_only=True)
class PowStep(PulsedDevice):
    """Power-law steps: up ``w += s↑((b_max − w)/R)^γ↑(1 + σξ)``, down ``w −= s↓((w − b_min)/R)^γ↓(1 + σξ)``.

    Attributes:
        pow_gamma: mean exponent. Default 1.
        pow_gamma_dtod: device-to-device spread of the exponent (relative). Default 0.1.
        pow_up_down: up/down asymmetry of the exponent. Default 0.
        pow_up_down_dtod: its device-to-device spread. Default 0.

    ε = dw_min · 0.5^pow_gamma. Spec: analog-tile.md §3.3 (PowStep).
    """

    model: ClassVar[str] = "PowStep"

    pow_gamma: float = 1.0
    pow_gamma_dtod: float = 0.1
    pow_up_down: float = 0.0
    pow_up_down_dtod: float = 0.0

    def _validate_model(self) -> None:
        require_non_negative(self, "pow_gamma")
        require_non_negative(self, "pow_gamma_dtod")
        require_non_negative(self, "pow_up_down_dtod")
        _require_finite(self, "pow_up_down")

    def granularity(self) -> float:
        return float(self.dw_min) * 0.5 ** self.pow_gamma


@dataclass(frozen=True, kw_only=True)
class PiecewiseStep(PulsedDevice):
    """Step size interpolated linearly in tables of node values spread evenly over the cell's range.

    Attributes:
        piecewise_up, piecewise_down: node values (relative step sizes), same length L >= 1, each
            finite and >= 0. Defaults (1,), (1,).

    ε = dw_min · piecewise_up[L // 2]. Spec: analog-tile.md §3.3 (PiecewiseStep).
    """

    model: ClassVar[str] = "PiecewiseStep"

    piecewise_up: tuple[float, ...] = (1.0,)
    piecewise_down: tuple[float, ...] = (1.0,)

    def _validate_model(self) -> None:
        name = type(self).__name__
        for field in ("piecewise_up", "piecewise_down"):
            value = getattr(self, field)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name}: {field} must be a sequence of numbers; got {value!r}")
            items = tuple(value)
            for v in items:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                    raise ValueError(f"{name}: {field} must hold finite numbers >= 0; got {value!r}")
            object.__setattr__(self, field, tuple(float(v) for v in items))
        if len(self.piecewise_up) < 1 or len(self.piecewise_up) != len(self.piecewise_down):
            raise ValueError(f"{name}: piecewise_up and piecewise_down must have the same length >= 1; "
                             f"got {len(self.piecewise_up)} and {len(self.piecewise_down)}")
        if not self.granularity() > 0:
            raise ValueError(f"{name}: piecewise_up[L // 2] must be > 0 (it sets the granularity); "
                             f"got {self.piecewise_up[len(self.piecewise_up) // 2]!r}")

    def granularity(self) -> float:
        return float(self.dw_min) * self.piecewise_up[len(self.piecewise_up) // 2]


def SoftBoundsPmax(*, p_max: float = 1000.0, alpha: float = 0.0005, range_min: float = -1.0,
                   range_max: float = 1.0, **kwargs: Any) -> SoftBounds:
    """SoftBounds parametrised by the pulses to saturation ``p_max`` and the rate ``alpha``.

    ``B = (range_max − range_min)/(1 − exp(−alpha·p_max))``, ``w_min = range_min``,
    ``w_max = range_min + B``, ``dw_min = B·alpha``, ``up_down = 1 + 2·range_min/B``. Other
    SoftBounds fields may be passed as keywords. Spec: analog-tile.md §3.3 (SoftBoundsPmax).
    """
    for name, v in (("p_max", p_max), ("alpha", alpha)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or not math.isfinite(v):
            raise ValueError(f"SoftBoundsPmax: {name} must be a finite number > 0; got {v!r}")
    if not range_max > range_min:
        raise ValueError(f"SoftBoundsPmax: range_max must be > range_min; got {range_min!r}, {range_max!r}")
    span = (range_max - range_min) / (1.0 - math.exp(-alpha * p_max))
    return SoftBounds(w_min=float(range_min), w_max=float(range_min + span), dw_min=span * alpha,
                      up_down=1.0 + 2.0 * range_min / span, **kwargs)


#: Every concrete device model, by class name.
DEVICE_MODELS: dict[str, type[PulsedDevice]] = {
    cls.__name__: cls
    for cls in (ConstantStep, LinearStep, SoftBounds, SoftBoundsReference, ExpStep, PowStep, PiecewiseStep)
}
