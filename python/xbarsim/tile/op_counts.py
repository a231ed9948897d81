"""Operation counters of a tile runtime: the table, and the formulas of what each operation costs.

A tile runtime that counts (``TileConfig(count_ops=True)``, or inside ``xbarsim.cost.counting``) holds
``op_counts``, an int64 tensor ``[len(OP_COUNT_NAMES)]`` in host memory (like the RNG call counter:
adding to it never touches a GPU). Every entry is an exact integer and a sum since the tile was built
(``max_update_vectors`` is a maximum), so the counts survive ``state_dict()`` and resume exactly.
Pulses fired on the lines and the coincidences are not in this table: the native update and transfer
ops count them into each physical tile's ``pulse_counters`` (analog-tile.md §2.9, with the pulse-train
slots Σ BL as fifth entry), which counting turns on.

Counting off costs one ``is None`` test per read, update and transfer call, and allocates nothing.

**Reads** (analog MVMs, analog-tile.md §1.3, §1.4, §1.9): one MVM per vector read and per
bound-management round that re-reads it (round k ≥ 1 re-reads only the vectors that saturated in
round k − 1; the read path reports how many, so no extra device synchronisation is needed). An MVM of
a vector with ``L_in`` input and ``L_out`` output lines drives ``L_in`` DACs and converts ``L_out``
ADC outputs, also for a perfect read (the periphery exists; the simulation idealises it) and for
a transfer read (a one-hot vector: ``L_in`` DAC inputs, one of them non-zero). A multi-tile
runtime's read of W̄ is one MVM: the circuit drives the rows of every tile at once and digitises
the analog sum with one ADC per output (hardware-cost.md §1.2).

**Digital floating-point operations** (FLOPs, counted by formula at the call sites; a comparison,
maximum or sign flip counts as one operation, a rounding or clamp as none):

=========================  ===============================================================  ==============================
counter                    formula                                                          spec
=========================  ===============================================================  ==============================
``flops_io``               per vector read with noise management: ``abs_max``/``max``:      analog-tile.md §1.3 steps 1,
                           ``L_in`` (the maximum) + ``L_in`` (scale the inputs) +          2, 8; §1.4
                           ``L_out`` (rescale the outputs); ``average_abs_max``: the same
                           + 3 (running maximum ``m ← (1 − δ)m + δ·max``); ``constant``:
                           ``L_in + L_out``; ``none`` and perfect reads: 0. Per vector
                           re-read by bound management: ``L_in + L_out`` (inputs ÷ r,
                           outputs × r)
``flops_update``           per vector written by a pulsed update (gradient or transfer      analog-tile.md §2.3;
                           write) with update or BL management: ``in + out`` (the absolute  hardware-cost.md §1.3
                           maxima of x and d that scale the pulse probabilities); without
                           management: 0; exact updates (``pulse_type`` ``none*``): 2 per
                           cell written (multiply and add)
``flops_buffer``           TT-v2 / c-TTv2, per buffer element of a line read: ``β·y``,      algorithms.md §8.3 step 2,
                           ``+ H``, ``÷ divisor``, then ``momentum·ω`` (forget_buffer) or   §8.4
                           ``ω − (1 − momentum)·n·divisor`` (3): 4 or 6, one less with
                           ``no_buffer``
``flops_mp``               MP: χ accumulation ``(lr·d)·xᵀ``: ``out + 2·out·in`` per         algorithms.md §8.6;
                           vector; quantisation of a vector of length L into bins:          hardware-cost.md §3 (Table 5:
                           ``3L`` (maximum, divide, multiply), ``+ L`` with stochastic     2D² + D)
                           rounding; row transfer: ``3·in`` per row (``χ/ε``, ``n·ε``,
                           subtract)
``flops_reduce``           the visible weight W̄ = Σ γ_n W⁽ⁿ⁾ summed digitally (read mode   algorithms.md §1
                           "reduced"), per recomputation: ``(2k − 1)·out·in`` for the k ≥ 2
                           tiles with γ_n ≠ 0 (0 for k = 1); chopped TT-v2 adds
                           ``2·out·in`` for the chopper signs ``(c_out c_inᵀ)∘A``
=========================  ===============================================================  ==============================

``digital_state_updates`` counts elements of the digital state (TT-v2's H, MP's χ) read and written
back (memory traffic: 2 × bytes per element each).
"""
from __future__ import annotations

import functools
from typing import Optional

import torch

from ..config.io import IOConfig
from ..config.update import UpdateConfig

__all__ = ["OP_COUNT_NAMES", "OP_COUNT_INDEX", "MAX_COUNTS", "new_op_counts", "counting_update", "add",
           "count_read", "update_flops", "read_lines"]

#: The counters of a tile runtime, in table order.
OP_COUNT_NAMES = (
    "forward_vectors",        # vectors read in the forward pass (each once)
    "forward_mvms",           # forward MVMs run: vectors + bound-management re-reads
    "backward_mvms",          # backward MVMs run (bound management is off there)
    "transfer_reads",         # one-hot MVMs of transfer reads (one per line read)
    "dac_conversions",        # DAC inputs of every MVM (L_in per MVM)
    "adc_conversions",        # ADC outputs of every MVM (L_out per MVM)
    "update_calls",           # update(x, d, lr) calls (mini-batches)
    "update_vectors",         # vector pairs (samples) of those calls: the gradient writes
    "max_update_vectors",     # the largest update call (a maximum, not a sum): MP's batch buffer
    "transfer_events",        # transfer events (cascades: a source read into a target; MP: a row transfer)
    "transfer_lines",         # lines written by transfers (cascades: the lines read; MP: the rows)
    "flops_io",               # noise and bound management of the reads
    "flops_update",           # update management of every written vector
    "flops_buffer",           # TT-v2 / c-TTv2 buffer arithmetic
    "flops_mp",               # MP: χ accumulation, quantisation, row transfers
    "flops_reduce",           # the digital sum of the visible weight
    "digital_state_updates",  # elements of H or χ read and written back
)
OP_COUNT_INDEX = {name: k for k, name in enumerate(OP_COUNT_NAMES)}
#: Entries that are maxima rather than sums (a per-epoch difference is meaningless for them).
MAX_COUNTS = frozenset({"max_update_vectors"})

_NM_MAX_FLOPS = {"abs_max": 2, "max": 2, "average_abs_max": 2, "constant": 1}  # × L_in, plus L_out


def new_op_counts() -> torch.Tensor:
    """A zeroed counter table (int64, host memory)."""
    return torch.zeros(len(OP_COUNT_NAMES), dtype=torch.int64)


@functools.lru_cache(maxsize=256)
def counting_update(update: UpdateConfig) -> UpdateConfig:
    """``update`` with ``count_pulses`` on: what a counting tile hands the native update and transfer ops."""
    return update if update.count_pulses else update.replace(count_pulses=True)


def add(table: torch.Tensor, **counts: int) -> None:
    """``table[name] += value`` for every keyword (``max_update_vectors``: the maximum)."""
    a = table.numpy()
    for name, value in counts.items():
        k = OP_COUNT_INDEX[name]
        if name in MAX_COUNTS:
            a[k] = max(int(a[k]), int(value))
        else:
            a[k] += int(value)


def read_lines(weight_shape: tuple[int, ...], transpose: bool) -> tuple[int, int]:
    """``(L_in, L_out)`` of a read of ``W[out, in]`` (``transpose``: the backward read ``Wᵀ d``)."""
    out_size, in_size = int(weight_shape[0]), int(weight_shape[1])
    return (out_size, in_size) if transpose else (in_size, out_size)


def count_read(table: torch.Tensor, io: Optional[IOConfig], transpose: bool, rounds: list[int], l_in: int,
               l_out: int) -> None:
    """Count one read call: ``rounds[k]`` vectors ran in bound-management round k (``rounds[0]`` = all);
    ``io`` None: a perfect read (no digital operations).

    Spec: analog-tile.md §1.3 (steps 1, 2, 7, 8), §1.4.
    """
    if not rounds:
        return
    vectors = rounds[0]
    mvms = sum(rounds)
    rereads = mvms - vectors
    flops = 0
    if io is not None and not io.is_perfect:
        per = _NM_MAX_FLOPS.get(io.noise_management)
        if per is not None:
            flops = vectors * (per * l_in + l_out)
            if io.noise_management == "average_abs_max":
                flops += 3 * vectors
        flops += rereads * (l_in + l_out)
    a = table.numpy()
    if transpose:
        a[OP_COUNT_INDEX["backward_mvms"]] += mvms
    else:
        a[OP_COUNT_INDEX["forward_vectors"]] += vectors
        a[OP_COUNT_INDEX["forward_mvms"]] += mvms
    a[OP_COUNT_INDEX["dac_conversions"]] += mvms * l_in
    a[OP_COUNT_INDEX["adc_conversions"]] += mvms * l_out
    a[OP_COUNT_INDEX["flops_io"]] += flops


def update_flops(update: UpdateConfig, vectors: int, in_size: int, out_size: int,
                 cells_per_vector: Optional[int] = None) -> int:
    """Digital operations of ``vectors`` written vectors (analog-tile.md §2.3; hardware-cost.md §1.3).

    Pulsed types: ``in + out`` per vector with update or BL management (the maxima of x and d), else
    0. Exact types (``none``, ``none_with_device``): 2 per cell written (``cells_per_vector``,
    default ``in·out``).
    """
    if not update.is_pulsed():
        cells = in_size * out_size if cells_per_vector is None else cells_per_vector
        return 2 * cells * vectors
    if update.update_management_eff():
        return (in_size + out_size) * vectors
    return 0
