"""Measured operation counts as the cost model's per-sample OpCounts.

:func:`counts` and :func:`counting` (from :mod:`xbarsim.nn.counting`, re-exported here) read the
operation counters of a model's tile runtimes; :func:`measured_op_counts` divides one layer's counts
by its training samples into the :class:`~xbarsim.cost.counters.OpCounts` the cost functions take
(``source="run"``).

Spec: hardware-cost.md §8 (counted mode).
"""
from __future__ import annotations

from typing import Mapping, Optional

from ..nn.counting import (
    COUNT_KEYS,
    MAX_KEYS,
    STATE_KEYS,
    Counting,
    counting,
    counting_runtimes,
    counts,
    diff_counts,
    sum_counts,
)
from .counters import OpCounts
from .hardware_model import HardwareModel

__all__ = ["counts", "counting", "Counting", "COUNT_KEYS", "STATE_KEYS", "MAX_KEYS", "diff_counts", "sum_counts",
           "counting_runtimes", "measured_op_counts"]


def measured_op_counts(layer: Mapping[str, int], hw: Optional[HardwareModel] = None) -> OpCounts:
    """A layer's counts (one entry of :func:`counts`) per training sample, for the cost functions.

    With S = ``update_vectors`` (the vectors written into the gradient tile, summed over blocks) and
    ``tiles_read`` the tiles one read of W̄ sums (γ ≠ 0):

    * ``pulse_slots`` = (gradient + transfer pulse slots) / S: Σ BL of every write, t_sp each;
    * ``transfer_reads`` = transfer reads / S;
    * ``fp_ops`` = (update management + buffer + MP operations) / S: the digital side of the update,
      as in the paper's Table 5 (the reads' noise management and the simulator's digital sum of W̄
      are reported apart, see :data:`xbarsim.tile.op_counts`);
    * ``memory_bits`` = 2 · 8 · ``bytes_per_element`` · (H or χ elements read and written) / S;
    * ``forward_reads`` = forward MVMs per forward vector · ``tiles_read`` (bound-management re-reads
      included); ``backward_reads`` = backward MVMs / S · ``tiles_read``;
    * ``stored_elements`` = the digital storage held (x and d vectors, H, χ, choppers, MP's batch).

    A layer of several blocks gives the mean per block (blocks work in parallel).

    Raises:
        ValueError: the layer wrote no vectors (S = 0).

    Spec: hardware-cost.md §8 (counted mode).
    """
    hw = HardwareModel() if hw is None else hw
    s = int(layer.get("update_vectors", 0))
    if s <= 0:
        raise ValueError("measured_op_counts: layer must have update_vectors > 0 (no training sample was counted)")
    tiles = max(int(layer.get("tiles_read", 1)), 1)
    fwd_vec = int(layer.get("forward_vectors", 0))
    slots = layer.get("gradient_pulse_slots", 0) + layer.get("transfer_pulse_slots", 0)
    fp = layer.get("flops_update", 0) + layer.get("flops_buffer", 0) + layer.get("flops_mp", 0)
    return OpCounts(
        pulse_slots=slots / s, transfer_reads=layer.get("transfer_reads", 0) / s, fp_ops=fp / s,
        memory_bits=16.0 * hw.bytes_per_element * layer.get("digital_state_updates", 0) / s,
        forward_reads=(layer.get("forward_mvms", 0) / fwd_vec * tiles) if fwd_vec else 0.0,
        backward_reads=layer.get("backward_mvms", 0) / s * tiles,
        stored_elements=float(layer.get("stored_elements", 0)), source="run")
