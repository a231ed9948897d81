"""Convert an IBM aihwkit ``RPUConfig`` into the equivalent xbarsim configuration.

    >>> from aihwkit.simulator.configs import SingleRPUConfig, SoftBoundsDevice
    >>> from xbarsim.compat.aihwkit import from_aihwkit
    >>> conv = from_aihwkit(SingleRPUConfig(device=SoftBoundsDevice(dw_min=0.5, w_min=-1, w_max=1)))
    >>> layer = xbarsim.nn.AnalogLinear(4, 2, config=conv.tile, mapping=conv.mapping,
    ...                                 digital_bias=conv.digital_bias)

What is converted (written against aihwkit 1.2.0's Python configuration classes):

* ``SingleRPUConfig`` with ``ConstantStepDevice``, ``LinearStepDevice``, ``SoftBoundsDevice``,
  ``SoftBoundsPmaxDevice``, ``SoftBoundsReferenceDevice``, ``ExpStepDevice``, ``PowStepDevice``
  or ``PiecewiseStepDevice``;
* ``UnitCellRPUConfig`` with ``TransferCompound`` (TT-v1 and residual learning with a γ vector),
  ``BufferedTransferCompound`` (TT-v2) or ``ChoppedTransferCompound`` (c-TTv2);
* ``DigitalRankUpdateRPUConfig`` with ``MixedPrecisionCompound``;
* the ``forward``/``backward`` ``IOParameters``, the ``UpdateParameters`` and the
  ``MappingParameter`` of each.

The conversion is total or it fails: every field of the aihwkit object is either mapped, or
checked to hold the value under which it has no effect (then it is dropped knowingly), or it is
an error that names the field (``AihwkitConversionError``). A field this module does not know
(a newer aihwkit) is an error too, so nothing is dropped silently.

Semantic points handled here (algorithms.md §0, §4; analog-tile.md §6):

* **tile order**: aihwkit's device 0 is the gradient tile and its ``gamma_vec``,
  ``transfer_every_vec`` and ``transfer_lr_vec`` run from the gradient tile up; xbarsim's tile 0 is
  the most significant one. Vectors are reversed here and the result uses ``order="xbarsim"``.
* **changed defaults**: every rate flag (``fast_lr``, ``scale_fast_lr``, ``transfer_lr``,
  ``scale_transfer_lr``, TT-v2's ``momentum``, ...) is copied from the aihwkit object, so the
  converted config states explicitly what aihwkit 1.2 ran (for example ``scale_fast_lr=True`` for
  ``TransferCompound``; the paper's aihwkit 0.9.2 behaved as ``scale_fast_lr=False``).
* **transfer reads**: aihwkit turns noise and bound management of ``transfer_forward`` off (with a
  warning); the converted ``transfer_io`` says so explicitly.
* **ExpStep granularity** differs by design (analog-tile.md §6 #1): the conversion warns.

aihwkit is imported only to read its version (``from_aihwkit`` on a live object); a recorded dump
(:func:`dump`, plain JSON) converts without aihwkit installed (:func:`from_dump`).
"""
from __future__ import annotations

import dataclasses
import enum
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ..config import IOConfig, MappingConfig, TileConfig, UpdateConfig
from ..config import devices as xdev
from ..config.algorithms import (AlgorithmConfig, ChoppedTikiTakaV2, MixedPrecision, ResidualLearning, SingleTile,
                                 TikiTaka, TikiTakaV2)

__all__ = ["AihwkitConversionError", "Converted", "from_aihwkit", "from_dump", "dump", "aihwkit_version",
           "SUPPORTED_AIHWKIT"]

#: The aihwkit release whose configuration classes the field tables below were written against.
SUPPORTED_AIHWKIT = "1.2"

_INSTALL_HINT = ("xbarsim.compat.aihwkit needs IBM's aihwkit to read a live aihwkit object: "
                 "pip install aihwkit==1.2.0, or build it from source with validation/aihwkit-env.sh "
                 "(a recorded dump converts without it: xbarsim.compat.aihwkit.from_dump)")


class AihwkitConversionError(ValueError):
    """An aihwkit configuration field that xbarsim cannot represent (the message names it)."""


@dataclass(frozen=True)
class Converted:
    """The result of a conversion: what to pass to an xbarsim analog layer.

    Attributes:
        tile: the ``TileConfig`` (read paths, update, device model, algorithm).
        mapping: the ``MappingConfig`` (aihwkit's ``MappingParameter``: tile size limits and scales).
        digital_bias: aihwkit's ``mapping.digital_bias`` (pass it as the layer's ``digital_bias``).
        aihwkit_version: the version of aihwkit the configuration came from, when known.
    """

    tile: TileConfig
    mapping: MappingConfig
    digital_bias: bool
    aihwkit_version: Optional[str] = None


def aihwkit_version() -> str:
    """aihwkit's version string; raises ModuleNotFoundError with install instructions without it."""
    try:
        import aihwkit  # noqa: PLC0415 - lazy on purpose: aihwkit is never a dependency of xbarsim
    except ImportError as exc:
        raise ModuleNotFoundError(_INSTALL_HINT) from exc
    return str(getattr(aihwkit, "__version__", "unknown"))


# --- dumps: any aihwkit configuration object as plain JSON data ------------------------------------

def dump(obj: Any) -> Any:
    """A JSON-compatible copy of an aihwkit configuration object (dataclasses, enums, lists).

    A dataclass becomes ``{"__class__": <class name>, <field>: <value>, ...}``, an enum its value
    string (``"AbsMax"``), a class object its qualified name. Needs no aihwkit import: it walks the
    dataclass fields of whatever it is given.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {"__class__": type(obj).__name__}
        for f in dataclasses.fields(obj):
            out[f.name] = dump(getattr(obj, f.name))
        return out
    if isinstance(obj, enum.Enum):
        return obj.value if isinstance(obj.value, (str, int, float)) else obj.name
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, (list, tuple)):
        return [dump(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise AihwkitConversionError(f"aihwkit: cannot record a value of type {type(obj).__name__}: {obj!r}")


# --- the field tables -------------------------------------------------------------------------------

class _Fields:
    """Checked access to the fields of one dumped aihwkit object; every field must be consumed."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping) or "__class__" not in data:
            raise AihwkitConversionError(f"{path}: expected a dumped aihwkit object; got {data!r}")
        self.cls = str(data["__class__"])
        self.path = path
        self._data = {k: v for k, v in data.items() if k != "__class__"}
        self._seen: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self._data

    def get(self, name: str) -> Any:
        if name not in self._data:
            raise AihwkitConversionError(f"{self.path}.{name}: field missing from the {self.cls} dump "
                                         f"(not an aihwkit {SUPPORTED_AIHWKIT} object?)")
        self._seen.add(name)
        return self._data[name]

    def sub(self, name: str) -> "_Fields":
        return _Fields(self.get(name), f"{self.path}.{name}")

    def neutral(self, name: str, ok: Callable[[Any], bool], why: str) -> None:
        """The field is accepted only at a value where it has no effect (xbarsim lacks the feature)."""
        value = self.get(name)
        if not ok(value):
            raise AihwkitConversionError(f"{self.path}.{name} = {value!r} ({self.cls}) cannot be converted: "
                                         f"{why}")

    def ignore(self, *names: str) -> None:
        """Fields without effect on the simulation (performance switches, statistics, class names)."""
        for n in names:
            if n in self._data:
                self._seen.add(n)

    def done(self) -> None:
        left = sorted(set(self._data) - self._seen)
        if left:
            raise AihwkitConversionError(
                f"{self.path}: {self.cls} field(s) {', '.join(left)} unknown to xbarsim.compat.aihwkit "
                f"(written for aihwkit {SUPPORTED_AIHWKIT}); refusing to drop them silently")


def _zero(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0


def _false(v: Any) -> bool:
    return v is False


def _empty(v: Any) -> bool:
    return v in (None, [], ())


def _num(f: _Fields, name: str) -> float:
    v = f.get(name)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise AihwkitConversionError(f"{f.path}.{name}: expected a number; got {v!r}")
    return float(v)


def _int(f: _Fields, name: str) -> int:
    v = f.get(name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
        raise AihwkitConversionError(f"{f.path}.{name}: expected an integer; got {v!r}")
    return int(v)


def _bool(f: _Fields, name: str) -> bool:
    v = f.get(name)
    if not isinstance(v, bool):
        raise AihwkitConversionError(f"{f.path}.{name}: expected a bool; got {v!r}")
    return v


def _choice(f: _Fields, name: str, table: Mapping[str, str]) -> str:
    v = f.get(name)
    if v not in table:
        raise AihwkitConversionError(f"{f.path}.{name} = {v!r} cannot be converted: xbarsim supports "
                                     f"{', '.join(map(repr, table))}")
    return table[v]


# aihwkit enum value -> xbarsim string.
_NOISE_MANAGEMENT = {"None": "none", "AbsMax": "abs_max", "Max": "max", "Constant": "constant",
                     "AverageAbsMax": "average_abs_max"}
_BOUND_MANAGEMENT = {"None": "none", "Iterative": "iterative"}
_W_NOISE = {"None": "none", "AdditiveConstant": "additive_constant", "PCMRead": "pcm_read"}
_PULSE_TYPE = {"StochasticCompressed": "stochastic_compressed", "Stochastic": "stochastic",
               "DeterministicImplicit": "deterministic_implicit", "MeanCount": "mean_count", "None": "none",
               "NoneWithDevice": "none_with_device"}
#: aihwkit's C++ default of ``nm_decay`` (not a Python field in 1.2): xbarsim states it explicitly.
_AIHWKIT_NM_DECAY = 1e-3


def _io(f: _Fields) -> IOConfig:
    """IOParameters -> IOConfig (analog-tile.md §1.1; fields xbarsim lacks must be off)."""
    mv = f.get("mv_type")
    if mv not in ("OnePass", "Ideal"):
        raise AihwkitConversionError(f"{f.path}.mv_type = {mv!r} cannot be converted: xbarsim reads in one pass "
                                     "('OnePass'; 'Ideal' is is_perfect)")
    off = "xbarsim has no such read-path stage; set it to 0"
    f.neutral("out_noise_std", _zero, off)
    f.neutral("ir_drop", _zero, off + " (xbarsim's IR drop belongs to the circuit models)")
    f.neutral("out_nonlinearity", _zero, off)
    f.neutral("out_nonlinearity_std", _zero, off)
    f.neutral("v_offset_std", _zero, off)
    f.neutral("r_series", _zero, off)
    f.neutral("w_read_asymmetry_dtod", _zero, off)
    # Parameters of the stages above; without those stages they have no effect in aihwkit either.
    f.ignore("ir_drop_g_ratio", "slope_calibration", "v_offset_w_min")
    io = IOConfig(
        is_perfect=_bool(f, "is_perfect") or mv == "Ideal",
        inp_bound=_num(f, "inp_bound"), inp_res=_num(f, "inp_res"), inp_sto_round=_bool(f, "inp_sto_round"),
        inp_noise=_num(f, "inp_noise"), inp_asymmetry=_num(f, "inp_asymmetry"),
        out_bound=_num(f, "out_bound"), out_res=_num(f, "out_res"), out_sto_round=_bool(f, "out_sto_round"),
        out_noise=_num(f, "out_noise"), out_scale=_num(f, "out_scale"), out_asymmetry=_num(f, "out_asymmetry"),
        w_noise=_num(f, "w_noise"), w_noise_type=_choice(f, "w_noise_type", _W_NOISE),  # type: ignore[arg-type]
        noise_management=_choice(f, "noise_management", _NOISE_MANAGEMENT),  # type: ignore[arg-type]
        nm_thres=_num(f, "nm_thres"), nm_decay=_AIHWKIT_NM_DECAY,
        bound_management=_choice(f, "bound_management", _BOUND_MANAGEMENT),  # type: ignore[arg-type]
        max_bm_factor=_num(f, "max_bm_factor"), max_bm_res=_num(f, "max_bm_res"),
        bm_test_negative_bound=_bool(f, "bm_test_negative_bound"),
    )
    f.done()
    return io


def _transfer_io(f: _Fields) -> IOConfig:
    # aihwkit's TransferRPUDeviceMetaParameter turns noise and bound management off (with a
    # warning) whatever transfer_forward says; state that explicitly instead of inheriting it.
    return _io(f).replace(noise_management="none", bound_management="none")


def _update(f: _Fields, *, count_pulses: bool = False) -> UpdateConfig:
    """UpdateParameters -> UpdateConfig (analog-tile.md §2.1)."""
    f.ignore("d_sparsity")  # only records the sparsity of d as a statistic; the update is unchanged
    up = UpdateConfig(
        desired_bl=_int(f, "desired_bl"), fixed_bl=_bool(f, "fixed_bl"),
        update_bl_management=_bool(f, "update_bl_management"), update_management=_bool(f, "update_management"),
        um_grad_scale=_num(f, "um_grad_scale"),
        pulse_type=_choice(f, "pulse_type", _PULSE_TYPE),  # type: ignore[arg-type]
        res=_num(f, "res"), sto_round=_bool(f, "sto_round"),
        x_res_implicit=_num(f, "x_res_implicit"), d_res_implicit=_num(f, "d_res_implicit"),
        count_pulses=count_pulses,
    )
    f.done()
    return up


# --- devices ----------------------------------------------------------------------------------------

_COMMON_DEVICE = ("construction_seed", "corrupt_devices_prob", "corrupt_devices_range", "diffusion", "diffusion_dtod",
                  "dw_min", "dw_min_dtod", "dw_min_dtod_log_normal", "dw_min_std", "enforce_consistency", "lifetime",
                  "lifetime_dtod", "perfect_bias", "reset", "reset_dtod", "reset_std", "up_down", "up_down_dtod",
                  "w_max", "w_max_dtod", "w_min", "w_min_dtod")

#: aihwkit device class -> (xbarsim model, its own fields besides the common ones).
_DEVICES: dict[str, tuple[type[xdev.PulsedDevice], tuple[str, ...]]] = {
    "ConstantStepDevice": (xdev.ConstantStep, ()),
    "LinearStepDevice": (xdev.LinearStep, ("gamma_up", "gamma_down", "gamma_up_dtod", "gamma_down_dtod",
                                           "allow_increasing", "mean_bound_reference", "mult_noise",
                                           "write_noise_std", "apply_write_noise_on_set", "reverse_up",
                                           "reverse_down", "reverse_offset")),
    "SoftBoundsDevice": (xdev.SoftBounds, ("mult_noise", "write_noise_std", "apply_write_noise_on_set")),
    "SoftBoundsPmaxDevice": (xdev.SoftBounds, ("mult_noise", "write_noise_std", "apply_write_noise_on_set")),
    "SoftBoundsReferenceDevice": (xdev.SoftBoundsReference, ("mult_noise", "write_noise_std",
                                                             "apply_write_noise_on_set", "slope_up_dtod",
                                                             "slope_down_dtod", "reference_mean", "reference_std",
                                                             "subtract_symmetry_point")),
    "ExpStepDevice": (xdev.ExpStep, ("A_up", "A_down", "gamma_up", "gamma_down", "a", "b", "dw_min_std_add",
                                     "dw_min_std_slope", "write_noise_std", "apply_write_noise_on_set")),
    "PowStepDevice": (xdev.PowStep, ("pow_gamma", "pow_gamma_dtod", "pow_up_down", "pow_up_down_dtod",
                                     "write_noise_std", "apply_write_noise_on_set")),
    "PiecewiseStepDevice": (xdev.PiecewiseStep, ("piecewise_up", "piecewise_down", "write_noise_std",
                                                 "apply_write_noise_on_set")),
}


def _no_drift(v: Any) -> bool:
    # DriftParameter() with nu = 0 (and its spreads 0) is aihwkit's "no drift".
    if not isinstance(v, Mapping):
        return False
    return all(_zero(v.get(k, 0)) for k in ("nu", "nu_dtod", "nu_std", "nu_k", "w_noise_std"))


def _device(f: _Fields) -> tuple[xdev.PulsedDevice, bool]:
    """A pulsed device -> (xbarsim device model, count_pulses)."""
    if f.cls not in _DEVICES:
        raise AihwkitConversionError(f"{f.path}: aihwkit device {f.cls} has no xbarsim model "
                                     f"(supported: {', '.join(_DEVICES)})")
    cls, own = _DEVICES[f.cls]
    f.neutral("drift", _no_drift, "xbarsim has no power-law drift during training; leave DriftParameter() "
                                  "at nu = 0")
    count_pulses = _bool(f, "count_pulses")
    kwargs: dict[str, Any] = {}
    if f.cls in ("SoftBoundsDevice", "SoftBoundsPmaxDevice"):
        # xbarsim's SoftBounds has no reversed references (aihwkit's reverse_up/down of soft bounds).
        f.neutral("reverse_up", _false, "xbarsim's SoftBounds has no reverse_up (use LinearStep)")
        f.neutral("reverse_down", _false, "xbarsim's SoftBounds has no reverse_down (use LinearStep)")
        f.ignore("reverse_offset")  # only used with reverse_up/reverse_down
    for name in _COMMON_DEVICE + own:
        if f.cls == "SoftBoundsPmaxDevice" and name in ("dw_min", "w_min", "w_max", "up_down"):
            continue
        value = f.get(name)
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, float) and value.is_integer() and name == "construction_seed":
            value = int(value)
        kwargs[name] = value
    if f.cls == "SoftBoundsPmaxDevice":
        # aihwkit derives w_min, w_max, dw_min and up_down from p_max, alpha and the range in
        # as_bindings and ignores whatever was set; a value set by hand would be lost there too.
        for name in ("dw_min", "w_min", "w_max", "up_down"):
            f.neutral(name, lambda v: v is None, "SoftBoundsPmaxDevice derives it from p_max, alpha, range_min "
                                                 "and range_max (aihwkit ignores a value set by hand); leave None")
        model: xdev.PulsedDevice = xdev.SoftBoundsPmax(p_max=_num(f, "p_max"), alpha=_num(f, "alpha"),
                                                       range_min=_num(f, "range_min"),
                                                       range_max=_num(f, "range_max"), **kwargs)
    else:
        try:
            model = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise AihwkitConversionError(f"{f.path} ({f.cls}): {exc}") from exc
    f.done()
    if cls is xdev.ExpStep:
        warnings.warn(f"{f.path}: ExpStepDevice converts with xbarsim's granularity (Δ↑(0) + Δ↓(0))/2 = "
                      f"{model.granularity():.6g}; aihwkit uses the down step alone, which changes BL, A, B and "
                      "the pulse-count learning rate (analog-tile.md §6 #1)", UserWarning, stacklevel=4)
    return model, count_pulses


# --- algorithms -------------------------------------------------------------------------------------

def _reversed_vec(f: _Fields, name: str) -> Optional[tuple[float, ...]]:
    """An aihwkit per-device vector in xbarsim order (tile 0 = most significant), or None if empty."""
    v = f.get(name)
    if _empty(v):
        return None
    if not isinstance(v, list) or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v):
        raise AihwkitConversionError(f"{f.path}.{name}: expected a list of numbers; got {v!r}")
    return tuple(float(e) for e in reversed(v))


def _unit_devices(f: _Fields, n_min: int, n_max: Optional[int]) -> tuple[list[Any], int]:
    devices = f.get("unit_cell_devices")
    if not isinstance(devices, list) or len(devices) < n_min or (n_max is not None and len(devices) > n_max):
        want = f"{n_min}" if n_max == n_min else f"at least {n_min}"
        raise AihwkitConversionError(f"{f.path}.unit_cell_devices: {f.cls} needs {want} devices; got "
                                     f"{devices!r}")
    # aihwkit uses unit_cell_devices[0] for the gradient tile and unit_cell_devices[1] for every
    # other tile, discarding [2:]; a different [2:] would be ignored there, so it is refused here.
    for k in range(2, len(devices)):
        if devices[k] != devices[1]:
            raise AihwkitConversionError(f"{f.path}.unit_cell_devices[{k}] differs from unit_cell_devices[1]; "
                                         "aihwkit ignores it and uses [1] for every slow tile")
    return devices, len(devices)


def _transfer_common(f: _Fields) -> dict[str, Any]:
    """Fields shared by every TransferCompound (algorithms.md §3.1), rates copied explicitly."""
    out = dict(
        units_in_mbatch=_bool(f, "units_in_mbatch"), n_reads_per_transfer=_int(f, "n_reads_per_transfer"),
        transfer_columns=_bool(f, "transfer_columns"), random_selection=_bool(f, "random_selection"),
        scale_transfer_lr=_bool(f, "scale_transfer_lr"), fast_lr=_num(f, "fast_lr"),
        scale_fast_lr=_bool(f, "scale_fast_lr"),
        transfer_io=_transfer_io(f.sub("transfer_forward")),
        transfer_update=_update(f.sub("transfer_update")), order="xbarsim",
    )
    # aihwkit's last device (xbarsim tile 0) never transfers out: the transfer to itself is a no-op
    # in its C++ (transfer() returns when from == to), so no_self_transfer changes nothing.
    f.ignore("no_self_transfer")
    return out


def _algorithm(f: _Fields, n_devices: int, devices_differ: bool,
               gradient_device: Optional[xdev.PulsedDevice]) -> AlgorithmConfig:
    common = _transfer_common(f)
    gamma_vec = _reversed_vec(f, "gamma_vec")
    every_vec = _reversed_vec(f, "transfer_every_vec")
    lr_vec = _reversed_vec(f, "transfer_lr_vec")
    # aihwkit uses the scalars only where the vectors are empty (TransferRPUDeviceMetaParameter).
    every, lr = _num(f, "transfer_every"), _num(f, "transfer_lr")
    transfer_every: Any = every_vec if every_vec is not None else every
    transfer_lr: Any = lr_vec if lr_vec is not None else lr
    gamma = _num(f, "gamma")
    with_reset_prob = _num(f, "with_reset_prob")
    f.ignore("construction_seed")  # compound-level seed; the devices' own construction_seed is mapped

    if f.cls == "ChoppedTransferCompound":
        if n_devices != 2:
            raise AihwkitConversionError(f"{f.path}.unit_cell_devices: ChoppedTransferCompound needs 2 devices")
        for name, vec in (("transfer_every_vec", every_vec), ("transfer_lr_vec", lr_vec)):
            if vec is not None:
                raise AihwkitConversionError(f"{f.path}.{name} = {vec[::-1]!r} cannot be converted: xbarsim's "
                                             "ChoppedTikiTakaV2 takes scalar transfer_every and transfer_lr")
        if gamma_vec is not None:
            # aihwkit order [γ_A, γ_C]: xbarsim's chopped cascade has C at significance 1.
            if gamma_vec[0] != 1.0:
                raise AihwkitConversionError(f"{f.path}.gamma_vec = {list(gamma_vec[::-1])!r} cannot be converted: "
                                             "xbarsim's ChoppedTikiTakaV2 fixes C's significance to 1 (use gamma)")
            gamma = gamma_vec[1]
        if with_reset_prob != 0:
            raise AihwkitConversionError(f"{f.path}.with_reset_prob = {with_reset_prob!r} cannot be converted: "
                                         "xbarsim's ChoppedTikiTakaV2 has no reset")
        if devices_differ:
            raise AihwkitConversionError(f"{f.path}.unit_cell_devices[0] differs from unit_cell_devices[1]: "
                                         "xbarsim's ChoppedTikiTakaV2 uses one device model for both tiles")
        extra = {k: (_num(f, k) if k not in ("in_chop_random", "forget_buffer", "no_buffer", "auto_scale",
                                               "correct_gradient_magnitudes") else _bool(f, k))
                 for k in ("in_chop_prob", "in_chop_random", "out_chop_prob", "buffer_granularity",
                           "auto_granularity", "step", "momentum", "forget_buffer", "no_buffer", "auto_scale",
                           "auto_momentum", "correct_gradient_magnitudes")}
        return ChoppedTikiTakaV2(transfer_every=transfer_every, transfer_lr=transfer_lr, gamma=gamma, **common,
                                 **extra)

    if f.cls == "BufferedTransferCompound":
        if devices_differ:
            raise AihwkitConversionError(f"{f.path}.unit_cell_devices[0] differs from unit_cell_devices[1]: "
                                         "xbarsim's TikiTakaV2 uses one device model for every tile")
        return TikiTakaV2(n_tiles=n_devices, gamma=gamma, gamma_vec=gamma_vec, transfer_every=transfer_every,
                          transfer_lr=transfer_lr, with_reset_prob=with_reset_prob,
                          thres_scale=_num(f, "thres_scale"), step=_num(f, "step"), momentum=_num(f, "momentum"),
                          forget_buffer=_bool(f, "forget_buffer"), **common)

    if f.cls != "TransferCompound":
        raise AihwkitConversionError(f"{f.path}: aihwkit {f.cls} has no xbarsim algorithm (supported: "
                                     "TransferCompound, BufferedTransferCompound, ChoppedTransferCompound, "
                                     "MixedPrecisionCompound)")
    if not devices_differ:
        return TikiTaka(n_tiles=n_devices, gamma=gamma, gamma_vec=gamma_vec, transfer_every=transfer_every,
                        transfer_lr=transfer_lr, with_reset_prob=with_reset_prob, **common)
    # A gradient tile with its own device: xbarsim's ResidualLearning carries one (TikiTaka does not);
    # its cascade is TransferCompound's (algorithms.md §3) once γ and the periods are explicit.
    if with_reset_prob != 0:
        raise AihwkitConversionError(f"{f.path}.with_reset_prob = {with_reset_prob!r} cannot be converted with a "
                                     "separate gradient device (xbarsim's ResidualLearning has no reset)")
    if not isinstance(transfer_every, tuple):
        if n_devices > 2:
            raise AihwkitConversionError(
                f"{f.path}.transfer_every = {transfer_every!r} with {n_devices} devices and a separate gradient "
                "device: aihwkit grows the scalar period by the layer's output size, which a TileConfig does "
                "not know; give transfer_every_vec explicitly")
        transfer_every = (0.0, transfer_every)
    if gamma_vec is None:
        gamma_vec = tuple(1.0 if n == 0 else gamma ** n for n in range(n_devices))
    return ResidualLearning(n_tiles=n_devices, gamma_vec=gamma_vec, transfer_every=transfer_every,
                            transfer_lr=transfer_lr, gradient_device_model=gradient_device,
                            warm_start="none", **common)


def _mixed_precision(f: _Fields) -> MixedPrecision:
    f.ignore("construction_seed")  # compound-level seed; the device's own construction_seed is mapped
    return MixedPrecision(
        transfer_every=_int(f, "transfer_every"), n_rows_per_transfer=_int(f, "n_rows_per_transfer"),
        random_row=_bool(f, "random_row"), granularity=_num(f, "granularity"), transfer_lr=_num(f, "transfer_lr"),
        n_x_bins=_int(f, "n_x_bins"), n_d_bins=_int(f, "n_d_bins"), stoc_round_x=_bool(f, "stoc_round_x"),
        stoc_round_d=_bool(f, "stoc_round_d"))


# --- the RPUConfig ----------------------------------------------------------------------------------

def _mapping(f: _Fields) -> tuple[MappingConfig, bool]:
    f.neutral("weight_scaling_lr_compensation", _false, "xbarsim has no learning-rate compensation of the "
                                                        "mapping scales")
    m = MappingConfig(max_in_size=_int(f, "max_input_size"), max_out_size=_int(f, "max_output_size"),
                      learn_out_scaling=_bool(f, "learn_out_scaling"),
                      out_scaling_columnwise=_bool(f, "out_scaling_columnwise"),
                      weight_scaling_omega=_num(f, "weight_scaling_omega"),
                      weight_scaling_columnwise=_bool(f, "weight_scaling_columnwise"))
    digital_bias = _bool(f, "digital_bias")
    f.done()
    return m, digital_bias


def _pre_post(f: _Fields) -> None:
    ir = f.sub("input_range")
    ir.neutral("enable", _false, "xbarsim has no learned input range; set enable=False")
    # The remaining InputRangeParameter fields only act when enable is True.
    ir.ignore("learn_input_range", "init_value", "init_from_data", "init_std_alpha", "decay", "input_min_percentage",
              "manage_output_clipping", "output_min_percentage", "gradient_scale", "gradient_relative",
              "calibration_info")
    ir.done()
    if f.has("periph_quant"):  # PrePostProcessingParameterQuant only
        f.neutral("periph_quant", lambda v: isinstance(v, Mapping) and _zero(v.get("n_bits", 0)),
                  "xbarsim has no periphery quantisation; set n_bits=0")
    f.done()


def _runtime(f: _Fields) -> None:
    f.neutral("data_type", lambda v: v == "float", "xbarsim's precision is the layer's dtype (pass "
                                                   "dtype=torch.float64 to the layer); use 'float' here")
    f.ignore("on_the_fly_bindings", "offload_input", "offload_gradient")  # performance switches only
    f.done()


_RPU_CONFIGS = ("SingleRPUConfig", "UnitCellRPUConfig", "DigitalRankUpdateRPUConfig")


def from_dump(data: Mapping[str, Any], *, aihwkit_version: Optional[str] = None) -> Converted:
    """Convert a dumped aihwkit RPUConfig (see :func:`dump`); works without aihwkit installed."""
    f = _Fields(data, "rpu_config")
    if f.cls not in _RPU_CONFIGS:
        raise AihwkitConversionError(f"rpu_config: aihwkit {f.cls} cannot be converted (supported: "
                                     f"{', '.join(_RPU_CONFIGS)})")
    for name, want in (("tile_class", "AnalogTile"), ("tile_array_class", "TileModuleArray")):
        if f.has(name):
            f.neutral(name, lambda v, w=want: isinstance(v, str) and v.rsplit(".", 1)[-1] == w,
                      f"xbarsim simulates aihwkit's {want} only")
    if f.has("runtime"):
        _runtime(f.sub("runtime"))
    _pre_post(f.sub("pre_post"))
    mapping, digital_bias = _mapping(f.sub("mapping"))
    forward = _io(f.sub("forward"))
    backward = _io(f.sub("backward"))
    dev = f.sub("device")
    if f.cls == "SingleRPUConfig":
        model, count = _device(dev)
        algorithm: AlgorithmConfig = SingleTile()
    elif f.cls == "DigitalRankUpdateRPUConfig":
        if dev.cls != "MixedPrecisionCompound":
            raise AihwkitConversionError(f"rpu_config.device: aihwkit {dev.cls} cannot be converted "
                                         "(DigitalRankUpdateRPUConfig: MixedPrecisionCompound only)")
        model, count = _device(dev.sub("device"))
        algorithm = _mixed_precision(dev)
        dev.done()
    else:
        devices, n = _unit_devices(dev, 2, 2 if dev.cls == "ChoppedTransferCompound" else None)
        fast = _Fields(devices[0], "rpu_config.device.unit_cell_devices[0]")
        slow = _Fields(devices[1], "rpu_config.device.unit_cell_devices[1]")
        fast_model, count_fast = _device(fast)
        model, count = _device(slow)
        count = count or count_fast
        differ = fast_model != model
        algorithm = _algorithm(dev, n, differ, fast_model if differ else None)
        dev.done()
    update = _update(f.sub("update"), count_pulses=count)
    f.done()
    tile = TileConfig(forward=forward, backward=backward, update=update, device_model=model, algorithm=algorithm)
    return Converted(tile=tile, mapping=mapping, digital_bias=digital_bias, aihwkit_version=aihwkit_version)


def from_aihwkit(rpu_config: Any) -> Converted:
    """Convert a live aihwkit RPUConfig into an xbarsim configuration (see the module docstring).

    Raises:
        ModuleNotFoundError: aihwkit is not installed (the message says how to install it).
        AihwkitConversionError: a field xbarsim cannot represent; the message names it.
        TypeError: ``rpu_config`` is not an aihwkit configuration object.
    """
    version = aihwkit_version()
    if not (dataclasses.is_dataclass(rpu_config) and type(rpu_config).__module__.startswith("aihwkit.")):
        raise TypeError(f"from_aihwkit: rpu_config must be an aihwkit RPUConfig; got {type(rpu_config).__name__} "
                        "(a recorded dump converts with from_dump)")
    if not version.startswith(SUPPORTED_AIHWKIT + "."):
        warnings.warn(f"xbarsim.compat.aihwkit was written for aihwkit {SUPPORTED_AIHWKIT}; found {version}. Fields "
                      "it does not know are errors, but a changed meaning of a known field would go unnoticed",
                      UserWarning, stacklevel=2)
    return from_dump(dump(rpu_config), aihwkit_version=version)
