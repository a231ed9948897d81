"""RunConfig: every option of one training run, as a typed dataclass that round-trips through YAML.

``xbarsim train`` builds one from its options or from ``--config FILE.yaml``; :func:`resolve` fills
what the user left open from the paper's presets (``xbarsim.presets.paper``) and the resolved config,
including the complete TileConfig, is written into the run directory. Unknown YAML keys are errors.

Spec: experiments.md §0–§4 (the settings a preset fills), STYLE.md §3 "Configs".
"""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..config._fields import ConfigBase, require_bool, require_choice, require_int, require_positive
from ..config.mapping import MappingConfig
from ..config.tile import TileConfig

__all__ = ["RunConfig", "ALGORITHMS", "MODELS", "load_yaml", "dump_yaml"]

#: Command-line names of the training methods ("digital" is the floating-point network).
ALGORITHMS = ("resl", "ttv1", "ttv2", "cttv2", "mp", "sgd", "digital")
MODELS = ("lenet5", "mlp", "resnet18", "resnet34")
DEVICE_PROCESSES = ("decay", "diffuse")
LOSSES = ("nll", "ce", "label_smoothing_ce")


@dataclass(frozen=True, kw_only=True)
class RunConfig(ConfigBase):
    """One training run.

    Attributes:
        preset: a paper preset name (``xbarsim.presets.paper``), e.g. ``"table1/fashion-mnist/resl-4"``;
            None: the preset of ``table``, ``dataset``, ``algorithm``, ``tiles``, ``states``.
        table: the paper table whose settings apply when no preset is named ("table1" for LeNet-5 and the
            MLP, "table2" ResNet-34, "table9"/"table10" ResNet-18, "table11"). Default "table1".
        dataset: "fashion-mnist-mini" (embedded, the default), "fashion-mnist", "mnist", "cifar10", "cifar100".
        model: "lenet5", "mlp", "resnet18", "resnet34"; None: the preset's.
        algorithm: "resl", "ttv1", "ttv2", "cttv2", "mp", "sgd" or "digital". Default "resl".
        tiles: residual-learning tiles (ignored by the one- and two-tile methods). Default 4.
        states: device states (SoftBounds on [-1, 1] with dw_min = 2/states). Default 4.
        gamma: residual learning's γ (None: the preset's).
        variant: "code" (the reference code's settings) or "text" (the paper's). Default "code".
        epochs, batch_size, lr: None: the preset's.
        lr_schedule: ``(factor, every_epochs)``: the lr is multiplied by ``factor`` every
            ``every_epochs`` epochs; None: the preset's.
        plateau_rule: the warm start's plateau detector rule ("paper", "reference_cifar",
            "reference_mnist"), "none" for no detector; None: the preset's.
        loss: "nll" (models ending in LogSoftmax), "ce" (logits), "label_smoothing_ce" (smoothing 0.1);
            None: the model's.
        autoaugment: the AutoAugment CIFAR-10 policy in the CIFAR training preprocessing; None: the preset's.
        seed: the run seed: model initialisation, tile seeds, data order, augmentation. Default 0.
        device: torch device of the run ("cpu", "cuda", "cuda:1"). Default "cpu".
        threads: CPU threads (torch and the native core); None: leave as they are.
        data_dir: where datasets are looked for (None: ``$XBARSIM_DATA`` or the user cache).
        download: download missing datasets (verified by checksum). Default False.
        limit: train on the first ``limit`` training images (None: all).
        test_limit: evaluate on the first ``test_limit`` test images (None: all).
        checkpoint_every: also checkpoint every this many steps (0: per epoch only).
        device_processes: applied to every analog layer after each optimizer step ("decay", "diffuse").
        input_checks: the ops' NaN/inf checks: "on" (raise before a kernel runs), "deferred" (device-side
            flags reported before every checkpoint: no host synchronisation in a GPU step), "off", or
            "auto" (deferred on CUDA, on otherwise). Default "auto".
        tile_config: a complete TileConfig replacing the preset's (YAML: its ``to_dict`` form).
        mapping: a MappingConfig replacing the preset's.
        count_ops: count the analog layers' operations (``TileConfig.count_ops``, set in the resolved
            tile config): per-epoch counts in ``metrics.jsonl``, cumulative in ``summary.json``, read by
            ``xbarsim cost --run``. Default False.
    """

    preset: Optional[str] = None
    table: str = "table1"
    dataset: str = "fashion-mnist-mini"
    model: Optional[str] = None
    algorithm: str = "resl"
    tiles: int = 4
    states: int = 4
    gamma: Optional[float] = None
    variant: str = "code"
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    lr_schedule: Optional[tuple[float, int]] = None
    plateau_rule: Optional[str] = None
    loss: Optional[str] = None
    autoaugment: Optional[bool] = None
    seed: int = 0
    device: str = "cpu"
    threads: Optional[int] = None
    data_dir: Optional[str] = None
    download: bool = False
    limit: Optional[int] = None
    test_limit: Optional[int] = None
    checkpoint_every: int = 0
    device_processes: tuple[str, ...] = ()
    input_checks: str = "auto"
    tile_config: Optional[TileConfig] = None
    mapping: Optional[MappingConfig] = None
    count_ops: bool = False

    def __post_init__(self) -> None:
        require_choice(self, "algorithm", ALGORITHMS)
        if self.model is not None:
            require_choice(self, "model", MODELS)
        require_choice(self, "variant", ("code", "text"))
        require_int(self, "tiles", minimum=1)
        require_int(self, "states", minimum=1)
        require_int(self, "seed", minimum=0)
        require_int(self, "checkpoint_every", minimum=0)
        require_bool(self, "download")
        require_choice(self, "input_checks", ("auto", "on", "deferred", "off"))
        require_bool(self, "count_ops")
        for name in ("epochs", "batch_size", "threads", "limit", "test_limit"):
            if getattr(self, name) is not None:
                require_int(self, name, minimum=1)
        for name in ("lr", "gamma"):
            if getattr(self, name) is not None:
                require_positive(self, name)
        if self.lr_schedule is not None:
            sched = tuple(self.lr_schedule)
            if len(sched) != 2 or not isinstance(sched[1], int) or isinstance(sched[1], bool) or sched[1] < 1 \
                    or isinstance(sched[0], bool) or not isinstance(sched[0], (int, float)) or not sched[0] > 0:
                raise ValueError(f"RunConfig: lr_schedule must be (factor > 0, every_epochs >= 1); "
                                 f"got {self.lr_schedule!r}")
            object.__setattr__(self, "lr_schedule", (float(sched[0]), int(sched[1])))
        if self.plateau_rule is not None:
            require_choice(self, "plateau_rule", ("none", "paper", "reference_cifar", "reference_mnist"))
        if self.loss is not None:
            require_choice(self, "loss", LOSSES)
        if self.autoaugment is not None:
            require_bool(self, "autoaugment")
        if self.gamma is not None and not self.gamma < 1:
            raise ValueError(f"RunConfig: gamma must be in (0, 1); got {self.gamma!r}")
        if not isinstance(self.device_processes, tuple):
            object.__setattr__(self, "device_processes", tuple(self.device_processes))
        for p in self.device_processes:
            if p not in DEVICE_PROCESSES:
                raise ValueError(f"RunConfig: device_processes must be among {DEVICE_PROCESSES}; got {p!r}")
        for name, cls in (("tile_config", TileConfig), ("mapping", MappingConfig)):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, cls.from_dict(value))
            elif value is not None and not isinstance(value, cls):
                raise TypeError(f"RunConfig: {name} must be a {cls.__name__} or its dict; got {type(value).__name__}")
        for name in ("preset", "data_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"RunConfig: {name} must be a string; got {value!r}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


def read_yaml_file(path: Union[str, pathlib.Path], what: str) -> Any:
    """``yaml.safe_load`` of a file; a missing file or bad YAML raises an error naming ``what``
    (for example "xbarsim train: config file")."""
    import yaml

    try:
        return yaml.safe_load(pathlib.Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{what} {str(path)!r} is not valid YAML: {exc}") from None


def load_yaml(path: Union[str, pathlib.Path]) -> RunConfig:
    """A RunConfig from a YAML file (``yaml.safe_load``; unknown keys are errors naming them)."""
    path = pathlib.Path(path)
    data = read_yaml_file(path, "xbarsim train: config file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"xbarsim train: config file {str(path)!r} must hold a mapping of options; "
                         f"got {type(data).__name__}")
    return from_plain(data, where=str(path))


def from_plain(data: dict, where: str = "config") -> RunConfig:
    """A RunConfig from plain values (YAML, a run directory's config.yaml)."""
    data = dict(data)
    data.pop("type", None)
    unknown = sorted(set(data) - set(RunConfig.field_names()))
    if unknown:
        raise ValueError(f"xbarsim train: {where} has unknown options {unknown}; "
                         f"known: {', '.join(RunConfig.field_names())}")
    for key in ("device_processes", "lr_schedule"):
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
    return RunConfig(**data)


def dump_yaml(config: RunConfig, extra: Optional[dict[str, Any]] = None) -> str:
    """``config`` (and ``extra`` keys, e.g. the resolved values) as YAML."""
    import yaml

    data = config.to_dict()
    data.pop("type", None)
    if extra:
        data.update(extra)
    return yaml.safe_dump(data, sort_keys=False)
