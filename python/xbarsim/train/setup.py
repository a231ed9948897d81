"""From a RunConfig to a running experiment: resolve the paper preset, then build data, model and optimizer.

:func:`resolve` fills every option the user left open from ``xbarsim.presets.paper`` and returns a
complete RunConfig (the one written into the run directory: it names the full TileConfig and
MappingConfig, so the run can be rebuilt and resumed without the preset code). :func:`build` turns a
resolved config into the :class:`~xbarsim.train.loop.TrainingSetup` and
:class:`~xbarsim.train.loop.LoopOptions` of the loop.

Spec: experiments.md §0 (common setup), §1–§4 (per table); algorithms.md §6 (warm start).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import torch

from .. import data as _data
from .. import models as _models
from ..algorithms import PlateauDetector
from ..config import TileConfig
from ..config.algorithms import ChoppedTikiTakaV2, ResidualLearning
from ..config.seeds import child_seed
from ..nn import convert_to_analog
from ..ops import set_input_checks, set_num_threads
from ..optim import AnalogSGD
from ..presets import paper
from .config import RunConfig
from .loop import LoopOptions, TrainingSetup

__all__ = ["resolve", "build", "build_model", "loss_function", "preset_dataset", "table_number"]

#: Model seed streams of the run seed (config/seeds.py): initial weights, then the analog tiles.
_INIT_STREAM = 10
_TILE_STREAM = 11


def preset_dataset(dataset: str) -> str:
    """The dataset whose paper settings apply (the embedded subset is Fashion-MNIST's)."""
    return "fashion-mnist" if dataset == "fashion-mnist-mini" else dataset


def resolve(cfg: RunConfig) -> RunConfig:
    """``cfg`` with every open option filled from the paper preset it names (or that its table,
    dataset, algorithm, tiles and states select); explicit options win, except that a named preset
    fixes the table, the method, the tiles and the states (they are what the preset is)."""
    preset = _preset(cfg)
    if cfg.preset is not None:
        cfg = dataclasses.replace(cfg, table=f"table{preset.table}", algorithm=preset.method,
                                  tiles=preset.n_tiles or cfg.tiles, states=preset.n_states or cfg.states,
                                  variant=preset.variant)
    config = cfg.tile_config if cfg.tile_config is not None else preset.config
    if cfg.tile_config is None and cfg.gamma is not None:
        config = _with_gamma(config, cfg.gamma)
    if cfg.tile_config is None and cfg.algorithm == "cttv2":
        config = _chopped(config)
    if cfg.count_ops:
        if config is None:
            raise ValueError("xbarsim train: count_ops counts the operations of analog layers; a digital run "
                             "has none")
        config = config.replace(count_ops=True)
    model = cfg.model or preset.model
    loss = cfg.loss or ("ce" if model == "mlp" else preset.loss)
    plateau = cfg.plateau_rule or (preset.plateau_rule or "none")
    if not _has_warm_start(config):
        plateau = "none"
    return dataclasses.replace(
        cfg, preset=preset.name(), model=model, tile_config=config,
        mapping=cfg.mapping if cfg.mapping is not None else preset.mapping,
        epochs=cfg.epochs or preset.epochs, batch_size=cfg.batch_size or preset.batch_size,
        lr=cfg.lr or preset.lr, lr_schedule=cfg.lr_schedule or tuple(preset.lr_schedule), plateau_rule=plateau,
        loss=loss, autoaugment=preset.autoaugment if cfg.autoaugment is None else cfg.autoaugment)


def _preset(cfg: RunConfig) -> "paper.ExperimentPreset":
    if cfg.preset is not None:
        return paper.parse(cfg.preset)
    method = "ttv2" if cfg.algorithm == "cttv2" else cfg.algorithm
    return paper.experiment(table_number(cfg.table), preset_dataset(cfg.dataset), method,
                            n_tiles=cfg.tiles if method == "resl" else None,
                            n_states=None if method == "digital" else cfg.states, variant=cfg.variant)


def table_number(table: str) -> int:
    """``"table9"`` -> 9."""
    if not (isinstance(table, str) and table.startswith("table") and table[5:].isdigit()):
        raise ValueError(f"xbarsim train: table must look like 'table1'; got {table!r}")
    return int(table[5:])


def _with_gamma(config: Optional[TileConfig], gamma: float) -> Optional[TileConfig]:
    algo = config.algorithm if config is not None else None
    if not isinstance(algo, ResidualLearning):
        raise ValueError(f"xbarsim train: gamma applies to residual learning (algorithm resl); got "
                         f"{type(algo).__name__ if algo is not None else 'a digital run'}")
    return config.replace(algorithm=algo.replace(gamma=gamma, gamma_vec=tuple(gamma**n for n in range(algo.n_tiles)),
                                                 order="xbarsim"))


def _chopped(ttv2: Optional[TileConfig]) -> TileConfig:
    """Chopped TT-v2 on the TT-v2 preset's device and IO (no paper row; aihwkit's defaults otherwise) [X]."""
    assert ttv2 is not None
    algo = ttv2.algorithm
    return ttv2.replace(algorithm=ChoppedTikiTakaV2(fast_lr=algo.fast_lr, scale_fast_lr=algo.scale_fast_lr,
                                                    transfer_lr=algo.transfer_lrs()[1], transfer_io=algo.transfer_io))


def _has_warm_start(config: Optional[TileConfig]) -> bool:
    return config is not None and isinstance(config.algorithm, ResidualLearning) \
        and config.algorithm.warm_start != "none"


def loss_function(name: str, num_classes: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss: "nll" (LogSoftmax outputs), "ce" (logits) or "label_smoothing_ce" (the
    reference code's smoothing 0.1: target 0.9 on the true class, 0.1/(classes − 1) on each other,
    experiments.md §2.3)."""
    if name == "nll":
        return torch.nn.functional.nll_loss
    if name == "ce":
        return torch.nn.functional.cross_entropy

    def smoothed(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(logits, dim=1)
        off = 0.1 / (num_classes - 1)
        weights = torch.full_like(logp, off).scatter_(1, target[:, None], 0.9)
        return -(weights * logp).sum(1).mean()

    return smoothed


def build(cfg: RunConfig) -> tuple[TrainingSetup, LoopOptions]:
    """The loop's setup for a resolved config (see :func:`resolve`)."""
    if cfg.tile_config is None and cfg.algorithm != "digital" or cfg.epochs is None:
        raise ValueError("xbarsim train: build needs a resolved RunConfig (xbarsim.train.setup.resolve)")
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
        set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    mode = cfg.input_checks if cfg.input_checks != "auto" else ("deferred" if device.type == "cuda" else "on")
    set_input_checks({"on": True, "off": False, "deferred": "deferred"}[mode])
    train_set = _data.load(cfg.dataset, cfg.data_dir, train=True, download=cfg.download)
    test_set = _data.load(cfg.dataset, cfg.data_dir, train=False, download=cfg.download)
    if cfg.limit is not None:
        train_set = train_set.subset(min(cfg.limit, len(train_set)))
    if cfg.test_limit is not None:
        test_set = test_set.subset(min(cfg.test_limit, len(test_set)))
    num_classes = len(train_set.classes)
    model = build_model(cfg, num_classes=num_classes, image_shape=tuple(train_set.images.shape[1:]), device=device)
    optimizer = AnalogSGD(model.parameters(), lr=cfg.lr)
    factor, every = cfg.lr_schedule
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=every, gamma=factor)
    variant = "text" if cfg.variant == "text" else "code"
    stats = train_set.channel_stats() if variant == "text" and cfg.dataset.startswith("cifar") else None
    prep = dict(variant=variant, autoaugment=bool(cfg.autoaugment), channel_stats=stats)
    setup = TrainingSetup(
        model=model, optimizer=optimizer, scheduler=scheduler, loss_fn=loss_function(cfg.loss, num_classes),
        train_set=train_set, test_set=test_set,
        train_preprocess=_data.Preprocess.for_dataset(cfg.dataset, train=True, **prep),
        test_preprocess=_data.Preprocess.for_dataset(cfg.dataset, train=False, **prep),
        plateau=None if cfg.plateau_rule in (None, "none") else PlateauDetector(cfg.plateau_rule),
        device_processes=cfg.device_processes, device=device)
    options = LoopOptions(epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed,
                          checkpoint_every=cfg.checkpoint_every)
    return setup, options


def build_model(cfg: RunConfig, *, num_classes: int, image_shape: tuple[int, ...],
                device: torch.device) -> torch.nn.Module:
    """The network of a resolved config: digital parts initialised from ``child_seed(seed, 10)``, analog
    layers seeded from ``child_seed(seed, 11)``."""
    analog = cfg.algorithm != "digital"
    config = cfg.tile_config if analog else None
    tile_seed = child_seed(cfg.seed, _TILE_STREAM)
    kwargs = {"mapping": cfg.mapping} if analog and cfg.mapping is not None else {}
    fork = torch.random.fork_rng(devices=[])
    with fork:
        torch.manual_seed(child_seed(cfg.seed, _INIT_STREAM) >> 1)
        if cfg.model == "lenet5":
            model = _models.lenet5(config, num_classes=num_classes, seed=tile_seed, **kwargs)
        elif cfg.model == "mlp":
            size = 1
            for s in image_shape:
                size *= s
            model = _models.mlp((size, 256, 128, num_classes), config=config, seed=tile_seed, **kwargs)
        else:
            builder = _models.resnet18 if cfg.model == "resnet18" else _models.resnet34
            model = builder(num_classes)
            if analog:
                layers = (paper.parse(cfg.preset).analog_layers if cfg.preset else None) \
                    or _models.PAPER_ANALOG_LAYERS
                model = convert_to_analog(model, config, layers=layers, inplace=True, seed=tile_seed, **kwargs)
    return model.to(device)
