"""The least-squares toy of the paper (§5.2, Fig. 7 right) as presets.

Spec: algorithms.md §10.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ...config import TileConfig
from ...config.algorithms import ResidualLearning, SingleTile
from ...config.devices import SoftBounds
from ...config.update import UpdateConfig
from ._common import PERFECT, check_choice

__all__ = ["ToyPreset", "toy_least_squares", "TOY_VARIANTS"]

#: "paper": the settings of algorithms.md §10. "theory": γ = 0.5 (the paper's γ ≈ 1/n_states heuristic
#: with headroom), periods growing ×16 per tile from 1 step, a constant gradient-tile rate 0.1 and
#: β = 2·fast_lr·γ^(N+1)/16 (β ∝ γ^(N+1), so each tile's loop is ~16× slower than the next finer
#: one, as the theory's timescale separation asks). Both are faithful residual learning.
TOY_VARIANTS = ("paper", "theory")


@dataclass(frozen=True)
class ToyPreset:
    """Settings of one run of the least-squares toy ``min_w (w − b)²``.

    Attributes:
        config: TileConfig of the ``1 × 1`` layer (no bias; ``y = W̄·x``).
        lr: the optimizer lr (the analog SGD baseline's pulse-count rate; irrelevant to the
            multi-tile rates, which are constant).
        x: the input value.
        steps: default number of steps of a measurement.
        notes: what is taken from the paper and what is xbarsim's choice.
    """

    config: TileConfig
    lr: float
    x: float = 1.0
    steps: int = 20000
    notes: str = ""
    device_noise: bool = True


def toy_least_squares(n_tiles: int, *, variant: str = "paper", device_noise: bool = True,
                      sgd_lr: Optional[float] = None) -> ToyPreset:
    """The least-squares toy (paper §5.2, Fig. 7 right; algorithms.md §10).

    Args:
        n_tiles: 1 (analog SGD on one tile) or ≥ 2 (residual learning).
        variant: ``"paper"`` (§10: γ = 0.1, ``transfer_every[n] = 2·2^(N−n)`` steps, transfer_lr 0.01,
            fast_lr 0.01 constant, no update/BL management, no warm start) or ``"theory"`` (see
            :data:`TOY_VARIANTS`).
        device_noise: SoftBounds with the aihwkit defaults (30 % device-to-device and cycle-to-cycle
            variation; the paper's setting) or without any variation (the theory's ALD device).
        sgd_lr: pulse-count rate of the 1-tile analog SGD baseline (default: the gradient tile's rate
            of the variant, 0.01 or 0.1, so that both receive pulses at the same rate).
    """
    check_choice("toy_least_squares", "variant", variant, TOY_VARIANTS)
    if isinstance(n_tiles, bool) or not isinstance(n_tiles, int) or n_tiles < 1:
        raise ValueError(f"presets.paper.toy_least_squares: n_tiles must be an int >= 1; got {n_tiles!r}")
    noise = {} if device_noise else dict(dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0, w_max_dtod=0.0,
                                         up_down_dtod=0.0)
    device_model = SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.5, **noise)
    update = UpdateConfig(update_bl_management=False, update_management=False)
    fast = 0.01 if variant == "paper" else 0.1
    base = dict(forward=PERFECT, backward=PERFECT, update=update, device_model=device_model)
    if n_tiles == 1:
        lr = fast if sgd_lr is None else float(sgd_lr)
        return ToyPreset(TileConfig(**base, algorithm=SingleTile()), lr=lr, device_noise=device_noise,
                         notes="analog SGD on one 4-state SoftBounds tile, η = lr")
    N = n_tiles - 1
    if variant == "paper":
        algo = ResidualLearning(n_tiles=n_tiles, gamma_vec=tuple(0.1**n for n in range(n_tiles)),
                                transfer_every=tuple(2.0 * 2 ** (N - n) for n in range(n_tiles)),
                                transfer_lr=0.01, scale_transfer_lr=False, fast_lr=0.01, scale_fast_lr=False,
                                units_in_mbatch=True, transfer_columns=True, transfer_io=PERFECT,
                                transfer_update=update, warm_start="none")
        notes = "[P] γ 0.1, periods 2·2ⁿ, rates 0.01; [X] transfer writes without management like the gradient"
    else:
        gamma, growth = 0.5, 16.0
        beta = 2.0 * fast * gamma ** (N + 1) / growth
        algo = ResidualLearning(n_tiles=n_tiles, gamma=gamma,
                                transfer_every=tuple(growth ** (N - n) for n in range(n_tiles)),
                                transfer_lr=beta, scale_transfer_lr=False, fast_lr=fast, scale_fast_lr=False,
                                units_in_mbatch=True, transfer_columns=True, transfer_io=PERFECT,
                                transfer_update=update, warm_start="none")
        notes = (f"[X] γ 0.5, periods 16^(N−n), fast_lr 0.1, β = 2·0.1·γ^(N+1)/16 = {beta:.3g} "
                 "(timescale separation of the theory)")
    return ToyPreset(TileConfig(**base, algorithm=algo), lr=0.001 if sgd_lr is None else float(sgd_lr),
                     device_noise=device_noise, notes=notes)
