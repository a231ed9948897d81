"""CPU == CUDA bit for bit where the first parity tests did not look (marked `cuda` by directory,
skipped without a GPU): transfers onto every device model and across models (several launches, more
events than one launch carries), lines longer than a block's threads and than one block's share
(cooperative multi-block events), grid-stride loops that iterate (more rows or elements than the
grid-size cap of cuda/launch.cuh), a non-default stream, the exact pulse types, float64 analog_mvm,
NaN inputs with the input checks off, a second GPU, and the large dense-shaped update (slow)."""
from __future__ import annotations

import copy

import pytest
import torch

import xbarsim
from xbarsim import IOConfig, TileConfig, UpdateConfig, _core, devices, presets
from xbarsim.algorithms import ResidualLearning, make_tile
from xbarsim.algorithms.base import transfer_tile
from xbarsim.ops import analog_mvm, input_checks_enabled, set_input_checks
from xbarsim.ops import transfer as _transfer
from xbarsim.ops._views import cuda_stream, view
from xbarsim.ops.mvm import io_params

PERFECT = IOConfig(is_perfect=True)
GRID_CAP = 65535  # kMaxGridBlocks of cuda/launch.cuh: one more block-sized unit makes the loops iterate

MODELS = {
    "ConstantStep": devices.ConstantStep(dw_min=0.05),
    "LinearStep": devices.LinearStep(dw_min=0.05, gamma_up=0.3, gamma_down=0.2, write_noise_std=0.5),
    "SoftBounds": devices.SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.05),
    "SoftBoundsReference": devices.SoftBoundsReference(dw_min=0.05, reference_std=0.1),
    "ExpStep": devices.ExpStep(dw_min=0.02),
    "PowStep": devices.PowStep(dw_min=0.05, pow_gamma=1.6, pow_gamma_dtod=0.1),
    "PiecewiseStep": devices.PiecewiseStep(dw_min=0.05, piecewise_up=tuple(0.5 + 0.1 * k for k in range(11)),
                                           piecewise_down=tuple(1.5 - 0.1 * k for k in range(11))),
}


def _bits(t: torch.Tensor) -> torch.Tensor:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.float32:
        return t.view(torch.int32)
    if t.dtype == torch.float64:
        return t.view(torch.int64)
    return t


def _assert_same(a: torch.Tensor, b: torch.Tensor, what: str = "") -> None:
    assert torch.equal(_bits(a), _bits(b)), what


def _assert_same_nan_aware(a: torch.Tensor, b: torch.Tensor, what: str = "") -> None:
    """Equal values and NaN at the same places (the GPU's arithmetic makes canonical NaNs, the CPU's
    keeps the input's payload: NaN bits are not comparable, NaN positions are)."""
    a, b = a.detach().cpu(), b.detach().cpu()
    na, nb = torch.isnan(a), torch.isnan(b)
    assert torch.equal(na, nb), f"{what}: NaN positions differ"
    _assert_same(torch.where(na, torch.zeros_like(a), a), torch.where(nb, torch.zeros_like(b), b), what)


def _tile_state(tiles) -> list[torch.Tensor]:
    out = []
    for t in tiles:
        for v in t.state_dict().values():
            if isinstance(v, torch.Tensor):
                out.append(v.detach().cpu().clone())
    return out


# ---- transfers ---------------------------------------------------------------------------------------------

def _events(rows):
    ev = torch.tensor([r[:6] for r in rows], dtype=torch.int64)
    rates = torch.tensor([r[6:] for r in rows], dtype=torch.float64)
    return ev, rates


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(MODELS))
def test_transfer_onto_every_device_model(name, dtype):
    """Each of the 7 transfer kernel instances (one per target device model)."""
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=1.0)
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=MODELS[name], algorithm=algo)
    rows = [(2, 1, 3, 1, 2, -1, 0.9, 0.0, 1.0), (1, 0, 5, 3, 4, -1, 1.3, 0.0, 1.0),
            (2, 1, 20, 5, 6, -1, -0.4, 0.0, 1.0), (1, 0, 3, 7, 8, -1, 2.5, 0.0, 1.0)]
    ev, rates = _events(rows)
    io = IOConfig(noise_management="none", bound_management="none", out_noise=0.05)
    results = []
    for device in ("cpu", "cuda"):
        t = make_tile(33, 21, cfg, seed=5, dtype=dtype).to(device)
        g = torch.Generator().manual_seed(1)
        t.set_tile_weights((torch.rand(3, 33, 21, generator=g, dtype=dtype) * 1.2 - 0.6).to(device))
        _transfer.transfer_([transfer_tile(x) for x in t.tiles], ev, rates, io=io,
                            update=UpdateConfig(count_pulses=True))
        results.append(_tile_state(t.tiles))
    for k, (a, b) in enumerate(zip(*results)):
        _assert_same(a, b, f"state tensor {k}")


def test_transfer_across_device_models_and_launch_batches():
    """Targets with different device models split the call into several launches, and runs longer than
    the events one launch carries in its parameters (~60) are split too; the order must survive."""
    models = [MODELS["SoftBounds"], MODELS["ExpStep"], MODELS["PiecewiseStep"]]
    rows = []
    for e in range(150):  # one long run onto tile 1 (ExpStep): three launch batches
        rows.append((0, 1, e % 21, e, 1000 + e, -1, 0.3 if e % 3 else -0.2, 0.0, 1.0))
    for e in range(7):  # then alternating SoftBounds / PiecewiseStep targets: one launch each
        rows.append((1, 0 if e % 2 else 2, (3 * e) % 21, 200 + e, 300 + e, -1, 0.7, 0.0, 1.0))
    rows.append((2, 1, 4, 400, 401, -1, 1.1, 0.0, 1.0))
    ev, rates = _events(rows)
    results = []
    for device in ("cpu", "cuda"):
        tiles = [xbarsim.AnalogTile(33, 21, TileConfig(device_model=m, update=UpdateConfig(count_pulses=True)), seed=k + 1,
                                    device=device) for k, m in enumerate(models)]
        g = torch.Generator().manual_seed(2)
        for t in tiles:
            t.set_weights((torch.rand(33, 21, generator=g) * 0.8 - 0.4).to(device))
        _transfer.transfer_([transfer_tile(t) for t in tiles], ev, rates, io=PERFECT,
                            update=UpdateConfig(count_pulses=True))
        results.append(_tile_state(tiles))
    for k, (a, b) in enumerate(zip(*results)):
        _assert_same(a, b, f"state tensor {k}")


LONG_READS = {
    "adc_noise": IOConfig(noise_management="none", bound_management="none", out_noise=0.05),
    # dense read (every DAC output non-zero) with ||v|| weight noise: the block-tree norm and the
    # multi-block split by output quads
    "dense_additive": IOConfig(noise_management="none", bound_management="none", inp_noise=0.05, w_noise=0.02,
                               w_noise_type="additive_constant"),
}


@pytest.mark.parametrize("shape, columns", [((300, 40), True), ((40, 300), False), ((1100, 24), True),
                                            ((24, 1100), False), ((1030, 1100), True)],
                         ids=["300-cells", "300-cells-rows", "1100-cells-multiblock", "1100-cells-rows-multiblock",
                              "1030x1100-multiblock"])
@pytest.mark.parametrize("read", list(LONG_READS))
@pytest.mark.parametrize("kind", ["direct", "buffered"])
def test_transfer_lines_longer_than_a_block(shape, columns, read, kind):
    """More cells per line than a block has threads (loops iterate), and more than one block's share
    (kLinesPerBlock = 1024: a cooperative launch with grid barriers)."""
    out, inp = shape
    n_lines = inp if columns else out
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=1.0, transfer_columns=columns)
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=MODELS["SoftBounds"], algorithm=algo)
    rows = [(2, 1, 0, 1, 2, 0, 0.9, 0.3, 0.1), (1, 0, n_lines - 1, 3, 4, 1, 1.3, 0.7, 0.1),
            (2, 1, n_lines // 2, 5, 6, 0, -0.6, 2.0, 0.1), (2, 1, n_lines - 1, 7, 8, 0, 2.0, 0.3, 0.1)]
    ev, rates = _events(rows)
    results = []
    for device in ("cpu", "cuda"):
        t = make_tile(out, inp, cfg, seed=5).to(device)
        g = torch.Generator().manual_seed(3)
        t.set_tile_weights((torch.rand(3, out, inp, generator=g) * 1.2 - 0.6).to(device))
        buffers = (torch.rand(2, out, inp, generator=g) - 0.5).to(device)
        _transfer.transfer_([transfer_tile(x) for x in t.tiles], ev, rates, io=LONG_READS[read],
                            update=UpdateConfig(count_pulses=True), transpose=not columns, kind=kind,
                            buffers=buffers if kind == "buffered" else None, buffer_bl=3, momentum=0.1)
        results.append(_tile_state(t.tiles) + [buffers.cpu()])
    for k, (a, b) in enumerate(zip(*results)):
        _assert_same(a, b, f"state tensor {k}")


@pytest.mark.parametrize("pulse_type", ["none", "none_with_device"])
def test_transfer_exact_pulse_types(pulse_type):
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=1.0)
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=MODELS["LinearStep"], algorithm=algo)
    ev, rates = _events([(2, 1, 3, 1, 2, -1, 0.9, 0.0, 1.0), (1, 0, 7, 3, 4, -1, 1.7, 0.0, 1.0)])
    results = []
    for device in ("cpu", "cuda"):
        t = make_tile(33, 21, cfg, seed=5).to(device)
        t.set_tile_weights((torch.rand(3, 33, 21, generator=torch.Generator().manual_seed(4)) * 2 - 1).to(device))
        _transfer.transfer_([transfer_tile(x) for x in t.tiles], ev, rates, io=PERFECT,
                            update=UpdateConfig(pulse_type=pulse_type))
        results.append(_tile_state(t.tiles))
    for k, (a, b) in enumerate(zip(*results)):
        _assert_same(a, b, f"state tensor {k}")


# ---- grid-stride loops that iterate -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_read_path_with_more_rows_than_blocks(dtype):
    rows = GRID_CAP + 4464  # 70 000 rows: the row kernels' block loop runs twice for some blocks
    io = IOConfig(inp_noise=0.05, out_noise=0.1, w_noise=0.02, w_noise_type="additive_constant", inp_sto_round=True)
    p = io_params(io, False)
    x = torch.randn(rows, 6, generator=torch.Generator().manual_seed(5), dtype=dtype)
    yhat = torch.randn(rows, 5, generator=torch.Generator().manual_seed(6), dtype=dtype) * 4
    outs = []
    for dev in ("cpu", "cuda"):
        xd, yd = x.to(dev), yhat.to(dev)
        xq, scale, vnorm = torch.zeros_like(xd), torch.zeros(rows, dtype=dtype, device=dev), \
            torch.zeros(rows, dtype=dtype, device=dev)
        _core.io_prologue(p, view(xd), view(xq), view(scale), view(vnorm), seed=1, call=2, round=0, reduction=1.0,
                          compute_scale=True, cuda_stream=cuda_stream(xd))
        y = torch.zeros(rows, 5, dtype=dtype, device=dev)
        sat = torch.zeros(rows, dtype=torch.uint8, device=dev)
        _core.io_epilogue(p, view(yd), view(y), view(scale), view(sat), None, view(vnorm), seed=1, call=2, round=0,
                          reduction=1.0, gain=1.0, cuda_stream=cuda_stream(y))
        running, state = torch.zeros(rows, dtype=dtype, device=dev), torch.tensor([-1.0], dtype=dtype, device=dev)
        _core.io_nm_running(view(xd), view(running), view(state), 0.05, cuda_stream(xd))
        torch.cuda.synchronize()
        outs.append([xq, scale, vnorm, y, sat, running, state])
    for k, (a, b) in enumerate(zip(*outs)):
        _assert_same(a, b, f"output {k}")


def test_elementwise_kernels_with_more_elements_than_threads():
    n = GRID_CAP * 256 + 1000  # blocks_for's cap x 256 threads, plus a partial second sweep
    out_c = torch.empty(n)
    out_g = torch.empty(n, device="cuda")
    _core.testing.fill_random(view(out_c), 3, 4, 5, "normal", 0)
    _core.testing.fill_random(view(out_g), 3, 4, 5, "normal", cuda_stream(out_g))
    torch.cuda.synchronize()
    _assert_same(out_c, out_g, "fill_random")
    side = 4100  # 16.8 M cells
    ws = [torch.randn(side, side, generator=torch.Generator().manual_seed(k)) for k in range(3)]
    red_c = _transfer.reduce_tiles_(torch.empty(side, side), ws, [1.0, 0.5, 0.25])
    red_g = _transfer.reduce_tiles_(torch.empty(side, side, device="cuda"), [w.cuda() for w in ws], [1.0, 0.5, 0.25])
    _assert_same(red_c, red_g, "tile_reduce")
    del ws, red_c, red_g
    x = torch.randn(2, side, generator=torch.Generator().manual_seed(7))
    d = torch.randn(2, side, generator=torch.Generator().manual_seed(8))
    chi_c = torch.zeros(side, side)
    chi_g = chi_c.cuda()
    _transfer.chi_accumulate_(chi_c, x, d, 0.1)
    _transfer.chi_accumulate_(chi_g, x.cuda(), d.cuda(), 0.1)
    _assert_same(chi_c, chi_g, "chi_accumulate")


@pytest.mark.slow
def test_clip_with_more_cells_than_threads():
    dev = devices.SoftBoundsReference(write_noise_std=1.0, reference_std=0.1)
    a = xbarsim.AnalogTile(4100, 4100, TileConfig(device_model=dev), seed=3, device="cpu")
    b = xbarsim.AnalogTile(4100, 4100, TileConfig(device_model=dev), seed=3, device="cuda")
    w = torch.randn(4100, 4100, generator=torch.Generator().manual_seed(9))
    a.set_weights(w)
    b.set_weights(w.cuda())
    a.clip_weights()
    b.clip_weights()
    for k, (x, y) in enumerate(zip(_tile_state([a]), _tile_state([b]))):
        _assert_same(x, y, f"state tensor {k}")


# ---- streams, exact types, float64, NaN --------------------------------------------------------------------

def _dyadic_mvm_inputs(seed, dtype=torch.float32):
    """Inputs on the 1/64 DAC grid with max |x| = 1 per row and weights on a 1/8 grid: every product and
    partial sum is exact, so BLAS and cuBLAS GEMMs agree bit for bit (as in test_io_parity.py)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.randint(-64, 65, (300, 96), generator=g) / 64).to(dtype)
    x[:, 0] = 1.0
    w = (torch.randint(-8, 9, (80, 96), generator=g) / 8).to(dtype)
    return x, w


EXACT_GEMM_IO = IOConfig(inp_res=1 / 128, inp_sto_round=True, out_sto_round=True, out_noise=0.1, w_noise=0.05,
                         w_noise_type="additive_constant", out_bound=6.0)


def test_ops_on_a_non_default_stream():
    """Kernels run on torch's current stream, here a side stream: the results must be those of the CPU."""
    cfg = TileConfig(device_model=presets.PaperSoftBounds(16), update=UpdateConfig(count_pulses=True))
    g = torch.Generator().manual_seed(10)
    x, d = torch.rand(40, 70, generator=g), torch.randn(40, 37, generator=g)
    xm, wm = _dyadic_mvm_inputs(17)
    a = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cpu")
    b = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cuda")
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        b.update(x.cuda(), d.cuda(), 0.5)
        yg = analog_mvm(xm.cuda(), wm.cuda(), EXACT_GEMM_IO, seed=5, call=8)
    side.synchronize()
    a.update(x, d, 0.5)
    ya = analog_mvm(xm, wm, EXACT_GEMM_IO, seed=5, call=8)
    for k, (p, q) in enumerate(zip(_tile_state([a]), _tile_state([b]))):
        _assert_same(p, q, f"state tensor {k}")
    _assert_same(ya, yg, "analog_mvm")


def _dyadic(shape, scale, generator, dtype=torch.float32):
    return (torch.randint(-8, 9, shape, generator=generator) / 8 * scale).to(dtype)


@pytest.mark.parametrize("pulse_type", ["none", "none_with_device"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_pulse_types_with_an_exact_gemm(pulse_type, dtype):
    """W <- W - lr d^T x with dyadic data (every product and sum exact, so cuBLAS and the CPU BLAS agree),
    then for none_with_device the native clip to the cell bounds (with write noise)."""
    dev = devices.LinearStep(w_min=-0.5, w_max=0.5, dw_min=0.05, write_noise_std=0.5)
    cfg = TileConfig(device_model=dev, update=UpdateConfig(pulse_type=pulse_type))
    g = torch.Generator().manual_seed(11)
    w = _dyadic((37, 70), 0.25, g, dtype)
    a = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cpu", dtype=dtype)
    b = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cuda", dtype=dtype)
    a.set_weights(w)
    b.set_weights(w.cuda())
    for _ in range(3):
        x, d = _dyadic((6, 70), 1.0, g, dtype), _dyadic((6, 37), 1.0, g, dtype)
        a.update(x, d, 0.25)
        b.update(x.cuda(), d.cuda(), 0.25)
    for k, (p, q) in enumerate(zip(_tile_state([a]), _tile_state([b]))):
        _assert_same(p, q, f"state tensor {k}")


@pytest.mark.parametrize("transpose", [False, True])
def test_float64_analog_mvm_bit_identical_with_exact_gemm(transpose):
    x, w = _dyadic_mvm_inputs(12, torch.float64)
    if transpose:
        x = x[:, :80].contiguous()
    io = EXACT_GEMM_IO
    for cfg in (io, io.replace(w_noise_type="pcm_read"), io.replace(noise_management="average_abs_max")):
        ys = []
        for dev in ("cpu", "cuda"):
            state = torch.tensor([-1.0], dtype=torch.float64, device=dev)
            ys.append(analog_mvm(x.to(dev), w.to(dev), cfg, transpose, seed=5, call=8, nm_state=state))
        _assert_same(ys[0], ys[1], str(cfg))


@pytest.fixture
def input_checks_off():
    old = input_checks_enabled()
    set_input_checks(False)
    yield
    set_input_checks(old)


@pytest.mark.parametrize("nm", ["abs_max", "max", "average_abs_max"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nan_rows_in_the_read_path(nm, dtype, input_checks_off):
    """A NaN in a row makes its |x| statistic NaN on both devices (math/abs_max.h); the rest is exact."""
    io = IOConfig(noise_management=nm, inp_noise=0.02, out_noise=0.05)
    p = io_params(io, False)
    x = torch.randn(9, 300, generator=torch.Generator().manual_seed(13), dtype=dtype)
    x[2, 17] = float("nan")
    x[5, 299] = float("nan")
    x[5, 0] = -float("nan")
    outs = []
    for dev in ("cpu", "cuda"):
        xd = x.to(dev)
        xq, scale, vnorm = torch.zeros_like(xd), torch.zeros(9, dtype=dtype, device=dev), \
            torch.zeros(9, dtype=dtype, device=dev)
        _core.io_prologue(p, view(xd), view(xq), view(scale), view(vnorm), seed=1, call=2, round=0, reduction=1.0,
                          compute_scale=True, cuda_stream=cuda_stream(xd))
        running, state = torch.zeros(9, dtype=dtype, device=dev), torch.tensor([-1.0], dtype=dtype, device=dev)
        _core.io_nm_running(view(xd), view(running), view(state), 0.1, cuda_stream(xd))
        torch.cuda.synchronize()
        outs.append([xq, scale, vnorm, running, state])
    for k, (a, b) in enumerate(zip(*outs)):
        _assert_same_nan_aware(a, b, f"output {k}")
    if nm == "abs_max":  # a NaN anywhere in a row makes its |x| statistic, and so its scale, NaN
        assert torch.isnan(outs[0][1][[2, 5]]).all() and not torch.isnan(outs[0][1][[0, 1, 3, 4]]).any()
    if nm == "average_abs_max":  # and the running maximum from that row on
        assert torch.isnan(outs[0][3][2:]).all() and not torch.isnan(outs[0][3][:2]).any()


def test_nan_vectors_in_the_update(input_checks_off):
    """A vector with a NaN gets BL = 0 on both devices (its x_max or d_max is NaN), the others update."""
    cfg = TileConfig(device_model=presets.PaperSoftBounds(16), update=UpdateConfig(count_pulses=True))
    g = torch.Generator().manual_seed(14)
    x, d = torch.rand(20, 70, generator=g), torch.randn(20, 37, generator=g)
    x[3, 5] = float("nan")
    d[7, 36] = float("nan")
    a = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cpu")
    b = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cuda")
    a.update(x, d, 0.5)
    b.update(x.cuda(), d.cuda(), 0.5)
    for k, (p, q) in enumerate(zip(_tile_state([a]), _tile_state([b]))):
        _assert_same(p, q, f"state tensor {k}")


# ---- a second GPU ------------------------------------------------------------------------------------------

needs_two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs a second CUDA GPU")


@needs_two_gpus
def test_ops_on_the_second_gpu_with_the_first_current():
    """Every CUDA entry point makes the views' device current (and restores the caller's)."""
    torch.cuda.set_device(0)
    cfg = TileConfig(device_model=presets.PaperSoftBounds(16), update=UpdateConfig(count_pulses=True))
    g = torch.Generator().manual_seed(15)
    x, d = torch.rand(30, 70, generator=g), torch.randn(30, 37, generator=g)
    a = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cpu")
    b = xbarsim.AnalogTile(37, 70, cfg, seed=4, device="cuda:1")
    a.update(x, d, 0.5)
    b.update(x.to("cuda:1"), d.to("cuda:1"), 0.5)
    xm, wm = _dyadic_mvm_inputs(18)
    ya = analog_mvm(xm, wm, EXACT_GEMM_IO, seed=1, call=1)
    yb = analog_mvm(xm.to("cuda:1"), wm.to("cuda:1"), EXACT_GEMM_IO, seed=1, call=1)
    torch.cuda.synchronize(1)
    assert torch.cuda.current_device() == 0
    for k, (p, q) in enumerate(zip(_tile_state([a]), _tile_state([b]))):
        _assert_same(p, q, f"state tensor {k}")
    _assert_same(ya, yb, "analog_mvm")
    algo = ResidualLearning(n_tiles=3, gamma=0.5, transfer_every=1.0)
    mt_cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=MODELS["SoftBounds"], algorithm=algo)
    mc = make_tile(33, 21, mt_cfg, seed=5)
    mg = copy.deepcopy(mc).to("cuda:1")
    for step in range(4):
        xs, ds = torch.rand(5, 21, generator=g), torch.randn(5, 33, generator=g)
        mc.update(xs, ds, 0.3)
        mg.update(xs.to("cuda:1"), ds.to("cuda:1"), 0.3)
    _assert_same(mc.get_tile_weights(), mg.get_tile_weights(), "multi-tile weights")
    assert torch.cuda.current_device() == 0


@needs_two_gpus
def test_tensors_on_two_gpus_are_refused():
    p = io_params(IOConfig(), False)
    x = torch.randn(4, 8, device="cuda:0")
    xq = torch.empty(4, 8, device="cuda:1")
    scale = torch.empty(4, device="cuda:0")
    with pytest.raises(ValueError, match="same device"):
        _core.io_prologue(p, view(x), view(xq), view(scale), seed=1, call=1, round=0, reduction=1.0,
                          compute_scale=True, cuda_stream=cuda_stream(x))


# ---- the large update (slow) -------------------------------------------------------------------------------

@pytest.mark.slow
def test_update_4096_square_batch_1024():
    """The benchmark's large case in the typical regime (lr 0.01, small d): every grid dimension large."""
    cfg = TileConfig(device_model=presets.PaperSoftBounds(16), update=UpdateConfig(count_pulses=True))
    g = torch.Generator().manual_seed(16)
    x, d = torch.rand(1024, 4096, generator=g), torch.randn(1024, 4096, generator=g) * 0.1
    a = xbarsim.AnalogTile(4096, 4096, cfg, seed=4, device="cpu")
    b = xbarsim.AnalogTile(4096, 4096, cfg, seed=4, device="cuda")
    a.update(x, d, 0.01)
    b.update(x.cuda(), d.cuda(), 0.01)
    for k, (p, q) in enumerate(zip(_tile_state([a]), _tile_state([b]))):
        _assert_same(p, q, f"state tensor {k}")
