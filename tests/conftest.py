"""Shared test configuration: markers by directory, the CUDA skip, data paths and seeds.

tests/reference/  float64 NumPy references written from the spec, known-answer vectors
tests/unit/       deterministic checks: configs, bad input, hand-worked cases
tests/stats/      random behaviour against closed forms (fixed seeds, 5-sigma tolerances)
tests/parity/     CPU == CUDA bit for bit; marked `cuda`, skipped without a GPU
tests/integration end-to-end: layers vs torch, checkpoints, training, CLI
"""
from __future__ import annotations

import functools
import pathlib

import pytest
import torch

import xbarsim

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FASHION_MNIST = SHARED / "data" / "fashion-mnist"


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
def fashion_mnist_dir() -> pathlib.Path:
    if not FASHION_MNIST.is_dir():
        pytest.skip(f"Fashion-MNIST not found at {FASHION_MNIST}")
    return FASHION_MNIST
