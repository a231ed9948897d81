"""The datasets of the experiments as in-memory uint8 tensors: :class:`ImageDataset` and :func:`load`.

Spec: experiments.md §1.1, §2.1 (which data), §12 (files and checks).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Optional, Union

import numpy as np
import torch

from .cifar import CIFAR_LAYOUTS, read_cifar
from .idx import MNIST_FILES, read_mnist_split
from .mini import read_mini
from .sources import (ENV_OFFLINE, ENV_ROOT, SOURCES, _check_name, dataset_dir, download_file,
                      downloads_disabled)

__all__ = ["ImageDataset", "load", "MNIST_CLASSES", "FASHION_MNIST_CLASSES"]

PathLike = Union[str, os.PathLike]

MNIST_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
#: experiments.md §12.1.
FASHION_MNIST_CLASSES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class ImageDataset:
    """One split of an image dataset, held in memory.

    Attributes:
        images: uint8 ``[N, C, H, W]`` (MNIST-like ``[N, 1, 28, 28]``, CIFAR ``[N, 3, 32, 32]``).
        labels: int64 ``[N]``, each in ``0 .. len(classes) - 1``.
        classes: class names, indexed by label.
        name: the dataset name (one of :data:`xbarsim.data.DATASETS`).
        split: ``"train"`` or ``"test"``.

    Raises:
        TypeError: wrong tensor dtypes.
        ValueError: wrong shapes, counts or label range.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str
    split: str

    def __post_init__(self) -> None:
        for field, dtype in (("images", torch.uint8), ("labels", torch.int64)):
            value = getattr(self, field)
            if not isinstance(value, torch.Tensor) or value.dtype != dtype:
                got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
                raise TypeError(f"ImageDataset: {field} must be a {str(dtype)[6:]} tensor; got {got}")
        if self.images.dim() != 4:
            raise ValueError(f"ImageDataset: images must have shape [N, C, H, W]; got {tuple(self.images.shape)}")
        if self.labels.shape != self.images.shape[:1]:
            raise ValueError(f"ImageDataset: labels must have shape [N={self.images.shape[0]}]; "
                             f"got {tuple(self.labels.shape)}")
        if not isinstance(self.classes, tuple) or not self.classes:
            raise ValueError(f"ImageDataset: classes must be a non-empty tuple of names; got {self.classes!r}")
        if self.labels.numel() and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.classes)):
            raise ValueError(f"ImageDataset: labels must be in 0..{len(self.classes) - 1}; got "
                             f"{int(self.labels.min())}..{int(self.labels.max())}")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (f"ImageDataset(name={self.name!r}, split={self.split!r}, images={tuple(self.images.shape)}, "
                f"classes={len(self.classes)})")

    def subset(self, n: int) -> "ImageDataset":
        """The first ``n`` samples (``--limit``), sharing memory with this dataset.

        Args:
            n: how many; at most ``len(self)``.

        Returns:
            An :class:`ImageDataset` of ``n`` samples with the same classes, name and split.

        Raises:
            ValueError: ``n`` is not an int in ``1 .. len(self)``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(self):
            raise ValueError(f"ImageDataset.subset: n must be an int in 1..{len(self)}; got {n!r}")
        return dataclasses.replace(self, images=self.images[:n], labels=self.labels[:n])

    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and (population) standard deviation of ``images / 255``.

        Exact integer sums, so the result does not depend on summation order. Used by the
        ``variant="text"`` CIFAR normalisation ("zero mean and unit variance per channel").

        Returns:
            ``(mean, std)``, one float per channel each.

        Spec: experiments.md §2.1.
        """
        x = self.images.transpose(0, 1).reshape(self.images.shape[1], -1).to(torch.int64)
        count = x.shape[1]
        s1 = x.sum(1).tolist()
        s2 = (x * x).sum(1).tolist()
        mean = tuple(a / count / 255.0 for a in s1)
        std = tuple(float(np.sqrt(max(b * count - a * a, 0) / count / count)) / 255.0 for a, b in zip(s1, s2))
        return mean, std


def _classes(name: str) -> tuple[str, ...]:
    return MNIST_CLASSES if name == "mnist" else FASHION_MNIST_CLASSES


def _present(name: str, directory, split: str) -> bool:
    """Whether the dataset's files (or its archive) are in ``directory``; the readers check the rest."""
    if name in CIFAR_LAYOUTS:
        layout = CIFAR_LAYOUTS[name]
        return (directory / layout.folder).is_dir() or (directory / layout.archive).is_file()
    return all((directory / f).is_file() or (directory / (f + ".gz")).is_file() for f in MNIST_FILES[split])


def _how_to_get(name: str, directory) -> str:
    source = SOURCES[name]
    return (f"expected {', '.join(source.expected)}. Get them from {source.base_url} "
            f"({', '.join(f.name for f in source.downloads)}) into that directory, pass download=True "
            f"(CLI: --download), or point root (--data-dir) or ${ENV_ROOT} at a directory with a "
            f"{name!r} subdirectory")


def _download(name: str, directory) -> None:
    source = SOURCES[name]
    for f in source.downloads:
        target = directory / f.name
        if name not in CIFAR_LAYOUTS and ((directory / f.name).is_file() or (directory / f.name[:-3]).is_file()):
            continue  # IDX: this file is already there (raw or gzip)
        try:
            download_file(source.base_url + f.name, target, md5=f.md5, sha256=f.sha256)
        except RuntimeError as exc:
            raise RuntimeError(f"load: cannot download {name} into {str(directory)!r} ({exc}); "
                               f"{_how_to_get(name, directory)}") from exc


def load(name: str, root: Optional[PathLike] = None, *, train: bool = True, download: bool = False) -> ImageDataset:
    """Load one split of a dataset of the experiments into memory, fully validated.

    Files are looked for in ``dataset_dir(name, root)``: ``<root>/<name>`` with ``root`` the
    argument (``--data-dir``), else ``$XBARSIM_DATA``, else ``~/.cache/xbarsim/data`` (see
    :func:`xbarsim.data.default_root`). ``fashion-mnist-mini`` is embedded in the package and
    needs no files; ``fashion-mnist`` always means the full set.

    Args:
        name: ``"mnist"``, ``"fashion-mnist"``, ``"fashion-mnist-mini"``, ``"cifar10"`` or ``"cifar100"``.
        root: the data root; None means :func:`xbarsim.data.default_root`. Ignored for the embedded set.
        train: the training split (True) or the test split (False).
        download: when the files are absent, fetch them from the official location (checksum
            verified before they are moved into place). ``XBARSIM_OFFLINE=1`` forbids it.

    Returns:
        An :class:`ImageDataset` with uint8 images ``[N, C, H, W]`` and int64 labels ``[N]``.

    Raises:
        ValueError: unknown ``name``; corrupt, truncated or mismatching files (size, magic,
            checksum, shapes, label range, forbidden pickle content).
        TypeError: ``train`` or ``download`` not a bool.
        FileNotFoundError: files absent and downloading not allowed; the message lists the
            expected files, the directory searched and where to get them.
        RuntimeError: a download failed (network unreachable, HTTP error).

    Examples:
        >>> test = xbarsim.data.load("fashion-mnist-mini", train=False)
        >>> test.images.shape, test.labels.dtype
        (torch.Size([1000, 1, 28, 28]), torch.int64)

    Spec: experiments.md §1.1, §2.1, §12.
    """
    _check_name("load", name)
    for arg, value in (("train", train), ("download", download)):
        if not isinstance(value, bool):
            raise TypeError(f"load: {arg} must be a bool; got {type(value).__name__}")
    split = "train" if train else "test"
    if name == "fashion-mnist-mini":
        images, labels = read_mini(split, caller="load")
        classes = FASHION_MNIST_CLASSES
    else:
        directory = dataset_dir(name, root)
        if not _present(name, directory, split):
            if not download or downloads_disabled():
                why = (f" (downloads are disabled by ${ENV_OFFLINE})" if download else "")
                raise FileNotFoundError(f"load: {name} {split} files not found in {str(directory)!r}{why}; "
                                        f"{_how_to_get(name, directory)}")
            _download(name, directory)
        if name in CIFAR_LAYOUTS:
            images, labels, classes = read_cifar(directory, name, split, caller="load")
        else:
            images, labels = read_mnist_split(directory, split, dataset=name, caller="load")
            classes = _classes(name)
    if not images.flags.writeable:  # a view of the file's bytes: own the memory instead
        images = images.copy()
    x = torch.from_numpy(np.ascontiguousarray(images))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return ImageDataset(images=x, labels=y, classes=classes, name=name, split=split)

