"""IDX files (MNIST, Fashion-MNIST): a validating reader and the MNIST-style directory loader.

A file is read whole, decompressed (gzip, or xz for the embedded subset) with a size cap, and
checked completely (magic, dims, exact payload length, checksum, label range, counts) before any
array is returned: a corrupt or truncated file is reported, never half-read.

Spec: experiments.md §12.1 (layout, magic numbers, sizes, checksums).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import lzma
import os
import pathlib
import zlib
from typing import Literal, Optional, Union

import numpy as np
import torch

__all__ = ["read_idx", "read_mnist_split", "load_mnist_like", "MNIST_FILES"]

PathLike = Union[str, os.PathLike]

# IDX element type code -> big-endian numpy dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: The four files of an MNIST-style directory per split: (images, labels).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_EXPECTED_COUNT = {"train": 60000, "test": 10000}
_MAGIC = {"images": 0x0803, "labels": 0x0801}

# The largest payload read_idx decompresses when no tighter bound is known (a decompression bomb
# stops here instead of exhausting memory).
_MAX_PAYLOAD = 1 << 30


@dataclasses.dataclass(frozen=True)
class _Known:
    """Checksums that identify one file: MD5 of the official ``.gz`` and of the decompressed payload."""

    gz: frozenset[str]
    payload: frozenset[str] = frozenset()


# experiments.md §12.1: MD5 of the official .gz files; payload MD5s are known only for
# Fashion-MNIST (the project's shared copy is re-compressed, so its .gz MD5s differ).
_KNOWN_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": _Known(frozenset({"f68b3c2dcbeaaa9fbdd348bbdeb94873"})),
        "train-labels-idx1-ubyte": _Known(frozenset({"d53e105ee54ea40749a09fcbcd1e9432"})),
        "t10k-images-idx3-ubyte": _Known(frozenset({"9fb629c4189551a2d022fa330f9573f3"})),
        "t10k-labels-idx1-ubyte": _Known(frozenset({"ec29112dd5afa0611ce80d1b7f02629c"})),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": _Known(frozenset({"8d4fb7e6c68d591d4c3dfef9ec88bf0d"}),
                                          frozenset({"f4a8712d7a061bf5bd6d2ca38dc4d50a"})),
        "train-labels-idx1-ubyte": _Known(frozenset({"25c81989df183df01b3e8a0aad5dffbe"}),
                                          frozenset({"9018921c3c673c538a1fc5bad174d6f9"})),
        "t10k-images-idx3-ubyte": _Known(frozenset({"bef4ecab320f06d8554ea6380940ec79"}),
                                         frozenset({"8181f5470baa50b63fa0f6fddb340f0a"})),
        "t10k-labels-idx1-ubyte": _Known(frozenset({"bb300cfdad3c16e7a12a480ee83cd310"}),
                                         frozenset({"15d484375f8d13e6eb1aabb0c3f46965"})),
    },
}


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _decompress(raw: bytes, where: str, caller: str, limit: int) -> bytes:
    """The payload of ``raw``: gzip or xz by magic number (not by suffix), else ``raw`` itself."""
    if raw[:2] == b"\x1f\x8b":
        kind, stream = "gzip", gzip.GzipFile(fileobj=io.BytesIO(raw))
    elif raw[:6] == b"\xfd7zXZ\x00":
        kind, stream = "xz", lzma.LZMAFile(io.BytesIO(raw))
    else:
        if len(raw) > limit:
            raise ValueError(f"{caller}: {where} must be at most {limit} bytes; got {len(raw)}")
        return raw
    try:
        with stream:
            payload = stream.read(limit + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise ValueError(f"{caller}: {where} is a corrupt or truncated {kind} file "
                         f"({len(raw)} bytes compressed: {exc})") from None
    if len(payload) > limit:
        raise ValueError(f"{caller}: {where} must decompress to at most {limit} bytes; got more")
    return payload


def _parse(data: bytes, where: str, caller: str = "read_idx") -> np.ndarray:
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{caller}: {where} must start with the IDX magic 00 00 <type> <ndim>; "
                         f"got {data[:4].hex(' ') or 'an empty file'}")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"{caller}: {where} has unknown IDX element type 0x{code:02X}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{caller}: {where} is truncated inside its header ({len(data)} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{caller}: {where} must hold exactly {expected} bytes for dims {dims}; "
                         f"got {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (raw, gzip or xz) into a native-endian numpy array of its dims.

    Args:
        path: the file; compression is recognised by its magic number, not by the suffix.

    Returns:
        A writable native-endian array with the file's element type and dims.

    Raises:
        FileNotFoundError: no such file.
        ValueError: corrupt compression, bad magic, unknown element type, or a payload that is not
            exactly ``prod(dims)`` elements (missing or trailing bytes).

    Spec: experiments.md §12.1.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"read_idx: no IDX file at {str(path)!r}")
    where = repr(str(path))
    array = _parse(_decompress(path.read_bytes(), where, "read_idx", _MAX_PAYLOAD), where)
    return array.astype(array.dtype.newbyteorder("="))


def _find(root: pathlib.Path, name: str, caller: str) -> pathlib.Path:
    for candidate in (root / name, root / (name + ".gz")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{caller}: {name} (or {name}.gz) not found in {str(root)!r}")


def _check_checksum(raw: bytes, payload: bytes, dataset: str, name: str, where: str, caller: str) -> None:
    """Accept the official ``.gz`` or a payload with a known MD5; where none is known, the structure
    checks decide, but another dataset's file is still recognised and rejected."""
    known = _KNOWN_MD5[dataset][name]
    file_md5 = _md5(raw)
    payload_md5 = file_md5 if raw is payload else _md5(payload)
    if file_md5 in known.gz or payload_md5 in known.payload:
        return
    for other, table in _KNOWN_MD5.items():
        if other != dataset and (file_md5 in table[name].gz or payload_md5 in table[name].payload):
            raise ValueError(f"{caller}: {where} must be the {dataset} {name}; got the {other} file "
                             f"(MD5 {payload_md5})")
    if known.payload:
        raise ValueError(f"{caller}: {where} does not match the known {dataset} checksums: payload MD5 "
                         f"{payload_md5} ({len(payload)} bytes decompressed), expected "
                         f"{' or '.join(sorted(known.payload))}; file MD5 {file_md5} ({len(raw)} bytes), "
                         f"official .gz {' or '.join(sorted(known.gz))}")


def read_mnist_split(root: PathLike, split: Literal["train", "test"] = "train", *,
                     dataset: Optional[Literal["mnist", "fashion-mnist"]] = None,
                     caller: str = "read_mnist_split") -> tuple[np.ndarray, np.ndarray]:
    """Read and fully validate one split of an MNIST-style directory, as uint8 arrays.

    Args:
        root: directory holding ``train-images-idx3-ubyte[.gz]`` and the three other files (the raw
            file is preferred when both exist).
        split: ``"train"`` or ``"test"``.
        dataset: if given, also require that dataset's sample count (60 000 / 10 000) and check
            each file's MD5 against its known checksums (official ``.gz`` or decompressed payload;
            MNIST payload MD5s are not known, so a re-compressed MNIST file is accepted on its
            structure alone).
        caller: name used at the start of error messages.

    Returns:
        ``(images, labels)``: uint8 ``[N, 28, 28]`` and uint8 ``[N]`` with values 0–9.

    Raises:
        FileNotFoundError: the directory or a file is missing.
        ValueError: a corrupt or inconsistent file (compression, size, magic, dims, label range,
            counts) or a checksum mismatch. Nothing is returned unless every check passed.

    Spec: experiments.md §12.1.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"{caller}: split must be 'train' or 'test'; got {split!r}")
    if dataset is not None and dataset not in _KNOWN_MD5:
        raise ValueError(f"{caller}: dataset must be 'mnist', 'fashion-mnist' or None; got {dataset!r}")
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{caller}: directory {str(root)!r} does not exist")
    arrays = []
    for name, kind in zip(MNIST_FILES[split], ("images", "labels")):
        path = _find(root, name, caller)
        where = repr(str(path))
        magic = _MAGIC[kind]
        count = _EXPECTED_COUNT[split] if dataset is not None else 1 << 24
        limit = 8 + 8 * (kind == "images") + count * (784 if kind == "images" else 1)
        raw = path.read_bytes()
        payload = _decompress(raw, where, caller, limit)
        if len(payload) < 4 or int.from_bytes(payload[:4], "big") != magic:
            raise ValueError(f"{caller}: {where} must start with magic {magic} "
                             f"({magic.to_bytes(4, 'big').hex(' ')}) for {kind}; "
                             f"got {payload[:4].hex(' ') or 'an empty file'}")
        if dataset is not None:
            _check_checksum(raw, payload, dataset, name, where, caller)
        array = _parse(payload, where, caller)
        if kind == "images" and array.shape[1:] != (28, 28):
            raise ValueError(f"{caller}: {where} must hold 28x28 images; got dims {array.shape}")
        arrays.append(array)
    images, labels = arrays
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{caller}: {split} images and labels must have equal counts; "
                         f"got {images.shape[0]} and {labels.shape[0]}")
    if dataset is not None and images.shape[0] != _EXPECTED_COUNT[split]:
        raise ValueError(f"{caller}: {dataset} {split} must have {_EXPECTED_COUNT[split]} samples; "
                         f"got {images.shape[0]}")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{caller}: labels must be in 0..9; got a maximum of {int(labels.max())}")
    return images, labels


def load_mnist_like(root: PathLike, split: Literal["train", "test"] = "train", *,
                    dataset: Optional[Literal["mnist", "fashion-mnist"]] = None,
                    limit: Optional[int] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST or Fashion-MNIST split from a directory of the four IDX files, as floats.

    Args:
        root: directory holding ``train-images-idx3-ubyte[.gz]`` etc.
        split: ``"train"`` (60 000 images) or ``"test"`` (10 000).
        dataset: if given, also verify each file's MD5 against the known checksums of that dataset
            (of the official ``.gz`` or of the decompressed payload) and the sample count.
        limit: keep only the first ``limit`` samples (after full validation).

    Returns:
        ``(images, labels)``: float32 ``[N, 1, 28, 28]`` with values ``pixel/255`` (torchvision's
        ``ToTensor``) and int64 ``[N]``.

    Raises:
        FileNotFoundError: the directory or a file is missing.
        ValueError: a corrupt or inconsistent file (magic, dims, sizes, label range, counts) or a
            checksum mismatch.

    Spec: experiments.md §12.1. :func:`xbarsim.data.load` is the uint8 front door.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"load_mnist_like: limit must be a positive int or None; got {limit!r}")
    images, labels = read_mnist_split(root, split, dataset=dataset, caller="load_mnist_like")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y
