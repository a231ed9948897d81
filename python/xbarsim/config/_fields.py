"""Validation helpers and the serialisation base shared by every config dataclass.

Every config is ``@dataclass(frozen=True, kw_only=True)`` deriving from :class:`ConfigBase`; it
validates in ``__post_init__`` with the helpers below, whose messages follow the project form
``<Config>: <field> must <expectation>; got <actual>``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Mapping, TypeVar

C = TypeVar("C", bound="ConfigBase")


def _name(obj: Any) -> str:
    return type(obj).__name__


def require_number(obj: Any, field: str, *, finite: bool = True) -> float:
    value = getattr(obj, field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{_name(obj)}: {field} must be a number; got {value!r}")
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{_name(obj)}: {field} must be a finite number; got {value!r}")
    return float(value)


def require_non_negative(obj: Any, field: str) -> None:
    if require_number(obj, field) < 0:
        raise ValueError(f"{_name(obj)}: {field} must be >= 0; got {getattr(obj, field)!r}")


def require_positive(obj: Any, field: str) -> None:
    if require_number(obj, field) <= 0:
        raise ValueError(f"{_name(obj)}: {field} must be > 0; got {getattr(obj, field)!r}")


def require_in_range(obj: Any, field: str, lo: float, hi: float) -> None:
    v = require_number(obj, field)
    if not lo <= v <= hi:
        raise ValueError(f"{_name(obj)}: {field} must be in [{lo}, {hi}]; got {v!r}")


def require_bool(obj: Any, field: str) -> None:
    value = getattr(obj, field)
    if not isinstance(value, bool):
        raise TypeError(f"{_name(obj)}: {field} must be a bool; got {value!r}")


def require_int(obj: Any, field: str, *, minimum: int | None = None) -> None:
    value = getattr(obj, field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{_name(obj)}: {field} must be an int; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{_name(obj)}: {field} must be >= {minimum}; got {value!r}")


def require_choice(obj: Any, field: str, choices: Iterable[str]) -> None:
    value = getattr(obj, field)
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{_name(obj)}: {field} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def require_instance(obj: Any, field: str, cls: type) -> None:
    value = getattr(obj, field)
    if not isinstance(value, cls):
        raise TypeError(f"{_name(obj)}: {field} must be a {cls.__name__}; got {type(value).__name__}")


# Registry of config classes by name, so that from_dict can rebuild nested configs (and device
# models, algorithms) from checkpoints and run directories.
_REGISTRY: dict[str, type] = {}


class ConfigBase:
    """Mixin: registration by class name, ``to_dict``/``from_dict`` round trip, ``replace``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def to_dict(self) -> dict:
        """A JSON-compatible dict with a ``"type"`` key; nested configs become nested dicts."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _to_plain(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Inverse of :meth:`to_dict`. Unknown keys are errors (they mean an incompatible version)."""
        data = dict(data)
        name = data.pop("type", cls.__name__)
        target = _REGISTRY.get(name)
        if target is None or not issubclass(target, cls):
            raise ValueError(f"{cls.__name__}.from_dict: unknown config type {name!r}")
        names = {f.name for f in dataclasses.fields(target)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{target.__name__}.from_dict: unknown fields {sorted(unknown)}")
        return target(**{k: _from_plain(v) for k, v in data.items()})

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _to_plain(value: Any) -> Any:
    if isinstance(value, ConfigBase):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _from_plain(value: Any) -> Any:
    if isinstance(value, dict) and "type" in value and value["type"] in _REGISTRY:
        return _REGISTRY[value["type"]].from_dict(value)
    if isinstance(value, list):
        return tuple(_from_plain(v) for v in value)
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value
