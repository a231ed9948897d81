"""Argument checks shared by every op wrapper: tensors, numbers, finiteness.

Every message has the project form ``<callable>: <argument> must <expectation>; got <actual>``.
``TypeError`` for types and dtypes, ``ValueError`` for values, shapes, devices and NaN/inf.

The finiteness check reads the data. It has three modes (:func:`set_input_checks`): on (the default:
the op raises before any kernel runs; on CUDA that costs a device synchronisation per checked
tensor), ``"deferred"`` (the check runs on the device and only raises a flag; the caller reports the
flags with :func:`raise_deferred_input_errors` at a point it chooses, e.g. before a checkpoint, so a GPU
step never waits for the host — at the price that a step with NaN/inf has already run when it is
reported), and off. Shape, dtype and device checks are never switched off.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence, Union

import torch

__all__ = [
    "set_input_checks",
    "input_checks_enabled",
    "check_tensor",
    "check_same_device",
    "check_finite",
    "input_checks_mode",
    "raise_deferred_input_errors",
    "check_int",
    "check_number",
    "check_instance",
    "check_device",
    "check_weights",
    "shape_str",
]

_INPUT_CHECKS: Union[bool, str] = True
# Deferred finiteness flags: (callable, argument, device) -> a bool tensor on that device, True once a
# non-finite value reached that argument since the last raise_deferred_input_errors().
_DEFERRED: dict[tuple, torch.Tensor] = {}

FLOAT_DTYPES = (torch.float32, torch.float64)
SUPPORTED_DEVICE_TYPES = ("cpu", "cuda")

# A shape spec: a sequence of dimension specs, each an int (exact size), None (any size), or a
# (name, size) pair printed as ``name=size``; a leading Ellipsis allows any number of leading dims.
DimSpec = Union[int, None, tuple]


def set_input_checks(enabled: Union[bool, str]) -> None:
    """Set the mode of the data-reading input checks (NaN/inf) of every op. Default: True.

    Args:
        enabled: True to check inputs for NaN/inf before every kernel (one device sync per checked
            tensor on CUDA); ``"deferred"`` to raise device-side flags instead, reported by
            :func:`raise_deferred_input_errors`; False to skip the check. Shape, dtype and device
            checks always run.
    """
    global _INPUT_CHECKS
    if not (isinstance(enabled, bool) or enabled == "deferred"):
        raise TypeError(f"set_input_checks: enabled must be True, False or 'deferred'; got {enabled!r}")
    _INPUT_CHECKS = enabled


def input_checks_enabled() -> bool:
    """Whether the data-reading input checks run (immediately or deferred; see :func:`set_input_checks`)."""
    return _INPUT_CHECKS is not False


def input_checks_mode() -> Union[bool, str]:
    """True, False or ``"deferred"`` (see :func:`set_input_checks`)."""
    return _INPUT_CHECKS


def raise_deferred_input_errors() -> None:
    """Report the deferred finiteness flags raised since the last call, and clear them.

    One host synchronisation per flag. Raises ValueError naming the first callable and argument that
    received NaN or inf (``"deferred"`` mode only; a no-op otherwise).
    """
    pending = list(_DEFERRED.items())
    _DEFERRED.clear()
    for (fn, name, _device), flag in pending:
        if bool(flag):
            raise ValueError(f"{fn}: {name} must be finite (no NaN or inf); a non-finite value reached it since "
                             "the last check (deferred input checks, xbarsim.ops.set_input_checks('deferred'))")


def shape_str(shape: Iterable[int]) -> str:
    """A shape as torch prints a tuple: ``(16, 255)``, ``(3,)``, ``()``."""
    return str(tuple(int(s) for s in shape))


def _dim_str(d: DimSpec) -> str:
    if d is None:
        return "*"
    if isinstance(d, tuple):
        return f"{d[0]}={d[1]}"
    return str(d)


def _spec_str(spec: Sequence) -> str:
    return "[" + ", ".join("..." if d is Ellipsis else _dim_str(d) for d in spec) + "]"


def _matches(shape: tuple, spec: Sequence) -> bool:
    spec = list(spec)
    if spec and spec[0] is Ellipsis:
        tail = spec[1:]
        if len(shape) < len(tail):
            return False
        shape = shape[len(shape) - len(tail):]
        spec = tail
    if len(shape) != len(spec):
        return False
    for s, d in zip(shape, spec):
        want = d[1] if isinstance(d, tuple) else d
        if want is not None and s != want:
            return False
    return True


def _dtype_str(dtypes: Sequence[torch.dtype]) -> str:
    names = [str(d) for d in dtypes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def check_tensor(fn: str, name: str, t: object, *, shape: Sequence | None = None, ndim: int | None = None,
                 dtype: torch.dtype | Sequence[torch.dtype] | None = None,
                 device: torch.device | None = None) -> torch.Tensor:
    """Check that ``t`` is a tensor of the expected shape, dtype and device; return it.

    Args:
        fn: name of the public callable, first word of the message (``"analog_mvm"``).
        name: argument name (``"x"``).
        t: the value to check.
        shape: shape spec, e.g. ``(..., ("in_size", 256))`` or ``(("out_size", 3), ("in_size", 4))``.
        ndim: exact number of dimensions (when no shape spec is given).
        dtype: a dtype or a sequence of allowed dtypes.
        device: the device ``t`` must be on (else ``t`` must be on cpu or cuda).

    Raises:
        TypeError: not a tensor, or a wrong dtype.
        ValueError: a wrong shape or device.
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{fn}: {name} must be a torch.Tensor; got {type(t).__name__}")
    if dtype is not None:
        allowed = (dtype,) if isinstance(dtype, torch.dtype) else tuple(dtype)
        if t.dtype not in allowed:
            raise TypeError(f"{fn}: {name} must have dtype {_dtype_str(allowed)}; got {t.dtype}")
    if shape is not None and not _matches(tuple(t.shape), shape):
        raise ValueError(f"{fn}: {name} must have shape {_spec_str(shape)}; got {shape_str(t.shape)}")
    if ndim is not None and t.dim() != ndim:
        raise ValueError(f"{fn}: {name} must have {ndim} dimensions; got shape {shape_str(t.shape)}")
    if device is not None:
        if not (t.is_cpu and getattr(device, "type", device) == "cpu") and t.device != device:
            raise ValueError(f"{fn}: {name} must be on device {device}; got {t.device}")
    elif not (t.is_cpu or t.is_cuda):
        raise ValueError(f"{fn}: {name} must be on a cpu or cuda device; got {t.device}")
    return t


def check_same_device(fn: str, name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise ValueError unless ``a`` and ``b`` are on the same device."""
    if not (a.is_cpu and b.is_cpu) and a.device != b.device:
        raise ValueError(f"{fn}: {name_b} must be on the device of {name_a} ({a.device}); got {b.device}")


def check_finite(fn: str, name: str, t: torch.Tensor) -> None:
    """Raise ValueError if ``t`` holds NaN or +-inf (skipped when input checks are off).

    The common case costs one reduction: the sum of finite values is finite unless it overflows, and
    only then (or when it is not finite) are the elements tested one by one.
    """
    if _INPUT_CHECKS is False or t.numel() == 0:
        return
    if _INPUT_CHECKS == "deferred":
        bad = ~torch.isfinite(t).all()  # exact (no overflow of a sum), and no synchronisation
        key = (fn, name, t.device)
        flag = _DEFERRED.get(key)
        if flag is None:
            _DEFERRED[key] = bad
        else:
            flag.logical_or_(bad)
        return
    if math.isfinite(float(t.sum())):  # a Python float test: a third of the cost of a tensor op on tiny t
        return
    bad = ~torch.isfinite(t)
    if bool(bad.any()):
        first = t[bad].flatten()[0].item()
        raise ValueError(f"{fn}: {name} must be finite (no NaN or inf); got {first} "
                         f"in {int(bad.sum())} of {t.numel()} elements")


def check_int(fn: str, name: str, value: object, lo: int | None = None, hi: int | None = None) -> int:
    """Check an int in [lo, hi) (bools rejected); return it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{fn}: {name} must be an int; got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value >= hi):
        lo_s = "-inf" if lo is None else str(lo)
        hi_s = "inf" if hi is None else ("2**64" if hi == 2**64 else "2**48" if hi == 2**48 else str(hi))
        raise ValueError(f"{fn}: {name} must be an int in [{lo_s}, {hi_s}); got {value!r}")
    return value


def check_number(fn: str, name: str, value: object, *, finite: bool = True) -> float:
    """Check a real number (int or float, not bool), finite unless ``finite=False``; return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {name} must be a number; got {value!r}")
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{fn}: {name} must be a finite number; got {value!r}")
    return float(value)


def check_device(fn: str, name: str, value: object) -> torch.device | None:
    """Check a device argument (None, a torch.device, a device string or index) of a constructor: it must
    name a cpu or cuda device. Returns it as a torch.device (None stays None: torch's default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (torch.device, str, int)):
        raise TypeError(f"{fn}: {name} must be a torch.device, a device string or None; got {value!r}")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{fn}: {name} must be a cpu or cuda device; got {value!r}") from None
    if device.type not in SUPPORTED_DEVICE_TYPES:
        raise ValueError(f"{fn}: {name} must be a cpu or cuda device; got {device}")
    return device


def check_weights(fn: str, name: str, value: object, shape: Sequence) -> torch.Tensor:
    """Weights handed to a ``set_weights``: a floating-point tensor of ``shape`` on a cpu or cuda device,
    with finite values (always checked: they become state). Returns it."""
    check_tensor(fn, name, value, shape=shape)
    assert isinstance(value, torch.Tensor)
    if not value.is_floating_point():
        raise TypeError(f"{fn}: {name} must be a floating-point tensor; got {value.dtype}")
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{fn}: {name} must be finite; got NaN or inf")
    return value


def check_instance(fn: str, name: str, value: object, cls: type) -> None:
    """Raise TypeError unless ``value`` is an instance of ``cls``."""
    if not isinstance(value, cls):
        raise TypeError(f"{fn}: {name} must be a {cls.__name__}; got {type(value).__name__}")
