"""Preprocessing on batched uint8 tensors: random crop, Cutout, flips, AutoAugment, normalisation.

Every stage works on a whole batch ``[B, C, H, W]`` at once on the images' device; there is no
per-sample Python. Every random choice comes from the ``torch.Generator`` passed in: numbers are
drawn on the generator's device (a CPU generator gives the same choices for CPU and CUDA batches)
and each stage draws a fixed count per batch size, independent of the images and of earlier
outcomes, so the same generator state always gives the same batch (exact resume).

Draws per batch of B, in the order the stages run:
random crop: B tops, B lefts (integers); Cutout: B apply-uniforms, B area fractions, B aspects,
B top-uniforms, B left-uniforms, B fill values; flip: B uniforms; AutoAugment: see
:mod:`xbarsim.data.autoaugment`.

Spec: experiments.md §1.1 (MNIST-like), §2.1 (CIFAR).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Literal, Optional

import torch

from .autoaugment import autoaugment_cifar10
from .sources import DATASETS

__all__ = ["Preprocess", "random_crop", "cutout", "random_hflip", "normalize", "autoaugment_cifar10",
           "MNIST_MEAN", "MNIST_STD"]

#: The conventional MNIST normalisation (the paper's "standard normalization", text variant).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def _check_batch(caller: str, images: object) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise TypeError(f"{caller}: images must be a uint8 tensor; got "
                        f"{getattr(images, 'dtype', type(images).__name__)}")
    if images.dim() != 4:
        raise ValueError(f"{caller}: images must have shape [B, C, H, W]; got {tuple(images.shape)}")
    return images


def _check_generator(caller: str, generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{caller}: generator must be a torch.Generator; got {type(generator).__name__}")
    return generator


def _rand(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` float64 uniforms in [0, 1) from ``generator``, on the CPU."""
    return torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64).cpu()


def _randint(high: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` integers in [0, high) from ``generator``, on the CPU."""
    return torch.randint(0, high, (n,), generator=generator, device=generator.device).cpu()


def random_crop(images: torch.Tensor, generator: torch.Generator, *, padding: int = 4) -> torch.Tensor:
    """Pad(padding) with zeros, then RandomCrop back to ``H x W``, per image.

    Args:
        images: uint8 ``[B, C, H, W]``.
        generator: source of the crop offsets (top, then left; each uniform in ``0 .. 2*padding``).
        padding: pixels of zero padding on every side.

    Returns:
        uint8 ``[B, C, H, W]``.

    Spec: experiments.md §2.1 (Pad(4) → RandomCrop(32)).
    """
    _check_batch("random_crop", images)
    _check_generator("random_crop", generator)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"random_crop: padding must be an int >= 0; got {padding!r}")
    b, c, h, w = images.shape
    top = _randint(2 * padding + 1, b, generator).to(images.device)
    left = _randint(2 * padding + 1, b, generator).to(images.device)
    if padding == 0:
        return images.clone()
    padded = images.new_zeros((b, c, h + 2 * padding, w + 2 * padding))
    padded[:, :, padding:padding + h, padding:padding + w] = images
    rows = (top.view(b, 1) + torch.arange(h, device=images.device)).view(b, 1, h, 1).expand(b, c, h, w + 2 * padding)
    picked = padded.gather(2, rows)  # [b, c, h, w + 2p]
    cols = (left.view(b, 1) + torch.arange(w, device=images.device)).view(b, 1, 1, w).expand(b, c, h, w)
    return picked.gather(3, cols)


def cutout(images: torch.Tensor, generator: torch.Generator, *, p: float = 0.5,
           scale: tuple[float, float] = (0.02, 0.4), ratio: tuple[float, float] = (0.4, 2.5)) -> torch.Tensor:
    """Cutout as coded in the reference: with probability ``p`` fill one box with one random value.

    Per image: area fraction ``s ~ U(scale)``, aspect ``r ~ U(ratio)``, ``w = int(sqrt(s*H*W/r))``,
    ``h = int(sqrt(s*H*W*r))`` (float64), top-left corner uniform over the positions where the box
    fits, fill value an integer uniform in ``[0, 255)`` for all pixels and channels of the box.

    Args:
        images: uint8 ``[B, C, H, W]``.
        generator: source of all draws (six per image, drawn for every image).
        p: probability of erasing.
        scale: range of the area fraction.
        ratio: range of the aspect ratio h/w.

    Returns:
        uint8 ``[B, C, H, W]``.

    Spec: experiments.md §2.1 (Cutout).
    """
    _check_batch("cutout", images)
    _check_generator("cutout", generator)
    b, c, h_img, w_img = images.shape
    apply = _rand(b, generator) < p
    s = scale[0] + (scale[1] - scale[0]) * _rand(b, generator)
    r = ratio[0] + (ratio[1] - ratio[0]) * _rand(b, generator)
    u_top, u_left = _rand(b, generator), _rand(b, generator)
    fill = _randint(255, b, generator)
    area = float(h_img * w_img)
    w = torch.sqrt(s * area / r).floor().long().clamp(max=w_img)
    h = torch.sqrt(s * area * r).floor().long().clamp(max=h_img)
    top = (u_top * (h_img - h + 1)).floor().long()
    left = (u_left * (w_img - w + 1)).floor().long()
    dev = images.device
    top, left, h, w, apply = (t.to(dev) for t in (top, left, h, w, apply))
    i = torch.arange(h_img, device=dev).view(1, h_img, 1)
    j = torch.arange(w_img, device=dev).view(1, 1, w_img)
    box = ((i >= top.view(b, 1, 1)) & (i < (top + h).view(b, 1, 1)) & (j >= left.view(b, 1, 1))
           & (j < (left + w).view(b, 1, 1)) & apply.view(b, 1, 1))
    value = fill.to(dev, torch.uint8).view(b, 1, 1, 1).expand(b, c, h_img, w_img)
    return torch.where(box.unsqueeze(1), value, images)


def random_hflip(images: torch.Tensor, generator: torch.Generator, *, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (one uniform per image).

    Spec: experiments.md §2.1 (RandomHorizontalFlip(0.5)).
    """
    _check_batch("random_hflip", images)
    _check_generator("random_hflip", generator)
    flip = (_rand(images.shape[0], generator) < p).to(images.device)
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def normalize(images: torch.Tensor, mean: tuple[float, ...] = (0.0,), std: tuple[float, ...] = (1.0,)) -> torch.Tensor:
    """``ToTensor`` then ``Normalize``: float32 ``(images / 255 - mean) / std`` per channel.

    Args:
        images: uint8 ``[B, C, H, W]``.
        mean: one value, or one per channel.
        std: one value, or one per channel (all > 0).

    Returns:
        float32 ``[B, C, H, W]`` on the images' device.
    """
    _check_batch("normalize", images)
    x = images.to(torch.float32).div(255)
    c = images.shape[1]
    if len(mean) not in (1, c) or len(std) not in (1, c):
        raise ValueError(f"normalize: mean and std must have 1 or C={c} values; got {len(mean)} and {len(std)}")
    if tuple(mean) == (0.0,) * len(mean) and tuple(std) == (1.0,) * len(std):
        return x
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return x.sub(m).div(s)


def _floats(caller: str, field: str, value: object) -> tuple[float, ...]:
    if not isinstance(value, tuple) or not value or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise ValueError(f"{caller}: {field} must be a non-empty tuple of finite numbers; got {value!r}")
    return tuple(float(v) for v in value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Preprocess:
    """Batched preprocessing: uint8 ``[B, C, H, W]`` (any device) + generator → float32 batch.

    Stages run in this order when enabled: ``random_crop`` (Pad + RandomCrop) → ``cutout`` →
    ``random_hflip`` → ``autoaugment_cifar10`` → ``normalize``. Build the experiments' pipelines
    with :meth:`for_dataset`.

    Attributes:
        crop_padding: zero padding for the random crop, pixels; 0 disables it. Default 0.
        cutout: Cutout (p 0.5, as coded). Default False.
        hflip: random horizontal flip (p 0.5). Default False.
        autoaugment: AutoAugment CIFAR-10 policy. Default False.
        mean: normalisation mean, one value or one per channel, in units of ``pixel/255``. Default (0,).
        std: normalisation std, same form, > 0. Default (1,).

    Raises:
        ValueError: invalid field values.
    """

    crop_padding: int = 0
    cutout: bool = False
    hflip: bool = False
    autoaugment: bool = False
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    def __post_init__(self) -> None:
        if isinstance(self.crop_padding, bool) or not isinstance(self.crop_padding, int) or self.crop_padding < 0:
            raise ValueError(f"Preprocess: crop_padding must be an int >= 0; got {self.crop_padding!r}")
        for field in ("cutout", "hflip", "autoaugment"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"Preprocess: {field} must be a bool; got {getattr(self, field)!r}")
        object.__setattr__(self, "mean", _floats("Preprocess", "mean", self.mean))
        object.__setattr__(self, "std", _floats("Preprocess", "std", self.std))
        if any(s <= 0 for s in self.std):
            raise ValueError(f"Preprocess: std must be > 0; got {self.std!r}")

    @property
    def is_random(self) -> bool:
        """Whether any stage draws random numbers (then a generator is required)."""
        return self.crop_padding > 0 or self.cutout or self.hflip or self.autoaugment

    def __call__(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Preprocess one batch.

        Args:
            images: uint8 ``[B, C, H, W]`` on any device.
            generator: the source of every random choice; required when :attr:`is_random`. The same
                generator state gives the same output.

        Returns:
            float32 ``[B, C, H, W]`` on the images' device.

        Raises:
            TypeError: images not a uint8 tensor, or generator not a torch.Generator.
            ValueError: images not 4-D, mean/std length neither 1 nor C.
        """
        x = _check_batch("Preprocess", images)
        if self.is_random:
            _check_generator("Preprocess", generator)
        if self.crop_padding:
            x = random_crop(x, generator, padding=self.crop_padding)
        if self.cutout:
            x = cutout(x, generator)
        if self.hflip:
            x = random_hflip(x, generator)
        if self.autoaugment:
            x = autoaugment_cifar10(x, generator)
        return normalize(x, self.mean, self.std)

    @classmethod
    def for_dataset(cls, name: str, *, train: bool, variant: Literal["code", "text"] = "code",
                    autoaugment: bool = True,
                    channel_stats: Optional[tuple[tuple[float, ...], tuple[float, ...]]] = None) -> "Preprocess":
        """The preprocessing of the paper's experiments for one dataset and split.

        ========================  ===========================================  ==========================
        dataset                   train                                        test
        ========================  ===========================================  ==========================
        mnist, fashion-mnist(-mini)  ``/255`` (code); mnist text: ``(x-0.1307)/0.3081``  same as train
        cifar10, cifar100         crop(pad 4) → Cutout → flip → AutoAugment →  ``/255`` → Normalize
                                  ``/255`` → Normalize
        ========================  ===========================================  ==========================

        CIFAR Normalize: mean 0.5, std 0.5 (``variant="code"``) or the training set's per-channel
        statistics (``"text"``: pass ``channel_stats=train_set.channel_stats()``). The paper states
        normalisation for MNIST only; Fashion-MNIST uses ``/255`` in both variants.

        Args:
            name: a dataset name (:data:`xbarsim.data.DATASETS`).
            train: training (augmented) or test pipeline.
            variant: ``"code"`` (the reference code) or ``"text"`` (the paper's text).
            autoaugment: include AutoAugment in the CIFAR training pipeline (on in the paper presets).
            channel_stats: ``(mean, std)`` per channel, required for CIFAR with ``variant="text"``.

        Returns:
            A :class:`Preprocess`.

        Raises:
            ValueError: unknown name or variant, or missing ``channel_stats``.

        Spec: experiments.md §1.1, §2.1, §9 (normalisation rows).
        """
        if name not in DATASETS:
            raise ValueError(f"Preprocess.for_dataset: name must be one of {', '.join(map(repr, DATASETS))}; "
                             f"got {name!r}")
        if variant not in ("code", "text"):
            raise ValueError(f"Preprocess.for_dataset: variant must be 'code' or 'text'; got {variant!r}")
        if not name.startswith("cifar"):
            if name == "mnist" and variant == "text":
                return cls(mean=(MNIST_MEAN,), std=(MNIST_STD,))
            return cls()
        if variant == "code":
            mean, std = (0.5,), (0.5,)
        else:
            if channel_stats is None:
                raise ValueError("Preprocess.for_dataset: channel_stats must be given for CIFAR with "
                                 "variant='text' (use train_set.channel_stats()); got None")
            mean, std = channel_stats
        if not train:
            return cls(mean=tuple(mean), std=tuple(std))
        return cls(crop_padding=4, cutout=True, hflip=True, autoaugment=autoaugment, mean=tuple(mean), std=tuple(std))
