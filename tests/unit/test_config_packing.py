"""Configs and seeds cross the custom-op schema packed; the round trip is exact. MappingConfig splits.

Spec: STYLE.md §3 "Torch custom ops" (config.pack() round trip).
"""
from __future__ import annotations

import dataclasses
import random

import pytest

import xbarsim
from xbarsim.config.mapping import MappingConfig
from xbarsim.ops._library import int64_to_seed, pack_config, seed_to_int64, unpack_config


def _variants(cls, rng, n=20):
    """Configs with random values of their float and bool fields (valid ones only)."""
    out = [cls()]
    fields = [f for f in dataclasses.fields(cls) if isinstance(getattr(cls(), f.name), (bool, float))]
    while len(out) < n:
        changes = {}
        for f in rng.sample(fields, k=min(3, len(fields))):
            value = getattr(cls(), f.name)
            changes[f.name] = (not value) if isinstance(value, bool) else rng.choice([0.0, 0.5, 1.0 / 3.0, 1e-7, 7.25])
        try:
            out.append(cls(**changes))
        except (ValueError, TypeError):
            continue
    return out


def test_io_config_round_trip_exact():
    rng = random.Random(0)
    for cfg in _variants(xbarsim.IOConfig, rng):
        packed = pack_config(cfg)
        assert isinstance(packed, str)
        assert unpack_config(packed) == cfg
        assert pack_config(unpack_config(packed)) == packed


def test_tile_config_round_trip_with_nested_configs():
    cfg = xbarsim.TileConfig(forward=xbarsim.IOConfig(out_bound=0.0, inp_res=-1.0, out_noise=1e-300),
                             backward=xbarsim.IOConfig(is_perfect=True))
    assert unpack_config(pack_config(cfg)) == cfg
    assert unpack_config(pack_config(cfg)).forward.out_noise == 1e-300  # floats survive JSON exactly


def test_pack_rejects_non_configs():
    with pytest.raises(TypeError, match="pack_config: config must be an xbarsim config"):
        pack_config({"type": "IOConfig"})


@pytest.mark.parametrize("seed", [0, 1, 2**63 - 1, 2**63, 2**64 - 1, 12345678901234567890])
def test_seed_int64_round_trip(seed):
    packed = seed_to_int64(seed)
    assert -(2**63) <= packed < 2**63 and int64_to_seed(packed) == seed


def test_seed_int64_rejects_out_of_range():
    with pytest.raises(ValueError, match="seed must be an int in"):
        seed_to_int64(2**64)


@pytest.mark.parametrize("limit, size, expected", [(0, 10, (10,)), (4, 10, (4, 3, 3)), (5, 10, (5, 5)),
                                                   (10, 10, (10,)), (3, 1, (1,)), (4608, 4608, (4608,))])
def test_mapping_even_split(limit, size, expected):
    assert MappingConfig(max_in_size=limit).split_sizes(size, 7) == (expected, (7,))


def test_mapping_validation():
    with pytest.raises(ValueError, match="MappingConfig: max_in_size must be >= 0"):
        MappingConfig(max_in_size=-1)
    with pytest.raises(TypeError, match="MappingConfig: max_out_size must be an int"):
        MappingConfig(max_out_size=2.5)
    assert MappingConfig.from_dict(MappingConfig(max_in_size=3).to_dict()) == MappingConfig(max_in_size=3)
