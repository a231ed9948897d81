"""Loss-plateau detection for the warm start of residual learning, and the signal that switches tiles.

The training loop feeds :class:`PlateauDetector` one value per epoch (the mean training loss of
the epoch). A positive decision raises the warm-start signal on **every** transfer compound of the
model (:func:`signal_warm_start`), counts a switch and clears the history.

Spec: algorithms.md §6.3.
"""
from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["PlateauDetector", "PLATEAU_RULES", "signal_warm_start"]

PLATEAU_RULES = ("paper", "reference_cifar", "reference_mnist")


class PlateauDetector:
    """Decides after each epoch whether the loss has plateaued (algorithms.md §6.3).

    Rules (``L`` = history, newest last; ``s`` = switches so far):

    * ``"paper"`` (Algorithm 1, LossPlateau): aggressive phase (``s < aggressive_switches``):
      ``len(L) >= 2`` and ``L[-1] > L[-2]``; mild phase: ``len(L) >= 6`` and at least 2 of the last
      5 differences ``L[i+1] - L[i]`` are > 0.
    * ``"reference_cifar"``: as ``"paper"`` with the comparisons ``> 1e-4``.
    * ``"reference_mnist"``: aggressive as ``"reference_cifar"``; mild: at least 2 of the last 5
      differences are ``>= -0.01`` (the loss fell by less than 0.01).

    Args:
        rule: one of ``"paper"``, ``"reference_cifar"``, ``"reference_mnist"``. Default ``"paper"``.
        aggressive_switches: switches made with the aggressive rule before the mild one. Default 4.
        clear_on_switch: clear the history after a switch (the reference code's behaviour). Default True.

    Examples::

        >>> det = PlateauDetector("paper")
        >>> [det.update(v) for v in (1.0, 0.9, 0.95)]
        [False, False, True]
    """

    def __init__(self, rule: str = "paper", *, aggressive_switches: int = 4, clear_on_switch: bool = True) -> None:
        if rule not in PLATEAU_RULES:
            raise ValueError(f"PlateauDetector: rule must be one of {PLATEAU_RULES}; got {rule!r}")
        if isinstance(aggressive_switches, bool) or not isinstance(aggressive_switches, int) or aggressive_switches < 0:
            raise ValueError(f"PlateauDetector: aggressive_switches must be an int >= 0; got {aggressive_switches!r}")
        if not isinstance(clear_on_switch, bool):
            raise TypeError(f"PlateauDetector: clear_on_switch must be a bool; got {clear_on_switch!r}")
        self.rule = rule
        self.aggressive_switches = aggressive_switches
        self.clear_on_switch = clear_on_switch
        self.history: list[float] = []
        self.switches = 0

    @property
    def aggressive(self) -> bool:
        """True while the aggressive rule applies (fewer than ``aggressive_switches`` switches)."""
        return self.switches < self.aggressive_switches

    def _decide(self) -> bool:
        L = self.history
        if self.aggressive:
            if len(L) < 2:
                return False
            rise = L[-1] - L[-2]
            return rise > 0 if self.rule == "paper" else rise > 1e-4
        if len(L) < 6:
            return False
        diffs = [L[i + 1] - L[i] for i in range(len(L) - 6, len(L) - 1)]
        if self.rule == "paper":
            hits = sum(d > 0 for d in diffs)
        elif self.rule == "reference_cifar":
            hits = sum(d > 1e-4 for d in diffs)
        else:
            hits = sum(d >= -0.01 for d in diffs)
        return hits >= 2

    def update(self, loss: float) -> bool:
        """Append one epoch's mean training loss; True if a plateau was detected (a switch)."""
        if isinstance(loss, torch.Tensor):
            loss = loss.item()
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not math.isfinite(loss):
            raise ValueError(f"PlateauDetector.update: loss must be a finite number; got {loss!r}")
        self.history.append(float(loss))
        if not self._decide():
            return False
        self.switches += 1
        if self.clear_on_switch:
            self.history.clear()
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "aggressive_switches": self.aggressive_switches,
                "clear_on_switch": self.clear_on_switch, "history": list(self.history),
                "switches": self.switches}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["rule"] != self.rule:
            raise ValueError(f"PlateauDetector.load_state_dict: checkpoint rule {state['rule']!r} differs "
                             f"from this detector's {self.rule!r}")
        self.aggressive_switches = int(state["aggressive_switches"])
        self.clear_on_switch = bool(state["clear_on_switch"])
        self.history = [float(v) for v in state["history"]]
        self.switches = int(state["switches"])

    def __repr__(self) -> str:
        return f"PlateauDetector(rule={self.rule!r}, switches={self.switches}, history={len(self.history)})"


def signal_warm_start(model: torch.nn.Module) -> int:
    """Raise the warm-start signal on every module of ``model`` that has one (all switch together).

    Returns the number of modules signalled (transfer compounds with a warm start other than "none").
    """
    count = 0
    for module in model.modules():
        fn = getattr(module, "signal_warm_start", None)
        if callable(fn) and fn():
            count += 1
    return count
