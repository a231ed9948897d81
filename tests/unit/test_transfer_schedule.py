"""Hand-worked bookkeeping of the transfer cascade: when each transfer happens, which line, in which
order, and the warm-start state sequences. Spec: algorithms.md §3.2–§3.4, §6.1–§6.2, §12."""
from __future__ import annotations

import pytest

from xbarsim.algorithms.schedule import CascadeSchedule, period_in_vectors


def _events(segments):
    """[(position, source, target, lines)] of a plan."""
    return [(e.position, e.source, e.target, e.lines) for s in segments for e in s.events]


def _run(sched, calls):
    out = []
    for m in calls:
        out.extend(_events(sched.plan(m)))
    return out


def test_periods_units():
    assert period_in_vectors(2, 8, True) == 16
    assert period_in_vectors(0.5, 3, True) == 2  # ceil(1.5)
    assert period_in_vectors(0, 8, True) == 0
    assert period_in_vectors(2.5, 8, False) == 3  # half away from zero
    assert period_in_vectors(2.4, 8, False) == 2
    assert period_in_vectors(0.4, 8, False) == 0  # rounds to 0: disabled


def test_mnist_worked_schedule():
    """§3.4: 4 tiles, batch 8, transfer_every = [250, 50, 10, 2] mini-batches."""
    s = CascadeSchedule(4, 512, [250, 50, 10, 2])
    assert s.periods(8) == [2000, 400, 80, 16]
    events = _run(s, [8] * 100)
    # After every 2nd batch 3 -> 2; after every 10th also 2 -> 1 (after 3 -> 2); after every 50th 1 -> 0.
    by_batch: dict[int, list[tuple[int, int]]] = {}
    for pos, src, tgt, _ in events:
        assert pos % 8 == 0  # integer periods in mini-batches: after the last vector of a batch
        by_batch.setdefault(pos // 8, []).append((src, tgt))
    assert sorted(by_batch) == list(range(2, 101, 2))
    assert by_batch[2] == [(3, 2)]
    assert by_batch[10] == [(3, 2), (2, 1)]
    assert by_batch[50] == [(3, 2), (2, 1), (1, 0)]
    assert by_batch[100] == [(3, 2), (2, 1), (1, 0)]
    assert all(src != 0 for src, _ in sum(by_batch.values(), []))  # tile 0 never transfers


def test_first_transfer_at_period_not_zero():
    s = CascadeSchedule(2, 4, [1, 1])
    segs = s.plan(1)
    assert _events(segs) == [(1, 1, 0, (0,))]
    s2 = CascadeSchedule(2, 4, [3, 3], units_in_mbatch=False)
    assert _run(s2, [1, 1]) == []
    assert _run(s2, [1]) == [(3, 1, 0, (0,))]


def test_lines_cycle_and_wrap():
    s = CascadeSchedule(2, 3, [1, 1])
    lines = [e[3] for e in _run(s, [5] * 7)]
    assert lines == [(0,), (1,), (2,), (0,), (1,), (2,), (0,)]
    s = CascadeSchedule(2, 5, [1, 1], n_reads_per_transfer=3)
    lines = [e[3] for e in _run(s, [2] * 3)]
    assert lines == [(0, 1, 2), (3, 4, 0), (1, 2, 3)]
    s = CascadeSchedule(2, 2, [1, 1], n_reads_per_transfer=5)  # capped at n_lines
    assert [e[3] for e in _run(s, [1, 1])] == [(0, 1), (0, 1)]


def test_each_source_has_its_own_pointer():
    s = CascadeSchedule(3, 4, [0, 2, 1])
    ev = _run(s, [1] * 4)
    assert ev == [(1, 2, 1, (0,)), (2, 2, 1, (1,)), (2, 1, 0, (0,)), (3, 2, 1, (2,)),
                  (4, 2, 1, (3,)), (4, 1, 0, (1,))]


def test_non_integer_period_splits_the_batch():
    """transfer_every = 0.5 mini-batches of 4 vectors: P = 2, transfers after vectors 2 and 4."""
    s = CascadeSchedule(2, 3, [0.5, 0.5])
    segs = s.plan(4)
    assert [(seg.n_vectors, len(seg.events)) for seg in segs] == [(2, 1), (2, 1)]
    assert sum(seg.n_vectors for seg in segs) == 4
    # units_in_mbatch=False, period 3 vectors, batches of 4: after vectors 3 (call 1), 6 -> index 2 of call 2.
    s = CascadeSchedule(2, 3, [3, 3], units_in_mbatch=False)
    assert [(g.n_vectors, len(g.events)) for g in s.plan(4)] == [(3, 1), (1, 0)]
    assert [(g.n_vectors, len(g.events)) for g in s.plan(4)] == [(2, 1), (2, 0)]


def test_short_last_batch_changes_the_period():
    """m is re-read per call: P = ceil(1·8) = 8, then ceil(1·3) = 3 for a short batch (§3.2)."""
    s = CascadeSchedule(2, 4, [1, 1])
    assert _events(s.plan(8)) == [(8, 1, 0, (0,))]
    segs = s.plan(3)  # u goes 8 -> 11; multiples of 3 in (8, 11]: 9
    assert [(g.n_vectors, [e.position for e in g.events]) for g in segs] == [(1, [9]), (2, [])]
    assert _events(s.plan(8)) == [(16, 1, 0, (2,))]  # line 1 went at u = 9


def test_zero_vectors_and_disabled_periods():
    s = CascadeSchedule(3, 4, [5, 0, 1])
    assert [(g.n_vectors, g.events) for g in s.plan(0)] == [(0, ())]
    ev = _run(s, [1] * 3)
    assert {(src, tgt) for _, src, tgt, _ in ev} == {(2, 1)}  # reads from tile 1 disabled (P_1 = 0)


def test_random_selection_uses_the_callback():
    s = CascadeSchedule(2, 10, [1, 1], random_selection=True, n_reads_per_transfer=2)
    starts = iter([7, 9])
    ev = _run_with(s, [1, 1], lambda n: next(starts))
    assert [e[3] for e in ev] == [(7, 8), (9, 0)]
    with pytest.raises(ValueError, match="random_line"):
        CascadeSchedule(2, 10, [1, 1], random_selection=True).plan(1)


def _run_with(s, calls, fn):
    return [x for m in calls for x in _events(s.plan(m, fn))]


def test_state_round_trip():
    s = CascadeSchedule(3, 4, [4, 2, 1], warm_start="paper")
    _run(s, [3, 3])
    s.signal()
    t = CascadeSchedule(3, 4, [4, 2, 1], warm_start="paper")
    t.load_state(s.state())
    assert _run(s, [3] * 4) == _run(t, [3] * 4)


# --- warm start (§6) --------------------------------------------------------------------------------

def test_warm_start_paper_fills_tiles_in_turn():
    """Paper Algorithm 1: gradient tile N -> tile k every P_N, k = 0, 1, ..., N-1, then the cascade."""
    s = CascadeSchedule(4, 8, [8, 4, 2, 1], warm_start="paper")
    assert _run(s, [1]) == [(1, 3, 0, (0,))]
    assert _run(s, [1]) == [(2, 3, 0, (1,))]  # no other transfer during the warm phase
    s.signal()
    s.signal()  # raising twice before a cycle is one signal
    assert _run(s, [1]) == [(3, 3, 1, (2,))]
    s.signal()
    assert _run(s, [1]) == [(4, 3, 2, (3,))]
    assert s.in_warm_phase()
    s.signal()
    assert not s.in_warm_phase() or s.pending
    assert [(src, tgt) for _, src, tgt, _ in _run(s, [1, 1, 1, 1])] == [(3, 2), (3, 2), (2, 1), (3, 2),
                                                                          (3, 2), (2, 1), (1, 0)]
    assert not s.in_warm_phase()
    s.signal()  # signals after the warm phase are ignored
    assert [(src, tgt) for _, src, tgt, _ in _run(s, [1])] == [(3, 2)]


def test_warm_start_reference_cpu():
    """c starts at N (xbarsim target 0); N -> N - c every P_{N-1}; c = 0 is an idle self-transfer."""
    s = CascadeSchedule(3, 8, [100, 2, 1], warm_start="reference_cpu")
    assert s.periods(1) == [100, 2, 1]
    assert _run(s, [1, 1, 1, 1]) == [(2, 2, 0, (0,)), (4, 2, 0, (1,))]
    s.signal()
    assert _run(s, [1, 1]) == [(6, 2, 1, (2,))]
    s.signal()
    assert _run(s, [1, 1, 1, 1]) == []  # c = 0: target N = source: skipped
    assert s.in_warm_phase()
    s.signal()
    ev = _run(s, [1, 1])
    assert [(src, tgt) for _, src, tgt, _ in ev] == [(2, 1), (2, 1), (1, 0)]
    assert not s.in_warm_phase()


def test_warm_start_reference_cuda():
    """N -> N-1 always; relay N-1 -> N - c every P_{N-1} with tile N-1's pointer; executed
    self-transfer at c = 1 and write-back into the gradient tile at c = 0."""
    s = CascadeSchedule(3, 8, [100, 2, 1], warm_start="reference_cuda")
    assert _run(s, [1, 1]) == [(1, 2, 1, (0,)), (2, 2, 1, (1,)), (2, 1, 0, (0,))]
    s.signal()
    assert _run(s, [1, 1]) == [(3, 2, 1, (2,)), (4, 2, 1, (3,)), (4, 1, 1, (1,))]  # self-transfer
    s.signal()
    assert _run(s, [1, 1]) == [(5, 2, 1, (4,)), (6, 2, 1, (5,)), (6, 1, 2, (2,))]  # write-back
    s.signal()
    ev = _run(s, [1, 1])
    assert [(src, tgt) for _, src, tgt, _ in ev] == [(2, 1), (2, 1), (1, 0)]
    assert not s.in_warm_phase()


def test_warm_start_two_tiles_reference_modes_use_entry_zero():
    """With 2 tiles the relay period is transfer_every[0] (aihwkit transfer_every_vec[1])."""
    s = CascadeSchedule(2, 4, [3, 1], warm_start="reference_cuda")
    ev = _run(s, [1, 1, 1])
    assert [(p, src, tgt) for p, src, tgt, _ in ev] == [(1, 1, 0), (2, 1, 0), (3, 1, 0), (3, 0, 0)]
    s = CascadeSchedule(2, 4, [3, 1], warm_start="reference_cpu")
    ev = _run(s, [1, 1, 1])
    assert [(p, src, tgt) for p, src, tgt, _ in ev] == [(3, 1, 0)]


def test_signals_ignored_without_warm_start():
    s = CascadeSchedule(2, 4, [1, 1])
    s.signal()
    assert not s.pending


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_tiles"):
        CascadeSchedule(1, 4, [1])
    with pytest.raises(ValueError, match="transfer_every"):
        CascadeSchedule(2, 4, [1])
    with pytest.raises(ValueError, match="warm_start"):
        CascadeSchedule(2, 4, [1, 1], warm_start="bogus")
