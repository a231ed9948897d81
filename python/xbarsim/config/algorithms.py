"""Algorithm configs: which learning rule a layer's analog tiles run (``TileConfig(algorithm=...)``).

Tile numbering everywhere (xbarsim = the paper): **tile 0 is the most significant tile** (scale
γ⁰ = 1) and tile N = n_tiles − 1 the least significant, the gradient tile (the only one that
receives gradient pulses). Every vector option (``gamma_vec``, ``transfer_every``, ``transfer_lr``)
is in this order unless ``order="aihwkit"`` says the vectors are in aihwkit's reversed order.

Spec: algorithms.md §0 (numbering), §3.1 (ResidualLearning fields), §4 (learning rates), §8
(baselines). Defaults not tied to residual learning are aihwkit's Python defaults.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Tuple, Union

from ._fields import (
    ConfigBase,
    require_bool,
    require_choice,
    require_in_range,
    require_instance,
    require_int,
    require_non_negative,
    require_number,
    require_positive,
)
from .io import IOConfig
from .update import UpdateConfig

__all__ = [
    "AlgorithmConfig",
    "SingleTile",
    "TransferCompound",
    "ResidualLearning",
    "TikiTaka",
    "TikiTakaV2",
    "ChoppedTikiTakaV2",
    "MixedPrecision",
    "WARM_START_MODES",
    "TransferEvery",
]

WARM_START_MODES = ("none", "paper", "reference_cpu", "reference_cuda")
READ_MODES = ("reduced",)
ORDERS = ("xbarsim", "aihwkit")

WarmStart = Literal["none", "paper", "reference_cpu", "reference_cuda"]
Order = Literal["xbarsim", "aihwkit"]
Vector = Tuple[float, ...]
TransferEvery = Union[float, Vector]


def _transfer_io_default() -> IOConfig:
    # Transfer reads run without noise and bound management (analog-tile.md §1.9).
    return IOConfig(noise_management="none", bound_management="none")


def _bl1_update() -> UpdateConfig:
    # TT-v2 / c-TTv2 transfer writes: one pulse per non-zero count, no management (§8.3).
    return UpdateConfig(desired_bl=1, update_bl_management=False, update_management=False)


def _check_vector(obj: Any, name: str, n: int, *, allow_scalar: bool) -> None:
    value = getattr(obj, name)
    if allow_scalar and not isinstance(value, (list, tuple)):
        require_number(obj, name)
        return
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{type(obj).__name__}: {name} must be a sequence of numbers; got {value!r}")
    if len(value) != n:
        raise ValueError(f"{type(obj).__name__}: {name} must have n_tiles={n} entries; got {len(value)}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{type(obj).__name__}: {name} must contain finite numbers; got {value!r}")
    object.__setattr__(obj, name, tuple(float(v) for v in value))


def _check_transfer_io(obj: Any) -> None:
    require_instance(obj, "transfer_io", IOConfig)
    io = obj.transfer_io
    if not io.is_perfect and (io.noise_management != "none" or io.bound_management != "none"):
        warnings.warn(f"{type(obj).__name__}: transfer_io runs without noise and bound management; "
                      f"noise_management={io.noise_management!r} and bound_management={io.bound_management!r} "
                      "are forced to 'none' (analog-tile.md §1.9)", UserWarning, stacklevel=3)


@dataclass(frozen=True, kw_only=True)
class AlgorithmConfig(ConfigBase):
    """Base of the algorithm configs."""

    def num_tiles(self) -> int:
        """Number of physical analog tiles of one layer block."""
        return 1


@dataclass(frozen=True, kw_only=True)
class SingleTile(AlgorithmConfig):
    """Analog SGD on one tile: the pulsed update with ``η = lr`` (the default algorithm).

    Named ``SingleTile`` so that it does not clash with the optimizer ``xbarsim.optim.AnalogSGD``.
    Spec: algorithms.md §8.1.
    """


@dataclass(frozen=True, kw_only=True)
class TransferCompound(AlgorithmConfig):
    """Fields and derived rates shared by the cascade algorithms (residual learning, TT-v1, TT-v2, c-TTv2).

    A cascade keeps ``num_tiles()`` physical tiles; only the last one (the gradient tile) receives
    gradient pulses; every period one line of tile n is read and written into tile n − 1 (§3).

    Attributes:
        transfer_every: period of reads, scalar (grown per tile by the subclass's rule) or one entry per
            tile (``transfer_every[n]`` = period of reads from tile n; entry 0 unused). Units:
            mini-batches (``units_in_mbatch``) or vector updates. 0 disables a transfer. Default 1.0.
        units_in_mbatch: periods count mini-batches, else vector updates. Default True.
        n_reads_per_transfer: consecutive lines read per transfer event. Default 1.
        transfer_columns: read input lines (one-hot forward); False: output lines (backward). Default True.
        random_selection: start each event at a random line instead of the cyclic pointer. Default False.
        transfer_lr: transfer rate β, scalar or per source tile (entry 0 unused). Default 1.0.
        scale_transfer_lr: multiply the transfer rate by the optimizer lr. Default True.
        fast_lr: pulse-count rate of the gradient tile (≤ 0: use lr). Default 1.0.
        scale_fast_lr: multiply fast_lr by the optimizer lr. Default True.
        transfer_io: read path of transfer reads; noise and bound management are forced to "none".
            Default ``IOConfig(noise_management="none", bound_management="none")``.
        transfer_update: pulsed-update parameters of transfer writes. Default ``UpdateConfig()``.
        order: order of the vector options: "xbarsim" (tile 0 first) or "aihwkit" (reversed).
            Default "xbarsim".

    Spec: algorithms.md §3 (schedule), §4 (learning rates), §8.
    """

    transfer_every: TransferEvery = 1.0
    units_in_mbatch: bool = True
    n_reads_per_transfer: int = 1
    transfer_columns: bool = True
    random_selection: bool = False
    transfer_lr: TransferEvery = 1.0
    scale_transfer_lr: bool = True
    fast_lr: float = 1.0
    scale_fast_lr: bool = True
    transfer_io: IOConfig = field(default_factory=_transfer_io_default)
    transfer_update: UpdateConfig = field(default_factory=UpdateConfig)
    order: Order = "xbarsim"

    def _validate_transfer_fields(self) -> None:
        """Checks of the shared fields (called by every subclass's ``__post_init__``)."""
        name = type(self).__name__
        require_choice(self, "order", ORDERS)
        n = self.num_tiles()
        _check_vector(self, "transfer_every", n, allow_scalar=True)
        te = self.transfer_every if isinstance(self.transfer_every, tuple) else (self.transfer_every,)
        if any(v < 0 for v in te) and not self._allows_automatic_period():
            raise ValueError(f"{name}: transfer_every must be >= 0; got {self.transfer_every!r}")
        _check_vector(self, "transfer_lr", n, allow_scalar=True)
        for flag in ("units_in_mbatch", "scale_transfer_lr", "scale_fast_lr", "transfer_columns",
                     "random_selection"):
            require_bool(self, flag)
        require_number(self, "fast_lr")
        require_int(self, "n_reads_per_transfer", minimum=1)
        _check_transfer_io(self)
        require_instance(self, "transfer_update", UpdateConfig)

    def _allows_automatic_period(self) -> bool:
        """Whether a negative scalar ``transfer_every`` means an automatic period (c-TTv2 only)."""
        return False

    # --- structure (each cascade defines these) ---------------------------------------------------
    def gammas(self) -> Vector:
        """Significance ``gamma_vec[n]`` of each tile in the visible weight, xbarsim order."""
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def periods(self, out_size: int = 1, in_size: int = 1) -> Vector:
        """``transfer_every[n]`` (period of reads from tile n), xbarsim order."""
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def warm_start_mode(self) -> str:
        """The warm start the schedule runs (algorithms.md §6); "none" unless the algorithm has one."""
        return "none"

    def gradient_tile_device_model(self) -> Optional[ConfigBase]:
        """A device model of its own for the gradient tile, or None (the layer's device model)."""
        return None

    # --- derived rates (algorithms.md §4) -----------------------------------------------------------
    def _vec(self, value: Any) -> Vector:
        if isinstance(value, tuple):
            return value[::-1] if self.order == "aihwkit" else value
        return (float(value),) * self.num_tiles()

    def transfer_lrs(self) -> Vector:
        """``transfer_lr[n]`` for reads from tile n, xbarsim order (entry 0 unused)."""
        return self._vec(self.transfer_lr)

    def fast_rate(self, lr: float) -> float:
        """Pulse-count rate of the gradient tile: ``fast_lr·(lr if scale_fast_lr)``, or ``lr`` if
        ``fast_lr <= 0`` (algorithms.md §4)."""
        if self.fast_lr > 0:
            return self.fast_lr * (lr if self.scale_fast_lr else 1.0)
        return lr

    def transfer_rates(self, lr: float) -> Vector:
        """``β_n = transfer_lr[n]·(lr if scale_transfer_lr)`` for every source tile n (§4)."""
        scale = lr if self.scale_transfer_lr else 1.0
        return tuple(v * scale for v in self.transfer_lrs())

    def transfer_io_eff(self) -> IOConfig:
        """``transfer_io`` with noise and bound management forced to "none" (analog-tile.md §1.9)."""
        io = self.transfer_io
        if io.is_perfect or (io.noise_management == "none" and io.bound_management == "none"):
            return io
        return io.replace(noise_management="none", bound_management="none")


@dataclass(frozen=True, kw_only=True)
class ResidualLearning(TransferCompound):
    """Multi-tile residual learning (the paper's method), tiles in xbarsim order (tile 0 = MSB).

    The visible weight is ``W̄ = Σ_n gamma_vec[n]·W⁽ⁿ⁾``. Only tile N receives gradient pulses
    (evaluated at W̄); tile n − 1 is updated from the content of tile n by open-loop transfers: every
    period, one input line of tile n (cyclic pointer) is read through ``transfer_io`` with a one-hot
    input and written into the same line of tile n − 1 as a pulsed rank-1 update with rate β_n. No
    reset, no threshold, no digital buffer.

    Attributes (besides :class:`TransferCompound`'s):
        n_tiles: number of tiles N + 1 (≥ 2). Required.
        gamma: geometric significance factor γ in (0, 1): ``gamma_vec[n] = γⁿ``. Required unless
            ``gamma_vec`` is given.
        gamma_vec: explicit significances (length n_tiles, ``gamma_vec[0] != 0``); overrides gamma.
        transfer_every: as TransferCompound; a scalar is the period of reads from the gradient tile and
            slower tiles multiply it by ``transfer_every_growth`` per tile. Default 1.0.
        transfer_every_growth: growth of the scalar period per tile. Default ``1/γ`` (or
            ``gamma_vec[N-1]/gamma_vec[N]``).
        scale_fast_lr: Default True (the paper's runs used a constant rate: its presets set False,
            algorithms.md §4).
        warm_start: "none" (pure cascade), "paper" (Algorithm 1), "reference_cpu", "reference_cuda"
            (the reference code's variants), algorithms.md §6. Default "none".
        read: read mode of the visible weight; "reduced" (digital sum of the tiles, one analog read).
            Default "reduced". (The circuit mode "analog_sum" belongs to the circuit models.)
        gradient_device_model: optional device model of the gradient tile N (default: the layer's).

    Spec: algorithms.md §1–§6, §11.
    """

    n_tiles: int
    gamma: Optional[float] = None
    gamma_vec: Optional[Vector] = None
    transfer_every_growth: Optional[float] = None
    warm_start: WarmStart = "none"
    read: Literal["reduced"] = "reduced"
    gradient_device_model: Optional[ConfigBase] = None

    def __post_init__(self) -> None:
        require_int(self, "n_tiles", minimum=2)
        require_choice(self, "order", ORDERS)
        name = type(self).__name__
        if self.gamma_vec is not None:
            _check_vector(self, "gamma_vec", self.n_tiles, allow_scalar=False)
            if self._vec(self.gamma_vec)[0] == 0:
                raise ValueError(f"{name}: gamma_vec must have a non-zero entry for tile 0; got {self.gamma_vec!r}")
        elif self.gamma is None:
            raise ValueError(f"{name}: gamma must be given (or gamma_vec); got None")
        if self.gamma is not None:
            require_number(self, "gamma")
            if self.gamma_vec is None and not 0.0 < self.gamma < 1.0:
                raise ValueError(f"{name}: gamma must be in (0, 1); got {self.gamma!r}")
        self._validate_transfer_fields()
        if self.transfer_every_growth is not None:
            require_positive(self, "transfer_every_growth")
        elif not isinstance(self.transfer_every, tuple) and self.gammas()[-1] == 0:
            raise ValueError(f"{name}: transfer_every_growth must be given when gamma_vec[N] is 0; got None")
        require_choice(self, "warm_start", WARM_START_MODES)
        if self.read != "reduced":
            raise ValueError(f"{name}: read must be 'reduced' (the circuit mode 'analog_sum' is part of the "
                             f"circuit models); got {self.read!r}")
        if self.gradient_device_model is not None:
            require_instance(self, "gradient_device_model", ConfigBase)

    def num_tiles(self) -> int:
        return self.n_tiles

    def gammas(self) -> Vector:
        """Significances ``gamma_vec[n]`` in xbarsim order."""
        if self.gamma_vec is not None:
            return self._vec(self.gamma_vec)
        return tuple(float(self.gamma) ** n for n in range(self.n_tiles))  # type: ignore[arg-type]

    def growth(self) -> float:
        """Period growth per tile for a scalar ``transfer_every``."""
        if self.transfer_every_growth is not None:
            return float(self.transfer_every_growth)
        g = self.gammas()
        return g[-2] / g[-1]

    def periods(self, out_size: int = 1, in_size: int = 1) -> Vector:
        if isinstance(self.transfer_every, tuple):
            return self._vec(self.transfer_every)
        N = self.n_tiles - 1
        g = self.growth()
        return tuple(float(self.transfer_every) * g ** (N - n) for n in range(self.n_tiles))

    def warm_start_mode(self) -> str:
        return self.warm_start

    def gradient_tile_device_model(self) -> Optional[ConfigBase]:
        return self.gradient_device_model


@dataclass(frozen=True, kw_only=True)
class TikiTaka(TransferCompound):
    """Tiki-Taka v1 (aihwkit ``TransferCompound``): C = tile 0 (visible), A = tile 1 (gradient).

    Visible weight ``γ·A + C`` (γ = 0: C alone, "fully hidden"); with more tiles ``Σ γⁿ W⁽ⁿ⁾``. The
    cascade, lines, pointers and rates are those of :class:`ResidualLearning` (§3), plus an optional
    reset of the read line of the source with probability ``with_reset_prob``. A scalar
    ``transfer_every`` grows by ``out_size / n_reads_per_transfer`` per tile (aihwkit's code).

    Attributes (besides :class:`TransferCompound`'s, whose defaults are aihwkit's):
        n_tiles: number of tiles (≥ 2). Default 2.
        gamma: visible share γ of the less significant tiles (≥ 0). Default 0.0.
        gamma_vec: explicit significances (overrides gamma). Default None.
        with_reset_prob: probability of resetting the read column of the source after a transfer
            (the device's native reset, analog-tile.md §3.5; needs ``transfer_columns``). Default 0.

    Spec: algorithms.md §8.2.
    """

    n_tiles: int = 2
    gamma: float = 0.0
    gamma_vec: Optional[Vector] = None
    with_reset_prob: float = 0.0

    def __post_init__(self) -> None:
        require_int(self, "n_tiles", minimum=2)
        require_choice(self, "order", ORDERS)
        require_non_negative(self, "gamma")
        if self.gamma_vec is not None:
            _check_vector(self, "gamma_vec", self.n_tiles, allow_scalar=False)
            if self._vec(self.gamma_vec)[0] == 0:
                raise ValueError(f"{type(self).__name__}: gamma_vec must have a non-zero entry for tile 0; "
                                 f"got {self.gamma_vec!r}")
        self._validate_transfer_fields()
        require_in_range(self, "with_reset_prob", 0.0, 1.0)
        if self.with_reset_prob > 0 and not self.transfer_columns:
            raise ValueError(f"{type(self).__name__}: with_reset_prob must be 0 when transfer_columns is False "
                             f"(the device reset acts on input lines); got {self.with_reset_prob!r}")

    def num_tiles(self) -> int:
        return self.n_tiles

    def gammas(self) -> Vector:
        if self.gamma_vec is not None:
            return self._vec(self.gamma_vec)
        # aihwkit: γ^(n−1−i) over its devices, i.e. γⁿ for xbarsim tile n (0⁰ = 1: tile 0 visible).
        return tuple(1.0 if n == 0 else float(self.gamma) ** n for n in range(self.n_tiles))

    def periods(self, out_size: int = 1, in_size: int = 1) -> Vector:
        if isinstance(self.transfer_every, tuple):
            return self._vec(self.transfer_every)
        N = self.n_tiles - 1
        growth = out_size / self.n_reads_per_transfer
        return tuple(float(self.transfer_every) * growth ** (N - n) for n in range(self.n_tiles))


@dataclass(frozen=True, kw_only=True)
class TikiTakaV2(TikiTaka):
    """TT-v2 (aihwkit ``BufferedTransferCompound``): TT-v1 with a digital buffer H between A and C.

    Transfer of line c with ``β_t = transfer_lr·(lr if scale_transfer_lr)·(γ_A/γ_C if both > 0)``:
    ``y = A e_c`` (read through transfer_io); ``ω = H[:, c] + β_t·y``;
    ``n = clamp(trunc(ω/(thres_scale·ε_C)), ±BL_t)``, ``BL_t = transfer_update.desired_bl``;
    forget_buffer: ``H = momentum·ω`` where ``n ≠ 0`` else ``ω``; otherwise
    ``H = ω − (1 − momentum)·n·thres_scale·ε_C``; if any ``n ≠ 0``, pulsed write of C with
    ``x = e_c``, ``d = −n``, rate ``step·ε_C``.

    Attributes (besides TikiTaka's):
        thres_scale: buffer threshold in units of C's granularity ε_C. Default 1.0.
        step: write rate in units of ε_C. Default 1.0.
        momentum: share of ω kept after a write. Default 0.1 (aihwkit Python; C++ 0.0).
        forget_buffer: keep ``momentum·ω`` after a write (else subtract what was written). Default True.
        transfer_update: Default ``UpdateConfig(desired_bl=1, update_bl_management=False,
            update_management=False)``.

    Spec: algorithms.md §8.3.
    """

    thres_scale: float = 1.0
    step: float = 1.0
    momentum: float = 0.1
    forget_buffer: bool = True
    transfer_update: UpdateConfig = field(default_factory=_bl1_update)

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "thres_scale")
        require_positive(self, "step")
        require_in_range(self, "momentum", 0.0, 1.0)
        require_bool(self, "forget_buffer")


@dataclass(frozen=True, kw_only=True)
class ChoppedTikiTakaV2(TransferCompound):
    """Chopped TT-v2 (aihwkit ``ChoppedTransferCompound``): exactly 2 tiles, one input line per read.

    Attributes (besides :class:`TransferCompound`'s; ``n_reads_per_transfer`` must be 1,
    ``transfer_columns`` True, ``random_selection`` False, ``transfer_every`` and ``transfer_lr`` scalars):
        in_chop_prob: flip probability of an input chopper after its line is read (random mode) or
            1/period of the regular flips. Default 0.1.
        in_chop_random: random flips (else regular, every ``max(ceil(1/in_chop_prob), 2)`` sweeps). Default True.
        out_chop_prob: flip probability of every output chopper after a full sweep. Default 0.0.
        buffer_granularity: buffer threshold in units of ε_A. Default 1.0.
        auto_granularity: > 0 rescales the threshold by ``auto_granularity/(in·|transfer_every|)``. Default 0.
        step: write rate in units of ε_C. Default 1.0.
        momentum: Default 0.0.  forget_buffer: Default True.  no_buffer: Default False.
        units_in_mbatch: Default False (periods count vector updates).
        auto_scale: scale η_A by running maxima of |x| and |d|. Default False.
        auto_momentum: momentum of those running maxima. Default 0.99.
        correct_gradient_magnitudes: Default False.
        scale_fast_lr: Default False.
        transfer_every: period (< 0: automatic, ``n_states_A/in·|transfer_every|`` vectors). Default 1.0.
        gamma: visible share of A (``γ·(c_out c_inᵀ)∘A + C``). Default 0.0.
        transfer_update: Default BL-1 without management.

    Spec: algorithms.md §8.4.
    """

    in_chop_prob: float = 0.1
    in_chop_random: bool = True
    out_chop_prob: float = 0.0
    buffer_granularity: float = 1.0
    auto_granularity: float = 0.0
    step: float = 1.0
    momentum: float = 0.0
    forget_buffer: bool = True
    no_buffer: bool = False
    units_in_mbatch: bool = False
    auto_scale: bool = False
    auto_momentum: float = 0.99
    correct_gradient_magnitudes: bool = False
    scale_fast_lr: bool = False
    gamma: float = 0.0
    transfer_update: UpdateConfig = field(default_factory=_bl1_update)

    def __post_init__(self) -> None:
        name = type(self).__name__
        for scalar in ("transfer_every", "transfer_lr"):
            require_number(self, scalar)
        self._validate_transfer_fields()
        for fixed, want in (("n_reads_per_transfer", 1), ("transfer_columns", True), ("random_selection", False)):
            if getattr(self, fixed) != want:
                raise ValueError(f"{name}: {fixed} must be {want!r} (chopped TT-v2 reads one input line at a "
                                 f"time in order); got {getattr(self, fixed)!r}")
        require_in_range(self, "in_chop_prob", 0.0, 1.0)
        require_in_range(self, "out_chop_prob", 0.0, 1.0)
        for flag in ("in_chop_random", "forget_buffer", "no_buffer", "auto_scale", "correct_gradient_magnitudes"):
            require_bool(self, flag)
        require_positive(self, "buffer_granularity")
        require_non_negative(self, "auto_granularity")
        require_positive(self, "step")
        require_in_range(self, "momentum", 0.0, 1.0)
        require_in_range(self, "auto_momentum", 0.0, 1.0)
        require_non_negative(self, "gamma")

    def _allows_automatic_period(self) -> bool:
        return True

    def num_tiles(self) -> int:
        return 2

    def gammas(self) -> Vector:
        return (1.0, float(self.gamma))

    def periods(self, out_size: int = 1, in_size: int = 1) -> Vector:
        """``(transfer_every, transfer_every)``; a negative (automatic) period is resolved by the runtime."""
        return (float(self.transfer_every),) * 2


@dataclass(frozen=True, kw_only=True)
class MixedPrecision(AlgorithmConfig):
    """Mixed precision (aihwkit ``MixedPrecisionCompound``): one analog tile plus a digital χ.

    Per vector ``χ += lr·q(d) q(x)ᵀ`` (optional quantisation ``q`` into ``n_x_bins``/``n_d_bins``
    bins with stochastic rounding); every ``transfer_every`` mini-batches, for the next
    ``n_rows_per_transfer`` rows r: ``n = trunc(χ[r]/ε_g)``, ``χ[r] −= n·ε_g``, and a pulsed update of
    the tile with ``x = n``, ``d = e_r``, rate ``ε_g·transfer_lr`` (update and BL management on).

    Attributes:
        transfer_every: period in mini-batches (0 disables). Default 1.
        n_rows_per_transfer: rows per transfer (−1: all). Default −1.
        random_row: random start row (when not all rows). Default False.
        granularity: ε_g (0: the device granularity). Default 0.
        transfer_lr: Default 1.0.
        n_x_bins, n_d_bins: quantisation bins (0: none). Default 0.
        stoc_round_x, stoc_round_d: stochastic rounding of the quantisation. Default True.

    Spec: algorithms.md §8.6.
    """

    transfer_every: int = 1
    n_rows_per_transfer: int = -1
    random_row: bool = False
    granularity: float = 0.0
    transfer_lr: float = 1.0
    n_x_bins: int = 0
    n_d_bins: int = 0
    stoc_round_x: bool = True
    stoc_round_d: bool = True

    def __post_init__(self) -> None:
        require_int(self, "transfer_every", minimum=0)
        require_int(self, "n_rows_per_transfer", minimum=-1)
        if self.n_rows_per_transfer == 0:
            raise ValueError("MixedPrecision: n_rows_per_transfer must be -1 (all rows) or >= 1; got 0")
        for flag in ("random_row", "stoc_round_x", "stoc_round_d"):
            require_bool(self, flag)
        require_non_negative(self, "granularity")
        require_number(self, "transfer_lr")
        require_int(self, "n_x_bins", minimum=0)
        require_int(self, "n_d_bins", minimum=0)
