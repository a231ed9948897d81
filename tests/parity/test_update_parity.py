"""CPU ≡ CUDA bit for bit for the pulsed update, the device population, weight clipping and the device processes
(analog-tile.md §7; marked `cuda` by tests/conftest.py and skipped without a GPU)."""
import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices, presets
from xbarsim.ops import update as U

DEVICES = [
    devices.ConstantStep(dw_min=0.05),
    devices.ConstantStep(dw_min=0.05, corrupt_devices_prob=0.2, perfect_bias=True, dw_min_dtod_log_normal=True),
    devices.LinearStep(dw_min=0.05, gamma_up=0.4, gamma_down=0.3, mult_noise=False, write_noise_std=1.0),
    presets.PaperSoftBounds(16),
    presets.ReRamArrayOM(),
    presets.ReRamES(),
    presets.PCM(),
    devices.PowStep(dw_min=0.05, pow_gamma=1.7, pow_gamma_dtod=0.2),
    devices.PiecewiseStep(dw_min=0.05, piecewise_up=tuple(0.5 + 0.02 * k for k in range(64)),
                          piecewise_down=tuple(1.8 - 0.02 * k for k in range(64))),
]
IDS = [f"{type(d).__name__}{k}" for k, d in enumerate(DEVICES)]


def pair(dev, update, dtype, out_size=37, in_size=70, seed=2024):
    cfg = TileConfig(device_model=dev, update=update)
    return (xbarsim.AnalogTile(out_size, in_size, cfg, seed=seed, dtype=dtype, device="cpu"),
            xbarsim.AnalogTile(out_size, in_size, cfg, seed=seed, dtype=dtype, device="cuda"))


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k, v in sa.items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, sb[k].cpu()), k
    assert int(a.rng_counter) == int(b.rng_counter)


@pytest.mark.parametrize("dev", DEVICES, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_population_parity(dev, dtype):
    a, b = pair(dev, UpdateConfig(), dtype)
    assert_same_state(a, b)


@pytest.mark.parametrize("dev", DEVICES, ids=IDS)
@pytest.mark.parametrize("pulse_type", ["stochastic_compressed", "mean_count", "deterministic_implicit"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_update_parity(dev, pulse_type, dtype):
    # ("none"/"none_with_device" are a float GEMM: cuBLAS and the CPU BLAS sum in another order)
    cfg = UpdateConfig(pulse_type=pulse_type, count_pulses=True, res=0.05, sto_round=True)
    a, b = pair(dev, cfg, dtype)
    g = torch.Generator().manual_seed(7)
    w = (torch.rand(37, 70, generator=g, dtype=dtype) - 0.5) * 0.4
    a.set_weights(w)
    b.set_weights(w.cuda())
    assert_same_state(a, b)
    for step, (m, lr) in enumerate([(1, 0.05), (33, -0.2), (100, 1.0), (7, 3.0)]):
        x = torch.randn(m, 70, generator=g, dtype=dtype)
        d = torch.randn(m, 37, generator=g, dtype=dtype)
        x[:, step] = 0.0  # a line that never fires
        a.update(x, d, lr)
        b.update(x.cuda(), d.cuda(), lr)
        assert_same_state(a, b)


@pytest.mark.parametrize("desired_bl, bl_management", [(1, False), (63, True), (64, True), (65, False),
                                                        (200, True), (4096, False)])
def test_long_train_parity(desired_bl, bl_management):
    cfg = UpdateConfig(desired_bl=desired_bl, update_bl_management=bl_management, count_pulses=True)
    a, b = pair(presets.PaperSoftBounds(100), cfg, torch.float32, out_size=9, in_size=130)
    g = torch.Generator().manual_seed(3)
    x, d = torch.randn(70, 130, generator=g), torch.randn(70, 9, generator=g)
    a.update(x, d, 5.0)
    b.update(x.cuda(), d.cuda(), 5.0)
    assert_same_state(a, b)


def test_large_batch_chunking_parity():
    # more vectors than one shared-memory chunk, ragged tile edges (not multiples of 32 x 8)
    a, b = pair(presets.ReRamArrayHfO2(), UpdateConfig(count_pulses=True), torch.float32, out_size=45, in_size=77)
    g = torch.Generator().manual_seed(4)
    x, d = torch.rand(300, 77, generator=g), torch.randn(300, 45, generator=g)
    a.update(x, d, 0.3)
    b.update(x.cuda(), d.cuda(), 0.3)
    assert_same_state(a, b)


def test_clip_and_write_noise_parity():
    dev = devices.SoftBoundsReference(write_noise_std=2.0, reference_std=0.1)
    a, b = pair(dev, UpdateConfig(), torch.float32)
    w = torch.randn(37, 70) * 2
    a.set_weights(w)
    b.set_weights(w.cuda())
    a.clip_weights()
    b.clip_weights()
    assert_same_state(a, b)
    cells = U.populate_device(dev, 5, 6, seed=1, dtype=torch.float64, device="cuda")
    ref = U.populate_device(dev, 5, 6, seed=1, dtype=torch.float64)
    for k in ref:
        assert torch.equal(ref[k], cells[k].cpu())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_device_process_parity(dtype):
    dev = devices.LinearStep(dw_min=0.05, write_noise_std=1.0, lifetime=20.0, lifetime_dtod=0.2, reset=0.1,
                             reset_dtod=0.1, reset_std=0.05, diffusion=0.02, diffusion_dtod=0.3)
    a, b = pair(dev, UpdateConfig(), dtype)
    w = (torch.rand(37, 70, generator=torch.Generator().manual_seed(3), dtype=dtype) - 0.5) * 0.4
    a.set_weights(w)
    b.set_weights(w.cuda())
    for t in (a, b):
        t.decay_weights(0.7)
        t.diffuse_weights(1.5)
        t.reset_columns([0, 5, 69])
    assert_same_state(a, b)
