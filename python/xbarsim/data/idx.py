"""IDX files (MNIST, Fashion-MNIST): a validating reader and the MNIST-style directory loader.

Spec: experiments.md §12.1 (layout, magic numbers, sizes, checksums).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
from typing import Literal, Optional, Union

import numpy as np
import torch

__all__ = ["read_idx", "load_mnist_like", "MNIST_FILES"]

PathLike = Union[str, os.PathLike]

# IDX element type code -> big-endian numpy dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: The four files of an MNIST-style directory per split: (images, labels).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_EXPECTED_COUNT = {"train": 60000, "test": 10000}

# Known checksums (experiments.md §12.1): MD5 of the official .gz files, and of the decompressed
# payload of the Fashion-MNIST copy shipped with the project. A file is accepted if either matches.
_KNOWN_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": {"f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        "train-labels-idx1-ubyte": {"d53e105ee54ea40749a09fcbcd1e9432"},
        "t10k-images-idx3-ubyte": {"9fb629c4189551a2d022fa330f9573f3"},
        "t10k-labels-idx1-ubyte": {"ec29112dd5afa0611ce80d1b7f02629c"},
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": {"8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"},
        "train-labels-idx1-ubyte": {"25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"},
        "t10k-images-idx3-ubyte": {"bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"},
        "t10k-labels-idx1-ubyte": {"bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"},
    },
}


def _read_bytes(path: pathlib.Path) -> tuple[bytes, bytes]:
    """``(file bytes, payload bytes)``: gzip is recognised by its magic number, not by the suffix."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return raw, gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"read_idx: {str(path)!r} is a corrupt gzip file ({exc})") from None
    return raw, raw


def _parse(data: bytes, where: str) -> np.ndarray:
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"read_idx: {where} must start with the IDX magic 00 00 <type> <ndim>; "
                         f"got {data[:4].hex(' ') or 'an empty file'}")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {where} has unknown IDX element type 0x{code:02X}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {where} is truncated inside its header ({len(data)} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"read_idx: {where} must hold exactly {expected} bytes for dims {dims}; got {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (raw or gzip) into a native-endian numpy array of its dims.

    Raises:
        FileNotFoundError: no such file.
        ValueError: bad magic, unknown element type, or a payload that is not exactly
            ``prod(dims)`` elements (missing or trailing bytes).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no IDX file at {str(path)!r}")
    _, payload = _read_bytes(path)
    array = _parse(payload, repr(str(path)))
    return array.astype(array.dtype.newbyteorder("="))


def _find(root: pathlib.Path, name: str) -> pathlib.Path:
    for candidate in (root / name, root / (name + ".gz")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"load_mnist_like: {name} (or {name}.gz) not found in {str(root)!r}")


def load_mnist_like(root: PathLike, split: Literal["train", "test"] = "train", *,
                    dataset: Optional[Literal["mnist", "fashion-mnist"]] = None,
                    limit: Optional[int] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST or Fashion-MNIST split from a directory of the four IDX files.

    Args:
        root: directory holding ``train-images-idx3-ubyte[.gz]`` etc.
        split: ``"train"`` (60 000 images) or ``"test"`` (10 000).
        dataset: if given, also verify each file's MD5 against the known checksums of that dataset
            (of the official ``.gz`` or of the decompressed payload).
        limit: keep only the first ``limit`` samples (after full validation).

    Returns:
        ``(images, labels)``: float32 ``[N, 1, 28, 28]`` with values ``pixel/255`` (torchvision's
        ``ToTensor``) and int64 ``[N]``.

    Raises:
        FileNotFoundError: the directory or a file is missing.
        ValueError: a corrupt or inconsistent file (magic, dims, sizes, label range, counts) or a
            checksum mismatch.

    Spec: experiments.md §12.1.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"load_mnist_like: split must be 'train' or 'test'; got {split!r}")
    if dataset is not None and dataset not in _KNOWN_MD5:
        raise ValueError(f"load_mnist_like: dataset must be 'mnist', 'fashion-mnist' or None; got {dataset!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"load_mnist_like: limit must be a positive int or None; got {limit!r}")
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"load_mnist_like: directory {str(root)!r} does not exist")
    arrays = []
    for name, magic, ndim in zip(MNIST_FILES[split], (0x0803, 0x0801), (3, 1)):
        path = _find(root, name)
        raw, payload = _read_bytes(path)
        where = repr(str(path))
        if len(payload) < 4 or int.from_bytes(payload[:4], "big") != magic:
            raise ValueError(f"load_mnist_like: {where} must start with magic {magic} "
                             f"({magic.to_bytes(4, 'big').hex(' ')}); got {payload[:4].hex(' ')}")
        if dataset is not None:
            known = _KNOWN_MD5[dataset][name]
            digests = {hashlib.md5(raw).hexdigest(), hashlib.md5(payload).hexdigest()}
            if not digests & known:
                raise ValueError(f"load_mnist_like: {where} does not match the known {dataset} checksums "
                                 f"(MD5 {sorted(digests)})")
        array = _parse(payload, where)
        if ndim == 3 and array.shape[1:] != (28, 28):
            raise ValueError(f"load_mnist_like: {where} must hold 28x28 images; got dims {array.shape}")
        arrays.append(array)
    images, labels = arrays
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_mnist_like: {split} images and labels must have equal counts; "
                         f"got {images.shape[0]} and {labels.shape[0]}")
    if dataset is not None and images.shape[0] != _EXPECTED_COUNT[split]:
        raise ValueError(f"load_mnist_like: {dataset} {split} must have {_EXPECTED_COUNT[split]} samples; "
                         f"got {images.shape[0]}")
    if labels.size and labels.max() > 9:
        raise ValueError(f"load_mnist_like: labels must be in 0..9; got a maximum of {int(labels.max())}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y
