"""Plateau detectors on scripted loss histories: each rule, both phases, clearing. Spec: algorithms.md §6.3."""
from __future__ import annotations

import pytest
import torch

from xbarsim.algorithms.plateau import PlateauDetector, signal_warm_start


def _feed(det, values):
    return [det.update(v) for v in values]


def test_paper_aggressive_fires_on_any_rise_and_clears():
    det = PlateauDetector("paper")
    assert _feed(det, [1.0, 0.9, 0.9]) == [False, False, False]  # equal is not a rise
    assert det.update(0.9000001) is True
    assert det.switches == 1 and det.history == []
    assert det.update(0.5) is False  # one value after a clear cannot fire


def test_reference_threshold_1e4():
    for rule in ("reference_cifar", "reference_mnist"):
        det = PlateauDetector(rule)
        assert _feed(det, [1.0, 1.00005]) == [False, False]  # rise of 5e-5 < 1e-4
        assert det.update(1.0002) is True


def test_mild_phase_after_four_switches():
    det = PlateauDetector("paper")
    for _ in range(4):
        _feed(det, [1.0, 2.0])
    assert det.switches == 4 and not det.aggressive
    # Mild: needs >= 6 values and >= 2 rises among the last 5 differences.
    assert _feed(det, [5.0, 4.0, 4.5, 3.0, 3.5]) == [False] * 5  # only 5 values
    assert det.update(2.0) is True  # diffs: -1, +0.5, -1.5, +0.5, -1.5 -> 2 rises
    assert det.switches == 5
    assert _feed(det, [6, 5, 4, 3, 2, 2.5]) == [False] * 6  # one rise only


def test_mild_window_is_the_last_five_differences():
    det = PlateauDetector("paper", aggressive_switches=0)
    # An early rise falls out of the window of the last 5 differences.
    assert _feed(det, [1.0, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.6]) == [False] * 8
    assert det.update(1.7) is True


def test_reference_mnist_mild_counts_small_decreases():
    det = PlateauDetector("reference_mnist", aggressive_switches=0)
    # differences: -0.005, -0.1, -0.1, -0.1, -0.005 -> two are >= -0.01
    assert _feed(det, [1.0, 0.995, 0.895, 0.795, 0.695]) == [False] * 5
    assert det.update(0.69) is True
    det = PlateauDetector("reference_cifar", aggressive_switches=0)
    assert _feed(det, [1.0, 0.995, 0.895, 0.795, 0.695, 0.69]) == [False] * 6


def test_no_clear_keeps_history():
    det = PlateauDetector("paper", clear_on_switch=False)
    assert _feed(det, [1.0, 2.0, 3.0]) == [False, True, True]
    assert det.history == [1.0, 2.0, 3.0]


def test_state_dict_round_trip():
    det = PlateauDetector("reference_cifar")
    _feed(det, [1.0, 2.0, 1.5])
    other = PlateauDetector("reference_cifar")
    other.load_state_dict(det.state_dict())
    assert other.history == det.history and other.switches == det.switches
    with pytest.raises(ValueError, match="rule"):
        PlateauDetector("paper").load_state_dict(det.state_dict())


def test_bad_input():
    with pytest.raises(ValueError, match="rule"):
        PlateauDetector("nope")
    det = PlateauDetector()
    with pytest.raises(ValueError, match="loss must be a finite number"):
        det.update(float("nan"))
    assert det.history == []
    assert det.update(torch.tensor(1.0)) is False


def test_signal_warm_start_reaches_every_module():
    class Dummy(torch.nn.Module):
        def __init__(self, active):
            super().__init__()
            self.active, self.signals = active, 0

        def signal_warm_start(self):
            self.signals += 1
            return self.active

    model = torch.nn.Sequential(Dummy(True), torch.nn.Sequential(Dummy(True), Dummy(False)))
    assert signal_warm_start(model) == 2
    assert [m.signals for m in model.modules() if isinstance(m, Dummy)] == [1, 1, 1]
