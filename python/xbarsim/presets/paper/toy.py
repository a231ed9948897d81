"""The settings of Li et al. (arXiv 2510.02516) as presets: tile configs per method, and the toy.

Every function returns a :class:`MethodPreset` (the TileConfig of the analog layers plus the
optimizer and mapping settings of the run) or, for the least-squares toy, a :class:`ToyPreset`.
Vectors are in xbarsim order (tile 0 = most significant). Where the paper's text and its reference
code differ, ``variant="code"`` (default) reproduces the code and ``variant="text"`` the text; both
use the state counts of the paper's tables.

Spec: experiments.md §0–§2 (Tables 1 and 2), algorithms.md §4 (learning-rate semantics), §10 (toy).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Optional

from ..config import IOConfig, TileConfig
from ..config.algorithms import MixedPrecision, ResidualLearning, SingleTile, TikiTaka, TikiTakaV2
from ..config.devices import SoftBounds, SoftBoundsReference
from ..config.update import UpdateConfig
from .devices import PaperSoftBounds

__all__ = ["MethodPreset", "ToyPreset", "table1", "table2", "residual_learning", "toy_least_squares",
           "TOY_VARIANTS"]

Variant = Literal["code", "text"]
PERFECT = IOConfig(is_perfect=True)


@dataclass(frozen=True)
class MethodPreset:
    """One method of one table: the analog layers' TileConfig and the run's digital settings.

    Attributes:
        config: TileConfig of every analog layer.
        lr: optimizer learning rate (digital parameters; scaled into analog rates where the algorithm says).
        lr_schedule: ``(factor, every_epochs)`` of the step schedule.
        epochs: number of epochs.
        batch_size: mini-batch size.
        learn_out_scaling: one learnable digital output scale per tile (experiments.md §0 mapping).
        weight_scaling_columnwise: per-row weight remapping.
        weight_scaling_omega: ω of the remapping (0: none).
        plateau_rule: the warm start's plateau detector rule (None without warm start).
        notes: where the setting comes from ([P] paper, [C] code, [X] xbarsim).
    """

    config: TileConfig
    lr: float
    lr_schedule: tuple[float, int]
    epochs: int
    batch_size: int
    learn_out_scaling: bool = False
    weight_scaling_columnwise: bool = False
    weight_scaling_omega: float = 0.0
    plateau_rule: Optional[str] = None
    notes: str = ""


def _check(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"presets.paper.{name}: must be one of {tuple(choices)}; got {value!r}")


def residual_learning(n_tiles: int, gamma: float, *, transfer_every_base: float, growth: float,
                      transfer_lr_base: float, scale_transfer_lr: bool, n_states: float = 4,
                      transfer_io: IOConfig = PERFECT, warm_start: str = "reference_cuda") -> TileConfig:
    """The paper's residual-learning TileConfig: ``gamma_vec[n] = γⁿ``,
    ``transfer_every[n] = base·growth^(N−n)``, ``transfer_lr[n] = lr_base·1.2ⁿ``, constant gradient-tile
    rate ``fast_lr = 1`` (``scale_fast_lr=False``, aihwkit 0.9.2 semantics), perfect forward/backward
    reads, default pulsed update, SoftBounds with ``n_states`` states (experiments.md §1.4, §2.4)."""
    if isinstance(n_tiles, bool) or not isinstance(n_tiles, int) or n_tiles < 2:
        raise ValueError(f"presets.paper.residual_learning: n_tiles must be an int >= 2; got {n_tiles!r}")
    N = n_tiles - 1
    algo = ResidualLearning(
        n_tiles=n_tiles, gamma_vec=tuple(gamma**n for n in range(n_tiles)),
        transfer_every=tuple(float(transfer_every_base * growth ** (N - n)) for n in range(n_tiles)),
        transfer_lr=tuple(transfer_lr_base * 1.2**n for n in range(n_tiles)), scale_transfer_lr=scale_transfer_lr,
        fast_lr=1.0, scale_fast_lr=False, units_in_mbatch=True, transfer_columns=True, n_reads_per_transfer=1,
        transfer_io=transfer_io, transfer_update=UpdateConfig(), warm_start=warm_start)
    return TileConfig(forward=PERFECT, backward=PERFECT, update=UpdateConfig(), device_model=PaperSoftBounds(n_states),
                      algorithm=algo)


def table1(method: str, *, dataset: str = "fashion_mnist", n_tiles: int = 4, variant: Variant = "code") -> MethodPreset:
    """LeNet-5 on MNIST / Fashion-MNIST (experiments.md §1, Table 1).

    Args:
        method: ``"ours"`` (residual learning), ``"ttv1"``, ``"ttv2"``, ``"mp"`` or ``"sgd"``.
        dataset: ``"fashion_mnist"`` (4 states) or ``"mnist"`` (10 states), as in the table.
        n_tiles: residual-learning tiles (3, 4 or 6 in the table).
        variant: ``"code"`` (reference code, default) or ``"text"`` (paper text).
    """
    _check("table1 method", method, ("ours", "ttv1", "ttv2", "mp", "sgd"))
    _check("table1 dataset", dataset, ("fashion_mnist", "mnist"))
    _check("table1 variant", variant, ("code", "text"))
    n_states = 4 if dataset == "fashion_mnist" else 10
    batch = 16 if dataset == "fashion_mnist" else 8
    code = variant == "code"
    schedule = (0.1, 50) if code else (0.5, 30)
    epochs = 200 if code else 100
    if method == "ours":
        gamma = 0.2 if dataset == "fashion_mnist" else 0.5
        cfg = residual_learning(n_tiles, gamma, transfer_every_base=2, growth=5, transfer_lr_base=0.1,
                                scale_transfer_lr=False, n_states=n_states,
                                warm_start="reference_cuda" if code else "paper")
        lr = 0.05 if code else (0.2 if dataset == "fashion_mnist" else 0.05)
        return MethodPreset(cfg, lr, schedule, epochs, batch, learn_out_scaling=False, weight_scaling_columnwise=True,
                            plateau_rule="reference_mnist" if code else "paper",
                            notes="[P] γ, vectors, rates; [C] fast_lr 1 constant, warm start reference_cuda")
    lr = 0.05 if (code or dataset == "mnist") else 0.1
    if method == "ttv1":
        # [C] build_config("ttv1"): fast_lr 0.1, transfer_lr 1 (scaled), non-ideal fwd/bwd IO, transfer read
        # with NM/BM off; SoftBoundsReference. [P] fast_lr 0.01, transfer_lr 0.1, ideal IO.
        dev = SoftBoundsReference(w_min=-1.0, w_max=1.0, dw_min=2.0 / n_states, construction_seed=10)
        io = IOConfig() if code else PERFECT
        tio = IOConfig(noise_management="none", bound_management="none") if code else PERFECT
        algo = TikiTaka(gamma=0.0, transfer_every=1.0, units_in_mbatch=True, n_reads_per_transfer=1,
                        fast_lr=0.1 if code else 0.01, scale_fast_lr=False, transfer_lr=1.0 if code else 0.1,
                        scale_transfer_lr=True, transfer_io=tio)
        return MethodPreset(TileConfig(forward=io, backward=io, device_model=dev, algorithm=algo), lr, schedule, epochs,
                            batch, learn_out_scaling=code, weight_scaling_columnwise=code,
                            notes="TT-v1 [C] build_config('ttv1') / [P] text rates")
    if method == "ttv2":
        # [C] BufferedTransferCompound: fast_lr 0.1, transfer_lr 1 (scaled), thres_scale 1, momentum 0.1,
        # forget_buffer, BL-1 transfer, main update desired_bl 10, all IO perfect. [P] α 0.1 (MNIST), 0.05 (FMNIST).
        fast = 0.1 if (code or dataset == "mnist") else 0.05
        algo = TikiTakaV2(gamma=0.0, transfer_every=1.0, units_in_mbatch=True, fast_lr=fast, scale_fast_lr=False,
                          transfer_lr=1.0, scale_transfer_lr=True, thres_scale=1.0, momentum=0.1, forget_buffer=True,
                          transfer_io=PERFECT)
        cfg = TileConfig(forward=PERFECT, backward=PERFECT, update=UpdateConfig(desired_bl=10),
                         device_model=PaperSoftBounds(n_states), algorithm=algo)
        return MethodPreset(cfg, lr, schedule, epochs, batch, learn_out_scaling=code, weight_scaling_columnwise=code,
                            notes="TT-v2 [C] BufferedTransferCompound with the table's state count")
    if method == "mp":
        dev = SoftBoundsReference(w_min=-1.0, w_max=1.0, dw_min=2.0 / n_states) if code else PaperSoftBounds(n_states)
        io = IOConfig() if code else PERFECT
        cfg = TileConfig(forward=io, backward=io, device_model=dev, algorithm=MixedPrecision())
        return MethodPreset(cfg, lr, schedule, epochs, batch, notes="MP [C] build_config('mp')")
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(n_states), algorithm=SingleTile())
    return MethodPreset(cfg, lr, schedule, epochs, batch, notes="analog SGD on one tile [X]")


def table2(method: str, *, dataset: str = "cifar10", n_tiles: int = 4, n_states: int = 4,
           variant: Variant = "code") -> MethodPreset:
    """ResNet-34 on CIFAR-10/100 (experiments.md §2, Table 2).

    Args:
        method: ``"ours"``, ``"ttv1"``, ``"ttv2"``, ``"mp"`` or ``"sgd"``.
        dataset: ``"cifar10"`` or ``"cifar100"``.
        n_tiles: residual-learning tiles (4, 6 or 8).
        n_states: 4 or 16.
        variant: ``"code"`` or ``"text"``.
    """
    _check("table2 method", method, ("ours", "ttv1", "ttv2", "mp", "sgd"))
    _check("table2 dataset", dataset, ("cifar10", "cifar100"))
    _check("table2 n_states", n_states, (4, 16))
    _check("table2 variant", variant, ("code", "text"))
    code = variant == "code"
    epochs = 200 if (code or dataset == "cifar10") else 400
    lr, schedule, batch = 0.1, (0.1, 100), 128
    if method == "ours":
        gamma = 0.5 if n_states == 4 else 0.1
        tio = IOConfig(noise_management="none", bound_management="none") if code else PERFECT
        cfg = residual_learning(n_tiles, gamma, transfer_every_base=3, growth=2, transfer_lr_base=0.3,
                                scale_transfer_lr=code, n_states=n_states, transfer_io=tio,
                                warm_start="reference_cuda" if code else "paper")
        return MethodPreset(cfg, lr, schedule, epochs, batch, learn_out_scaling=True, weight_scaling_columnwise=True,
                            plateau_rule="reference_cifar" if code else "paper",
                            notes="[P] γ, vectors; [C] scale_transfer_lr True, non-ideal transfer read")
    if method == "ttv1":
        dev = SoftBoundsReference(w_min=-1.0, w_max=1.0, dw_min=2.0 / n_states, w_min_dtod=0.0, w_max_dtod=0.0,
                                  construction_seed=123)
        algo = TikiTaka(gamma=0.0, transfer_every=1.0, fast_lr=0.1, scale_fast_lr=False, transfer_lr=1.0,
                        scale_transfer_lr=True, transfer_io=PERFECT)
        return MethodPreset(TileConfig(forward=PERFECT, backward=PERFECT, device_model=dev, algorithm=algo), lr, schedule,
                            epochs, batch, learn_out_scaling=True, weight_scaling_columnwise=True)
    if method == "ttv2":
        algo = TikiTakaV2(gamma=0.0, transfer_every=1.0, fast_lr=0.5 if code else 0.1, scale_fast_lr=False,
                          transfer_lr=1.0, scale_transfer_lr=True, thres_scale=0.9 if code else 1.0, momentum=0.1,
                          forget_buffer=True, transfer_io=PERFECT)
        cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(n_states), algorithm=algo)
        return MethodPreset(cfg, lr, schedule, epochs, batch, learn_out_scaling=True, weight_scaling_columnwise=True,
                            weight_scaling_omega=0.3 if code else 0.0)
    if method == "mp":
        cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(n_states),
                         algorithm=MixedPrecision())
        return MethodPreset(cfg, lr, schedule, epochs, batch)
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(n_states), algorithm=SingleTile())
    return MethodPreset(cfg, lr, schedule, epochs, batch)


# --- the least-squares toy (algorithms.md §10) ---------------------------------------------------------

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
    _check("toy_least_squares variant", variant, TOY_VARIANTS)
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
