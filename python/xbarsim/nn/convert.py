"""convert_to_analog: replace chosen nn.Linear / nn.Conv1d / nn.Conv2d modules by analog layers.

Spec: experiments.md §2.2 (the paper makes only ``layer3``, ``layer4`` and ``fc`` of a ResNet analog).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Union

import torch

from ..config import TileConfig
from ..config.seeds import child_seed
from .base import AnalogLayerBase, draw_seed
from .conv import AnalogConv1d, AnalogConv2d
from .linear import AnalogLinear

__all__ = ["convert_to_analog", "DIGITAL_TO_ANALOG"]

#: The digital module types convert_to_analog knows, and their analog counterparts.
DIGITAL_TO_ANALOG: dict[type, type] = {
    torch.nn.Linear: AnalogLinear,
    torch.nn.Conv1d: AnalogConv1d,
    torch.nn.Conv2d: AnalogConv2d,
}

Selector = Union[None, type, tuple, Iterable[str], Callable[[str, torch.nn.Module], bool]]


def convert_to_analog(module: torch.nn.Module, config: TileConfig | None = None, *, layers: Selector = None,
                      inplace: bool = False, seed: int | None = None, **layer_kwargs: Any) -> torch.nn.Module:
    """Replace the selected Linear/Conv1d/Conv2d modules of ``module`` by analog layers.

    The analog layers take their shape, hyper-parameters, device and dtype from the digital ones;
    their tiles are programmed with the digital weights (``set_weights``) and biases are copied.

    Args:
        module: the model (or a single layer).
        config: tile configuration of every new analog layer. Default ``TileConfig()``.
        layers: which modules to convert (only convertible types are ever converted):
            ``None`` — every ``nn.Linear``, ``nn.Conv1d`` and ``nn.Conv2d``;
            a type or tuple of types — modules of those types;
            an iterable of names — the modules with those qualified names and everything inside
            them (``["layer3", "layer4", "fc"]``); a name that matches nothing is an error;
            a callable ``(name, module) -> bool``.
        inplace: modify ``module`` instead of a deep copy. Default False.
        seed: base seed; the k-th converted layer (in ``named_modules`` order) gets
            ``child_seed(seed, k)`` (:mod:`xbarsim.config.seeds`). None draws the base seed from
            torch's generator.
        **layer_kwargs: passed to every analog layer (``mapping``, ``digital_bias``,
            ``eval_noise_free``).

    Returns:
        The converted module (``module`` itself if ``inplace``; a converted copy of a bare layer).

    Raises:
        TypeError: ``layers`` of an unsupported kind, or ``module`` not an ``nn.Module``.
        ValueError: a name in ``layers`` that is not a submodule; a selected conv with ``groups > 1``
            or a non-zero ``padding_mode``.

    Examples::

        >>> model = xbarsim.nn.convert_to_analog(resnet, config, layers=["layer3", "layer4", "fc"])
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"convert_to_analog: module must be a torch.nn.Module; got {type(module).__name__}")
    if not inplace:
        module = copy.deepcopy(module)
    select = _selector(module, layers)
    targets = [(name, m) for name, m in module.named_modules()
               if type(m) in DIGITAL_TO_ANALOG and not isinstance(m, AnalogLayerBase) and select(name, m)]
    base_seed = draw_seed() if seed is None else seed
    replaced: dict[str, torch.nn.Module] = {}
    for k, (name, m) in enumerate(targets):
        analog_cls = DIGITAL_TO_ANALOG[type(m)]
        replaced[name] = analog_cls.from_digital(m, config, seed=child_seed(base_seed, k), **layer_kwargs)
    if "" in replaced:  # the module itself was selected
        return replaced[""]
    for name, new in replaced.items():
        parent_name, _, attr = name.rpartition(".")
        setattr(module.get_submodule(parent_name), attr, new)
    return module


def _selector(module: torch.nn.Module, layers: Selector) -> Callable[[str, torch.nn.Module], bool]:
    if layers is None:
        return lambda name, m: True
    if isinstance(layers, type) or (isinstance(layers, tuple) and layers and all(isinstance(t, type) for t in layers)):
        return lambda name, m: isinstance(m, layers)  # type: ignore[arg-type]
    if callable(layers):
        return lambda name, m: bool(layers(name, m))  # type: ignore[operator]
    if isinstance(layers, str):
        layers = [layers]
    try:
        names = list(layers)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError("convert_to_analog: layers must be None, a type, a tuple of types, names or a callable; "
                        f"got {type(layers).__name__}") from None
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"convert_to_analog: layers must contain only module names (str); got {names!r}")
    known = {name for name, _ in module.named_modules()}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"convert_to_analog: layers must name submodules of the model; got unknown {unknown}")
    return lambda name, m: any(name == n or name.startswith(n + ".") or n == "" for n in names)
