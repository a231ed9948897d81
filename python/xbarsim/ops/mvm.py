"""Analog matrix-vector products: the read path of a tile (DAC, MVM, noise, ADC, management).

The GEMM comes from torch (BLAS / cuBLAS); everything around it is two fused native passes per
bound-management round (``xbarsim._core.io_prologue`` before the GEMM, ``io_epilogue`` after it):

* round 0 runs all rows: prologue (noise-management scale a, DAC into ``xq``, ``||v||_2``), GEMM
  written straight into the output, epilogue (weight noise, ADC, saturation flag, rescale) in place;
* round k (reduction r = 2^k) runs only the rows that saturated in round k-1: their indices are
  compacted once per round (``torch.nonzero``, the only device sync of the loop), the prologue reads
  those rows of x, the GEMM runs on the compact block and the epilogue writes the rows of the output
  by original index. The stop rules (analog-tile.md §1.3 step 7) cap the number of rounds; the last
  round's output stands even if it saturated.

Random draws are keyed by (seed, stream, call, element) with element = (round, original row, line)
(``csrc/include/xbarsim/io/draws.h``), so a row's result does not depend on the other rows.

Spec: analog-tile.md §1.3–§1.6.
"""
from __future__ import annotations

import contextlib
import functools
import math

import torch

from .. import _core
from ..config.io import IOConfig
from . import _checks
from ._views import cuda_stream, view

__all__ = ["analog_mvm", "io_params", "max_bm_rounds"]

_FN = "analog_mvm"


@functools.lru_cache(maxsize=256)
def io_params(io: IOConfig, transpose: bool) -> "_core.IoParams":
    """The native constants of one direction (analog-tile.md §1.2 normalisation; §1.4 for transpose)."""
    p = _core.IoParams()
    p.noise_management = _core.NoiseManagement[io.noise_management]
    p.nm_thres_eff = io.nm_thres_eff()
    p.nm_decay = io.nm_decay
    p.inp_res_eff = io.inp_res_eff()
    p.inp_bound_eff = io.inp_bound_eff()
    p.inp_sto_round = io.inp_sto_round
    p.inp_noise = io.inp_noise
    p.inp_asymmetry = io.inp_asymmetry
    p.out_res_eff = io.out_res_eff()
    p.out_bound_eff = io.out_bound_eff()
    p.out_sto_round = io.out_sto_round
    p.out_noise = io.out_noise
    p.out_asymmetry = io.out_asymmetry
    p.w_noise = io.w_noise if io.w_noise_type != "none" else 0.0
    p.w_noise_type = _core.WeightNoiseType[io.w_noise_type]
    p.bound_management = io.bound_management == "iterative" and not transpose
    p.max_bm_factor = io.max_bm_factor
    p.max_bm_res = io.max_bm_res
    p.bm_test_negative_bound = io.bm_test_negative_bound
    p.backward = bool(transpose)
    return p


@functools.lru_cache(maxsize=256)
def max_bm_rounds(io: IOConfig, transpose: bool = False) -> int:
    """Largest number of bound-management rounds the stop rules of analog-tile.md §1.3 step 7 allow
    for ``io`` (1 without bound management, and always 1 for the backward read)."""
    return int(_core.io_bm_max_rounds(io_params(io, transpose)))


def _validate(x, weight, io, transpose, seed, call, nm_state, alpha, fn=_FN, x_name="x",
              weight_is_finite=False) -> None:
    _checks.check_instance(fn, "io", io, IOConfig)
    _checks.check_tensor(fn, "weight", weight, ndim=2, dtype=_checks.FLOAT_DTYPES)
    out_size, in_size = weight.shape
    if out_size < 1 or in_size < 1:
        raise ValueError(f"{fn}: weight must have shape [out_size >= 1, in_size >= 1]; "
                         f"got {_checks.shape_str(weight.shape)}")
    if not isinstance(transpose, bool):
        raise TypeError(f"{fn}: transpose must be a bool; got {transpose!r}")
    lines = ("out_size", out_size) if transpose else ("in_size", in_size)
    _checks.check_tensor(fn, x_name, x, dtype=_checks.FLOAT_DTYPES, device=weight.device)
    if x.dim() < 1 or x.shape[-1] != lines[1]:
        raise ValueError(f"{fn}: {x_name} must have shape [..., {lines[0]}={lines[1]}]; "
                         f"got {_checks.shape_str(x.shape)}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{fn}: {x_name} must have the dtype of weight ({weight.dtype}); got {x.dtype}")
    if not weight_is_finite:
        _checks.check_finite(fn, "weight", weight)
    _checks.check_int(fn, "seed", seed, 0, 2**64)
    _checks.check_int(fn, "call", call, 0, 2**48)
    _checks.check_number(fn, "alpha", alpha)
    if not io.is_perfect and io.noise_management == "average_abs_max":
        if nm_state is None:
            raise ValueError(f"{fn}: nm_state must be a tensor of shape (1,) holding the running maximum "
                             "when noise_management='average_abs_max'; got None")
        _checks.check_tensor(fn, "nm_state", nm_state, shape=(1,), dtype=weight.dtype, device=weight.device)
        if not nm_state.is_contiguous():
            raise ValueError(f"{fn}: nm_state must be contiguous; got strides {tuple(nm_state.stride())}")
    elif nm_state is not None:
        _checks.check_tensor(fn, "nm_state", nm_state, shape=(1,), dtype=weight.dtype, device=weight.device)


@torch.no_grad()
def analog_mvm(x: torch.Tensor, weight: torch.Tensor, io: IOConfig, transpose: bool = False, *, seed: int = 0,
               call: int = 0, nm_state: torch.Tensor | None = None, alpha: float = 1.0, where: str = _FN,
               x_name: str = "x", weight_is_finite: bool = False,
               rounds: list[int] | None = None) -> torch.Tensor:
    """Analog matrix-vector product through the read path of one direction.

    Forward (``transpose=False``): ``y = W x`` per vector, with noise management, DAC, weight/output
    noise, ADC, iterative bound management and rescale in the order of analog-tile.md §1.3.
    Backward (``transpose=True``): ``z = Wᵀ d`` with bound management off and the backward short-cut
    rule (§1.4). Perfect mode (``io.is_perfect``): ``out_scale · alpha · W x``, no random numbers.
    The result carries no autograd history: the layers define gradients through the analog backward
    pass, not by differentiating this op.

    Args:
        x: inputs ``[..., in_size]`` (``[..., out_size]`` with ``transpose``), float32 or float64, the
            dtype and device of ``weight``; must be finite.
        weight: ``W[out_size, in_size]``; must be finite.
        io: the read-path configuration of this direction.
        transpose: read with ``Wᵀ`` (backward pass). Default False.
        seed: Philox key of every draw, in [0, 2**64). Default 0.
        call: RNG call counter, in [0, 2**48); each call of a tile uses a fresh value. Default 0.
        nm_state: running maximum ``[1]`` of ``average_abs_max`` noise management (updated in place,
            per vector in sample order; < 0 means not initialised). Required for that mode only.
        alpha: the tile's digital weight scale (multiplies the output like ``out_scale``). Default 1.
        where, x_name: the callable and the name of ``x`` in error messages (a tile's ``backward(d)``
            reports ``AnalogTile.backward: d must ...``). Defaults "analog_mvm", "x".
        weight_is_finite: the caller vouches that ``weight`` is finite, which skips its check (one
            reduction over W). The tiles do, for their own weights: ``set_weights`` rejects NaN/inf
            and every tile op keeps the weights within the cells' finite bounds. Default False.
        rounds: a list that receives the number of vectors each bound-management round read
            (``rounds[0]`` = all vectors; a perfect read is one round); None: not reported. Known on
            the host without an extra device synchronisation (the operation counters use it).

    Returns:
        ``y[..., out_size]`` (``z[..., in_size]`` with ``transpose``), dtype and device of ``x``.

    Raises:
        TypeError: non-tensor arguments, dtypes other than float32/float64, x and weight dtypes differ,
            io not an IOConfig.
        ValueError: wrong shapes, x and weight on different devices, NaN/inf in x or weight (see
            ``xbarsim.ops.set_input_checks``), seed/call/alpha out of range, missing nm_state.
        RuntimeError: CUDA tensors with a build of xbarsim without CUDA.

    Shape:
        x ``[..., L_in]`` -> ``[..., L_out]`` with (L_in, L_out) = (in_size, out_size), or
        (out_size, in_size) with ``transpose``.

    Spec: analog-tile.md §1.3–§1.6.
    """
    _validate(x, weight, io, transpose, seed, call, nm_state, alpha, where, x_name, weight_is_finite)
    w = weight.t() if not transpose else weight  # x_flat @ w is the ideal product
    gain = io.out_scale * float(alpha)
    with _full_fp32_gemm(x.device):
        if io.is_perfect:
            _checks.check_finite(where, x_name, x)
            if rounds is not None:
                rounds.append(math.prod(x.shape[:-1]))
            y = torch.matmul(x, w)
            return y if gain == 1.0 else y.mul_(gain)
        lead = x.shape[:-1]
        xf = x.reshape(-1, w.shape[0])
        if not xf.is_contiguous():
            xf = xf.contiguous()
        y = torch.empty(xf.shape[0], w.shape[1], dtype=x.dtype, device=x.device)
        if xf.shape[0] > 0:
            _checks.check_finite(where, x_name, xf)
            _ReadPath(io, transpose, xf, w, seed, call, gain, rounds).run(y, nm_state)
        return y.reshape(*lead, w.shape[1])


@contextlib.contextmanager
def _full_fp32_gemm(device: torch.device):
    """No TF32 in the read's GEMMs on CUDA (restored afterwards): an analog read is a float32 read,
    whatever ``torch.set_float32_matmul_precision`` the caller chose (docs/io.md)."""
    if device.type != "cuda":
        yield
        return
    matmul = torch.backends.cuda.matmul
    previous = matmul.allow_tf32
    matmul.allow_tf32 = False
    try:
        yield
    finally:
        matmul.allow_tf32 = previous


class _ReadPath:
    """One non-perfect read of a batch ``xf[m, L_in]`` through ``w[L_in, L_out]``: two fused native
    passes around each GEMM, repeated on the rows that saturated while bound management allows.

    Views do not own memory: every tensor viewed here is an attribute or a local that stays referenced
    until the native call that uses its view has returned.
    """

    def __init__(self, io: IOConfig, transpose: bool, xf: torch.Tensor, w: torch.Tensor, seed: int, call: int,
                 gain: float, rounds: list[int] | None = None) -> None:
        self.io, self.xf, self.w, self.seed, self.call, self.gain = io, xf, w, seed, call, gain
        self.rounds = rounds  # receives the vectors of every round (operation counters), or None
        self.p = io_params(io, transpose)
        self.max_rounds = max_bm_rounds(io, transpose)
        self.stream = cuda_stream(xf)
        m, n_in = xf.shape
        opts = dict(dtype=xf.dtype, device=xf.device)
        self.xq = torch.empty(m, n_in, **opts)  # DAC outputs (rows of the current round first)
        self.scale = torch.empty(m, **opts)  # noise-management scale per vector
        w_noise = self.p.w_noise > 0
        self.vnorm = torch.empty(m, **opts) if w_noise and io.w_noise_type == "additive_constant" else None
        self.abs_w = w.abs() if w_noise and io.w_noise_type == "pcm_read" else None
        self.sat = torch.empty(m, dtype=torch.uint8, device=xf.device) if self.p.bound_management else None

    def run(self, y: torch.Tensor, nm_state: torch.Tensor | None) -> None:
        x_v, scale_v = view(self.xf), view(self.scale)
        vnorm_v = view(self.vnorm) if self.vnorm is not None else None
        if self.io.noise_management == "average_abs_max":
            _core.io_nm_running(x_v, scale_v, view(nm_state), self.io.nm_decay, self.stream)
        rows: torch.Tensor | None = None  # original indices of the rows of this round (None: all)
        rnd, r = 0, 1.0
        while True:
            sat_k = self._round(y, rows, rnd, r, x_v, scale_v, vnorm_v)
            if sat_k is None or rnd + 1 >= self.max_rounds:
                return
            failed = torch.nonzero(sat_k).squeeze(1)  # one sync per round
            if failed.numel() == 0:
                return
            rows = failed if rows is None else rows[failed]
            rnd, r = rnd + 1, r * 2.0

    def _round(self, y: torch.Tensor, rows: torch.Tensor | None, rnd: int, r: float, x_v, scale_v,
               vnorm_v) -> torch.Tensor | None:
        """Bound-management round ``rnd`` (reduction r = 2^rnd) on ``rows`` (all rows in round 0):
        prologue (scale, DAC, ‖v‖), GEMM, epilogue (noise, ADC, saturation, rescale into ``y``).
        Returns the saturation flags of the round's rows (None without bound management)."""
        k = self.xf.shape[0] if rows is None else rows.numel()
        if self.rounds is not None:
            self.rounds.append(k)
        xq_k = self.xq[:k]
        rows_v = view(rows) if rows is not None else None
        compute_scale = self.io.noise_management != "average_abs_max" and rnd == 0
        _core.io_prologue(self.p, x_v, view(xq_k), scale_v, vnorm_v, rows_v, seed=self.seed, call=self.call,
                          round=rnd, reduction=r, compute_scale=compute_scale, cuda_stream=self.stream)
        # Round 0 writes the GEMM straight into the output and the epilogue works in place.
        yhat = torch.mm(xq_k, self.w, out=y) if rows is None else torch.mm(xq_k, self.w)
        pcm = torch.mm(xq_k.square(), self.abs_w) if self.abs_w is not None else None
        sat_k = self.sat[:k] if self.sat is not None else None
        y_v = view(y)
        yhat_v = y_v if yhat is y else view(yhat)  # round 0: the GEMM wrote into y
        _core.io_epilogue(self.p, yhat_v, y_v, scale_v, None if sat_k is None else view(sat_k), rows_v,
                          vnorm_v, None if pcm is None else view(pcm), seed=self.seed, call=self.call, round=rnd,
                          reduction=r, gain=self.gain, cuda_stream=self.stream)
        return sat_k
