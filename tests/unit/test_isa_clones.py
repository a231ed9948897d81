"""Every ISA copy of the CPU hot loops gives the same bits (csrc/cpu/cpu_clones.h).

The copy is chosen once, when ``xbarsim._core`` loads, from ``XBARSIM_CPU_ISA``; so each ISA the CPU
can run is exercised in its own interpreter, on fixed inputs: the pulsed update (stochastic with
pulse and write noise, the deterministic types, float32 and float64), the read path (prologue and
epilogue with every noise source, the running maximum, a whole noisy analog_mvm) and mixed
precision's χ accumulation. ISAs this CPU cannot run are skipped; the baseline always runs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from xbarsim import _core

ISAS = ["avx512", "avx2", "baseline"]

PROBE = r"""
import hashlib, json, sys
import torch
import xbarsim
from xbarsim import IOConfig, TileConfig, UpdateConfig, _core, devices, presets
from xbarsim.ops import analog_mvm
from xbarsim.ops._views import view
from xbarsim.ops.mvm import io_params

def sha(*ts):
    h = hashlib.sha256()
    for t in ts:
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()

out = {"cpu_isa": _core.cpu_isa()}
# Pulsed update: several mini-batches on small tiles (odd sizes: vector loop remainders).
cases = {
    "softbounds_noisy": (presets.PaperSoftBounds(16), UpdateConfig(count_pulses=True), torch.float32, 0.5),
    "linear_write_noise_f64": (devices.LinearStep(dw_min=0.05, write_noise_std=0.5, gamma_up=0.2),
                               UpdateConfig(count_pulses=True, desired_bl=100), torch.float64, 0.3),
    "exp_sto_round": (devices.ExpStep(dw_min=0.02), UpdateConfig(res=0.05, sto_round=True), torch.float32, -0.4),
    "mean_count": (presets.PaperSoftBounds(8), UpdateConfig(pulse_type="mean_count"), torch.float32, 0.5),
    "implicit_f64": (presets.PaperSoftBounds(8), UpdateConfig(pulse_type="deterministic_implicit"),
                     torch.float64, 0.5),
}
for name, (dev, upd, dtype, lr) in cases.items():
    g = torch.Generator().manual_seed(3)
    tile = xbarsim.AnalogTile(37, 131, TileConfig(device_model=dev, update=upd), seed=5, dtype=dtype)
    tile.set_weights(torch.rand(37, 131, generator=g, dtype=dtype) * 0.4 - 0.2)
    for m in (1, 19, 70):
        x = torch.rand(m, 131, generator=g, dtype=dtype) * 2 - 0.5
        d = torch.randn(m, 37, generator=g, dtype=dtype)
        tile.update(x, d, lr)
    out["update_" + name] = sha(tile.get_weights()[0]) + repr(sorted(tile.pulse_counts().items()))
# Read path stages with every noise source on.
io = IOConfig(inp_noise=0.1, out_noise=0.2, w_noise=0.05, w_noise_type="additive_constant", inp_sto_round=True,
              out_sto_round=True, inp_asymmetry=0.1, out_asymmetry=0.05)
for dtype in (torch.float32, torch.float64):
    p = io_params(io, False)
    x = torch.linspace(-1.5, 1.5, 37 * 301, dtype=dtype).reshape(37, 301) ** 3
    xq, scale, vnorm = torch.empty(37, 301, dtype=dtype), torch.empty(37, dtype=dtype), torch.empty(37, dtype=dtype)
    _core.io_prologue(p, view(x), view(xq), view(scale), view(vnorm), seed=11, call=5, round=1, reduction=2.0,
                      compute_scale=True)
    yhat = torch.linspace(-30, 30, 37 * 203, dtype=dtype).reshape(37, 203)
    y, sat = torch.empty(37, 203, dtype=dtype), torch.empty(37, dtype=torch.uint8)
    _core.io_epilogue(p, view(yhat), view(y), view(scale), view(sat), None, view(vnorm), seed=11, call=5, round=1,
                      reduction=2.0, gain=0.75)
    running, state = torch.empty(37, dtype=dtype), torch.tensor([-1.0], dtype=dtype)
    _core.io_nm_running(view(x), view(running), view(state), 0.1)
    out[f"io_{dtype}"] = sha(xq, scale, vnorm, y, sat, running, state)
g = torch.Generator().manual_seed(8)
x, w = torch.randn(64, 130, generator=g), torch.randn(70, 130, generator=g) * 0.3
out["analog_mvm"] = sha(analog_mvm(x, w, io, seed=2, call=3), analog_mvm(x[:, :70], w, io, True, seed=2, call=4))
# Mixed precision's χ accumulation (cache-blocked loop; odd sizes: block and sample remainders).
for dtype in (torch.float32, torch.float64):
    chi = torch.randn(37, 301, generator=g, dtype=dtype)
    _core.chi_accumulate(view(chi), view(torch.randn(23, 301, generator=g, dtype=dtype)),
                         view(torch.randn(23, 37, generator=g, dtype=dtype)), 0.3, 0)
    out[f"chi_{dtype}"] = sha(chi)
json.dump(out, sys.stdout)
"""


def _probe(isa: str) -> dict:
    env = dict(os.environ, XBARSIM_CPU_ISA=isa)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def baseline() -> dict:
    return _probe("baseline")


def test_the_best_isa_is_the_default():
    assert _core.cpu_isas()[-1] == "baseline"
    if "XBARSIM_CPU_ISA" not in os.environ:
        assert _core.cpu_isa() == _core.cpu_isas()[0]


@pytest.mark.parametrize("isa", ISAS)
def test_isa_copy_gives_the_baseline_bits(isa, baseline):
    if isa not in _core.cpu_isas():
        pytest.skip(f"this CPU cannot run {isa} (available: {_core.cpu_isas()})")
    got = baseline if isa == "baseline" else _probe(isa)
    assert got["cpu_isa"] == isa
    assert {k: v for k, v in got.items() if k != "cpu_isa"} == {k: v for k, v in baseline.items() if k != "cpu_isa"}


@pytest.mark.parametrize("request_", ["sse9", *[i for i in ISAS if i not in _core.cpu_isas()]])
def test_an_unusable_request_fails_the_import(request_):
    env = dict(os.environ, XBARSIM_CPU_ISA=request_)
    done = subprocess.run([sys.executable, "-c", "import xbarsim"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert "XBARSIM_CPU_ISA" in done.stderr
