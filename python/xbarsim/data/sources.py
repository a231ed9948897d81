"""Where dataset files come from: the data root, one directory per dataset, checksums and downloads.

The data root is, in order: the ``root`` argument (the CLI's ``--data-dir``), the ``XBARSIM_DATA``
environment variable, or the user cache ``$XDG_CACHE_HOME/xbarsim/data`` (``~/.cache/xbarsim/data``).
Each dataset lives in its own subdirectory named after it (``<root>/mnist``, ``<root>/cifar10``, …).

Downloads go to a temporary file beside the destination, are hashed while they stream, and are
moved into place (``os.replace``, atomic on one file system) only after the checksum matches; a
failed or mismatching download leaves nothing behind.

Spec: experiments.md §12 (files, checksums); STYLE.md "Files from outside are untrusted".
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import tempfile
import urllib.error
import urllib.request
from typing import Callable, Optional, Union

__all__ = ["DATASETS", "DatasetFile", "DatasetSource", "SOURCES", "default_root", "dataset_dir",
           "download_file", "downloads_disabled"]

PathLike = Union[str, os.PathLike]

#: The dataset names :func:`xbarsim.data.load` accepts.
DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "fashion-mnist-mini", "cifar10", "cifar100")

#: Environment variable naming the data root (below an explicit ``root``/``--data-dir``).
ENV_ROOT = "XBARSIM_DATA"
#: Environment variable that, when set to 1/true/yes, forbids every download (CI, air-gapped hosts).
ENV_OFFLINE = "XBARSIM_OFFLINE"

# A download larger than this is refused (the largest official file, CIFAR-10, is about 163 MiB).
MAX_DOWNLOAD_BYTES = 512 * 2**20


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetFile:
    """One file as it is published, with the checksums that identify it.

    Attributes:
        name: file name in the dataset directory (and at the end of the download URL).
        md5: MD5 of the published file (experiments.md §12), hex.
        sha256: SHA-256 of the published file where known (preferred over ``md5``), hex or None.
    """

    name: str
    md5: str
    sha256: Optional[str] = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetSource:
    """Where a dataset's files are published and what the directory must hold.

    Attributes:
        name: the dataset name, also its subdirectory of the data root.
        base_url: the official location; a file's URL is ``base_url + file.name``.
        downloads: the published files (compressed IDX files, or one archive).
        expected: human-readable list of what the dataset directory must hold (for error messages).
    """

    name: str
    base_url: str
    downloads: tuple[DatasetFile, ...]
    expected: tuple[str, ...]


_IDX_EXPECTED = ("train-images-idx3-ubyte[.gz]", "train-labels-idx1-ubyte[.gz]",
                 "t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]")


def _idx_files(md5s: tuple[str, str, str, str]) -> tuple[DatasetFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    return tuple(DatasetFile(name=n, md5=m) for n, m in zip(names, md5s))


#: Published locations and checksums (experiments.md §12.1–12.3). ``fashion-mnist-mini`` ships
#: inside the package and has no entry.
SOURCES: dict[str, DatasetSource] = {
    "mnist": DatasetSource(
        name="mnist", base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        downloads=_idx_files(("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                              "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
        expected=_IDX_EXPECTED),
    "fashion-mnist": DatasetSource(
        name="fashion-mnist", base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        downloads=_idx_files(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                              "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        expected=_IDX_EXPECTED),
    "cifar10": DatasetSource(
        name="cifar10", base_url="https://www.cs.toronto.edu/~kriz/",
        downloads=(DatasetFile(name="cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a"),),
        expected=("cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
                  "or cifar-10-python.tar.gz")),
    "cifar100": DatasetSource(
        name="cifar100", base_url="https://www.cs.toronto.edu/~kriz/",
        downloads=(DatasetFile(name="cifar-100-python.tar.gz", md5="eb9058c3a382ffc7106e4002c42a8d85"),),
        expected=("cifar-100-python/ (train, test, meta)", "or cifar-100-python.tar.gz")),
}


def _check_name(caller: str, name: object) -> str:
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"{caller}: name must be one of {', '.join(map(repr, DATASETS))}; got {name!r}")
    return name


def default_root() -> pathlib.Path:
    """The data root used when no ``root`` (``--data-dir``) is given.

    Returns:
        ``$XBARSIM_DATA`` if set and non-empty, else ``$XDG_CACHE_HOME/xbarsim/data`` if
        ``XDG_CACHE_HOME`` is an absolute path, else ``~/.cache/xbarsim/data``. ``~`` is expanded;
        the directory is not created.
    """
    env = os.environ.get(ENV_ROOT, "")
    if env:
        return pathlib.Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG base-directory spec says relative paths are invalid and must be ignored.
    base = pathlib.Path(cache) if cache and os.path.isabs(cache) else pathlib.Path.home() / ".cache"
    return base / "xbarsim" / "data"


def dataset_dir(name: str, root: Optional[PathLike] = None) -> pathlib.Path:
    """The directory holding one dataset's files.

    Args:
        name: one of :data:`DATASETS`.
        root: the data root (``--data-dir``); None means :func:`default_root`.

    Returns:
        ``<root>/<name>``. For ``fashion-mnist-mini`` the package directory of the embedded files
        (``root`` is ignored: that dataset is never read from or written to the data root).

    Raises:
        ValueError: unknown ``name``.
        TypeError: ``root`` is not a path.
    """
    _check_name("dataset_dir", name)
    if name == "fashion-mnist-mini":
        return pathlib.Path(__file__).resolve().parent / "fashion_mnist_mini"
    if root is None:
        return default_root() / name
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"dataset_dir: root must be a path or None; got {type(root).__name__}")
    return pathlib.Path(root).expanduser() / name


def downloads_disabled() -> bool:
    """Whether ``XBARSIM_OFFLINE`` forbids downloads (``1``, ``true`` or ``yes``, any case)."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes")


def _digest(algorithm: str) -> "hashlib._Hash":
    # usedforsecurity=False: MD5 identifies published files here, and FIPS builds allow it that way.
    return hashlib.new(algorithm, usedforsecurity=False)


def download_file(url: str, dest: PathLike, *, md5: Optional[str] = None, sha256: Optional[str] = None,
                  timeout: float = 60.0,
                  opener: Callable[..., object] = urllib.request.urlopen) -> pathlib.Path:
    """Download ``url`` to ``dest``, moving it into place only once its checksum matches.

    The bytes stream into a temporary file in ``dest``'s directory while being hashed; on a
    match the file is flushed, synced and renamed onto ``dest``; on any failure (network error,
    oversize, checksum mismatch) the temporary file is removed and ``dest`` is left as it was.

    Args:
        url: ``http(s)://`` or ``file://`` URL.
        dest: final path; its directory is created if needed.
        md5: expected MD5 (hex), used when ``sha256`` is None.
        sha256: expected SHA-256 (hex), preferred when given.
        timeout: socket timeout in seconds.
        opener: ``urllib.request.urlopen`` or a stand-in with its signature (tests).

    Returns:
        ``dest`` as a path.

    Raises:
        ValueError: neither checksum given, or the downloaded bytes do not match it.
        RuntimeError: the URL cannot be fetched (offline, HTTP error) or exceeds
            ``MAX_DOWNLOAD_BYTES``.
    """
    if md5 is None and sha256 is None:
        raise ValueError(f"download_file: md5 or sha256 must be given; got neither (url {url!r})")
    algorithm, expected = ("sha256", sha256) if sha256 is not None else ("md5", md5)
    dest = pathlib.Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = pathlib.Path(tmp_name)
    try:
        digest = _digest(algorithm)
        size = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with opener(url, timeout=timeout) as response:
                    while chunk := response.read(1 << 20):
                        size += len(chunk)
                        if size > MAX_DOWNLOAD_BYTES:
                            raise RuntimeError(f"download_file: {url} must be at most {MAX_DOWNLOAD_BYTES} "
                                               f"bytes; got more")
                        digest.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()  # it holds the response; an unclosed socket would warn later
                raise RuntimeError(f"download_file: cannot fetch {url} ({exc})") from exc
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != expected.lower():
            raise ValueError(f"download_file: {url} must have {algorithm.upper()} {expected}; got {got} "
                             f"({size} bytes); nothing was written to {str(dest)!r}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
