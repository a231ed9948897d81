"""MappingConfig: how one layer's weight matrix is laid out on physical tiles.

Spec: experiments.md §0 "Mapping" (the paper uses one tile per layer: no limits, the default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._fields import ConfigBase, require_int


@dataclass(frozen=True, kw_only=True)
class MappingConfig(ConfigBase):
    """Layer-to-tile mapping.

    A layer whose weight matrix (plus the analog bias column, if any) has more input lines than
    ``max_in_size`` or more output lines than ``max_out_size`` is split into a grid of tiles; the
    partial outputs of the tiles that share output lines are summed digitally. Lines are spread as
    evenly as possible (tile sizes differ by at most one line), in order: tile ``(i, j)`` holds
    output block ``i`` and input block ``j``, and the analog bias column is the last input line.

    Attributes:
        max_in_size: largest number of input lines of one tile; 0 means unlimited. Default 0.
        max_out_size: largest number of output lines of one tile; 0 means unlimited. Default 0.
    """

    max_in_size: int = 0
    max_out_size: int = 0

    def __post_init__(self) -> None:
        require_int(self, "max_in_size", minimum=0)
        require_int(self, "max_out_size", minimum=0)

    def split_sizes(self, in_size: int, out_size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Tile sizes along the input and the output lines, e.g. ``((392, 392), (256,))``."""
        return _even_split(in_size, self.max_in_size), _even_split(out_size, self.max_out_size)


def _even_split(size: int, limit: int) -> tuple[int, ...]:
    n = 1 if limit <= 0 else max(1, math.ceil(size / limit))
    base, extra = divmod(size, n)
    return tuple(base + 1 if k < extra else base for k in range(n))
