"""MappingConfig: how one layer's weight matrix is laid out on physical tiles, and its digital output scales.

Spec: experiments.md §0 "Mapping" (the paper uses one tile per layer: no limits, the default;
``learn_out_scaling``, ``weight_scaling_omega`` and ``weight_scaling_columnwise`` as aihwkit 0.9.2's
``MappingParameter``; docs/presets.md "Mapping options" compares the two).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ._fields import ConfigBase, require_bool, require_int, require_non_negative


@dataclass(frozen=True, kw_only=True)
class MappingConfig(ConfigBase):
    """Layer-to-tile mapping and the digital scales at the layer's output.

    A layer whose weight matrix (plus the analog bias column, if any) has more input lines than
    ``max_in_size`` or more output lines than ``max_out_size`` is split into a grid of tiles; the
    partial outputs of the tiles that share output lines are summed digitally. Lines are spread as
    evenly as possible (tile sizes differ by at most one line), in order: tile ``(i, j)`` holds
    output block ``i`` and input block ``j``, and the analog bias column is the last input line.

    Two digital scales may multiply the analog output ``u = W̄ x`` of the layer (before the digital
    bias): ``y = α ⊙ (m ⊙ u) + b``. The effective weight, what ``get_weights`` returns, is ``α m W̄``.

    * ``m`` (**mapping scales**, a fixed buffer; present iff ``weight_scaling_omega > 0``): every
      ``set_weights(W)`` (the initial programming and ``from_digital`` included) programs ``W/m``
      with ``m_i = max_j |W_ij| / ω`` per output row (``weight_scaling_columnwise``) or
      ``m = max_ij |W_ij| / ω`` for the whole matrix (the analog bias column counts; ``m = 1`` where
      that maximum is 0). The pulsed update sees ``d/m`` of the gradient at ``m ⊙ u`` (aihwkit's
      ``pre_update``), so the effective weight moves as the gradient says.
    * ``α`` (**learned output scale**, a parameter; present iff ``learn_out_scaling``): initialised to
      1, reset to 1 by every ``set_weights``, trained by the digital optimizer with its lr; the
      gradient flows through the multiply as ordinary torch, so the recorded ``d`` contains ``α``.

    With all scale options off (the default) no scale exists and the layer computes exactly ``u + b``.

    Attributes:
        max_in_size: largest number of input lines of one tile; 0 means unlimited. Default 0.
        max_out_size: largest number of output lines of one tile; 0 means unlimited. Default 0.
        learn_out_scaling: one learnable digital output scale α (experiments.md §0: "one learnable
            digital output scale per tile, initialised to 1, trained by SGD with the optimizer lr").
            Default False.
        out_scaling_columnwise: the learned scale has one entry per output row (shape ``[out]``)
            instead of one per layer (``[1]``; aihwkit's default and the paper's code). Needs
            ``learn_out_scaling``. Default False.
        weight_scaling_omega: ω ≥ 0, the value the largest absolute weight (of the matrix, or of each
            row) is mapped to when weights are set; 0 disables the remapping. Default 0.0.
        weight_scaling_columnwise: with ω > 0, one mapping scale per output row (aihwkit's name: an
            output is one column line of the crossbar); no effect when ω = 0. Default False.
    """

    max_in_size: int = 0
    max_out_size: int = 0
    learn_out_scaling: bool = False
    out_scaling_columnwise: bool = False
    weight_scaling_omega: float = 0.0
    weight_scaling_columnwise: bool = False

    def __post_init__(self) -> None:
        require_int(self, "max_in_size", minimum=0)
        require_int(self, "max_out_size", minimum=0)
        for flag in ("learn_out_scaling", "out_scaling_columnwise", "weight_scaling_columnwise"):
            require_bool(self, flag)
        require_non_negative(self, "weight_scaling_omega")
        object.__setattr__(self, "weight_scaling_omega", float(self.weight_scaling_omega))
        if self.out_scaling_columnwise and not self.learn_out_scaling:
            raise ValueError("MappingConfig: out_scaling_columnwise must be False without learn_out_scaling; "
                             "got True")

    def split_sizes(self, in_size: int, out_size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Tile sizes along the input and the output lines, e.g. ``((392, 392), (256,))``."""
        return _even_split(in_size, self.max_in_size), _even_split(out_size, self.max_out_size)

    def mapping_scale_shape(self, out_size: int) -> Optional[tuple[int]]:
        """Shape of the fixed mapping scales ``m`` of a layer with ``out_size`` outputs, or None (ω = 0)."""
        if self.weight_scaling_omega <= 0:
            return None
        return (out_size,) if self.weight_scaling_columnwise else (1,)

    def learned_scale_shape(self, out_size: int) -> Optional[tuple[int]]:
        """Shape of the learned output scale ``α``, or None without ``learn_out_scaling``."""
        if not self.learn_out_scaling:
            return None
        return (out_size,) if self.out_scaling_columnwise else (1,)


def _even_split(size: int, limit: int) -> tuple[int, ...]:
    n = 1 if limit <= 0 else max(1, math.ceil(size / limit))
    base, extra = divmod(size, n)
    return tuple(base + 1 if k < extra else base for k in range(n))
