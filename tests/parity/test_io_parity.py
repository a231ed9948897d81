"""CPU == CUDA for the read path (analog-tile.md §7): the prologue, the epilogue and the running
maximum are bit-identical when fed identical inputs; the full analog_mvm is bit-identical when the GEMM
is exact (dyadic data), and otherwise both devices match the float64 reference to the derived tolerance.
Skipped without a GPU (tests/conftest.py marks this directory `cuda`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reference.io_reference import analog_mvm_reference, assert_matches_reference
from xbarsim import IOConfig, _core
from xbarsim.ops import analog_mvm
from xbarsim.ops._views import cuda_stream, view
from xbarsim.ops.mvm import io_params

DTYPES = [torch.float32, torch.float64]
CONFIGS = {
    "default": IOConfig(),
    "noisy": IOConfig(inp_noise=0.05, inp_sto_round=True, out_sto_round=True, out_noise=0.1, w_noise=0.03,
                      w_noise_type="additive_constant", inp_asymmetry=0.1, out_asymmetry=-0.2),
    "pcm-max": IOConfig(noise_management="max", nm_thres=0.8, w_noise=0.05, w_noise_type="pcm_read",
                        bm_test_negative_bound=False),
    "none-unbounded": IOConfig(noise_management="none", inp_bound=0.0, out_bound=0.0, inp_noise=0.2),
    "constant": IOConfig(noise_management="constant", nm_thres=2.0, out_res=0.0),
    "average": IOConfig(noise_management="average_abs_max", nm_decay=0.1, inp_res=0.0),
}


def _both(t: torch.Tensor):
    return t.clone(), t.cuda()


def _run_prologue(io, x, rows, round_, reduction, scale, compute_scale, transpose=False):
    p = io_params(io, transpose)
    k = x.shape[0] if rows is None else rows.numel()
    # Zero-filled so that outputs a configuration does not write (vnorm) compare equal too.
    xq = torch.zeros(k, x.shape[1], dtype=x.dtype, device=x.device)
    vnorm = torch.zeros(k, dtype=x.dtype, device=x.device)
    _core.io_prologue(p, view(x), view(xq), view(scale), view(vnorm), view(rows) if rows is not None else None,
                      seed=123, call=45, round=round_, reduction=reduction, compute_scale=compute_scale,
                      cuda_stream=cuda_stream(x))
    torch.cuda.synchronize()
    return xq, scale, vnorm


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("n", [7, 300, 4099])
def test_prologue_bit_identical(name, dtype, n):
    io = CONFIGS[name]
    g = torch.Generator().manual_seed(n)
    x = torch.randn(37, n, generator=g, dtype=dtype) * 2
    x[4] = 0.0
    x[9] = -x[9].abs()
    rows = torch.tensor([36, 0, 4, 9, 17], dtype=torch.int64)
    for round_, rows_, red, compute in [(0, None, 1.0, True), (3, rows, 8.0, False)]:
        outs = []
        for xd in _both(x):
            scale = torch.full((37,), 0.75, dtype=dtype, device=xd.device)
            r = rows_.to(xd.device) if rows_ is not None else None
            outs.append([t.cpu() for t in _run_prologue(io, xd, r, round_, red, scale, compute)])
        for cpu_t, gpu_t in zip(*outs):
            assert torch.equal(cpu_t, gpu_t)
    # backward short-cut rule and vnorm reduction on the transposed pass
    outs = [[t.cpu() for t in _run_prologue(io, xd, None, 0, 1.0, torch.empty(37, dtype=dtype, device=xd.device),
                                            True, transpose=True)] for xd in _both(x)]
    for cpu_t, gpu_t in zip(*outs):
        assert torch.equal(cpu_t, gpu_t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("n", [5, 513, 4099])
def test_epilogue_bit_identical(name, dtype, n):
    io = CONFIGS[name]
    p = io_params(io, False)
    g = torch.Generator().manual_seed(n + 1)
    m = 29
    yhat_full = torch.randn(m, n, generator=g, dtype=dtype) * 8
    pcm_full = torch.rand(m, n, generator=g, dtype=dtype) * 3
    scale = torch.rand(m, generator=g, dtype=dtype) * 2
    scale[3] = 0.0
    scale[5] = -1.0
    vnorm = torch.rand(m, generator=g, dtype=dtype)
    rows = torch.tensor([28, 3, 5, 11], dtype=torch.int64)
    for round_, rows_, red in [(0, None, 1.0), (2, rows, 4.0)]:
        outs = []
        for dev in ("cpu", "cuda"):
            k = m if rows_ is None else rows_.numel()
            yhat = yhat_full[:k].clone().to(dev)
            y = torch.full((m, n), 7.0, dtype=dtype, device=dev)
            sat = torch.full((k,), 9, dtype=torch.uint8, device=dev)
            # Named tensors, not view(t.to(dev)): the kernel runs after this statement returns, on memory
            # that must still be the inputs' (views keep their tensors alive, and so do these names).
            scale_d, vnorm_d = scale.to(dev), vnorm.to(dev)
            rows_d = rows_.to(dev) if rows_ is not None else None
            pcm_d = pcm_full[:k].contiguous().to(dev)
            _core.io_epilogue(p, view(yhat), view(y), view(scale_d), view(sat),
                              view(rows_d) if rows_d is not None else None, view(vnorm_d), view(pcm_d), seed=99,
                              call=7, round=round_, reduction=red, gain=1.5, cuda_stream=cuda_stream(y))
            torch.cuda.synchronize()
            outs.append((y.cpu(), sat.cpu()))
        assert torch.equal(outs[0][0], outs[1][0])
        assert torch.equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_running_max_bit_identical(dtype):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(300, 1000, generator=g, dtype=dtype)
    outs = []
    for xd in _both(x):
        scale = torch.empty(300, dtype=dtype, device=xd.device)
        state = torch.tensor([0.3], dtype=dtype, device=xd.device)
        _core.io_nm_running(view(xd), view(scale), view(state), 0.01, cuda_stream(xd))
        torch.cuda.synchronize()
        outs.append((scale.cpu(), state.cpu()))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def _dyadic(m, n_in, n_out, seed):
    """Inputs on the 1/64 DAC grid with max |x| = 1 per row, weights on a 1/8 grid: every product and
    partial sum is exact in float32, so BLAS and cuBLAS GEMMs agree bit for bit."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-64, 65, (m, n_in), generator=g).float() / 64
    x[:, 0] = torch.where(torch.arange(m) % 2 == 0, 1.0, -1.0)
    W = torch.randint(-8, 9, (n_out, n_in), generator=g).float() / 8
    return x, W


@pytest.mark.parametrize("transpose", [False, True])
def test_full_op_bit_identical_with_exact_gemm(transpose):
    x, W = _dyadic(300, 96, 80, seed=1)
    if transpose:
        x = x[:, :80].contiguous()
        x[:, 0] = 1.0
    io = IOConfig(inp_res=1 / 128, inp_sto_round=True, out_sto_round=True, out_noise=0.1, w_noise=0.05,
                  w_noise_type="additive_constant", out_bound=6.0)  # many rows saturate: several rounds
    for cfg in (io, io.replace(w_noise_type="pcm_read"), io.replace(noise_management="average_abs_max")):
        ys = []
        for dev in ("cpu", "cuda"):
            state = torch.tensor([-1.0], device=dev)
            ys.append(analog_mvm(x.to(dev), W.to(dev), cfg, transpose, seed=5, call=8, nm_state=state).cpu())
        assert torch.equal(ys[0], ys[1])


@pytest.mark.parametrize("name", ["default-noise-off", "none-unbounded-noise-off"])
def test_full_op_matches_reference_on_both_devices(name):
    io = IOConfig(out_noise=0.0) if name == "default-noise-off" else \
        IOConfig(noise_management="none", inp_bound=0.0, out_bound=3.0, out_noise=0.0)
    g = torch.Generator().manual_seed(11)
    # Short rows keep the deterministic GEMM error bound (n u sum |W||v|) well below an ADC step, so few
    # rows are too close to a decision to compare.
    x = torch.randn(512, 48, generator=g)
    W = torch.randn(96, 48, generator=g) * 0.5
    ref = analog_mvm_reference(x.numpy(), W.numpy(), io, dtype=np.float32, unit_roundoff=2.0**-24)
    for dev in ("cpu", "cuda"):
        y = analog_mvm(x.to(dev), W.to(dev), io).cpu().numpy()
        assert_matches_reference(y, ref, context=f"{name} on {dev}")
