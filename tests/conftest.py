"""Shared test configuration: markers by directory, the CUDA skip, data paths and seeds.

tests/reference/  float64 NumPy references written from the spec, known-answer vectors
tests/unit/       deterministic checks: configs, bad input, hand-worked cases
tests/stats/      random behaviour against closed forms (fixed seeds, 5-sigma tolerances)
tests/parity/     CPU == CUDA bit for bit; marked `cuda`, skipped without a GPU
tests/integration end-to-end: layers vs torch, checkpoints, training, CLI
tests/fuzz/       property-based fuzzing (hypothesis) of configs, ops, tiles and layers: every call
                  succeeds or raises ValueError/TypeError naming the argument, state untouched
"""
from __future__ import annotations

import functools
import os
import pathlib

import pytest
import torch

import xbarsim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _find_shared() -> pathlib.Path:
    """``shared/`` beside the checkout (``../shared``), else beside an enclosing directory (a git
    worktree under ``/work/wt/<name>`` sees ``/work/shared``)."""
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared"
    return ROOT.parent / "shared"


SHARED = _find_shared()
SHARED_DATA = SHARED / "data"
FASHION_MNIST = SHARED_DATA / "fashion-mnist"


def in_ci() -> bool:
    """CI sets ``CI=true``: there, missing shared data is a failure, not a reason to skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def require_shared(path: pathlib.Path, what: str) -> pathlib.Path:
    """``path`` if it exists; else skip the test, or fail it under CI (``CI=true``)."""
    if path.exists():
        return path
    message = f"{what} not found at {path} (shared data beside the checkout)"
    if in_ci():
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


@functools.lru_cache(maxsize=None)
def _core_cannot_see_torch_gpu() -> str | None:
    """Why xbarsim's core cannot use the GPU torch sees (None when it can, or torch sees none either).

    A GPU machine whose CUDA tests all skip looks green while testing nothing (a driver too old for the
    runtime the core was built with, a CPU-only build): there, CUDA tests fail with the reason instead.
    """
    if xbarsim.cuda_available() or not torch.cuda.is_available():
        return None
    info = xbarsim.build_info()
    return (f"torch sees {torch.cuda.device_count()} CUDA device(s) but xbarsim's core does not: "
            f"built_with_cuda={info['built_with_cuda']}, cuda_runtime_status={info['cuda_runtime_status']!r}")


def pytest_collection_modifyitems(config, items):
    has_cuda = xbarsim.cuda_available()
    broken = _core_cannot_see_torch_gpu() is not None
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU and a CUDA build of xbarsim")
    for item in items:
        path = pathlib.Path(str(item.fspath))
        if "parity" in path.parts:
            item.add_marker(pytest.mark.cuda)
        if item.get_closest_marker("cuda") is not None and not has_cuda and not broken:
            item.add_marker(skip_cuda)


@pytest.fixture(autouse=True)
def _fail_cuda_tests_if_core_cannot_use_gpu(request):
    """CUDA tests fail (not skip) where torch has a GPU that xbarsim's core cannot use."""
    if request.node.get_closest_marker("cuda") is not None:
        reason = _core_cannot_see_torch_gpu()
        if reason is not None:
            pytest.fail(reason)


@pytest.fixture(autouse=True)
def _seed_torch():
    """Every test starts from the same global torch RNG state: results never depend on test order."""
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _no_tf32():
    """References are float64 and GEMM tolerances assume true fp32: never TF32."""
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = old


@pytest.fixture
def shared_data_dir() -> pathlib.Path:
    """The shared data root (``shared/data``, one subdirectory per dataset); skip, or fail under CI."""
    return require_shared(SHARED_DATA, "the shared data directory")


@pytest.fixture
def fashion_mnist_dir(shared_data_dir) -> pathlib.Path:
    """The shared full Fashion-MNIST (four IDX .gz files); skip, or fail under CI."""
    return require_shared(FASHION_MNIST, "Fashion-MNIST")
