"""Pinned bits of the read path's elementwise stages (no GEMM involved): the prologue and epilogue
outputs for fixed inputs, seed and call. They pin the RNG element numbering (io/draws.h), the stage
order and the exact math: a change to any of them must be deliberate (and update these hashes).
The same values must come out on every CPU and on CUDA."""
from __future__ import annotations

import hashlib

import pytest
import torch

import xbarsim
from xbarsim import IOConfig, _core
from xbarsim.ops._views import cuda_stream, view
from xbarsim.ops.mvm import io_params

IO = IOConfig(inp_noise=0.1, out_noise=0.2, w_noise=0.05, w_noise_type="additive_constant", inp_sto_round=True,
              out_sto_round=True, inp_asymmetry=0.1, out_asymmetry=0.05)
GOLDEN = {
    "fill_normal": "3924ba0f54774d73276685eb56653aa6f1d2d9b8082eba8356736a4a990283b1",
    "prologue": "f7f85b6db39b030cb63905bcd0a8a94de2a6ed04ba467dbc342bfb29eb653b66",
    "epilogue": "3c823c89eb92a5bf0713558d6776ce81150bfc5f4dead829b665ce381c2d1dd2",
}


def _sha(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _stages(device: str):
    x = (torch.linspace(-1.5, 1.5, 37 * 301).reshape(37, 301) ** 3).to(device)
    p = io_params(IO, False)
    xq = torch.empty(37, 301, device=device)
    scale = torch.empty(37, device=device)
    vnorm = torch.empty(37, device=device)
    _core.io_prologue(p, view(x), view(xq), view(scale), view(vnorm), seed=11, call=5, round=1, reduction=2.0,
                      compute_scale=True, cuda_stream=cuda_stream(x))
    yhat = (torch.linspace(-30, 30, 37 * 203).reshape(37, 203) ** 1).to(device)
    y = torch.empty(37, 203, device=device)
    sat = torch.empty(37, dtype=torch.uint8, device=device)
    _core.io_epilogue(p, view(yhat), view(y), view(scale), view(sat), None, view(vnorm), seed=11, call=5, round=1,
                      reduction=2.0, gain=0.75, cuda_stream=cuda_stream(y))
    return (xq, scale, vnorm), (y, sat)


def _devices():
    return ["cpu"] + (["cuda"] if xbarsim.cuda_available() else [])


@pytest.mark.parametrize("device", _devices())
def test_fill_normal_golden(device):
    out = torch.empty(1 << 22, device=device)
    _core.testing.fill_random(view(out), 1234, 7, 3, "normal", cuda_stream(out))
    assert _sha(out) == GOLDEN["fill_normal"]


@pytest.mark.parametrize("device", _devices())
def test_io_stages_golden(device):
    pro, epi = _stages(device)
    assert _sha(*pro) == GOLDEN["prologue"]
    assert _sha(*epi) == GOLDEN["epilogue"]
