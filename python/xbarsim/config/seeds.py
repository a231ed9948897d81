"""Seed derivation: the one rule by which xbarsim turns a seed into the seeds of its parts.

Every random draw of a tile is keyed by the tile's seed (the Philox key, analog-tile.md §4). A model
hands its seed down a tree: model → analog layer k → block b of the layer's mapping grid → physical
tile n of a multi-tile algorithm, each child seed ``child_seed(parent, index)``. The rule is
splitmix64 of ``parent + φ·(index + 1)`` (φ = 2⁶⁴/golden ratio), so siblings and generations get
well-separated, distinct keys and a child never equals its parent.

Imports nothing of xbarsim (configs sit at the bottom of the package).
"""
from __future__ import annotations

__all__ = ["MASK64", "GOLDEN_GAMMA", "splitmix64", "child_seed", "check_seed"]

MASK64 = (1 << 64) - 1
#: 2⁶⁴/φ rounded to odd: splitmix64's increment.
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def splitmix64(z: int) -> int:
    """The splitmix64 finaliser of ``z`` (mod 2⁶⁴): a bijection on 64-bit integers."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def child_seed(seed: int, index: int) -> int:
    """Seed of child ``index`` (≥ 0) of a part seeded with ``seed`` (both in [0, 2⁶⁴))."""
    return splitmix64(seed + GOLDEN_GAMMA * (index + 1))


def check_seed(where: str, seed: object) -> int:
    """``seed`` as an int in [0, 2⁶⁴); ValueError naming ``where`` otherwise (bools rejected)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"{where}: seed must be an int in [0, 2**64); got {seed!r}")
    return seed
