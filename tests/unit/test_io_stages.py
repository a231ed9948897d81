"""The native read-path stages one by one (prologue, epilogue, running maximum), the short cut, the
perfect mode and the tile API around analog_mvm (analog-tile.md §1.3–§1.6)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from xbarsim import AnalogTile, IOConfig, TileConfig, _core
from xbarsim.ops import analog_mvm
from xbarsim.ops._views import view
from xbarsim.ops.mvm import io_params

LANES = 256  # kRowLanes of ops/io_stages.h


def _prologue(io, x, rows=None, round_=0, reduction=1.0, scale=None, compute_scale=True, seed=0, call=0):
    k = x.shape[0] if rows is None else rows.numel()
    xq = torch.empty(k, x.shape[1], dtype=x.dtype)
    scale = torch.empty(x.shape[0], dtype=x.dtype) if scale is None else scale
    vnorm = torch.empty(k, dtype=x.dtype)
    _core.io_prologue(io_params(io, False), view(x), view(xq), view(scale), view(vnorm),
                      view(rows) if rows is not None else None, seed=seed, call=call, round=round_,
                      reduction=reduction, compute_scale=compute_scale)
    return xq, scale, vnorm


def _lane_tree_norm(v: np.ndarray) -> np.float32:
    """||v||_2 with the fixed summation shape of ops/io_stages.h, in float32."""
    quads = (len(v) + 3) // 4
    lanes = np.zeros(LANES, dtype=np.float32)
    for q in range(quads):
        for e in range(4 * q, min(4 * q + 4, len(v))):
            lanes[q % LANES] = np.float32(lanes[q % LANES] + np.float32(v[e] * v[e]))
    s = LANES // 2
    while s:
        lanes[:s] = lanes[:s] + lanes[s:2 * s]
        s //= 2
    return np.sqrt(lanes[0])


@pytest.mark.parametrize("n", [1, 5, 1027, 4096 + 3])
def test_prologue_dac_scale_and_norm(n):
    g = torch.Generator().manual_seed(n)
    x = torch.randn(6, n, generator=g)
    io = IOConfig(w_noise=0.1, w_noise_type="additive_constant")
    xq, scale, vnorm = _prologue(io, x)
    a = x.abs().amax(dim=1)
    assert torch.equal(scale, a)
    # DAC in float32, spec order: sigma = 1/a, v = sigma·x, Q, clip (no noise in this config)
    step = np.float32(io.inp_res_eff())
    v = (x * (1.0 / a)[:, None]).numpy()
    v = np.clip(step * np.rint(v / step), np.float32(-1), np.float32(1))
    assert np.array_equal(xq.numpy(), v)
    for i in range(6):
        assert vnorm[i].item() == _lane_tree_norm(xq[i].numpy())


def test_prologue_compacted_rows_and_given_scale():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 33, generator=g)
    io = IOConfig(w_noise=0.1, w_noise_type="additive_constant", inp_noise=0.2)
    xq_all, scale, vn_all = _prologue(io, x, round_=2, reduction=4.0)
    rows = torch.tensor([7, 2, 9])
    xq, scale2, vn = _prologue(io, x, rows=rows, round_=2, reduction=4.0, scale=scale.clone(), compute_scale=False)
    # A compacted round draws the same noise for a row as a full one: keyed by the original row.
    assert torch.equal(xq, xq_all[rows]) and torch.equal(vn, vn_all[rows])
    assert torch.equal(scale2, scale)


def test_epilogue_writes_rows_by_index_and_flags():
    io = IOConfig(out_noise=0.0)
    p = io_params(io, False)
    yhat = torch.tensor([[1.0, 20.0], [3.0, -1.0]])
    y = torch.full((4, 2), 7.0)
    scale = torch.tensor([1.0, 2.0, 0.5, 0.0])
    sat = torch.empty(2, dtype=torch.uint8)
    rows = torch.tensor([2, 0])
    _core.io_epilogue(p, view(yhat), view(y), view(scale), view(sat), view(rows), seed=0, call=0, round=1,
                      reduction=2.0, gain=3.0)
    step = np.float32(io.out_res_eff())
    q = lambda v: float(np.float32(step * np.rint(np.float32(v) / step)))  # noqa: E731
    # row 2 (a = 0.5, r = 2, gain 3): factor 3; 20 saturates at 12
    assert y[2].tolist() == [pytest.approx(q(1.0) * 3, rel=1e-6), 36.0]
    assert y[0, 0].item() == pytest.approx(q(3.0) * 6, rel=1e-6)
    assert y[1].tolist() == [7.0, 7.0] and y[3].tolist() == [7.0, 7.0]  # untouched
    assert sat.tolist() == [1, 0]


def test_running_max_sample_order_and_state():
    x = torch.tensor([[0.5, -2.0], [1.0, 0.0], [0.0, 0.0], [-4.0, 1.0]])
    io = IOConfig(noise_management="average_abs_max", nm_decay=0.25, out_noise=0.0)
    state = torch.tensor([-1.0])
    scale = torch.empty(4)
    _core.io_nm_running(view(x), view(scale), view(state), io.nm_decay)
    expected = []
    m = -1.0
    for amax in (2.0, 1.0, 0.0, 4.0):
        m = amax if m < 0 else np.float32(np.float32(0.75) * np.float32(m) + np.float32(0.25) * np.float32(amax))
        expected.append(float(m))
    assert scale.tolist() == expected
    assert state.item() == expected[-1]
    # through analog_mvm: the state advances once per vector and is not re-applied in later rounds
    state = torch.tensor([-1.0])
    analog_mvm(x, torch.ones(3, 2) * 30, io, nm_state=state)  # saturates: several rounds
    assert state.item() == expected[-1]


def test_tile_updates_running_max_per_direction():
    cfg = TileConfig(forward=IOConfig(noise_management="average_abs_max"),
                     backward=IOConfig(noise_management="average_abs_max"))
    tile = AnalogTile(3, 4, cfg)
    tile.set_weights(torch.ones(3, 4) * 0.1)
    tile.forward(torch.full((2, 4), 0.5))
    assert tile.nm_running_max.tolist() == [0.5, -1.0]
    tile.backward(torch.full((1, 3), 2.0))
    assert tile.nm_running_max.tolist() == [0.5, 2.0]


@pytest.mark.parametrize("nm", ["abs_max", "max", "average_abs_max", "constant"])
def test_short_cut_exact_zeros(nm):
    io = IOConfig(noise_management=nm, inp_noise=0.0, out_noise=0.5, w_noise=0.5,
                  w_noise_type="additive_constant")
    x = torch.zeros(3, 5)
    x[1] = torch.tensor([0.3, -1.2, 0.8, -0.1, 0.5])  # max > 0: no short cut for any type
    if nm == "max":
        x[2] = -1.0  # a = max_j x_j < 0 takes the short cut too
    if nm == "constant":
        io = io.replace(nm_thres=0.0)
    W = torch.randn(4, 5)
    y = analog_mvm(x, W, io, nm_state=torch.tensor([-1.0]))
    if nm == "constant":  # a = 1: no short cut, the noise shows
        assert (y[0] != 0).any()
        return
    assert torch.equal(y[0], torch.zeros(4))
    assert (y[1] != 0).any()
    if nm == "max":
        assert torch.equal(y[2], torch.zeros(4))


def test_short_cut_rules_forward_and_backward():
    W = torch.randn(4, 5)
    io = IOConfig(inp_noise=0.1)
    # forward with input noise: no short cut (the noise reaches the output)
    assert (analog_mvm(torch.zeros(2, 5), W, io) != 0).any()
    # backward: the short cut is taken whenever noise management is on and a <= 0
    assert torch.equal(analog_mvm(torch.zeros(2, 4), W, io, transpose=True), torch.zeros(2, 5))
    # without noise management there is no short cut
    assert (analog_mvm(torch.zeros(2, 4), W, io.replace(noise_management="none"), transpose=True) != 0).any()


def test_perfect_mode_consumes_no_randomness_and_is_exact():
    g = torch.Generator().manual_seed(0)
    x, W = torch.randn(2, 3, 7, generator=g), torch.randn(5, 7, generator=g)
    io = IOConfig(is_perfect=True, out_noise=1.0, inp_noise=1.0)
    y = analog_mvm(x, W, io, seed=1, call=1)
    assert torch.equal(y, torch.matmul(x, W.t()))
    assert torch.equal(y, analog_mvm(x, W, io, seed=2, call=9))
    assert torch.equal(analog_mvm(x, W, io.replace(out_scale=2.0), alpha=0.5), y)
    assert torch.equal(analog_mvm(x[..., :5], W, io, transpose=True), torch.matmul(x[..., :5], W))


def test_empty_batch():
    y = analog_mvm(torch.zeros(0, 3, 7), torch.randn(5, 7), IOConfig())
    assert y.shape == (0, 3, 5)


def test_tile_api():
    tile = AnalogTile(3, 4, seed=7)
    W = torch.randn(3, 4) * 0.2
    tile.set_weights(W)
    assert torch.equal(tile.get_weights()[0], W)
    x = torch.randn(2, 5, 4)
    y = tile.forward(x)
    assert y.shape == (2, 5, 3) and int(tile.rng_counter) == 1
    z = tile.backward(torch.randn(6, 3))
    assert z.shape == (6, 4) and int(tile.rng_counter) == 2
    tile = tile.to("cpu")
    state = tile.state_dict()
    other = AnalogTile(3, 4, seed=7)
    other.load_state_dict(state)
    assert int(other.rng_counter) == 2
    b = other.forward(x)
    assert torch.equal(b, tile.forward(x))        # same seed and call counter: same bits
    assert not torch.equal(tile.forward(x), b)    # the next call draws other noise


# The CUDA kernels' per-quad decomposition (one thread per quad, lanes of 256 combined by a fixed
# tree) is also compiled for the host: it must give the CPU loops' bits, so CPU/GPU parity rests only
# on the device compiling the same IEEE operations (checked by tests/parity on a GPU).
QUAD_CONFIGS = {
    "default": IOConfig(),
    "noisy": IOConfig(inp_noise=0.05, inp_sto_round=True, out_sto_round=True, out_noise=0.1, w_noise=0.03,
                      w_noise_type="additive_constant", inp_asymmetry=0.1, out_asymmetry=-0.2),
    "pcm-max": IOConfig(noise_management="max", nm_thres=0.8, w_noise=0.05, w_noise_type="pcm_read",
                        bm_test_negative_bound=False),
    "none-unbounded": IOConfig(noise_management="none", inp_bound=0.0, out_bound=0.0, inp_noise=0.2),
    "constant": IOConfig(noise_management="constant", nm_thres=2.0, out_res=0.0),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(QUAD_CONFIGS))
@pytest.mark.parametrize("n", [5, 300, 1030, 4099])
def test_cpu_loops_equal_the_kernel_decomposition(name, dtype, n):
    io = QUAD_CONFIGS[name]
    g = torch.Generator().manual_seed(n)
    m = 9
    x = torch.randn(m, n, generator=g, dtype=dtype) * 2
    x[2] = 0.0
    x[4] = -x[4].abs()
    x[5, 1] = -0.0
    rows = torch.tensor([8, 2, 4, 0])
    for transpose in (False, True):
        p = io_params(io, transpose)
        for round_, rows_, red, compute in [(0, None, 1.0, True), (3, rows, 8.0, False)]:
            k = m if rows_ is None else rows_.numel()
            outs = []
            for fn in (_core.io_prologue, _core.testing.io_prologue_by_quads):
                xq = torch.zeros(k, n, dtype=dtype)
                vn = torch.zeros(k, dtype=dtype)
                scale = torch.full((m,), 0.7, dtype=dtype)
                fn(p, view(x), view(xq), view(scale), view(vn), view(rows_) if rows_ is not None else None, seed=3,
                   call=4, round=round_, reduction=red, compute_scale=compute)
                outs.append((xq, vn, scale))
            for a, b in zip(*outs):
                assert torch.equal(a, b) and torch.equal(a.signbit(), b.signbit())
            xq, vn, scale = outs[0]
            yhat = xq @ torch.randn(n, 37, generator=g, dtype=dtype) * 0.3
            pcm = (xq * xq) @ torch.rand(n, 37, generator=g, dtype=dtype)
            outs = []
            for fn in (_core.io_epilogue, _core.testing.io_epilogue_by_quads):
                y = torch.full((m, 37), 5.0, dtype=dtype)
                sat = torch.full((k,), 7, dtype=torch.uint8)
                yh = yhat.clone()  # views do not own memory: keep the tensor referenced
                fn(p, view(yh), view(y), view(scale), view(sat), view(rows_) if rows_ is not None else None,
                   view(vn), view(pcm), seed=3, call=4, round=round_, reduction=red, gain=1.25)
                outs.append((y, sat))
            assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def test_stage_order_noise_before_adc_and_after_dac_clip():
    """ADC: noise is added before quantising (outputs stay on the ADC grid); DAC: noise is added after
    the clip (inputs leave the DAC grid and may exceed the bound), §1.3 steps 3 and 6."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(64, 32, generator=g)
    W = torch.randn(16, 32, generator=g) * 0.2
    io = IOConfig(out_noise=0.3, bound_management="none")
    y = analog_mvm(x, W, io, seed=2)
    a = x.abs().amax(dim=1, keepdim=True).double()
    steps = y.double() / a / io.out_res_eff()
    assert torch.allclose(steps, steps.round(), atol=1e-4)
    assert (steps.round() != (torch.mm(x / a.float(), W.t()).double() / io.out_res_eff()).round()).any()
    io = IOConfig(inp_noise=0.2)
    xq, _, _ = _prologue(io, x)
    grid = xq.double() / io.inp_res_eff()
    assert not torch.allclose(grid, grid.round(), atol=1e-3)
    assert xq.abs().max() > 1.0


def test_inputs_requiring_grad_give_plain_outputs():
    x = torch.randn(3, 4, requires_grad=True)
    W = torch.nn.Parameter(torch.randn(2, 4))
    for io in (IOConfig(), IOConfig(is_perfect=True)):
        y = analog_mvm(x, W, io)
        assert not y.requires_grad and y.shape == (3, 2)
