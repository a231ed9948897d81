"""CIFAR-10 and CIFAR-100 (python version): a restricted unpickler and the validating loaders.

The batch files are Python 2 pickles. Pickles can run code, so they are read by an unpickler that
admits exactly the globals these files name (numpy's array reconstruction, ``ndarray`` and the
``uint8`` dtype); built-in dicts, lists, str, bytes and int need no global. Anything else is
rejected before it is imported, and the error names the file. Official files are checked against
their MD5 **before** they are unpickled.

Spec: experiments.md §12.2 (CIFAR-10), §12.3 (CIFAR-100), §12.4 (safe unpickling).
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pathlib
import pickle
import tarfile
import zlib
from typing import Literal, Union

import numpy as np

try:  # numpy >= 2 moved the pickle helper; old pickles name numpy.core.multiarray.
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct

__all__ = ["CifarLayout", "CIFAR_LAYOUTS", "safe_unpickle", "read_cifar"]

PathLike = Union[str, os.PathLike]

# No member of either archive comes near this (the CIFAR-100 train file is about 155 MiB).
_MAX_MEMBER_BYTES = 256 * 2**20


@dataclasses.dataclass(frozen=True, kw_only=True)
class CifarLayout:
    """The files of one CIFAR variant.

    Attributes:
        archive: name of the official ``.tar.gz``.
        folder: the directory the archive extracts to (member prefix).
        splits: split -> the batch files, concatenated in this order.
        meta: the metadata file.
        names_key: key of the class names in ``meta``.
        label_key: key of the labels in a batch (CIFAR-100: the fine labels, as the paper).
        n_classes: number of classes (labels must be below it).
        md5: MD5 of every extracted file (experiments.md §12.2–12.3).
    """

    archive: str
    folder: str
    splits: dict[str, tuple[str, ...]]
    meta: str
    names_key: str
    label_key: str
    n_classes: int
    md5: dict[str, str]

    def files(self, split: str) -> tuple[str, ...]:
        """The files one split needs: its batches, then the metadata."""
        return self.splits[split] + (self.meta,)


CIFAR_LAYOUTS: dict[str, CifarLayout] = {
    "cifar10": CifarLayout(
        archive="cifar-10-python.tar.gz", folder="cifar-10-batches-py",
        splits={"train": tuple(f"data_batch_{k}" for k in range(1, 6)), "test": ("test_batch",)},
        meta="batches.meta", names_key="label_names", label_key="labels", n_classes=10,
        md5={"data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
             "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
             "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
             "batches.meta": "5ff9c542aee3614f3951f8cda6e48888"}),
    "cifar100": CifarLayout(
        archive="cifar-100-python.tar.gz", folder="cifar-100-python",
        splits={"train": ("train",), "test": ("test",)},
        meta="meta", names_key="fine_label_names", label_key="fine_labels", n_classes=100,
        md5={"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
             "meta": "7973b15100ade9c7d40fb424638fde48"}),
}


# ----------------------------------------------------------------------------- restricted unpickler

class _NDArrayToken:
    """Stands in for ``numpy.ndarray`` inside a pickle: it may only be passed to ``_reconstruct``.

    Handing out the real class would let a pickle call ``ndarray(shape)`` and allocate any amount
    of memory; the token cannot be instantiated.
    """

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError("numpy.ndarray may only appear as the argument of _reconstruct")


def _reconstruct(subtype, shape, typecode):
    # Exactly what numpy's ndarray.__reduce__ writes: an empty array whose state (shape, dtype,
    # bytes) BUILD then sets; numpy checks that the bytes match shape x itemsize.
    if subtype is not _NDArrayToken or tuple(shape) != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError(f"unexpected array reconstruction {shape!r}, {typecode!r}")
    return _np_reconstruct(np.ndarray, (0,), b"b")


def _dtype(obj, align=False, copy=True):
    if obj != "u1" or align is not False or copy is not True:
        raise pickle.UnpicklingError(f"only the uint8 dtype is allowed; got dtype({obj!r}, {align!r}, {copy!r})")
    return np.dtype("u1")


# (module, name) -> what the pickle receives. Python 2 files written by numpy 1.x name
# numpy.core.multiarray; numpy >= 2 writes numpy._core.multiarray.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDArrayToken,
    ("numpy", "dtype"): _dtype,
}


class _ForbiddenGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.qualified = f"{module}.{name}"


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise _ForbiddenGlobal(str(module), str(name)) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def safe_unpickle(data: bytes, where: str = "<bytes>", caller: str = "safe_unpickle") -> object:
    """Unpickle ``data`` admitting only what the CIFAR files contain.

    Built-in dict, list, tuple, str, bytes, int, float, bool and None come from pickle opcodes;
    the only globals admitted are numpy's ``_reconstruct``, ``ndarray`` (as its argument only)
    and ``dtype("u1")``. Strings written by Python 2 are decoded as latin-1, as the files need.

    Args:
        data: the pickle's bytes.
        where: how to name the source in errors (a quoted path).
        caller: name used at the start of error messages.

    Returns:
        The unpickled object.

    Raises:
        ValueError: the pickle names any other global (nothing is imported or called), or is
            corrupt or truncated.

    Spec: experiments.md §12.4.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except _ForbiddenGlobal as exc:
        raise ValueError(f"{caller}: {where} must contain only dicts, lists, str, bytes, int and uint8 numpy "
                         f"arrays; got a reference to {exc.qualified} (rejected, not loaded)") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside a hostile pickle is a bad file
        raise ValueError(f"{caller}: {where} is not a valid CIFAR pickle ({len(data)} bytes: "
                         f"{type(exc).__name__}: {exc})") from None


# ----------------------------------------------------------------------------- structure checks

def _require(ok: bool, caller: str, where: str, what: str, got: object) -> None:
    if not ok:
        raise ValueError(f"{caller}: {where} must {what}; got {got}")


def _int_list(value: object, n: int, n_classes: int, key: str, caller: str, where: str) -> np.ndarray:
    _require(isinstance(value, list), caller, where, f"have a list {key!r}", type(value).__name__)
    _require(len(value) == n, caller, where, f"have {n} {key!r} (one per image)", len(value))
    _require(all(type(v) is int for v in value), caller, where, f"have integer {key!r}", "another type")
    labels = np.asarray(value, dtype=np.int64)
    if labels.size:
        _require(int(labels.min()) >= 0 and int(labels.max()) < n_classes, caller, where,
                 f"have {key!r} in 0..{n_classes - 1}", f"{int(labels.min())}..{int(labels.max())}")
    return labels


def _parse_batch(obj: object, layout: CifarLayout, caller: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    _require(isinstance(obj, dict), caller, where, "hold a dict", type(obj).__name__)
    data = obj.get("data")
    _require(isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072,
             caller, where, "have 'data' as a uint8 array [N, 3072]",
             f"{type(data).__name__} {getattr(data, 'dtype', '')} {getattr(data, 'shape', '')}".strip())
    n = data.shape[0]
    labels = _int_list(obj.get(layout.label_key), n, layout.n_classes, layout.label_key, caller, where)
    if layout.label_key == "fine_labels" and "coarse_labels" in obj:
        _int_list(obj["coarse_labels"], n, 20, "coarse_labels", caller, where)
    return data.reshape(n, 3, 32, 32), labels


def _parse_meta(obj: object, layout: CifarLayout, caller: str, where: str) -> tuple[str, ...]:
    _require(isinstance(obj, dict), caller, where, "hold a dict", type(obj).__name__)
    names = obj.get(layout.names_key)
    _require(isinstance(names, list) and len(names) == layout.n_classes and all(isinstance(s, str) for s in names),
             caller, where, f"have {layout.n_classes} class names under {layout.names_key!r}",
             f"{type(names).__name__} of {len(names) if isinstance(names, list) else '?'}")
    return tuple(names)


# ----------------------------------------------------------------------------- file access

def _read_extracted(folder: pathlib.Path, files: tuple[str, ...], caller: str) -> dict[str, tuple[bytes, str]]:
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{caller}: {', '.join(missing)} not found in {str(folder)!r}")
    out = {}
    for f in files:
        path = folder / f
        size = path.stat().st_size
        _require(size <= _MAX_MEMBER_BYTES, caller, repr(str(path)), f"be at most {_MAX_MEMBER_BYTES} bytes", size)
        out[f] = (path.read_bytes(), repr(str(path)))
    return out


def _read_archive(archive: pathlib.Path, layout: CifarLayout, files: tuple[str, ...],
                  caller: str) -> dict[str, tuple[bytes, str]]:
    wanted = {f"{layout.folder}/{f}": f for f in files}
    out: dict[str, tuple[bytes, str]] = {}
    try:
        # Stream mode: one sequential pass, nothing is extracted to disk (no path traversal).
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is None:
                    continue
                where = repr(f"{archive}:{member.name}")
                _require(member.isfile(), caller, where, "be a regular file", "a link or directory")
                _require(member.size <= _MAX_MEMBER_BYTES, caller, where,
                         f"be at most {_MAX_MEMBER_BYTES} bytes", member.size)
                out[name] = (tar.extractfile(member).read(), where)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{caller}: {str(archive)!r} is a corrupt or truncated archive "
                         f"({archive.stat().st_size} bytes: {exc})") from None
    missing = [f"{layout.folder}/{f}" for f in files if f not in out]
    if missing:
        raise ValueError(f"{caller}: {str(archive)!r} must contain {', '.join(missing)}; they are missing")
    return out


def _locate(source: pathlib.Path, layout: CifarLayout) -> tuple[str, pathlib.Path]:
    """``("dir", folder)`` or ``("archive", file)``: the extracted folder wins over the archive."""
    if source.is_file():
        return "archive", source
    for kind, candidate in (("dir", source / layout.folder), ("archive", source / layout.archive)):
        if (candidate.is_dir() if kind == "dir" else candidate.is_file()):
            return kind, candidate
    if (source / layout.meta).is_file():  # ``source`` is the extracted folder itself
        return "dir", source
    return "", source


def read_cifar(source: PathLike, variant: Literal["cifar10", "cifar100"], split: Literal["train", "test"] = "train",
               *, verify: bool = True, caller: str = "read_cifar") -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read and validate one CIFAR split from the extracted folder or the ``.tar.gz``.

    Args:
        source: the dataset directory (holding ``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz``,
            the folder is preferred), the extracted folder itself, or the archive file.
        variant: ``"cifar10"`` or ``"cifar100"``.
        split: ``"train"`` (50 000 images: batches 1–5 in order / ``train``) or ``"test"`` (10 000).
        verify: check each file's MD5 before unpickling it. False is for custom copies and tests:
            the restricted unpickler and the structure checks still apply.
        caller: name used at the start of error messages.

    Returns:
        ``(images, labels, classes)``: uint8 ``[N, 3, 32, 32]`` (CHW), int64 ``[N]`` (CIFAR-100:
        fine labels 0–99) and the class names from the metadata file.

    Raises:
        FileNotFoundError: neither folder nor archive, or a file of the split is missing.
        ValueError: checksum mismatch, forbidden pickle content, corrupt archive or pickle, wrong
            shapes, types or label ranges.

    Spec: experiments.md §12.2–12.4.
    """
    if variant not in CIFAR_LAYOUTS:
        raise ValueError(f"{caller}: variant must be 'cifar10' or 'cifar100'; got {variant!r}")
    layout = CIFAR_LAYOUTS[variant]
    if split not in layout.splits:
        raise ValueError(f"{caller}: split must be 'train' or 'test'; got {split!r}")
    source = pathlib.Path(source)
    kind, path = _locate(source, layout)
    files = layout.files(split)
    if kind == "dir":
        blobs = _read_extracted(path, files, caller)
    elif kind == "archive":
        blobs = _read_archive(path, layout, files, caller)
    else:
        raise FileNotFoundError(f"{caller}: neither {layout.folder}/ nor {layout.archive} found in {str(source)!r}")
    if verify:  # every file, before any is unpickled
        for name, (data, where) in blobs.items():
            got = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if got != layout.md5[name]:
                raise ValueError(f"{caller}: {where} does not match the known {variant} checksum: MD5 {got} "
                                 f"({len(data)} bytes), expected {layout.md5[name]}")
    data, where = blobs[layout.meta]
    classes = _parse_meta(safe_unpickle(data, where, caller), layout, caller, where)
    images, labels = [], []
    for name in layout.splits[split]:
        data, where = blobs.pop(name)
        x, y = _parse_batch(safe_unpickle(data, where, caller), layout, caller, where)
        images.append(x)
        labels.append(y)
    # concatenate copies, so the result is writable and owns its memory even for one batch
    return np.concatenate(images), np.concatenate(labels), classes
