"""ExperimentPreset: everything a training loop needs to run one cell of one of the paper's tables.

Spec: experiments.md §0–§4 (setups), §11 (reproduction).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ...config import MappingConfig, TileConfig
from ...config._fields import ConfigBase
from ._common import (DATASETS, LOSSES, METHODS, MODELS, NUM_CLASSES, PLATEAU_RULES, VARIANTS, Dataset, Loss, Method,
                      Model, Variant)

__all__ = ["ExperimentPreset", "TableLayout", "TABLES", "TABLE_LAYOUTS", "RESNET_ANALOG_LAYERS",
           "TABLE11_ANALOG_LAYERS", "table_states"]

#: The modules the paper makes analog in its ResNets (every conv and linear inside them, shortcuts
#: included; experiments.md §2.2). Equal to ``xbarsim.models.PAPER_ANALOG_LAYERS``.
RESNET_ANALOG_LAYERS: tuple[str, ...] = ("layer3", "layer4", "fc")
#: Table 11 makes layer2 analog as well (experiments.md §4).
TABLE11_ANALOG_LAYERS: tuple[str, ...] = ("layer2", "layer3", "layer4", "fc")


@dataclass(frozen=True)
class TableLayout:
    """The rows and columns of one of the paper's tables.

    Attributes:
        table: the table's number.
        model: the network (``"lenet5"``, ``"resnet18"``, ``"resnet34"``).
        rows: ``(dataset, n_states)`` of each row, in the paper's order.
        resl_tiles: the residual-learning columns' tile counts ("Ours (k tiles)").
        analog_layers: the analog modules (None: every conv and linear layer).
        title: what the table shows.
    """

    table: int
    model: str
    rows: tuple[tuple[str, int], ...]
    resl_tiles: tuple[int, ...]
    analog_layers: Optional[tuple[str, ...]]
    title: str

    def datasets(self) -> tuple[str, ...]:
        """The datasets of the rows, each once, in the order of first appearance."""
        return tuple(dict.fromkeys(d for d, _ in self.rows))


#: Every table with presets (experiments.md §1.6, §2.6, §3, §4).
TABLE_LAYOUTS: dict[int, TableLayout] = {
    1: TableLayout(1, "lenet5", (("fashion-mnist", 4), ("mnist", 10)), (3, 4, 6), None,
                   "LeNet-5 on Fashion-MNIST (4 states) and MNIST (10 states)"),
    2: TableLayout(2, "resnet34", (("cifar10", 4), ("cifar100", 4), ("cifar10", 16), ("cifar100", 16)), (4, 6, 8),
                   RESNET_ANALOG_LAYERS, "ResNet-34 on CIFAR-10/100, 4 and 16 states"),
    9: TableLayout(9, "resnet18", (("cifar10", 4), ("cifar10", 10)), (4, 6, 8), RESNET_ANALOG_LAYERS,
                   "ResNet-18 on CIFAR-10, 4 and 10 states"),
    10: TableLayout(10, "resnet18", (("cifar100", 4),), (4, 6, 8), RESNET_ANALOG_LAYERS,
                    "ResNet-18 on CIFAR-100, 4 states"),
    11: TableLayout(11, "resnet34", (("cifar10", 80), ("cifar100", 80)), (3, 5, 7), TABLE11_ANALOG_LAYERS,
                    "ResNet-34 with layer2 analog, \"80-state ReRAM\" on CIFAR-10/100"),
}
#: The tables with presets, in the paper's order.
TABLES: tuple[int, ...] = tuple(TABLE_LAYOUTS)


def table_states(table: int, dataset: str) -> tuple[int, ...]:
    """The state counts of ``dataset``'s rows in ``table`` (empty if the table has no such row)."""
    return tuple(n for d, n in TABLE_LAYOUTS[table].rows if d == dataset)


@dataclass(frozen=True, kw_only=True)
class ExperimentPreset(ConfigBase):
    """One cell of one table: data, model, tiles, optimizer and schedule of a run.

    Attributes:
        table: the paper's table (1, 2, 9, 10 or 11).
        dataset: ``"fashion-mnist"``, ``"mnist"``, ``"cifar10"`` or ``"cifar100"`` (names of
            :mod:`xbarsim.data`).
        model: ``"lenet5"``, ``"resnet18"`` or ``"resnet34"`` (builders of :mod:`xbarsim.models`).
        analog_layers: module names made analog (every conv and linear inside them); None: every
            conv and linear layer of the model (LeNet-5).
        method: ``"resl"`` (residual learning, the paper's "Ours"), ``"ttv1"``, ``"ttv2"``, ``"mp"``,
            ``"sgd"`` (analog SGD on one tile, xbarsim's row [X]) or ``"digital"`` (the floating-point
            network [X]).
        n_tiles: physical tiles per analog layer block (``config.algorithm.num_tiles()``: the column's
            count for resl, 2 for ttv1/ttv2, 1 for mp/sgd); None for digital.
        n_states: conductance states of the table's row (``dw_min = 2/n_states``); None for digital.
        config: TileConfig of every analog layer; None for digital.
        mapping: MappingConfig of every analog layer (the output scales of experiments.md §0).
        lr: optimizer learning rate (plain SGD: no momentum, no weight decay).
        lr_schedule: ``(factor, every_epochs)``: lr × factor after every ``every_epochs`` epochs
            (``lr·factor^(epoch // every_epochs)``).
        epochs: training epochs.
        batch_size: mini-batch size (training; shuffled, last batch kept).
        plateau_rule: rule of :class:`xbarsim.algorithms.PlateauDetector` feeding the warm start
            (one mean training loss per epoch), or None (no warm start).
        loss: ``"nll"`` (NLLLoss on LeNet-5's LogSoftmax output, batch mean) or
            ``"label_smoothing_ce"``: ``−Σ_c t_c log_softmax(logits)_c``, batch mean, with
            ``t = 1 − label_smoothing`` for the true class and ``label_smoothing/(num_classes − 1)`` for
            every other class (experiments.md §2.3; not torch's ``label_smoothing``, which spreads
            ``label_smoothing/num_classes`` over all classes).
        label_smoothing: the smoothing of ``"label_smoothing_ce"`` (0.1); 0 for ``"nll"``.
        num_classes: the dataset's class count (outputs of the model).
        preprocess_variant: ``variant`` of ``xbarsim.data.Preprocess.for_dataset``.
        autoaugment: AutoAugment in the CIFAR training pipeline.
        variant: ``"code"`` (the reference code) or ``"text"`` (the paper's text).
        notes: provenance of the settings: [P] paper, [C] reference code, [X] xbarsim, [U] unknown.

    Spec: experiments.md §0–§4.
    """

    table: int
    dataset: Dataset
    model: Model
    analog_layers: Optional[tuple[str, ...]]
    method: Method
    n_tiles: Optional[int]
    n_states: Optional[int]
    config: Optional[TileConfig]
    mapping: MappingConfig
    lr: float
    lr_schedule: tuple[float, int]
    epochs: int
    batch_size: int
    plateau_rule: Optional[str]
    loss: Loss
    label_smoothing: float
    num_classes: int
    preprocess_variant: Variant
    autoaugment: bool
    variant: Variant
    notes: str = ""

    def __post_init__(self) -> None:
        name = "ExperimentPreset"
        for field, choices in (("table", TABLES), ("dataset", DATASETS), ("model", MODELS), ("method", METHODS),
                               ("loss", LOSSES), ("preprocess_variant", VARIANTS), ("variant", VARIANTS)):
            value = getattr(self, field)
            if isinstance(value, bool) or value not in choices:
                raise ValueError(f"{name}: {field} must be one of {', '.join(map(repr, choices))}; got {value!r}")
        if self.analog_layers is not None:
            layers = self.analog_layers
            if isinstance(layers, str) or not isinstance(layers, (tuple, list)) or \
                    not all(isinstance(n, str) and n for n in layers):
                raise TypeError(f"{name}: analog_layers must be None or a tuple of module names; got {layers!r}")
            object.__setattr__(self, "analog_layers", tuple(layers))
        digital = self.method == "digital"
        if digital != (self.config is None):
            raise ValueError(f"{name}: config must be None exactly for method 'digital'; "
                             f"got {type(self.config).__name__} for {self.method!r}")
        if self.config is not None and not isinstance(self.config, TileConfig):
            raise TypeError(f"{name}: config must be a TileConfig or None; got {type(self.config).__name__}")
        if not isinstance(self.mapping, MappingConfig):
            raise TypeError(f"{name}: mapping must be a MappingConfig; got {type(self.mapping).__name__}")
        for field in ("n_tiles", "n_states"):
            value = getattr(self, field)
            if digital:
                if value is not None:
                    raise ValueError(f"{name}: {field} must be None for method 'digital'; got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {field} must be a positive int; got {value!r}")
        if self.config is not None and self.config.algorithm.num_tiles() != self.n_tiles:
            raise ValueError(f"{name}: n_tiles must equal config.algorithm.num_tiles()="
                             f"{self.config.algorithm.num_tiles()}; got {self.n_tiles!r}")
        for field in ("lr", "label_smoothing"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}: {field} must be a finite number >= 0; got {value!r}")
        schedule = self.lr_schedule
        if not isinstance(schedule, (tuple, list)) or len(schedule) != 2 or isinstance(schedule[1], bool) or \
                not isinstance(schedule[1], int) or schedule[1] < 1 or isinstance(schedule[0], bool) or \
                not isinstance(schedule[0], (int, float)) or not 0 < schedule[0] <= 1:
            raise ValueError(f"{name}: lr_schedule must be (factor in (0, 1], every_epochs >= 1); got {schedule!r}")
        object.__setattr__(self, "lr_schedule", (float(schedule[0]), int(schedule[1])))
        for field in ("epochs", "batch_size", "num_classes"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {field} must be a positive int; got {value!r}")
        if self.num_classes != NUM_CLASSES[self.dataset]:
            raise ValueError(f"{name}: num_classes must be {NUM_CLASSES[self.dataset]} for {self.dataset!r}; "
                             f"got {self.num_classes!r}")
        if self.plateau_rule is not None and self.plateau_rule not in PLATEAU_RULES:
            raise ValueError(f"{name}: plateau_rule must be None or one of {', '.join(map(repr, PLATEAU_RULES))}; "
                             f"got {self.plateau_rule!r}")
        if (self.loss == "nll") != (self.label_smoothing == 0):
            raise ValueError(f"{name}: label_smoothing must be 0 exactly for loss 'nll'; got {self.label_smoothing!r}")
        if not isinstance(self.autoaugment, bool):
            raise TypeError(f"{name}: autoaugment must be a bool; got {self.autoaugment!r}")
        if not isinstance(self.notes, str):
            raise TypeError(f"{name}: notes must be a str; got {type(self.notes).__name__}")

    def cell(self) -> tuple[str, Optional[int], str, Optional[int]]:
        """``(dataset, n_states, method, n_tiles)``: the key of this run in ``PAPER_RESULTS[table]``."""
        return (self.dataset, self.n_states, self.method, self.n_tiles)

    def lr_at(self, epoch: int) -> float:
        """The scheduled lr of epoch ``epoch`` (0-based): ``lr·factor^(epoch // every_epochs)``."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"ExperimentPreset.lr_at: epoch must be an int >= 0; got {epoch!r}")
        factor, every = self.lr_schedule
        return self.lr * factor ** (epoch // every)

    def name(self) -> str:
        """A stable id usable on a command line, e.g. ``table1/fashion-mnist/resl-4``,
        ``table2/cifar100/16-states/ttv2``, ``table1/mnist/mp@text``; :func:`parse` inverts it.

        The state count appears where the table has several per dataset (Tables 2 and 9); the tile
        count for residual learning; ``@text`` for the text variant.
        """
        parts = [f"table{self.table}", self.dataset]
        if self.n_states is not None and len(table_states(self.table, self.dataset)) > 1:
            parts.append(f"{self.n_states}-states")
        parts.append(f"resl-{self.n_tiles}" if self.method == "resl" else self.method)
        return "/".join(parts) + ("@text" if self.variant == "text" else "")
