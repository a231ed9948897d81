"""Transfer schedules of transfer compounds: counters, periods, line pointers and warm start.

Tile numbering is xbarsim's (= the paper's): tile 0 is the most significant tile, tile N = n_tiles − 1
the gradient tile. A transfer *from* tile n writes into tile n − 1 (cascade), or into the warm-start
target. A transfer's learning rate belongs to its **source** tile.

The schedule is pure bookkeeping (Python ints only, so planning a step never synchronises a GPU):
given the number of vectors m of an update call, it returns the segments of the call — how many
vectors to apply, then which transfer events are due — and advances its counters. The algorithm
object executes the plan (gradient pulses, then the fused transfer op per segment).

Spec: algorithms.md §3.2 (counters, periods, order), §3.3 step 2 (lines and pointers), §6.1–§6.2
(warm start), §11 (one training step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = ["TransferEvent", "Segment", "CascadeSchedule", "WARM_START_MODES", "period_in_vectors"]

WARM_START_MODES = ("none", "paper", "reference_cpu", "reference_cuda")


@dataclass(frozen=True)
class TransferEvent:
    """One transfer event: read ``lines`` of tile ``source`` and write them into tile ``target``.

    Attributes:
        source: tile read (its pointer chose the lines; its rate β_source applies).
        target: tile written (equal to ``source`` only for the executed self-transfer of
            ``warm_start="reference_cuda"``).
        lines: the input lines (output lines when transferring rows) read, in order.
        position: value of the vector-update counter ``u`` after which the event happens.
    """

    source: int
    target: int
    lines: tuple[int, ...]
    position: int


@dataclass(frozen=True)
class Segment:
    """``n_vectors`` consecutive vectors of the call, followed by ``events`` (in execution order)."""

    n_vectors: int
    events: tuple[TransferEvent, ...]


def period_in_vectors(transfer_every: float, m: int, units_in_mbatch: bool) -> int:
    """``P = max(ceil(transfer_every·m), 0)`` in mini-batch units, else ``max(round(transfer_every), 0)``.

    ``round`` is half away from zero (C's ``round``, as aihwkit); 0 disables the transfer.
    Spec: algorithms.md §3.2.
    """
    if units_in_mbatch:
        return max(int(math.ceil(transfer_every * m)), 0)
    return max(int(math.floor(transfer_every + 0.5)), 0)


class CascadeSchedule:
    """Counters, pointers and warm-start state of a cascade of transfers.

    Args:
        n_tiles: number of tiles N + 1 (≥ 2).
        n_lines: lines of the transfer direction (``in_size`` when reading input lines).
        transfer_every: per-tile periods in xbarsim order (``transfer_every[n]`` = period of reads
            from tile n; entry 0 never produces a cascade transfer but is the relay period of the
            reference warm starts with 2 tiles).
        units_in_mbatch: periods count mini-batches (else vector updates).
        n_reads_per_transfer: consecutive lines read per event (capped at ``n_lines``).
        random_selection: start each event at a random line (``random_line(n_lines)``) instead of
            the source's pointer.
        warm_start: ``"none"``, ``"paper"``, ``"reference_cpu"`` or ``"reference_cuda"``.

    State (``state()`` / ``load_state()``): ``updates`` (vector updates applied to the gradient
    tile), ``pointers`` (one per tile), ``warm`` (``k`` of the paper mode, or the reference modes'
    aihwkit-numbered pointer ``c``) and ``pending`` (a raised, not yet consumed plateau signal).
    """

    def __init__(self, n_tiles: int, n_lines: int, transfer_every: Sequence[float], *,
                 units_in_mbatch: bool = True, n_reads_per_transfer: int = 1,
                 random_selection: bool = False, warm_start: str = "none") -> None:
        if n_tiles < 2:
            raise ValueError(f"CascadeSchedule: n_tiles must be >= 2; got {n_tiles}")
        if len(transfer_every) != n_tiles:
            raise ValueError(f"CascadeSchedule: transfer_every must have n_tiles={n_tiles} entries; "
                             f"got {len(transfer_every)}")
        if warm_start not in WARM_START_MODES:
            raise ValueError(f"CascadeSchedule: warm_start must be one of {WARM_START_MODES}; got {warm_start!r}")
        if n_reads_per_transfer < 1:
            raise ValueError(f"CascadeSchedule: n_reads_per_transfer must be >= 1; got {n_reads_per_transfer}")
        self.n_tiles = n_tiles
        self.n_lines = n_lines
        self.transfer_every = tuple(float(v) for v in transfer_every)
        self.units_in_mbatch = units_in_mbatch
        self.n_reads = min(n_reads_per_transfer, n_lines)
        self.random_selection = random_selection
        self.warm_start = warm_start
        self.updates = 0
        self.pointers = [0] * n_tiles
        self.pending = False
        # paper: k starts at 0 (target tile); reference modes: c starts at n_tiles − 1 (aihwkit numbering).
        self.warm = 0 if warm_start == "paper" else n_tiles - 1

    # --- state ------------------------------------------------------------------------------------
    @property
    def last(self) -> int:
        """Index N of the gradient tile."""
        return self.n_tiles - 1

    def state(self) -> dict:
        return {"updates": self.updates, "pointers": list(self.pointers), "warm": self.warm,
                "pending": self.pending}

    def load_state(self, state: dict) -> None:
        pointers = [int(p) for p in state["pointers"]]
        if len(pointers) != self.n_tiles:
            raise ValueError(f"CascadeSchedule.load_state: pointers must have {self.n_tiles} entries; got {len(pointers)}")
        self.updates = int(state["updates"])
        self.pointers = pointers
        self.warm = int(state["warm"])
        self.pending = bool(state["pending"])

    # --- warm start -------------------------------------------------------------------------------
    def signal(self) -> None:
        """Raise the plateau signal; it is consumed at the start of the next update call (§6.3)."""
        if self.warm_start != "none":
            self.pending = True

    def in_warm_phase(self) -> bool:
        """True while the warm start still directs the transfers."""
        if self.warm_start == "none":
            return False
        if self.warm_start == "paper":
            return self.warm < self.last
        return self.warm >= 0

    def _consume_signal(self) -> None:
        if not self.pending:
            return
        self.pending = False
        if self.warm_start == "paper":
            if self.warm < self.last:
                self.warm += 1
        elif self.warm >= 0:
            self.warm -= 1

    # --- periods and active transfers ------------------------------------------------------------
    def periods(self, m: int) -> list[int]:
        """``P_n`` in vector updates for an update call of ``m`` vectors (xbarsim order)."""
        return [period_in_vectors(te, m, self.units_in_mbatch) for te in self.transfer_every]

    def active(self, m: int) -> list[tuple[int, int, int]]:
        """The transfers that can fall due in this call: ``(source, target, period)``, fastest source
        first (the order of same-position events)."""
        P = self.periods(m)
        N = self.last
        if not self.in_warm_phase():
            return [(n, n - 1, P[n]) for n in range(N, 0, -1)]
        if self.warm_start == "paper":  # §6.1: gradient tile straight into tile k, period P_N
            return [(N, self.warm, P[N])]
        target = N - self.warm  # xbarsim tile of the reference pointer c
        if self.warm_start == "reference_cpu":  # §6.2: N → N − c every P_{N−1}; self-transfer idle
            return [] if target == N else [(N, target, P[N - 1])]
        # reference_cuda: N → N−1 always, then the relay N−1 → N − c every P_{N−1} (self-transfer
        # executed when c = 1, write-back into the gradient tile when c = 0).
        return [(N, N - 1, P[N]), (N - 1, target, P[N - 1])]

    # --- planning ----------------------------------------------------------------------------------
    def _lines(self, source: int, random_line: Callable[[int], int] | None) -> tuple[int, ...]:
        if self.random_selection:
            if random_line is None:
                raise ValueError("CascadeSchedule.plan: random_selection needs a random_line callback")
            start = int(random_line(self.n_lines))
        else:
            start = self.pointers[source]
        lines = tuple((start + i) % self.n_lines for i in range(self.n_reads))
        self.pointers[source] = (start + self.n_reads) % self.n_lines
        return lines

    def plan(self, m: int, random_line: Callable[[int], int] | None = None,
             enabled: Sequence[bool] | None = None) -> list[Segment]:
        """Plan an update call of ``m`` vectors and advance the counters.

        Args:
            m: vectors of the call.
            random_line: ``n_lines -> start line`` for ``random_selection``.
            enabled: per source tile, False where its transfer rate is 0: such transfers do nothing,
                not even advance the pointer (algorithms.md §3.3 step 1).

        Returns segments whose ``n_vectors`` sum to ``m``; each segment's events happen after its
        vectors. A call without due transfers is one segment without events.
        """
        if m < 0:
            raise ValueError(f"CascadeSchedule.plan: m must be >= 0; got {m}")
        self._consume_signal()
        active = self.active(m)
        u0, u1 = self.updates, self.updates + m
        due: dict[int, list[tuple[int, int]]] = {}
        for order, (source, target, period) in enumerate(active):
            if period <= 0 or (enabled is not None and not enabled[source]):
                continue
            first = (u0 // period + 1) * period
            for pos in range(first, u1 + 1, period):
                due.setdefault(pos, []).append((order, source, target))
        segments: list[Segment] = []
        done = u0
        for pos in sorted(due):
            events = tuple(TransferEvent(source=s, target=t, lines=self._lines(s, random_line), position=pos)
                           for _, s, t in sorted(due[pos]))
            segments.append(Segment(n_vectors=pos - done, events=events))
            done = pos
        if done < u1 or not segments:
            segments.append(Segment(n_vectors=u1 - done, events=()))
        self.updates = u1
        return segments
