"""Regenerate the embedded ``fashion-mnist-mini`` files from the full Fashion-MNIST IDX files.

Usage::

    python -m xbarsim.data.make_mini /path/to/fashion-mnist [--out DIR] [--check]

The source directory must hold the four official files (raw or gzip); they are verified against
the known Fashion-MNIST checksums first. Selection: in each split, the first ``MINI_PER_CLASS``
images of every class in file order (train: 600 per class, test: 100), kept in file order. Output:
one xz-compressed IDX file per original file (LZMA2 preset 9e, CRC64). The payload SHA-256s it
prints are those ``mini.MINI_SHA256`` must hold; ``--check`` fails if they differ.

Spec: experiments.md §12.1; docs/data.md.
"""
from __future__ import annotations

import argparse
import hashlib
import lzma
import pathlib
import sys

import numpy as np

from .idx import read_mnist_split
from .mini import MINI_DIR, MINI_FILES, MINI_PER_CLASS, MINI_SHA256

_XZ_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def select(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` samples of each class 0–9, in ascending (file) order.

    Raises:
        ValueError: a class has fewer than ``per_class`` samples.
    """
    picks = []
    for c in range(10):
        found = np.flatnonzero(labels == c)[:per_class]
        if found.size < per_class:
            raise ValueError(f"select: class {c} must have at least {per_class} samples; got {found.size}")
        picks.append(found)
    return np.sort(np.concatenate(picks))


def idx_bytes(array: np.ndarray) -> bytes:
    """A uint8 array as an IDX file (magic ``00 00 08 <ndim>``, big-endian dims, C-order data)."""
    if array.dtype != np.uint8:
        raise TypeError(f"idx_bytes: array must be uint8; got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def build(source: pathlib.Path) -> dict[str, tuple[bytes, bytes]]:
    """file name -> (IDX payload, xz file bytes) for the four embedded files."""
    out = {}
    for split, (images_name, labels_name) in MINI_FILES.items():
        images, labels = read_mnist_split(source, split, dataset="fashion-mnist", caller="make_mini")
        keep = select(labels, MINI_PER_CLASS[split])
        for name, array in ((images_name, images[keep]), (labels_name, labels[keep])):
            payload = idx_bytes(array)
            out[name] = (payload, lzma.compress(payload, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                                filters=_XZ_FILTERS))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xbarsim.data.make_mini", description=__doc__.split("\n")[0])
    parser.add_argument("source", type=pathlib.Path, help="directory with the four Fashion-MNIST IDX files")
    parser.add_argument("--out", type=pathlib.Path, default=MINI_DIR, help=f"output directory (default {MINI_DIR})")
    parser.add_argument("--check", action="store_true", help="fail if the payloads differ from mini.MINI_SHA256")
    args = parser.parse_args(argv)
    files = build(args.source)
    args.out.mkdir(parents=True, exist_ok=True)
    total, mismatched = 0, []
    for name, (payload, packed) in files.items():
        (args.out / name).write_bytes(packed)
        digest = hashlib.sha256(payload).hexdigest()
        total += len(packed)
        print(f'    "{name}": "{digest}",  # {len(payload)} -> {len(packed)} bytes')
        if digest != MINI_SHA256[name]:
            mismatched.append(name)
    print(f"total {total} bytes in {args.out}")
    if args.check and mismatched:
        print(f"make_mini: payloads differ from mini.MINI_SHA256: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
