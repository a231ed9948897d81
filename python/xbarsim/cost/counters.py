"""Methods and per-layer operation counts: the inputs of the cost functions.

Spec: hardware-cost.md §3 (Table 5's per-sample complexities), §4 (storage), §8 (analytic and
counted modes). The cost functions of :mod:`xbarsim.cost.tables` take an :class:`OpCounts` per
layer and never look at where it came from: :func:`analytic_counts` is the paper's estimate; a
training run's measured counters (pulse-train lengths, transfer events, digital operations, buffer
sizes) will be a second source with ``source="run"``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

from .hardware_model import HardwareModel
from .shapes import LayerShape

__all__ = ["METHODS", "Method", "parse_methods", "OpCounts", "analytic_counts"]

#: Methods of the cost model: analog SGD, TT-v2, mixed precision, residual learning.
METHODS = ("sgd", "ttv2", "mp", "resl")

MethodName = Literal["sgd", "ttv2", "mp", "resl"]

_LABELS = {"sgd": "Analog SGD", "ttv2": "TT-v2", "mp": "MP"}
_LOGICAL_TILES = {"sgd": 1, "ttv2": 2, "mp": 1}


@dataclass(frozen=True, kw_only=True)
class Method:
    """A learning method as the cost model sees it.

    Attributes:
        name: ``"sgd"`` (analog SGD, one tile), ``"ttv2"`` (TT-v2: tiles A and C plus the digital
            buffer H), ``"mp"`` (mixed precision: one tile plus the digital accumulator χ) or
            ``"resl"`` (residual learning with ``n_tiles`` tiles).
        n_tiles: residual learning's number of tiles N (>= 2); must be None for the other methods.
        batch_size: MP's mini-batch B; None: the model's (Tables 6–7) or ``HardwareModel.batch_size``.
            Must be None for the other methods.
    """

    name: MethodName
    n_tiles: Optional[int] = None
    batch_size: Optional[int] = None

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise ValueError(f"Method: name must be one of {', '.join(map(repr, METHODS))}; got {self.name!r}")
        if self.name == "resl":
            if isinstance(self.n_tiles, bool) or not isinstance(self.n_tiles, int) or self.n_tiles < 2:
                raise ValueError(f"Method: n_tiles must be an int >= 2 for 'resl'; got {self.n_tiles!r}")
        elif self.n_tiles is not None:
            raise ValueError(f"Method: n_tiles must be None for {self.name!r} (fixed tile count); got {self.n_tiles!r}")
        if self.batch_size is not None:
            if self.name != "mp":
                raise ValueError(f"Method: batch_size must be None for {self.name!r} (MP only); "
                                 f"got {self.batch_size!r}")
            if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
                raise ValueError(f"Method: batch_size must be None or an int >= 1; got {self.batch_size!r}")

    @property
    def logical_tiles(self) -> int:
        """Logical tiles per layer: SGD 1, TT-v2 2, MP 1, residual learning N (hardware-cost.md §1.1)."""
        return self.n_tiles if self.name == "resl" else _LOGICAL_TILES[self.name]

    @property
    def physical_tiles(self) -> int:
        """Crossbars per layer: every logical tile is a differential pair (hardware-cost.md §1.1)."""
        return 2 * self.logical_tiles

    @property
    def label(self) -> str:
        """Name for tables: ``"Analog SGD"``, ``"TT-v2"``, ``"MP"``, ``"ResL (N=4)"``."""
        return f"ResL (N={self.n_tiles})" if self.name == "resl" else _LABELS[self.name]

    @property
    def key(self) -> str:
        """Short identifier for files and JSON: ``"sgd"``, ``"resl4"``."""
        return f"resl{self.n_tiles}" if self.name == "resl" else self.name


def parse_methods(text: str, *, n_tiles: int = 4, batch_size: Optional[int] = None) -> tuple[Method, ...]:
    """``"sgd,ttv2,mp,resl"`` → Methods; ``resl`` gets ``n_tiles`` and ``mp`` gets ``batch_size``.

    Raises:
        ValueError: an empty list, an unknown or repeated name.
    """
    names = [s.strip() for s in str(text).split(",") if s.strip()]
    if not names:
        raise ValueError(f"parse_methods: text must name at least one of {', '.join(METHODS)}; got {text!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"parse_methods: text must not repeat a method; got {text!r}")
    return tuple(Method(name=n, n_tiles=n_tiles if n == "resl" else None,
                        batch_size=batch_size if n == "mp" else None) for n in names)


@dataclass(frozen=True, kw_only=True)
class OpCounts:
    """What one analog layer does per training sample (one update vector), and what it stores.

    Attributes:
        pulse_slots: update pulse slots per sample, all tiles together (gradient writes and
            transfer writes), each lasting ``t_sp`` [slots].
        transfer_reads: MVM-equivalent transfer reads per sample, each lasting ``t_M`` and costing
            ``e_transfer_read_nj``.
        fp_ops: digital floating-point operations per sample.
        memory_bits: digital memory traffic per sample [bit] (reported; not timed, as in the paper).
        forward_reads: tile copies read in the forward pass per sample.
        backward_reads: tile copies read in the backward pass per sample.
        stored_elements: digitally stored elements (x and δ buffers, H, χ, batch buffers).
        source: ``"analytic"`` (the paper's estimate) or ``"run"`` (a run's measured counters).
    """

    pulse_slots: float
    transfer_reads: float
    fp_ops: float
    memory_bits: float
    forward_reads: float
    backward_reads: float
    stored_elements: float
    source: Literal["analytic", "run"] = "analytic"

    def __post_init__(self) -> None:
        for field in ("pulse_slots", "transfer_reads", "fp_ops", "memory_bits", "forward_reads",
                      "backward_reads", "stored_elements"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"OpCounts: {field} must be a number; got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"OpCounts: {field} must be a finite number >= 0; got {value!r}")
        if self.source not in ("analytic", "run"):
            raise ValueError(f"OpCounts: source must be 'analytic' or 'run'; got {self.source!r}")

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in ("pulse_slots", "transfer_reads", "fp_ops", "memory_bits",
                                              "forward_reads", "backward_reads", "stored_elements", "source")}


def analytic_counts(layer: LayerShape, method: Method, hw: Optional[HardwareModel] = None) -> OpCounts:
    """The paper's per-sample counts of one layer (Table 5 with D = the layer's sizes).

    With ``m = out_size``, ``n = in_size``, ``l = l_avg``, ``s = n_s``, ``B`` = MP's batch:

    ========  =====================  ==============  ===============  ===========  ============
    method    pulse slots            transfer reads  FP ops           memory bits  stored
    ========  =====================  ==============  ===============  ===========  ============
    sgd       l                      0               2n               1            2n
    ttv2      l + 1/s                1/s             2n + 2n/s        16n/s        mn + 2n
    mp        m/B                    0               k·mn + n         16mn/B       mn + 2nB
    resl      l·s/(s−1)              1/(s−1)         2n               1            2n
    ========  =====================  ==============  ===============  ===========  ============

    ``k = mp_fp_ops_per_weight``. As in the paper, D is the input size n in every term (x and δ
    buffers "2D", TT-v2's H column work "2D/n_s"), MP writes one of m rows per B samples, and
    residual learning's counts are the bounds for any number of tiles (geometric series over the
    tiles' transfer periods ``n_s^{N−n}``). Forward and backward read every visible tile: SGD, MP
    and TT-v2 (C only, γ = 0) one, residual learning N.

    Args:
        layer: the tile shape.
        method: the method; MP's batch is ``method.batch_size`` or ``hw.batch_size``.
        hw: the hardware model (``l_avg``, ``n_s``, ``mp_fp_ops_per_weight``); default the paper's.

    Spec: hardware-cost.md §3 (Table 5), §4 (Table 6), §5 (Table 7).
    """
    hw = HardwareModel() if hw is None else hw
    if not isinstance(layer, LayerShape):
        raise TypeError(f"analytic_counts: layer must be a LayerShape; got {type(layer).__name__}")
    if not isinstance(method, Method):
        raise TypeError(f"analytic_counts: method must be a Method; got {type(method).__name__}")
    m, n, l, s = layer.out_size, layer.in_size, hw.l_avg, hw.n_s
    if method.name == "sgd":
        return OpCounts(pulse_slots=l, transfer_reads=0.0, fp_ops=2.0 * n, memory_bits=1.0,
                        forward_reads=1.0, backward_reads=1.0, stored_elements=2.0 * n)
    if method.name == "ttv2":
        return OpCounts(pulse_slots=l + 1.0 / s, transfer_reads=1.0 / s, fp_ops=2.0 * n + 2.0 * n / s,
                        memory_bits=16.0 * n / s, forward_reads=1.0, backward_reads=1.0,
                        stored_elements=float(m * n + 2 * n))
    if method.name == "mp":
        b = method.batch_size if method.batch_size is not None else hw.batch_size
        return OpCounts(pulse_slots=m / b, transfer_reads=0.0, fp_ops=hw.mp_fp_ops_per_weight * m * n + n,
                        memory_bits=16.0 * m * n / b, forward_reads=1.0, backward_reads=1.0,
                        stored_elements=float(m * n + 2 * n * b))
    # Residual learning: the gradient tile is written every sample, tile n about every n_s^(N−n)
    # samples; each write is a pulse train of l slots and each transfer a read of t_M.
    return OpCounts(pulse_slots=l * s / (s - 1.0), transfer_reads=1.0 / (s - 1.0), fp_ops=2.0 * n,
                    memory_bits=1.0, forward_reads=float(method.n_tiles), backward_reads=float(method.n_tiles),
                    stored_elements=2.0 * n)
