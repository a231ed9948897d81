"""Custom-op registration (opcheck, CPU) and the DLPack entry point called from NumPy.

Spec: STYLE.md §3 "Torch custom ops"; docs/interop.md.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import xbarsim
from xbarsim.ops import _library
from xbarsim.ops import dlpack as xb_dlpack

from _frontend import ideal_config

NOISY = xbarsim.IOConfig()
AVERAGE = xbarsim.IOConfig(noise_management="average_abs_max")


@pytest.mark.parametrize("io", [xbarsim.IOConfig(is_perfect=True), NOISY, AVERAGE], ids=["perfect", "default", "avg"])
@pytest.mark.parametrize("transpose", [False, True])
def test_opcheck_analog_mvm(io, transpose):
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(5, 7, generator=gen) * 0.3
    x = torch.randn(4, 5 if transpose else 7, generator=gen)
    nm_state = torch.full((1,), -1.0)
    args = (x, w, _library.pack_config(io), transpose, _library.seed_to_int64(2**64 - 5), 3, nm_state)
    torch.library.opcheck(torch.ops.xbarsim.analog_mvm.default, args)
    # the op is the tensor op: same draws for the same (seed, call)
    y = torch.ops.xbarsim.analog_mvm(x, w, _library.pack_config(io), transpose, _library.seed_to_int64(2**64 - 5), 3,
                                     torch.full((1,), -1.0))
    ref = xbarsim.ops.analog_mvm(x, w, io, transpose, seed=2**64 - 5, call=3, nm_state=torch.full((1,), -1.0))
    assert torch.equal(y, ref)


def test_opcheck_layer_ops():
    # Perfect reads, so that the outputs do not depend on the counter values opcheck's repeated runs see.
    layer = xbarsim.nn.AnalogLinear(6, 3, config=ideal_config(), seed=0)
    x = torch.randn(4, 6)

    def state():
        weights, counters, nm_states = layer._op_state()
        return [w.clone() for w in weights], [c.clone() for c in counters], [s.clone() for s in nm_states]

    torch.library.opcheck(torch.ops.xbarsim.layer_forward_.default, (x, *state(), layer._handle, 3, 0))
    d = torch.randn(4, 3)
    for need_grad_input in (True, False):
        torch.library.opcheck(torch.ops.xbarsim.layer_backward_.default,
                              (d, x, *state(), torch.zeros((), dtype=torch.int64), layer._handle, need_grad_input,
                               False))


def test_compiled_tensor_op_has_no_graph_break():
    io = _library.pack_config(NOISY)

    def f(x, w):
        return torch.ops.xbarsim.analog_mvm(x, w, io, False, 7, 0, None).relu().sum()

    w, x = torch.randn(3, 4) * 0.3, torch.rand(2, 4)
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    assert torch.equal(compiled(x, w), f(x, w))


def test_dlpack_entry_point_from_numpy():
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((5, 7)) * 0.3).astype(np.float32)
    x = rng.random((4, 7), dtype=np.float32)
    y = xb_dlpack.analog_mvm(x, w, xbarsim.IOConfig(is_perfect=True))
    y_np = np.from_dlpack(y)
    np.testing.assert_allclose(y_np, x @ w.T, rtol=1e-5, atol=1e-6)
    # non-ideal read: same (seed, call) gives the same draws as the torch op; state updated in place
    state = np.full((1,), -1.0, dtype=np.float32)
    y1 = np.from_dlpack(xb_dlpack.analog_mvm(x, w, AVERAGE, seed=3, call=1, nm_state=state))
    assert state[0] > 0  # the running maximum was written through DLPack
    y2 = xbarsim.ops.analog_mvm(torch.from_numpy(x), torch.from_numpy(w), AVERAGE, seed=3, call=1,
                                nm_state=torch.full((1,), -1.0))
    np.testing.assert_array_equal(y1, y2.numpy())


def test_dlpack_rejects_foreign_objects():
    with pytest.raises(TypeError, match="x must support DLPack"):
        xb_dlpack.analog_mvm([[1.0]], np.ones((1, 1), np.float32), xbarsim.IOConfig())


@pytest.mark.parametrize("pulse_type", ["stochastic_compressed", "none"])
def test_opcheck_pulsed_update(pulse_type):
    from xbarsim import devices

    config = xbarsim.TileConfig(update=xbarsim.UpdateConfig(pulse_type=pulse_type, count_pulses=True),
                                device_model=devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=16))
    tile = xbarsim.AnalogTile(4, 6, config, seed=5)
    tile.set_weights(torch.randn(4, 6) * 0.2)
    gen = torch.Generator().manual_seed(1)
    x, d = torch.rand(3, 6, generator=gen), torch.randn(3, 4, generator=gen) * 0.1
    cells = [t.clone() for t in tile.device_state.cells().values()]

    def args(weight, counters):
        return (weight, x, d, 0.5, _library.pack_config(config.update), _library.pack_config(config.device_model), cells,
                _library.seed_to_int64(tile.seed), 7, None, counters, None, None)

    torch.library.opcheck(torch.ops.xbarsim.pulsed_update_.default, args(tile.weight.clone(), torch.zeros(5, dtype=torch.int64)))
    # the op and the tile's own update apply the same pulses for the same (seed, call)
    w, counters = tile.weight.clone(), torch.zeros(5, dtype=torch.int64)
    torch.ops.xbarsim.pulsed_update_(*args(w, counters))
    tile.rng_counter.fill_(7)
    tile.update(x, d, 0.5)
    assert torch.equal(w, tile.weight) and torch.equal(counters, tile.pulse_counters)


def test_device_and_update_configs_round_trip_through_the_schema():
    from xbarsim import devices, presets

    for cfg in (xbarsim.UpdateConfig(pulse_type="mean_count", desired_bl=63), devices.SoftBounds(n_states=4),
                presets.PaperSoftBounds(16), presets.ReRamES(), devices.PiecewiseStep(piecewise_up=(1.0, 0.5, 0.2),
                                                                                      piecewise_down=(0.3, 0.6, 1.0))):
        assert _library.unpack_config(_library.pack_config(cfg)) == cfg
