"""What the native core was built with and how it runs: version, CUDA, CPU threads.

The rest of the package reaches the native core ``xbarsim._core`` only through ``xbarsim.ops``; this
module is the part of that boundary that is about the build and the process, not about tensors.
"""
from __future__ import annotations

import functools

from .. import _core

__all__ = ["__version__", "cuda_available", "build_info", "set_num_threads", "num_threads"]

__version__: str = _core.__version__


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


def set_num_threads(n: int) -> None:
    """Set the OpenMP threads of the native CPU loops (results never depend on it).

    Raises:
        ValueError: ``n`` is not an int >= 1.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be an int >= 1; got {n!r}")
    _core.set_openmp_threads(n)


def num_threads() -> int:
    """OpenMP threads of the native CPU loops (1 when built without OpenMP)."""
    return int(_core.openmp_threads())
