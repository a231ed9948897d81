"""The native argument structs list exactly the dataclass fields (STYLE "Naming": one grep finds every
layer). The C++ side declares and binds its fields from one X-macro table each
(csrc/include/xbarsim/devices/device_args.h, update/update_args.h); these tests tie the tables to the
dataclasses, so a field added on one side only fails here instead of being dropped silently."""
from __future__ import annotations

import dataclasses

import pytest

from xbarsim import _core
from xbarsim.config import UpdateConfig
from xbarsim.config.devices import DEVICE_MODELS


def _scalar_fields(cls) -> set[str]:
    # Tables (tuples, e.g. PiecewiseStep.piecewise_up) travel as tensors, not as struct fields.
    out = set()
    for f in dataclasses.fields(cls):
        if isinstance(getattr(cls(), f.name), tuple):
            continue
        out.add(f.name)
    return out


def test_device_field_names_are_unique():
    names = _core.DeviceConfigArgs.field_names()
    assert len(names) == len(set(names))
    assert "model" not in names  # the model is the enum member, not a dataclass field


@pytest.mark.parametrize("name", sorted(DEVICE_MODELS))
def test_every_device_field_has_a_native_counterpart(name):
    native = set(_core.DeviceConfigArgs.field_names())
    missing = _scalar_fields(DEVICE_MODELS[name]) - native
    assert not missing, f"{name}: dataclass fields without a native field: {sorted(missing)}"


def test_native_device_fields_equal_the_union_of_the_dataclasses():
    union = set().union(*(_scalar_fields(cls) for cls in DEVICE_MODELS.values()))
    assert set(_core.DeviceConfigArgs.field_names()) == union


def test_native_device_fields_are_bound():
    args = _core.DeviceConfigArgs()
    for name in _core.DeviceConfigArgs.field_names():
        assert hasattr(args, name), name


def test_update_args_fields_equal_the_dataclass():
    names = _core.UpdateArgs.field_names()
    assert len(names) == len(set(names))
    assert list(names) == [f.name for f in dataclasses.fields(UpdateConfig)]
    args = _core.UpdateArgs()
    for name in names:
        assert hasattr(args, name), name
