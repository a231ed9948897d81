"""IDX reader and MNIST-style loader: layout, validation errors, and the shipped Fashion-MNIST.

Spec: experiments.md §12.1.
"""
from __future__ import annotations

import gzip
import pathlib

import numpy as np
import pytest
import torch

from xbarsim.data import load_mnist_like, read_idx


def _idx(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_split(root: pathlib.Path, n=5, split="train", gz=True, images=None, labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if images is None else images
    labels = rng.integers(0, 10, (n,), dtype=np.uint8) if labels is None else labels
    names = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
    for name, data in zip(names, (_idx(images, 0x08), _idx(labels, 0x08))):
        if gz:
            (root / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (root / name).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                                         (np.float32, 0x0D), (np.float64, 0x0E)])
def test_read_idx_every_element_type(tmp_path, dtype, code):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    path = tmp_path / "a.idx"
    path.write_bytes(_idx(array, code))
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and np.array_equal(out, array)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx(array, code)))
    assert np.array_equal(read_idx(tmp_path / "a.idx.gz"), array)


@pytest.mark.parametrize("mutate, match", [
    (lambda b: b"\x01" + b[1:], "must start with the IDX magic"),
    (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX element type 0x07"),
    (lambda b: b[:-1], "must hold exactly 40 bytes for dims \\(2, 3, 4\\); got 39"),
    (lambda b: b + b"\x00", "got 41"),
    (lambda b: b[:6], "truncated inside its header"),
    (lambda b: b"", "an empty file"),
])
def test_read_idx_rejects_corrupt_files(tmp_path, mutate, match):
    path = tmp_path / "bad"
    path.write_bytes(mutate(_idx(np.zeros((2, 3, 4), np.uint8), 0x08)))
    with pytest.raises(ValueError, match=match):
        read_idx(path)


def test_read_idx_missing_and_corrupt_gzip(tmp_path):
    with pytest.raises(FileNotFoundError, match="no IDX file at"):
        read_idx(tmp_path / "nope")
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")[:-6])
    with pytest.raises(ValueError, match="corrupt or truncated gzip file"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_like_small_directory(tmp_path, gz):
    images, labels = _write_split(tmp_path, n=7, split="test", gz=gz)
    x, y = load_mnist_like(tmp_path, "test")
    assert x.shape == (7, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x, torch.from_numpy(images).float().div(255).unsqueeze(1))
    assert torch.equal(y, torch.from_numpy(labels.astype(np.int64)))
    x3, y3 = load_mnist_like(tmp_path, "test", limit=3)
    assert torch.equal(x3, x[:3]) and torch.equal(y3, y[:3])


def test_load_mnist_like_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist_like(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte \(or train-images-idx3-ubyte.gz\) not found"):
        load_mnist_like(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_mnist_like(tmp_path, "val")
    _write_split(tmp_path, n=4, labels=np.array([1, 2, 3], np.uint8))
    with pytest.raises(ValueError, match="images and labels must have equal counts; got 4 and 3"):
        load_mnist_like(tmp_path)
    _write_split(tmp_path, n=3, labels=np.array([1, 2, 10], np.uint8))
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        load_mnist_like(tmp_path)
    _write_split(tmp_path, n=3, images=np.zeros((3, 28, 27), np.uint8))
    with pytest.raises(ValueError, match="must hold 28x28 images"):
        load_mnist_like(tmp_path)
    # labels file where the images file should be: wrong magic number
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes((tmp_path / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match="must start with magic 2051"):
        load_mnist_like(tmp_path)


def test_checksum_verification_names_the_file(tmp_path):
    _write_split(tmp_path, n=3)
    with pytest.raises(ValueError, match="does not match the known fashion-mnist checksums"):
        load_mnist_like(tmp_path, dataset="fashion-mnist")


def test_shipped_fashion_mnist(fashion_mnist_dir):
    x, y = load_mnist_like(fashion_mnist_dir, "test", dataset="fashion-mnist")
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert torch.equal(torch.bincount(y), torch.full((10,), 1000))  # Fashion-MNIST test set is balanced
