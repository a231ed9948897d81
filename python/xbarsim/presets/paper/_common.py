"""Names, checks and the TileConfig builders shared by the paper's tables.

Spec: experiments.md §0 (common setup), §1.4–§1.5, §2.4–§2.5 (methods), algorithms.md §4 (rates).
"""
from __future__ import annotations

from typing import Any, Iterable, Literal

from ...config import IOConfig, TileConfig
from ...config.algorithms import MixedPrecision, ResidualLearning, SingleTile, TikiTaka, TikiTakaV2
from ...config.devices import SoftBoundsReference
from ...config.update import UpdateConfig
from ..devices import PaperSoftBounds

Variant = Literal["code", "text"]
Method = Literal["resl", "ttv1", "ttv2", "mp", "sgd", "digital"]
Dataset = Literal["fashion-mnist", "mnist", "cifar10", "cifar100"]
Model = Literal["lenet5", "resnet18", "resnet34"]
Loss = Literal["nll", "label_smoothing_ce"]

VARIANTS: tuple[str, ...] = ("code", "text")
#: Methods in the paper's column order, then xbarsim's additions (analog SGD on one tile, the
#: floating-point network).
METHODS: tuple[str, ...] = ("ttv1", "ttv2", "mp", "resl", "sgd", "digital")
DATASETS: tuple[str, ...] = ("fashion-mnist", "mnist", "cifar10", "cifar100")
MODELS: tuple[str, ...] = ("lenet5", "resnet18", "resnet34")
LOSSES: tuple[str, ...] = ("nll", "label_smoothing_ce")
NUM_CLASSES: dict[str, int] = {"fashion-mnist": 10, "mnist": 10, "cifar10": 10, "cifar100": 100}
#: The warm start's plateau rules (``xbarsim.algorithms.PLATEAU_RULES``, a higher layer: a test keeps
#: the two equal).
PLATEAU_RULES: tuple[str, ...] = ("paper", "reference_cifar", "reference_mnist")

#: Perfect reads (the paper's "idealised" forward, backward and transfer IO).
PERFECT = IOConfig(is_perfect=True)
#: aihwkit's default IO with noise and bound management off: the transfer read of the reference code
#: where it is not made perfect (experiments.md §1.5, §2.4).
TRANSFER_IO_NO_MANAGEMENT = IOConfig(noise_management="none", bound_management="none")


def check_choice(where: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    """``ValueError`` in the project form unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"presets.paper.{where}: {name} must be one of {', '.join(map(repr, choices))}; "
                         f"got {value!r}")


def residual_learning(n_tiles: int, gamma: float, *, transfer_every_base: float, growth: float,
                      transfer_lr_base: float, scale_transfer_lr: bool, n_states: float = 4,
                      transfer_io: IOConfig = PERFECT, warm_start: str = "reference_cuda") -> TileConfig:
    """The paper's residual-learning TileConfig.

    ``gamma_vec[n] = γⁿ``, ``transfer_every[n] = base·growth^(N−n)`` mini-batches,
    ``transfer_lr[n] = lr_base·1.2ⁿ``, constant gradient-tile rate ``fast_lr = 1`` (``scale_fast_lr=False``,
    aihwkit 0.9.2 semantics), one input line per transfer, perfect forward/backward reads, default
    pulsed update, ``PaperSoftBounds(n_states)``.

    Spec: experiments.md §1.4, §2.4; algorithms.md §4.
    """
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


def tiki_taka_v1(n_states: int, *, fast_lr: float, transfer_lr: float, io: IOConfig, transfer_io: IOConfig,
                 reference_device: bool, construction_seed: int, no_width_variation: bool = False) -> TileConfig:
    """TT-v1 (aihwkit ``build_config("ttv1")``): 2 tiles, γ = 0, one input line read every mini-batch,
    constant ``fast_lr``, ``transfer_lr`` scaled by the optimizer lr (experiments.md §1.5, §2.5).

    ``reference_device``: aihwkit's SoftBoundsReference on ±1 with ``dw_min = 2/n_states`` (the code's
    device; ``no_width_variation`` zeroes ``w_min_dtod``/``w_max_dtod`` as the CIFAR script does),
    else ``PaperSoftBounds(n_states)``.
    """
    if reference_device:
        extra = dict(w_min_dtod=0.0, w_max_dtod=0.0) if no_width_variation else {}
        device = SoftBoundsReference(w_min=-1.0, w_max=1.0, dw_min=2.0 / n_states,
                                     construction_seed=construction_seed, **extra)
    else:
        device = PaperSoftBounds(n_states)
    algo = TikiTaka(gamma=0.0, transfer_every=1.0, units_in_mbatch=True, n_reads_per_transfer=1, fast_lr=fast_lr,
                    scale_fast_lr=False, transfer_lr=transfer_lr, scale_transfer_lr=True, transfer_io=transfer_io)
    return TileConfig(forward=io, backward=io, device_model=device, algorithm=algo)


def tiki_taka_v2(n_states: int, *, fast_lr: float, thres_scale: float, desired_bl: int = 31) -> TileConfig:
    """TT-v2 (aihwkit ``BufferedTransferCompound``): 2 × ``PaperSoftBounds(n_states)``, one input line
    every mini-batch, constant ``fast_lr``, ``transfer_lr`` 1 scaled, momentum 0.1, forget_buffer, BL-1
    transfer writes, all IO perfect (experiments.md §1.5, §2.5)."""
    algo = TikiTakaV2(gamma=0.0, transfer_every=1.0, units_in_mbatch=True, n_reads_per_transfer=1, fast_lr=fast_lr,
                      scale_fast_lr=False, transfer_lr=1.0, scale_transfer_lr=True, thres_scale=thres_scale,
                      momentum=0.1, forget_buffer=True, transfer_io=PERFECT)
    return TileConfig(forward=PERFECT, backward=PERFECT, update=UpdateConfig(desired_bl=desired_bl),
                      device_model=PaperSoftBounds(n_states), algorithm=algo)


def mixed_precision(n_states: int, *, io: IOConfig, reference_device: bool) -> TileConfig:
    """MP (aihwkit ``MixedPrecisionCompound`` defaults) on SoftBoundsReference (code, MNIST script) or
    ``PaperSoftBounds`` (experiments.md §1.5, §2.5)."""
    device = SoftBoundsReference(w_min=-1.0, w_max=1.0, dw_min=2.0 / n_states) if reference_device \
        else PaperSoftBounds(n_states)
    return TileConfig(forward=io, backward=io, device_model=device, algorithm=MixedPrecision())


def analog_sgd(n_states: int) -> TileConfig:
    """Analog SGD on one tile [X]: the residual-learning rows' device and perfect forward/backward IO."""
    return TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(n_states), algorithm=SingleTile())
