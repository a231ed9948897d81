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

import pathlib

import pytest
import torch

import xbarsim

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FASHION_MNIST = SHARED / "data" / "fashion-mnist"


def pytest_collection_modifyitems(config, items):
    has_cuda = xbarsim.cuda_available()
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU and a CUDA build of xbarsim")
    for item in items:
        path = pathlib.Path(str(item.fspath))
        if "parity" in path.parts:
            item.add_marker(pytest.mark.cuda)
        if item.get_closest_marker("cuda") is not None and not has_cuda:
            item.add_marker(skip_cuda)


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
