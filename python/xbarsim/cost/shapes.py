"""The analog tile shapes of a model, read from the model code itself.

Spec: hardware-cost.md §4 (layer lists), experiments.md §1.2 (LeNet-5) and §2.2 (ResNet analog
tiles). The shapes are not typed in: :func:`model_shapes` builds the digital model of
``xbarsim.models``, runs one zero image through it and records, per analog layer, the tile
``out × in`` and the number of vectors it reads per image, so the cost tables follow the code.
(The CPU is used rather than the ``meta`` device: meta shape inference first imports SymPy and
torch's meta registrations, several seconds; the global torch RNG is left untouched.)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

__all__ = ["LayerShape", "ModelShapes", "MODEL_NAMES", "model_shapes", "shapes_from_module", "square_model"]

#: Models known to :func:`model_shapes`.
MODEL_NAMES = ("lenet5", "resnet18", "resnet34", "mlp", "perceptron")


@dataclass(frozen=True, kw_only=True)
class LayerShape:
    """One analog layer: a logical tile ``W[out_size, in_size]``.

    Attributes:
        name: module name in the model (``"fc1"``, ``"layer3.0.conv1"``).
        out_size: output lines m (rows of ``W``).
        in_size: input lines n (for a convolution ``in_channels · kh · kw``; +1 with an analog bias).
        vectors_per_image: vectors the layer reads (and updates with) per image: output pixels of a
            convolution, 1 for a linear layer.
    """

    name: str
    out_size: int
    in_size: int
    vectors_per_image: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"LayerShape: name must be a str; got {self.name!r}")
        for field in ("out_size", "in_size", "vectors_per_image"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"LayerShape: {field} must be an int; got {value!r}")
            if value < 1:
                raise ValueError(f"LayerShape: {field} must be >= 1; got {value!r}")

    @property
    def cells(self) -> int:
        """Cells of one logical tile copy, ``out_size · in_size``."""
        return self.out_size * self.in_size

    @property
    def lines(self) -> int:
        """Rows plus columns, ``out_size + in_size`` (the lines whose periphery draws power)."""
        return self.out_size + self.in_size


@dataclass(frozen=True, kw_only=True)
class ModelShapes:
    """The analog layers of a model.

    Attributes:
        name: model name (``"lenet5"``, ...).
        layers: the analog layers, in module order.
        batch_size: the mini-batch the paper trains the model with (MP's ``B`` in Tables 6–7);
            None: use ``HardwareModel.batch_size``.
        description: one line for reports.
    """

    name: str
    layers: tuple[LayerShape, ...]
    batch_size: Optional[int] = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple) or not self.layers or not all(
                isinstance(layer, LayerShape) for layer in self.layers):
            raise TypeError(f"ModelShapes: layers must be a non-empty tuple of LayerShape; got {self.layers!r}")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"ModelShapes: layers must have distinct names; got {names}")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
                                            or self.batch_size < 1):
            raise ValueError(f"ModelShapes: batch_size must be None or an int >= 1; got {self.batch_size!r}")

    @property
    def cells(self) -> int:
        """Analog weights of one copy of every tile (``Σ m n``)."""
        return sum(layer.cells for layer in self.layers)

    @property
    def inputs(self) -> int:
        """``Σ n`` over the layers."""
        return sum(layer.in_size for layer in self.layers)


def square_model(dim: int, *, batch_size: Optional[int] = None) -> ModelShapes:
    """Table 5's generic model: one ``dim × dim`` layer read once per sample."""
    return ModelShapes(name=f"D={dim}", layers=(LayerShape(name=f"{dim}x{dim}", out_size=dim, in_size=dim),),
                       batch_size=batch_size, description=f"one {dim} x {dim} layer (Table 5)")


def shapes_from_module(module, example_input, *, layers: Optional[Sequence[str]] = None) -> tuple[LayerShape, ...]:
    """The analog tile shapes of ``module``, found by running ``example_input`` (one image) through it.

    Analog layers of ``xbarsim.nn`` count with their ``in_size`` (+1 for an analog bias) and
    ``out_size``; digital ``torch.nn.Linear`` and ``Conv2d`` count as the tiles they would become
    with digital biases (``out × in_features``, ``out_channels × in_channels/groups · kh · kw``).

    Args:
        module: a ``torch.nn.Module``.
        example_input: a tensor of one image (batch 1) on the module's device.
        layers: module-name prefixes to keep (``("layer3", "layer4", "fc")``); None keeps every
            analog, Linear and Conv2d layer.

    Returns:
        One LayerShape per layer, in module order.

    Raises:
        ValueError: the batch of ``example_input`` is not 1, or no layer matched.
    """
    import torch

    from ..nn.base import AnalogLayerBase

    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 1 or example_input.shape[0] != 1:
        raise ValueError(f"shapes_from_module: example_input must be a tensor with batch size 1; "
                         f"got {getattr(example_input, 'shape', type(example_input).__name__)}")

    def selected(name: str) -> bool:
        return layers is None or any(name == p or name.startswith(p + ".") for p in layers)

    found: dict[str, tuple[int, int]] = {}
    analog_prefixes: list[str] = []
    for name, mod in module.named_modules():
        if any(name.startswith(p + ".") for p in analog_prefixes):
            continue  # inside an analog layer: its tiles are counted by the layer
        if isinstance(mod, AnalogLayerBase):
            analog_prefixes.append(name)
            if selected(name):
                found[name] = (int(mod.out_size), int(mod.in_size) + int(bool(getattr(mod, "analog_bias", False))))
        elif isinstance(mod, torch.nn.Conv2d) and selected(name):
            found[name] = (mod.out_channels, (mod.in_channels // mod.groups) * math.prod(mod.kernel_size))
        elif isinstance(mod, torch.nn.Linear) and selected(name):
            found[name] = (mod.out_features, mod.in_features)
    if not found:
        raise ValueError(f"shapes_from_module: layers must select at least one analog, Linear or Conv2d layer; "
                         f"got {layers!r}")

    vectors: dict[str, int] = {}
    handles = []
    modules = dict(module.named_modules())

    def hook_for(name: str, out_size: int) -> Callable:
        def hook(_mod, _inp, out) -> None:
            vectors[name] = vectors.get(name, 0) + out.numel() // out_size
        return hook

    try:
        for name, (out_size, _) in found.items():
            handles.append(modules[name].register_forward_hook(hook_for(name, out_size)))
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                module(example_input)
        finally:
            module.train(was_training)
    finally:
        for h in handles:
            h.remove()
    return tuple(LayerShape(name=name, out_size=m, in_size=n, vectors_per_image=max(vectors.get(name, 1), 1))
                 for name, (m, n) in found.items())


@functools.lru_cache(maxsize=32)
def model_shapes(name: str, *, num_classes: Optional[int] = None) -> ModelShapes:
    """The analog layers of one of :data:`MODEL_NAMES`, read from ``xbarsim.models``.

    * ``lenet5``: the paper's LeNet-5, all four layers analog (16×25, 32×400, 128×512, C×128);
      MP batch 8 (experiments.md §1.2).
    * ``resnet18`` / ``resnet34``: CIFAR ResNets with layer3, layer4 and fc analog
      (``models.PAPER_ANALOG_LAYERS``, experiments.md §2.2); MP batch 128. The paper's Tables 6
      and 7 and its area fit ``num_classes=100`` (hardware-cost.md §4).
    * ``mlp``: 784-256-128-C, all layers analog.
    * ``perceptron``: 785-250-C (Le Gallo et al. 2018), the workload of the paper's energy constants
      (Table 8).

    Args:
        name: one of :data:`MODEL_NAMES`.
        num_classes: outputs of the last layer; None: 10.

    Returns:
        The shapes (cached per arguments; ModelShapes is immutable).

    Raises:
        ValueError: unknown ``name`` or ``num_classes`` < 1.
    """
    import torch

    from .. import models

    if name not in MODEL_NAMES:
        raise ValueError(f"model_shapes: name must be one of {', '.join(map(repr, MODEL_NAMES))}; got {name!r}")
    classes = 10 if num_classes is None else num_classes
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"model_shapes: num_classes must be None or an int >= 1; got {num_classes!r}")
    prefixes: Optional[Sequence[str]] = None
    batch: Optional[int] = None
    with torch.random.fork_rng(devices=[]):  # weight init must not move the caller's RNG
        if name == "lenet5":
            module, x, batch = models.lenet5(num_classes=classes), torch.zeros(1, 1, 28, 28), 8
            desc = f"LeNet-5 (16/32 channels, 512-128-{classes}), all layers analog"
        elif name in ("resnet18", "resnet34"):
            build = models.resnet18 if name == "resnet18" else models.resnet34
            module, x, batch = build(num_classes=classes), torch.zeros(1, 3, 32, 32), 128
            prefixes = tuple(models.PAPER_ANALOG_LAYERS)
            title = "ResNet-18" if name == "resnet18" else "ResNet-34"
            desc = f"{title} ({classes} classes), layer3, layer4, fc analog"
        elif name == "mlp":
            module, x = models.mlp((784, 256, 128, classes)), torch.zeros(1, 784)
            desc = f"MLP 784-256-128-{classes}, all layers analog"
        else:
            module, x = models.mlp((785, 250, classes), flatten=False), torch.zeros(1, 785)
            desc = f"perceptron 785-250-{classes} (Le Gallo et al. 2018), the energy constants' workload"
        layers = shapes_from_module(module, x, layers=prefixes)
    return ModelShapes(name=name, layers=layers, batch_size=batch, description=desc)
