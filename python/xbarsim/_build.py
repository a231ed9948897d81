"""Build and runtime information: was CUDA compiled in, and is a GPU usable."""
from __future__ import annotations

import functools

from . import _core

__all__ = ["cuda_available", "build_info"]


@functools.lru_cache(maxsize=None)
def cuda_available() -> bool:
    """True if the CUDA kernels were built into ``xbarsim._core`` and a CUDA GPU is usable by torch."""
    if not _core.built_with_cuda() or _core.cuda_device_count() == 0:
        return False
    import torch

    return torch.cuda.is_available()


def build_info() -> dict:
    """Version, CUDA build flag, visible CUDA devices, the CUDA runtime's status ("ok" or why not), the
    CPU instruction set the hot loops run with and OpenMP threads of the native core."""
    return {
        "version": _core.__version__,
        "built_with_cuda": bool(_core.built_with_cuda()),
        "cuda_device_count": int(_core.cuda_device_count()),
        "cuda_runtime_status": str(_core.cuda_runtime_status()),
        "cpu_isa": str(_core.cpu_isa()),
        "openmp_threads": int(_core.openmp_threads()),
    }
