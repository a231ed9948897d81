"""Fuzzing the config dataclasses with valid, boundary and wrong field values: construction succeeds or
raises ValueError/TypeError naming a field; a config that constructs is usable (hashable, to_dict /
from_dict round trip, packs into the native argument struct, derived values finite)."""
from __future__ import annotations

import dataclasses
import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

import xbarsim
from xbarsim.ops import mvm as _mvm
from xbarsim.ops import update as _update

from _fuzz import ALGORITHMS, check_call, config_kwargs, fuzz_settings

CONFIGS = {
    "IOConfig": (xbarsim.IOConfig, {}),
    "UpdateConfig": (xbarsim.UpdateConfig, {}),
    "MappingConfig": (xbarsim.MappingConfig, {}),
    **{name: (cls, {}) for name, cls in xbarsim.devices.DEVICE_MODELS.items()},
    **ALGORITHMS,
}


def _names(cls) -> set[str]:
    names = {f.name for f in dataclasses.fields(cls)}
    if issubclass(cls, xbarsim.devices.PulsedDevice):
        names.add("n_states")  # the init-only convenience of §3.1
    return names


def _usable(cfg) -> None:
    hash(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a transfer_io with management warns again (documented)
        assert type(cfg).from_dict(cfg.to_dict()) == cfg
    if isinstance(cfg, xbarsim.IOConfig):
        for transpose in (False, True):
            _mvm.io_params(cfg, transpose)
        assert _mvm.max_bm_rounds(cfg, False) >= 1 and _mvm.max_bm_rounds(cfg, True) >= 1
    elif isinstance(cfg, xbarsim.UpdateConfig):
        _update.pack_update(cfg)
    elif isinstance(cfg, xbarsim.devices.PulsedDevice):
        _update.pack_device(cfg)
        eps = cfg.granularity()
        assert math.isfinite(eps) and eps > 0, eps
    elif isinstance(cfg, xbarsim.algorithms.AlgorithmConfig):
        assert cfg.num_tiles() >= 1


@pytest.mark.parametrize("name", sorted(CONFIGS))
@fuzz_settings(60)
@given(data=st.data())
def test_config_fields(name, data):
    cls, required = CONFIGS[name]
    kw = data.draw(config_kwargs(cls, valid=False, required=required))
    ok, cfg = check_call(lambda: cls(**kw), names=_names(cls), callables={name})
    if ok:
        _usable(cfg)


@fuzz_settings(60)
@given(data=st.data())
def test_tile_config_fields(data):
    """TileConfig's nested fields of the wrong type are rejected by name."""
    from _fuzz import any_value
    kw = {}
    for f in (f.name for f in dataclasses.fields(xbarsim.TileConfig)):
        if data.draw(st.booleans()):
            kw[f] = data.draw(st.one_of(any_value(), st.sampled_from(
                [xbarsim.IOConfig(), xbarsim.UpdateConfig(), xbarsim.devices.SoftBounds(),
                 xbarsim.algorithms.SingleTile()])))
    names = {f.name for f in dataclasses.fields(xbarsim.TileConfig)}
    ok, cfg = check_call(lambda: xbarsim.TileConfig(**kw), names=names,
                         callables={"TileConfig"})
    if ok:
        _usable(cfg)
