"""build_model: the network of a paper preset, analog where the preset says.

Spec: experiments.md §1.2 (LeNet-5, every conv and linear analog), §2.2 (ResNets: layer3, layer4, fc
analog; Table 11 adds layer2), §0 (mapping), algorithms.md §5 (initial weights: PyTorch's default
initialisation of the digital layers, programmed into the tiles).
"""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..config.seeds import check_seed, child_seed
from ..nn import convert_to_analog
from ..presets.paper import ExperimentPreset
from .lenet5 import lenet5
from .resnet import resnet18, resnet34

__all__ = ["build_model"]


def build_model(preset: ExperimentPreset, *, seed: int, num_classes: Optional[int] = None, device: Any = None,
                width: Optional[int] = None) -> torch.nn.Module:
    """The model of ``preset``: every analog layer with ``preset.config`` and ``preset.mapping``, or the
    floating-point network for method ``"digital"``.

    The digital network is initialised as PyTorch initialises it, from torch's generator seeded with
    ``child_seed(seed, 0)`` (and restored afterwards: the caller's random state is untouched); then the preset's
    ``analog_layers`` (every conv and linear for None) are converted with
    :func:`xbarsim.nn.convert_to_analog` (their tiles programmed with the digital weights; converted
    layer k seeded ``child_seed(child_seed(seed, 1), k)``). The model is built on the CPU and then moved
    to ``device``, so its initial state does not depend on the device.

    Args:
        preset: an :class:`~xbarsim.presets.paper.ExperimentPreset`.
        seed: the model seed, an int in [0, 2⁶⁴).
        num_classes: outputs of the classifier; None: the preset's (the dataset's class count).
        device: where the model lives. Default: the CPU.
        width: channels of a ResNet's first stage (64 in the paper; smaller for tests); must be None
            for LeNet-5.

    Returns:
        The ``torch.nn.Module``, in training mode.

    Raises:
        TypeError: ``preset`` not an ExperimentPreset.
        ValueError: a bad seed, ``num_classes`` or ``width``.

    Examples::

        >>> model = build_model(paper.parse("table1/fashion-mnist/resl-4"), seed=0)
    """
    if not isinstance(preset, ExperimentPreset):
        raise TypeError(f"build_model: preset must be an ExperimentPreset; got {type(preset).__name__}")
    seed = check_seed("build_model", seed)
    classes = preset.num_classes if num_classes is None else num_classes
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"build_model: num_classes must be a positive int or None; got {num_classes!r}")
    if preset.model == "lenet5":
        if width is not None:
            raise ValueError(f"build_model: width must be None for lenet5 (its widths are fixed); got {width!r}")
    elif width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise ValueError(f"build_model: width must be a positive int or None; got {width!r}")
    with torch.random.fork_rng(devices=[]):  # every draw from one seeded generator, none from the caller's
        torch.manual_seed(child_seed(seed, 0))
        if preset.model == "lenet5":
            model = lenet5(None, num_classes=classes)
        else:
            builder = resnet18 if preset.model == "resnet18" else resnet34
            model = builder(classes, 64 if width is None else width)
        if preset.config is not None:
            layers = None if preset.analog_layers is None else list(preset.analog_layers)
            model = convert_to_analog(model, preset.config, layers=layers, inplace=True, seed=child_seed(seed, 1),
                                      mapping=preset.mapping)
    return model if device is None else model.to(device)
