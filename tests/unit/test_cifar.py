"""CIFAR-10/100 loaders and the restricted unpickler, on small synthetic batch files.

The synthetic files are written in the format of the real ones (Python 2 pickles, protocol 2,
numpy 1.x array reconstruction, byte strings decoded as latin-1) by a small opcode writer below,
and also as modern protocol-4 pickles.

Spec: experiments.md §12.2–12.4.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch

import xbarsim.data as data
from xbarsim.data import cifar


# ----------------------------------------------------------------------------- a Python 2 pickle writer

def _py2(obj) -> bytes:
    """``obj`` pickled as Python 2 cPickle (protocol 2) with numpy 1.x would write it."""
    out = bytearray(b"\x80\x02")

    def string(s):
        raw = s if isinstance(s, bytes) else s.encode("latin1")
        out.extend(b"U" + bytes([len(raw)]) + raw if len(raw) < 256 else b"T" + struct.pack("<I", len(raw)) + raw)

    def integer(v):
        out.extend(b"K" + bytes([v]) if 0 <= v < 256 else b"J" + struct.pack("<i", v))

    def emit(o):
        if isinstance(o, dict):
            out.extend(b"}(")
            for k, v in o.items():
                emit(k)
                emit(v)
            out.extend(b"u")
        elif isinstance(o, list):
            out.extend(b"](")
            for v in o:
                emit(v)
            out.extend(b"e")
        elif isinstance(o, (str, bytes)):
            string(o)
        elif isinstance(o, int):
            integer(o)
        elif isinstance(o, np.ndarray):
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85")
            string("b")
            out.extend(b"\x87R(K\x01")
            for n in o.shape:
                integer(n)
            out.extend({1: b"\x85", 2: b"\x86", 3: b"\x87"}[o.ndim])
            out.extend(b"cnumpy\ndtype\n")
            string(o.dtype.str[1:])
            out.extend(b"\x89\x88\x87R(K\x03")
            string("|")
            out.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89")
            string(o.tobytes())
            out.extend(b"tb")
        else:
            raise TypeError(type(o))

    emit(obj)
    return bytes(out + b".")


def _batch(n, seed, n_classes=10, fine=False):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    y = [int(v) for v in rng.integers(0, n_classes, n)]
    d = {"batch_label": f"batch {seed}", "data": x, "filenames": [f"img_{seed}_{k}.png" for k in range(n)]}
    if fine:
        d.update(fine_labels=y, coarse_labels=[v // 5 for v in y])
    else:
        d["labels"] = y
    return d


def _cifar10_files(n=4, dump=_py2):
    files = {f"data_batch_{k}": dump(_batch(n, k)) for k in range(1, 6)}
    files["test_batch"] = dump(_batch(n, 9))
    files["batches.meta"] = dump({"label_names": [f"c{k}" for k in range(10)], "num_cases_per_batch": n, "num_vis": 3072})
    return files


def _cifar100_files(n=5, dump=_py2):
    return {"train": dump(_batch(n, 1, 100, fine=True)), "test": dump(_batch(n, 2, 100, fine=True)),
            "meta": dump({"fine_label_names": [f"f{k}" for k in range(100)],
                          "coarse_label_names": [f"g{k}" for k in range(20)]})}


def _write_dir(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return folder


def _write_tar(path, prefix, files, extra=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        for info in extra:
            tar.addfile(info)
    return path


def _md5s(files):
    return {k: hashlib.md5(v).hexdigest() for k, v in files.items()}


# ----------------------------------------------------------------------------- loading

@pytest.mark.parametrize("dump", [_py2, lambda o: pickle.dumps(o, protocol=4)], ids=["py2", "protocol4"])
def test_cifar10_from_folder_and_archive(tmp_path, dump):
    files = _cifar10_files(dump=dump)
    folder = _write_dir(tmp_path / "a" / "cifar-10-batches-py", files)
    x, y, classes = cifar.read_cifar(tmp_path / "a", "cifar10", "train", verify=False)
    assert x.shape == (20, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    assert classes == tuple(f"c{k}" for k in range(10))
    expected = np.concatenate([_batch(4, k)["data"] for k in range(1, 6)])  # batches 1..5 in order
    assert np.array_equal(x.reshape(20, 3072), expected)
    assert np.array_equal(x[0, 1], expected[0, 1024:2048].reshape(32, 32))  # R, G, B planes, row-major
    assert y.tolist() == sum((_batch(4, k)["labels"] for k in range(1, 6)), [])
    archive = _write_tar(tmp_path / "b" / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    for source in (tmp_path / "b", archive, folder):
        x2, y2, _ = cifar.read_cifar(source, "cifar10", "test", verify=False)
        assert np.array_equal(x2.reshape(4, 3072), _batch(4, 9)["data"]) and x2.flags.writeable


def test_load_cifar_with_checksums(monkeypatch, tmp_path):
    files = _cifar100_files()
    _write_tar(tmp_path / "cifar100" / "cifar-100-python.tar.gz", "cifar-100-python", files)
    with pytest.raises(ValueError, match=r"load: '.*cifar-100-python.tar.gz:cifar-100-python/test' does not match the "
                                         r"known cifar100 checksum: MD5 [0-9a-f]{32} \(\d+ bytes\), expected f0ef6b0a"):
        data.load("cifar100", tmp_path, train=False)
    layout = dataclasses.replace(cifar.CIFAR_LAYOUTS["cifar100"], md5=_md5s(files))
    monkeypatch.setitem(cifar.CIFAR_LAYOUTS, "cifar100", layout)
    ds = data.load("cifar100", tmp_path, train=False)
    assert ds.images.shape == (5, 3, 32, 32) and ds.labels.tolist() == _batch(5, 2, 100, fine=True)["fine_labels"]
    assert len(ds.classes) == 100 and ds.classes[7] == "f7" and ds.split == "test"
    assert ds.images.dtype == torch.uint8 and ds.labels.dtype == torch.int64


def test_missing_and_partial_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither cifar-10-batches-py/ nor cifar-10-python.tar.gz found"):
        cifar.read_cifar(tmp_path, "cifar10")
    files = _cifar10_files()
    del files["data_batch_3"]
    _write_dir(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(FileNotFoundError, match="data_batch_3 not found in"):
        cifar.read_cifar(tmp_path, "cifar10", verify=False)
    archive = _write_tar(tmp_path / "x" / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    with pytest.raises(ValueError, match="must contain cifar-10-batches-py/data_batch_3; they are missing"):
        cifar.read_cifar(archive, "cifar10", verify=False)


def test_corrupt_archives(tmp_path):
    files = _cifar10_files()
    archive = _write_tar(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    blob = archive.read_bytes()
    archive.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"is a corrupt or truncated archive \(\d+ bytes"):
        cifar.read_cifar(archive, "cifar10", "test", verify=False)
    link = tarfile.TarInfo("cifar-10-batches-py/test_batch")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    del files["test_batch"]
    _write_tar(archive, "cifar-10-batches-py", files, extra=[link])
    with pytest.raises(ValueError, match="test_batch' must be a regular file; got a link"):
        cifar.read_cifar(archive, "cifar10", "test", verify=False)


@pytest.mark.parametrize("change, match", [
    (lambda b: b.update(data=b["data"][:, :3000]), r"must have 'data' as a uint8 array \[N, 3072\]; got ndarray uint8 \(4, 3000\)"),
    (lambda b: b.update(data=b["data"].astype(np.int16)), r"not a valid CIFAR pickle .*only the uint8 dtype is allowed"),
    (lambda b: b.update(labels=b["labels"][:3]), r"must have 4 'labels' \(one per image\); got 3"),
    (lambda b: b.update(labels=[0, 1, 2, 10]), r"must have 'labels' in 0..9; got 0..10"),
    (lambda b: b.update(labels=[0, 1, 2, -1]), r"must have 'labels' in 0..9; got -1..2"),
    (lambda b: b.update(labels="0123"), "must have a list 'labels'; got str"),
    (lambda b: b.pop("data"), r"must have 'data' as a uint8 array .*got NoneType"),
])
def test_batch_structure_is_validated(tmp_path, change, match):
    files = _cifar10_files()
    batch = _batch(4, 9)
    change(batch)
    files["test_batch"] = pickle.dumps(batch, protocol=4)
    _write_dir(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(ValueError, match=match):
        cifar.read_cifar(tmp_path, "cifar10", "test", verify=False)


def test_meta_and_cifar100_labels_are_validated(tmp_path):
    files = _cifar100_files()
    bad = _batch(5, 2, 100, fine=True)
    bad["fine_labels"][0] = 100
    _write_dir(tmp_path / "cifar-100-python", {**files, "test": _py2(bad)})
    with pytest.raises(ValueError, match=r"must have 'fine_labels' in 0..99; got \d+..100"):
        cifar.read_cifar(tmp_path, "cifar100", "test", verify=False)
    bad = _batch(5, 2, 100, fine=True)
    bad["coarse_labels"][0] = 20
    _write_dir(tmp_path / "cifar-100-python", {**files, "test": _py2(bad)})
    with pytest.raises(ValueError, match=r"must have 'coarse_labels' in 0..19"):
        cifar.read_cifar(tmp_path, "cifar100", "test", verify=False)
    _write_dir(tmp_path / "cifar-100-python", {**files, "meta": _py2({"fine_label_names": ["a"] * 99})})
    with pytest.raises(ValueError, match="must have 100 class names under 'fine_label_names'; got list of 99"):
        cifar.read_cifar(tmp_path, "cifar100", "train", verify=False)


# ----------------------------------------------------------------------------- the restricted unpickler

class _Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        import os
        return os.system, (f"touch {self.path}",)


def test_forbidden_global_is_rejected_before_import(tmp_path):
    marker = tmp_path / "pwned"
    batch = _batch(4, 9)
    batch["filenames"] = _Exploit(marker)
    evil = pickle.dumps(batch, protocol=4)
    assert pickle.loads(pickle.dumps(1)) == 1  # (the exploit is only ever given to the safe loader)
    files = {**_cifar10_files(), "test_batch": evil}
    _write_dir(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(ValueError, match=r"read_cifar: '.*test_batch' must contain only dicts, lists, str, bytes, int "
                                         r"and uint8 numpy arrays; got a reference to posix.system \(rejected, not loaded\)"):
        cifar.read_cifar(tmp_path, "cifar10", "test", verify=False)
    assert not marker.exists()
    # through load(): the official checksum is checked first, so the file is never unpickled
    (tmp_path / "root" / "cifar10").mkdir(parents=True)
    _write_dir(tmp_path / "root" / "cifar10" / "cifar-10-batches-py", files)
    with pytest.raises(ValueError, match="does not match the known cifar10 checksum"):
        data.load("cifar10", tmp_path / "root", train=False)
    assert not marker.exists()


@pytest.mark.parametrize("blob, match", [
    (pickle.dumps(collections.OrderedDict(a=1)), r"reference to collections.OrderedDict \(rejected"),
    (b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1q\x00\x85R.", r"reference to builtins.eval"),
    (b"\x80\x02c__builtin__\nopen\n.", r"reference to __builtin__.open"),  # Python 2 names are not mapped
    (b"\x80\x02cnumpy\nndarray\nJ\x00\x00\x00\x40\x85R.", "not a valid CIFAR pickle .*UnpicklingError: numpy.ndarray "
                                                           "may only appear as the argument of _reconstruct"),
    (b"\x80\x02cnumpy\ndtype\nU\x01O\x89\x88\x87R.", r"only the uint8 dtype is allowed; got dtype\('O'"),
    (b"\x80\x02X\x01\x00\x00\x00aQ.", "persistent ids are not allowed"),
    (pickle.dumps({"data": np.zeros(3, np.uint8)}, protocol=4)[:-9], r"not a valid CIFAR pickle \(\d+ bytes"),
    (pickle.dumps(np.zeros(3, np.uint8), protocol=5), r"reference to numpy._core.numeric._frombuffer"),
])
def test_safe_unpickle_rejects(blob, match):
    with pytest.raises(ValueError, match=match):
        data.safe_unpickle(blob, "'f'")


def test_safe_unpickle_reads_what_cifar_files_contain():
    obj = {"data": np.arange(6, dtype=np.uint8).reshape(2, 3), "labels": [1, 2], "batch_label": "x",
           "b": b"\x00\xff", "n": 3072, "names": ["airplane"]}
    for blob in (_py2({k: v for k, v in obj.items() if k != "b"}), pickle.dumps(obj, protocol=2 + 2)):
        out = data.safe_unpickle(blob)
        assert np.array_equal(out["data"], obj["data"]) and out["labels"] == [1, 2] and out["names"] == ["airplane"]
