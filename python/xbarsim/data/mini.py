"""``fashion-mnist-mini``: a class-balanced Fashion-MNIST subset shipped inside the package.

6 000 training images (the first 600 of each class, in the order of the official training file)
and 1 000 test images (the first 100 of each class of the test file), kept in file order, stored
as xz-compressed IDX files in ``fashion_mnist_mini/`` beside this module with the MIT licence of
Fashion-MNIST (Zalando SE). Each payload is checked against its SHA-256 below on every load.
``python -m xbarsim.data.make_mini <fashion-mnist dir>`` regenerates the files bit for bit.

Spec: experiments.md §12.1 (format); docs/data.md (the selection).
"""
from __future__ import annotations

import hashlib
import pathlib
from typing import Literal

import numpy as np

from .idx import _decompress, _parse

__all__ = ["MINI_DIR", "MINI_PER_CLASS", "MINI_FILES", "MINI_SHA256", "read_mini"]

#: The directory of the embedded files.
MINI_DIR = pathlib.Path(__file__).resolve().parent / "fashion_mnist_mini"
#: Images per class and split.
MINI_PER_CLASS = {"train": 600, "test": 100}
#: split -> (images file, labels file).
MINI_FILES = {
    "train": ("train-images-idx3-ubyte.xz", "train-labels-idx1-ubyte.xz"),
    "test": ("t10k-images-idx3-ubyte.xz", "t10k-labels-idx1-ubyte.xz"),
}
#: SHA-256 of each file's decompressed IDX payload (printed by make_mini).
MINI_SHA256 = {
    "train-images-idx3-ubyte.xz": "cf313073c7eb485392848071d5c433571d7166043e971e3345b095cc30518084",
    "train-labels-idx1-ubyte.xz": "097b93fbcf9bd5bc648b1a457ddc55c9e4ab49afb33f9ecae8ce068399a75e3a",
    "t10k-images-idx3-ubyte.xz": "7cee33c3c6414b1b86c25e665a6c4f41584269de3b7cc9768b1d351922845eef",
    "t10k-labels-idx1-ubyte.xz": "3128d790775889812b73c4f13923559c8b9e281d112c6ea7862acf60a206a909",
}


def read_mini(split: Literal["train", "test"] = "train", *, caller: str = "read_mini",
              directory: pathlib.Path = MINI_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Read one split of the embedded subset, verifying checksums, structure and class balance.

    Args:
        split: ``"train"`` (6 000 images) or ``"test"`` (1 000).
        caller: name used at the start of error messages.
        directory: where the files are (the package directory; tests point it elsewhere).

    Returns:
        ``(images, labels)``: uint8 ``[N, 28, 28]`` and uint8 ``[N]``, ``N/10`` of each class.

    Raises:
        FileNotFoundError: a file is missing (a broken installation).
        ValueError: a payload's SHA-256 differs from :data:`MINI_SHA256`, or the structure is wrong.
    """
    if split not in MINI_FILES:
        raise ValueError(f"{caller}: split must be 'train' or 'test'; got {split!r}")
    n = 10 * MINI_PER_CLASS[split]
    arrays = []
    for name, size in zip(MINI_FILES[split], (16 + 784 * n, 8 + n)):
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"{caller}: the embedded file {str(path)!r} is missing; reinstall xbarsim "
                                    f"or regenerate it with python -m xbarsim.data.make_mini")
        where = repr(str(path))
        payload = _decompress(path.read_bytes(), where, caller, size)
        digest = hashlib.sha256(payload).hexdigest()
        if digest != MINI_SHA256[name]:
            raise ValueError(f"{caller}: {where} must have payload SHA-256 {MINI_SHA256[name]}; got {digest} "
                             f"({len(payload)} bytes decompressed)")
        arrays.append(_parse(payload, where, caller))
    images, labels = arrays
    if images.shape != (n, 28, 28) or labels.shape != (n,):
        raise ValueError(f"{caller}: {split} must hold {n} 28x28 images and labels; got {images.shape}, {labels.shape}")
    counts = np.bincount(labels, minlength=10)
    if counts.shape != (10,) or (counts != n // 10).any():
        raise ValueError(f"{caller}: {split} must hold {n // 10} images per class; got {counts.tolist()}")
    return images, labels
