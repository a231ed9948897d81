"""xbarsim.data: load(), where files are looked for, downloads, the embedded subset, IDX validation.

Real files: the shared Fashion-MNIST (skipped without it, failed under CI=true). Everything else
uses small synthetic files written to tmp_path and local servers: no network.

Spec: experiments.md §1.1, §12.1; STYLE.md "Files from outside are untrusted".
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import lzma
import pathlib
import shutil
import threading

import numpy as np
import pytest
import torch

import xbarsim.data as data
from xbarsim.data import datasets, mini, sources
from xbarsim.data.make_mini import idx_bytes, select

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx(array: np.ndarray) -> bytes:
    return idx_bytes(array.astype(np.uint8))


def _mnist_like(n_train=60000, n_test=10000):
    """Synthetic MNIST-shaped payloads (name -> IDX bytes): image k is filled with k % 251."""
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        k = np.arange(n)
        out[f"{prefix}-images-idx3-ubyte"] = _idx(np.broadcast_to((k % 251).reshape(n, 1, 1), (n, 28, 28)))
        out[f"{prefix}-labels-idx1-ubyte"] = _idx(k % 10)
    return out


@pytest.fixture(scope="module")
def mnist_payloads():
    return _mnist_like()


def _write(directory: pathlib.Path, payloads: dict, gz=True) -> pathlib.Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(payload, compresslevel=1, mtime=0))
        else:
            (directory / name).write_bytes(payload)
    return directory


# ----------------------------------------------------------------------------- real files

def test_full_fashion_mnist_from_the_shared_copy(fashion_mnist_dir):
    shared_data_dir = fashion_mnist_dir.parent  # the data root: one subdirectory per dataset
    test = data.load("fashion-mnist", shared_data_dir, train=False)
    assert (test.name, test.split, len(test)) == ("fashion-mnist", "test", 10000)
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels.dtype == torch.int64 and torch.equal(torch.bincount(test.labels), torch.full((10,), 1000))
    assert test.classes == data.FASHION_MNIST_CLASSES and test.classes[9] == "Ankle boot"
    train = data.load("fashion-mnist", shared_data_dir)
    assert train.images.shape == (60000, 1, 28, 28) and torch.equal(torch.bincount(train.labels), torch.full((10,), 6000))
    # the float view of the old loader is the same data
    x, y = data.load_mnist_like(shared_data_dir / "fashion-mnist", "test", dataset="fashion-mnist", limit=50)
    assert torch.equal(x, test.images[:50].float() / 255) and torch.equal(y, test.labels[:50])


def test_embedded_subset_is_the_documented_selection_of_the_full_set(fashion_mnist_dir):
    """The shipped payloads are exactly make_mini's selection: regeneration is reproducible."""
    for split, (images_name, labels_name) in mini.MINI_FILES.items():
        images, labels = data.read_mnist_split(fashion_mnist_dir, split, dataset="fashion-mnist")
        keep = select(labels, mini.MINI_PER_CLASS[split])
        assert hashlib.sha256(idx_bytes(images[keep])).hexdigest() == mini.MINI_SHA256[images_name]
        assert hashlib.sha256(idx_bytes(labels[keep])).hexdigest() == mini.MINI_SHA256[labels_name]
    assert select(labels, 100)[-1] < 1100  # "first 100 per class in file order"


def test_mnist_directory_holding_fashion_mnist_files_is_rejected(fashion_mnist_dir, tmp_path):
    target = tmp_path / "mnist"
    target.mkdir()
    for name in IDX_NAMES[2:]:
        shutil.copy(fashion_mnist_dir / (name + ".gz"), target)
    with pytest.raises(ValueError, match="must be the mnist t10k-images-idx3-ubyte; got the fashion-mnist file"):
        data.load("mnist", tmp_path, train=False)


# ----------------------------------------------------------------------------- the embedded subset

@pytest.mark.parametrize("train, n", [(True, 6000), (False, 1000)])
def test_embedded_fashion_mnist_mini(train, n):
    ds = data.load("fashion-mnist-mini", train=train)
    assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert torch.equal(torch.bincount(ds.labels, minlength=10), torch.full((10,), n // 10))
    assert ds.classes == data.FASHION_MNIST_CLASSES and ds.name == "fashion-mnist-mini"
    assert ds.images.float().mean() > 50  # real images, not zeros
    small = ds.subset(20)
    assert len(small) == 20 and torch.equal(small.images, ds.images[:20]) and small.split == ds.split


def test_embedded_files_and_licence_are_in_the_package():
    folder = data.dataset_dir("fashion-mnist-mini")
    assert folder == mini.MINI_DIR
    sizes = {p.name: p.stat().st_size for p in folder.glob("*.xz")}
    assert set(sizes) == {n for pair in mini.MINI_FILES.values() for n in pair}
    assert sum(sizes.values()) <= 3 * 2**20  # the budget: <= 3 MB
    licence = (folder / "LICENSE").read_text()
    assert "Zalando SE" in licence and "MIT License" in licence


def test_embedded_payload_checksum_is_verified(tmp_path):
    folder = shutil.copytree(mini.MINI_DIR, tmp_path / "mini")
    name = mini.MINI_FILES["test"][1]
    payload = bytearray(lzma.decompress((folder / name).read_bytes()))
    payload[-1] = (payload[-1] + 1) % 10  # a valid file with one label changed
    (folder / name).write_bytes(lzma.compress(bytes(payload)))
    with pytest.raises(ValueError, match="must have payload SHA-256 3128d790"):
        mini.read_mini("test", directory=folder)
    (folder / name).write_bytes((mini.MINI_DIR / name).read_bytes()[:-40])  # truncated
    with pytest.raises(ValueError, match="corrupt or truncated xz file"):
        mini.read_mini("test", directory=folder)
    (folder / name).unlink()
    with pytest.raises(FileNotFoundError, match="embedded file .* is missing"):
        mini.read_mini("test", directory=folder)


# ----------------------------------------------------------------------------- IDX validation via load()

@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_synthetic_full_size(tmp_path, mnist_payloads, gz):
    _write(tmp_path / "mnist", mnist_payloads, gz=gz)
    ds = data.load("mnist", tmp_path, train=False)
    assert ds.images.shape == (10000, 1, 28, 28) and ds.classes == tuple("0123456789")
    assert torch.equal(ds.images[:, 0, 5, 5], (torch.arange(10000) % 251).to(torch.uint8))
    assert torch.equal(ds.labels, torch.arange(10000) % 10)
    assert ds.images.is_contiguous()
    ds.images[0, 0, 0, 0] = 1  # owns writable memory


@pytest.mark.parametrize("mutate, match", [
    (lambda p: p[:-1], r"must decompress to at most|must hold exactly 7840016 bytes .* got 7840015"),
    (lambda p: p + b"\x00", "must be at most 7840016 bytes; got 7840017"),
    (lambda p: b"\x00\x00\x08\x01" + p[4:], "must start with magic 2051"),
    (lambda p: p[:4] + (9999).to_bytes(4, "big") + p[8:], r"must hold exactly 7839232 bytes for dims \(9999, 28, 28\); got 7840016"),
    (lambda p: b"", "an empty file"),
])
def test_load_reports_corrupt_or_truncated_images(tmp_path, mnist_payloads, mutate, match):
    payloads = dict(mnist_payloads)
    payloads["t10k-images-idx3-ubyte"] = mutate(payloads["t10k-images-idx3-ubyte"])
    _write(tmp_path / "mnist", payloads, gz=False)
    with pytest.raises(ValueError, match=match):
        data.load("mnist", tmp_path, train=False)


def test_load_reports_bad_labels_counts_and_gzip(tmp_path, mnist_payloads):
    root = tmp_path / "mnist"
    payloads = dict(mnist_payloads)
    payloads["t10k-labels-idx1-ubyte"] = _idx(np.full(10000, 10))
    _write(root, payloads)
    with pytest.raises(ValueError, match="labels must be in 0..9; got a maximum of 10"):
        data.load("mnist", tmp_path, train=False)
    payloads["t10k-labels-idx1-ubyte"] = _idx(np.zeros(9999))
    _write(root, payloads)
    with pytest.raises(ValueError, match="must have 10000 samples|equal counts"):
        data.load("mnist", tmp_path, train=False)
    good = gzip.compress(mnist_payloads["t10k-labels-idx1-ubyte"])
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"corrupt or truncated gzip file \(\d+ bytes compressed"):
        data.load("mnist", tmp_path, train=False)


def test_fashion_mnist_checksum_is_required(tmp_path, mnist_payloads):
    _write(tmp_path / "fashion-mnist", mnist_payloads)
    with pytest.raises(ValueError, match=r"does not match the known fashion-mnist checksums: payload MD5 [0-9a-f]{32} "
                                         r"\(7840016 bytes decompressed\), expected 8181f547"):
        data.load("fashion-mnist", tmp_path, train=False)


# ----------------------------------------------------------------------------- where files are looked for

def test_default_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("XBARSIM_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.default_root() == tmp_path / "d"
    monkeypatch.setenv("XBARSIM_DATA", "")
    assert data.default_root() == tmp_path / "xdg" / "xbarsim" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the XDG spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_root() == tmp_path / "home" / ".cache" / "xbarsim" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.default_root() == tmp_path / "home" / ".cache" / "xbarsim" / "data"


def test_dataset_dir_and_argument_checks(monkeypatch, tmp_path):
    monkeypatch.setenv("XBARSIM_DATA", str(tmp_path))
    assert data.dataset_dir("cifar10") == tmp_path / "cifar10"
    assert data.dataset_dir("mnist", "/x") == pathlib.Path("/x/mnist")
    assert data.DATASETS == ("mnist", "fashion-mnist", "fashion-mnist-mini", "cifar10", "cifar100")
    assert set(data.DATASETS) == set(sources.SOURCES) | {"fashion-mnist-mini"}
    with pytest.raises(ValueError, match="dataset_dir: name must be one of 'mnist', .*; got 'svhn'"):
        data.dataset_dir("svhn")
    with pytest.raises(ValueError, match="load: name must be one of"):
        data.load("fashion_mnist")
    with pytest.raises(TypeError, match="load: train must be a bool; got str"):
        data.load("mnist", tmp_path, train="test")
    with pytest.raises(TypeError, match="dataset_dir: root must be a path or None; got int"):
        data.dataset_dir("mnist", 3)


def test_env_root_is_used_and_missing_files_explained(monkeypatch, tmp_path, mnist_payloads):
    monkeypatch.setenv("XBARSIM_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        data.load("mnist", train=False)
    message = str(info.value)
    for part in (f"not found in {str(tmp_path / 'mnist')!r}", "t10k-images-idx3-ubyte[.gz]",
                 "https://ossci-datasets.s3.amazonaws.com/mnist/", "download=True", "XBARSIM_DATA"):
        assert part in message
    with pytest.raises(FileNotFoundError, match=r"cifar-100-python/ .* or cifar-100-python.tar.gz.*www.cs.toronto.edu"):
        data.load("cifar100")
    monkeypatch.setenv("XBARSIM_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"downloads are disabled by \$XBARSIM_OFFLINE"):
        data.load("fashion-mnist", download=True)
    _write(tmp_path / "mnist", {k: v for k, v in mnist_payloads.items() if k.startswith("t10k")})
    assert len(data.load("mnist", train=False)) == 10000  # found through $XBARSIM_DATA


# ----------------------------------------------------------------------------- downloads

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path):
    """(directory, base URL) of a local HTTP server; shut down after the test."""
    served = tmp_path / "served"
    served.mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_download_file_verifies_before_moving_into_place(http_dir, tmp_path):
    served, url = http_dir
    blob = b"payload" * 1000
    (served / "f.bin").write_bytes(blob)
    dest = tmp_path / "out" / "f.bin"
    good = hashlib.md5(blob).hexdigest()
    with pytest.raises(ValueError, match=r"must have MD5 0{32}; got .* \(7000 bytes\); nothing was written"):
        data.download_file(url + "f.bin", dest, md5="0" * 32)
    assert list(dest.parent.iterdir()) == []  # no file, no temporary left behind
    with pytest.raises(ValueError, match="must have SHA256"):
        data.download_file(url + "f.bin", dest, md5=good, sha256="1" * 64)  # SHA-256 wins when known
    assert data.download_file(url + "f.bin", dest, md5=good) == dest and dest.read_bytes() == blob
    with pytest.raises(RuntimeError, match="cannot fetch .*missing.bin"):
        data.download_file(url + "missing.bin", tmp_path / "out" / "m.bin", md5=good)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["f.bin"]
    assert data.download_file((served / "f.bin").as_uri(), tmp_path / "out" / "g.bin",
                              sha256=hashlib.sha256(blob).hexdigest()).read_bytes() == blob
    with pytest.raises(ValueError, match="md5 or sha256 must be given"):
        data.download_file(url + "f.bin", dest)


def test_load_downloads_missing_files(monkeypatch, http_dir, tmp_path, mnist_payloads):
    served, url = http_dir
    payloads = mnist_payloads
    _write(served, payloads)
    files = tuple(sources.DatasetFile(name=n + ".gz", md5=hashlib.md5((served / (n + ".gz")).read_bytes()).hexdigest())
                  for n in IDX_NAMES)
    monkeypatch.setitem(sources.SOURCES, "mnist", dataclasses.replace(sources.SOURCES["mnist"], base_url=url,
                                                                      downloads=files))
    root = tmp_path / "root"
    (root / "mnist").mkdir(parents=True)
    (root / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(payloads["t10k-labels-idx1-ubyte"])  # present: kept
    ds = data.load("mnist", root, train=False, download=True)
    assert len(ds) == 10000
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(
        ["t10k-labels-idx1-ubyte"] + [n + ".gz" for n in IDX_NAMES if n != "t10k-labels-idx1-ubyte"])
    assert len(data.load("mnist", root, train=True)) == 60000  # all four fetched at once


def test_load_download_failures_leave_nothing(monkeypatch, http_dir, tmp_path):
    served, url = http_dir
    _write(served, _mnist_like(10, 10))
    monkeypatch.setitem(sources.SOURCES, "fashion-mnist",
                        dataclasses.replace(sources.SOURCES["fashion-mnist"], base_url=url))
    with pytest.raises(ValueError, match="must have MD5 8d4fb7e6c68d591d4c3dfef9ec88bf0d"):  # the official checksum
        data.load("fashion-mnist", tmp_path, download=True)
    assert list((tmp_path / "fashion-mnist").iterdir()) == []
    monkeypatch.setitem(sources.SOURCES, "fashion-mnist",
                        dataclasses.replace(sources.SOURCES["fashion-mnist"], base_url=url + "nowhere/"))
    with pytest.raises(RuntimeError, match=r"load: cannot download fashion-mnist .*HTTP Error 404.*expected train-images"):
        data.load("fashion-mnist", tmp_path, download=True)
    assert list((tmp_path / "fashion-mnist").iterdir()) == []


# ----------------------------------------------------------------------------- ImageDataset

def test_image_dataset_checks_and_stats():
    images = torch.tensor([[[[0, 255]], [[10, 20]]], [[[255, 255]], [[30, 40]]]], dtype=torch.uint8)  # [2, 2, 1, 2]
    ds = datasets.ImageDataset(images=images, labels=torch.tensor([0, 1]), classes=("a", "b"), name="x", split="train")
    mean, std = ds.channel_stats()
    x = images.double() / 255
    assert mean == pytest.approx(x.mean((0, 2, 3)).tolist(), abs=1e-15)
    assert std == pytest.approx(x.std((0, 2, 3), unbiased=False).tolist(), abs=1e-15)
    with pytest.raises(TypeError, match="ImageDataset: images must be a uint8 tensor; got torch.float32"):
        datasets.ImageDataset(images=images.float(), labels=torch.tensor([0, 1]), classes=("a", "b"), name="x", split="t")
    with pytest.raises(ValueError, match=r"labels must be in 0..1; got 0..2"):
        datasets.ImageDataset(images=images, labels=torch.tensor([0, 2]), classes=("a", "b"), name="x", split="t")
    with pytest.raises(ValueError, match=r"labels must have shape \[N=2\]; got \(3,\)"):
        datasets.ImageDataset(images=images, labels=torch.tensor([0, 1, 1]), classes=("a", "b"), name="x", split="t")
    with pytest.raises(ValueError, match=r"subset: n must be an int in 1..2; got 3"):
        ds.subset(3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "y"


def test_shared_data_rule_skips_locally_and_fails_under_ci(monkeypatch, tmp_path):
    import conftest

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires it"):
        conftest.require_shared(tmp_path / "absent", "the data")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="the data not found at"):
        conftest.require_shared(tmp_path / "absent", "the data")
    assert conftest.require_shared(tmp_path, "the data") == tmp_path
