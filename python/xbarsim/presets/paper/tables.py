"""The presets of Tables 1, 2, 9, 10 and 11: :func:`experiment`, :func:`table_rows`, :func:`parse`.

``variant="code"`` reproduces the reference code, ``variant="text"`` the paper's text; where the text
is silent the text variant keeps the code's setting (experiments.md §9 lists what differs). Both use
the state counts of the paper's tables. Every preset's ``notes`` say where each setting comes from.

Spec: experiments.md §0–§4, §9.
"""
from __future__ import annotations

import re
from typing import Optional

from ...config import IOConfig, MappingConfig
from ._common import (METHODS, NUM_CLASSES, PERFECT, TRANSFER_IO_NO_MANAGEMENT, VARIANTS, Variant,
                      analog_sgd, check_choice, mixed_precision, residual_learning, tiki_taka_v1, tiki_taka_v2)
from .experiment import TABLE_LAYOUTS, TABLES, ExperimentPreset, TableLayout, table_states

__all__ = ["experiment", "table_rows", "parse", "method_tiles"]

#: Mapping flags of the reference code (experiments.md §1.4, §1.5, §2.4, §2.5).
_SCALED = MappingConfig(learn_out_scaling=True, weight_scaling_columnwise=True)
_COLUMNWISE_ONLY = MappingConfig(weight_scaling_columnwise=True)  # ω = 0: no scale at all
_NONE = MappingConfig()


def method_tiles(method: str) -> Optional[int]:
    """Physical tiles of a baseline (2 for TT-v1/TT-v2, 1 for MP and analog SGD, None for "digital");
    residual learning has the column's count."""
    return {"ttv1": 2, "ttv2": 2, "mp": 1, "sgd": 1, "digital": None}.get(method)


def experiment(table: int, dataset: str, method: str, *, n_tiles: Optional[int] = None,
               n_states: Optional[int] = None, variant: Variant = "code") -> ExperimentPreset:
    """The preset of one cell of one of the paper's tables.

    Args:
        table: 1, 2, 9, 10 or 11.
        dataset: a dataset of the table's rows (``"fashion-mnist"``, ``"mnist"``, ``"cifar10"``,
            ``"cifar100"``).
        method: ``"resl"``, ``"ttv1"``, ``"ttv2"``, ``"mp"``, ``"sgd"`` or ``"digital"``.
        n_tiles: residual learning's tile count (required for ``"resl"``: the table's columns, or any
            count ≥ 2 with the same vector formulas); for the others None or their fixed count.
        n_states: a state count of the dataset's rows; None: the first row's (must be None for
            ``"digital"``).
        variant: ``"code"`` (default) or ``"text"``.

    Returns:
        The :class:`ExperimentPreset`.

    Raises:
        ValueError: a table, dataset, method, state count, tile count or variant the table does not have.

    Examples::

        >>> experiment(1, "fashion-mnist", "resl", n_tiles=4).name()
        'table1/fashion-mnist/resl-4'
    """
    check_choice("experiment", "table", table, TABLES)
    layout = TABLE_LAYOUTS[table]
    check_choice("experiment", "dataset", dataset, layout.datasets())
    check_choice("experiment", "method", method, METHODS)
    check_choice("experiment", "variant", variant, VARIANTS)
    if method == "digital":
        if n_states is not None:
            raise ValueError(f"presets.paper.experiment: n_states must be None for method 'digital'; got {n_states!r}")
    else:
        states = table_states(table, dataset)
        n_states = states[0] if n_states is None else n_states
        check_choice("experiment", "n_states", n_states, states)
    if method == "resl":
        if isinstance(n_tiles, bool) or not isinstance(n_tiles, int) or n_tiles < 2:
            raise ValueError(f"presets.paper.experiment: n_tiles must be an int >= 2 for method 'resl' (table "
                             f"{table} has {layout.resl_tiles}); got {n_tiles!r}")
    elif n_tiles is not None and n_tiles != method_tiles(method):
        raise ValueError(f"presets.paper.experiment: n_tiles must be None or {method_tiles(method)} for method "
                         f"{method!r}; got {n_tiles!r}")
    build = _lenet5 if layout.model == "lenet5" else _resnet
    return build(layout, dataset, method, n_tiles, n_states, variant)


def table_rows(table: int, dataset: Optional[str] = None, *, variant: Variant = "code") -> list[ExperimentPreset]:
    """Every cell of ``table`` (of ``dataset``'s rows only, if given), in the paper's order.

    Rows as in the paper; in each row the paper's columns (TT-v1, TT-v2, MP, Ours with each tile
    count), then xbarsim's analog SGD row [X]; after all rows one floating-point network per dataset [X].
    """
    check_choice("table_rows", "table", table, TABLES)
    layout = TABLE_LAYOUTS[table]
    if dataset is not None:
        check_choice("table_rows", "dataset", dataset, layout.datasets())
    out = []
    for ds, n_states in layout.rows:
        if dataset is not None and ds != dataset:
            continue
        for method in ("ttv1", "ttv2", "mp"):
            out.append(experiment(table, ds, method, n_states=n_states, variant=variant))
        for n in layout.resl_tiles:
            out.append(experiment(table, ds, "resl", n_tiles=n, n_states=n_states, variant=variant))
        out.append(experiment(table, ds, "sgd", n_states=n_states, variant=variant))
    for ds in layout.datasets():
        if dataset is None or ds == dataset:
            out.append(experiment(table, ds, "digital", variant=variant))
    return out


_NAME = re.compile(r"table(?P<table>\d+)/(?P<dataset>[a-z0-9-]+?)(?:/(?P<states>\d+)-states)?/"
                   r"(?P<method>resl-(?P<tiles>\d+)|ttv1|ttv2|mp|sgd|digital)(?:@(?P<variant>code|text))?")


def parse(name: str) -> ExperimentPreset:
    """The preset named ``name`` (:meth:`ExperimentPreset.name`): ``table<T>/<dataset>[/<n>-states]/
    <method>[-<tiles>][@text]``, e.g. ``table2/cifar100/16-states/resl-8@text``. A missing state
    segment means the dataset's first row; ``@code`` is accepted and is the default."""
    if not isinstance(name, str):
        raise TypeError(f"presets.paper.parse: name must be a str; got {type(name).__name__}")
    match = _NAME.fullmatch(name.strip())
    if match is None:
        raise ValueError("presets.paper.parse: name must look like 'table1/fashion-mnist/resl-4' or "
                         f"'table2/cifar10/16-states/ttv2@text'; got {name!r}")
    method = match["method"]
    tiles = None
    if method.startswith("resl-"):
        method, tiles = "resl", int(match["tiles"])
    states = None if match["states"] is None else int(match["states"])
    return experiment(int(match["table"]), match["dataset"], method, n_tiles=tiles, n_states=states,
                      variant=match["variant"] or "code")


# --- LeNet-5 (Table 1, experiments.md §1) ---------------------------------------------------------------

def _lenet5(layout: TableLayout, dataset: str, method: str, n_tiles: Optional[int], n_states: int,
            variant: str) -> ExperimentPreset:
    code = variant == "code"
    fmnist = dataset == "fashion-mnist"
    baseline_lr = 0.05 if (code or not fmnist) else 0.1
    notes = ["[P] full splits, batch 16 (FMNIST) / 8 (MNIST), LeNet-5 16/32 ch all analog, NLL loss",
             "[C] 200 epochs, lr ×0.1 every 50 epochs, ToTensor only" if code else
             "[P] 100 epochs, lr ×0.5 every 30 epochs" + (", standard normalisation" if not fmnist else "")]
    common = dict(table=layout.table, dataset=dataset, model="lenet5", analog_layers=None, method=method,
                  batch_size=16 if fmnist else 8, epochs=200 if code else 100,
                  lr_schedule=(0.1, 50) if code else (0.5, 30), loss="nll", label_smoothing=0.0, num_classes=10,
                  preprocess_variant=variant, autoaugment=False, variant=variant)
    plateau = None
    if method == "resl":
        gamma = 0.2 if fmnist else 0.5
        config = residual_learning(n_tiles, gamma, transfer_every_base=2, growth=5, transfer_lr_base=0.1,
                                   scale_transfer_lr=False, n_states=n_states,
                                   warm_start="reference_cuda" if code else "paper")
        lr = 0.05 if (code or not fmnist) else 0.2
        mapping = _COLUMNWISE_ONLY
        plateau = "reference_mnist" if code else "paper"
        notes.append(f"[P] γ {gamma}, transfer_every 2·5^(N−n), transfer_lr 0.1·1.2ⁿ unscaled, all IO perfect; "
                     "[C] fast_lr 1 constant, learn_out_scaling off, columnwise with ω 0 (no scale)")
        notes.append("[C] warm start reference_cuda + reference_mnist detector" if code else
                     "[P] warm start of Algorithm 1 with the paper's plateau rule")
        if fmnist:
            notes.append("[U] no Fashion-MNIST script: whether its runs used the warm start")
        elif code:
            notes.append("[X] 10 states as the table ([C] the script hard-codes dw_min 0.5)")
        if n_tiles not in layout.resl_tiles:
            notes.append(f"[X] {n_tiles} tiles is not a column of the table")
    elif method == "ttv1":
        if code:
            config = tiki_taka_v1(n_states, fast_lr=0.1, transfer_lr=1.0, io=IOConfig(),
                                  transfer_io=TRANSFER_IO_NO_MANAGEMENT, reference_device=True, construction_seed=10)
            notes.append("[C] build_config('ttv1'): fast_lr 0.1, transfer_lr 1 scaled, non-ideal forward/backward "
                         "IO, transfer read without NM/BM, SoftBoundsReference (construction_seed 10)")
        else:
            config = tiki_taka_v1(n_states, fast_lr=0.01, transfer_lr=0.1, io=PERFECT, transfer_io=PERFECT,
                                  reference_device=False, construction_seed=0)
            notes.append("[P] fast_lr 0.01, transfer_lr 0.1 scaled, ideal IO, SoftBounds")
        lr, mapping = baseline_lr, _SCALED
        notes.append("[C] learn_out_scaling, columnwise (ω 0)")
    elif method == "ttv2":
        config = tiki_taka_v2(n_states, fast_lr=0.1 if (code or not fmnist) else 0.05, thres_scale=1.0, desired_bl=10)
        lr, mapping = baseline_lr, _SCALED
        notes.append("[C] BufferedTransferCompound: transfer_lr 1 scaled, thres_scale 1, momentum 0.1, "
                     "forget_buffer, BL-1 transfer, main update BL 10, all IO perfect, learn_out_scaling, columnwise")
        notes.append("[C] fast_lr 0.1" if code else f"[P] fast_lr {0.1 if not fmnist else 0.05}")
        notes.append("[X] the table's state count ([C] the script's default --dwmin 0.1 is 20 states)")
    elif method == "mp":
        config = mixed_precision(n_states, io=IOConfig() if code else PERFECT, reference_device=code)
        lr, mapping = baseline_lr, _NONE
        notes.append("[C] build_config('mp'): MixedPrecisionCompound defaults, SoftBoundsReference, non-ideal "
                     "forward/backward IO" if code else "[P] MixedPrecision defaults, SoftBounds, ideal IO")
    elif method == "sgd":
        config, lr, mapping = analog_sgd(n_states), baseline_lr, _COLUMNWISE_ONLY
        notes.append("[X] analog SGD on one tile: the residual-learning row's device, IO and mapping; "
                     "the baselines' lr")
    else:
        config, lr, mapping = None, baseline_lr, _NONE
        notes.append("[X] floating-point LeNet-5 with the baselines' lr and schedule")
    return ExperimentPreset(**common, n_tiles=n_tiles if method == "resl" else method_tiles(method),
                            n_states=None if method == "digital" else n_states, config=config, mapping=mapping, lr=lr,
                            plateau_rule=plateau, notes="; ".join(notes))


# --- ResNets on CIFAR (Tables 2, 9, 10, 11; experiments.md §2–§4) ----------------------------------------

#: γ of the residual-learning rows per state count: [P] for 4 and 16 states, [X] for 10 (Table 9)
#: and 80 (Table 11), by the paper's heuristic γ ≈ 1/n_states.
_CIFAR_GAMMA = {4: 0.5, 16: 0.1, 10: 0.1, 80: 0.1}


def _resnet(layout: TableLayout, dataset: str, method: str, n_tiles: Optional[int], n_states: int,
            variant: str) -> ExperimentPreset:
    code = variant == "code"
    table = layout.table
    c100 = dataset == "cifar100"
    if table == 11:
        epochs = 400 if c100 else 200
    else:
        epochs = 400 if (c100 and not code) else 200
    arch = {"resnet18": "ResNet-18", "resnet34": "ResNet-34"}[layout.model]
    notes = [f"[P] {arch}, {'layer2, ' if table == 11 else ''}layer3, layer4, fc analog, batch 128, lr 0.1 "
             "×0.1 every 100 epochs, label-smoothed CE 0.1 over the dataset's classes, AutoAugment"]
    if table == 11:
        notes.append("[X]/[U] Table 11 is a guess: device PaperSoftBounds(80), γ 0.1, the Table 2 vectors and "
                     "rates, 200/400 epochs (the paper states none of them)")
    elif code:
        notes.append("[C] 200 epochs, Normalize(0.5, 0.5)")
    else:
        notes.append(f"[P] {epochs} epochs, per-channel normalisation")
    if table in (9, 10):
        notes.append("[P] same setup as Table 2 with ResNet-18")
    if n_states == 16 and method != "digital":
        notes.append("[U] the 16-state runs' configuration ([C] the code only has 4 states)")
    common = dict(table=table, dataset=dataset, model=layout.model, analog_layers=layout.analog_layers, method=method,
                  lr=0.1, lr_schedule=(0.1, 100), epochs=epochs, batch_size=128, loss="label_smoothing_ce",
                  label_smoothing=0.1, num_classes=NUM_CLASSES[dataset], preprocess_variant=variant, autoaugment=True,
                  variant=variant)
    plateau = None
    if method == "resl":
        gamma = _CIFAR_GAMMA[n_states]
        config = residual_learning(n_tiles, gamma, transfer_every_base=3, growth=2, transfer_lr_base=0.3,
                                   scale_transfer_lr=code, n_states=n_states,
                                   transfer_io=TRANSFER_IO_NO_MANAGEMENT if code else PERFECT,
                                   warm_start="reference_cuda" if code else "paper")
        mapping, plateau = _SCALED, ("reference_cifar" if code else "paper")
        source = "[P]" if n_states in (4, 16) else "[X] γ ≈ 1/n_states heuristic, not given:"
        notes.append(f"{source} γ {gamma}; [P] transfer_every 3·2^(N−n), transfer_lr 0.3·1.2ⁿ, forward/backward "
                     "perfect; [C] fast_lr 1 constant, learn_out_scaling, columnwise")
        notes.append("[C] scale_transfer_lr True, non-ideal transfer read (NM/BM off), warm start reference_cuda + "
                     "reference_cifar" if code else
                     "[P] scale_transfer_lr False, perfect transfer read, warm start of Algorithm 1 (paper rule)")
        if n_states != 4:
            notes.append("[U] whether the runs with more than 4 states used the warm start")
        if n_tiles not in layout.resl_tiles:
            notes.append(f"[X] {n_tiles} tiles is not a column of the table")
    elif method == "ttv1":
        config = tiki_taka_v1(n_states, fast_lr=0.1, transfer_lr=1.0, io=PERFECT, transfer_io=PERFECT,
                              reference_device=code, construction_seed=123, no_width_variation=True)
        mapping = _SCALED
        notes.append("[P] fast_lr 0.1, transfer_lr 1 scaled; [C] one column per mini-batch, all IO perfect, "
                     "learn_out_scaling, columnwise" +
                     (", SoftBoundsReference without w_min/w_max variation (construction_seed 123)" if code else
                      "; [P] SoftBounds"))
    elif method == "ttv2":
        config = tiki_taka_v2(n_states, fast_lr=0.5 if code else 0.1, thres_scale=0.9 if code else 1.0)
        mapping = MappingConfig(learn_out_scaling=True, weight_scaling_columnwise=True,
                                weight_scaling_omega=0.3 if code else 0.0)
        notes.append("[C] BufferedTransferCompound: transfer_lr 1 scaled, momentum 0.1, forget_buffer, BL-1 "
                     "transfer, all IO perfect, learn_out_scaling, columnwise")
        notes.append("[C] fast_lr 0.5, thres_scale 0.9, weight_scaling_omega 0.3" if code else
                     "[P] fast_lr 0.1, thres_scale 1, no remapping")
    elif method == "mp":
        config, mapping = mixed_precision(n_states, io=PERFECT, reference_device=False), _NONE
        notes.append("[C] MixedPrecisionCompound defaults on SoftBounds, forward/backward perfect")
    elif method == "sgd":
        config, mapping = analog_sgd(n_states), _SCALED
        notes.append("[X] analog SGD on one tile: the residual-learning row's device and IO; [C] the CIFAR "
                     "script's 'Analog SGD' mapping (learn_out_scaling, columnwise)")
    else:
        config, mapping = None, _NONE
        notes.append(f"[X] floating-point {arch} with the same data, lr and schedule")
    return ExperimentPreset(**common, n_tiles=n_tiles if method == "resl" else method_tiles(method),
                            n_states=None if method == "digital" else n_states, config=config, mapping=mapping,
                            plateau_rule=plateau, notes="; ".join(notes))

