"""torch.Tensor -> _core.TensorView, and the CUDA stream the native core should run on.

The native core never sees torch types: a view is a pointer, dtype, shape, strides in elements and
a device. The Python view object keeps its tensor alive, so ``view(t.contiguous())`` is safe.
"""
from __future__ import annotations

import torch

from .. import _core

_TensorView = _core.TensorView

_DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def view(t: torch.Tensor) -> "_core.TensorView":
    """A TensorView of ``t``; the view keeps ``t`` alive."""
    dtype = _DTYPE_NAMES.get(t.dtype)
    if dtype is None:
        raise TypeError(f"xbarsim: tensors of dtype {t.dtype} cannot cross into the native core")
    # is_cpu/is_cuda/get_device instead of t.device: no torch.device object per view (every native
    # call makes several views; this is a measurable part of a small tile's per-call cost).
    if t.is_cpu:
        return _TensorView(t.data_ptr(), dtype, t.shape, t.stride(), "cpu", 0, owner=t)
    if t.is_cuda:
        return _TensorView(t.data_ptr(), dtype, t.shape, t.stride(), "cuda", t.get_device(), owner=t)
    # meta and other devices: the native core rejects them by name
    return _TensorView(t.data_ptr(), dtype, t.shape, t.stride(), t.device.type, t.device.index or 0, owner=t)


def cuda_stream(t: torch.Tensor) -> int:
    """The handle of torch's current CUDA stream for ``t``'s device (0 for CPU tensors)."""
    if t.device.type != "cuda":
        return 0
    return torch.cuda.current_stream(t.device).cuda_stream
