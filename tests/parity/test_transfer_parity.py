"""CPU ≡ CUDA bit for bit for the fused transfers, the tile reduction and whole multi-tile update steps.
Marked `cuda` by directory; skipped without a GPU. Spec: STYLE "one source of math", algorithms.md §3.5."""
from __future__ import annotations

import copy

import pytest
import torch

from xbarsim.algorithms import ChoppedTikiTakaV2, MixedPrecision, ResidualLearning, TikiTaka, TikiTakaV2, make_tile
from xbarsim.algorithms.base import transfer_tile
from xbarsim.config import IOConfig, SoftBounds, TileConfig, UpdateConfig
from xbarsim.ops import transfer as _transfer

PERFECT = IOConfig(is_perfect=True)
READS = {
    "perfect": PERFECT,
    "adc_noise": IOConfig(noise_management="none", bound_management="none"),
    "dense_input_noise": IOConfig(noise_management="none", bound_management="none", inp_noise=0.05,
                                  w_noise=0.02, w_noise_type="pcm_read"),
    "additive_w_noise": IOConfig(noise_management="none", bound_management="none", w_noise=0.02,
                                 w_noise_type="additive_constant", out_sto_round=True),
}


def _compound(device, dtype, columns=True, write_noise=0.0, kind="direct"):
    dev = SoftBounds(w_min=-1.0, w_max=1.0, dw_min=0.2, write_noise_std=write_noise)
    algo = ResidualLearning(n_tiles=4, gamma=0.5, transfer_every=1.0, transfer_columns=columns)
    t = make_tile(33, 21, TileConfig(device_model=dev, algorithm=algo), seed=5, dtype=dtype).to(device)
    g = torch.Generator().manual_seed(1)
    t.set_tile_weights((torch.rand(4, 33, 21, generator=g, dtype=dtype) * 1.6 - 0.8).to(device))
    return t


def _rows(columns):
    lines = 21 if columns else 33
    return [(3, 2, 5 % lines, 1, 2, 2, 0.9, 0.3, 0.1), (2, 1, 5 % lines, 3, 4, 1, 1.3, 0.7, 0.1),
            (1, 0, 20 % lines, 5, 6, 0, 0.4, 2.0, 0.1), (3, 2, 7 % lines, 7, 8, 2, 3.5, 0.3, 0.1)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("update", [UpdateConfig(count_pulses=True),
                                    UpdateConfig(desired_bl=1, update_bl_management=False, update_management=False),
                                    UpdateConfig(pulse_type="mean_count"), UpdateConfig(pulse_type="none")],
                         ids=["managed", "bl1", "mean_count", "exact"])
@pytest.mark.parametrize("kind", ["direct", "buffered", "chopped"])
def test_transfer_cpu_equals_cuda(dtype, columns, read, update, kind):
    results = []
    for device in ("cpu", "cuda"):
        t = _compound(device, dtype, columns, write_noise=0.1 if read == "perfect" else 0.0)
        rows = _rows(columns)
        ev = torch.tensor([r[:6] for r in rows], dtype=torch.int64)
        rates = torch.tensor([r[6:] for r in rows], dtype=torch.float64)
        g = torch.Generator().manual_seed(2)
        buffers = (torch.rand(3, 33, 21, generator=g, dtype=dtype) - 0.5).to(device)
        chop_in = torch.where(torch.rand(21, generator=g) < 0.5, -1.0, 1.0).to(device, dtype)
        chop_out = torch.where(torch.rand(33, generator=g) < 0.5, -1.0, 1.0).to(device, dtype)
        _transfer.transfer_([transfer_tile(x) for x in t.tiles], ev, rates, io=READS[read], update=update,
                            transpose=not columns, kind=kind, buffers=None if kind == "direct" else buffers,
                            chop_in=chop_in if kind == "chopped" else None,
                            chop_out=chop_out if kind == "chopped" else None, buffer_bl=3, momentum=0.2)
        results.append((t.get_tile_weights().cpu(), buffers.cpu(),
                        torch.stack([x.pulse_counters for x in t.tiles]).cpu()))
    (wc, bc, cc), (wg, bg, cg) = results
    assert torch.equal(wc, wg)
    assert torch.equal(bc, bg)
    assert torch.equal(cc, cg)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tile_reduce_cpu_equals_cuda(dtype):
    ws = [torch.randn(300, 257, dtype=dtype) for _ in range(8)]
    g = [0.5**k for k in range(8)]
    out_c = _transfer.reduce_tiles_(torch.empty(300, 257, dtype=dtype), ws, g)
    out_g = _transfer.reduce_tiles_(torch.empty(300, 257, dtype=dtype, device="cuda"), [w.cuda() for w in ws], g)
    assert torch.equal(out_c, out_g.cpu())


ALGORITHMS = {
    "residual": ResidualLearning(n_tiles=4, gamma=0.4, transfer_every=(8, 4, 2, 1), warm_start="reference_cuda",
                                 random_selection=True),
    "residual_rows": ResidualLearning(n_tiles=3, gamma=0.4, transfer_every=0.5, transfer_columns=False),
    "ttv1": TikiTaka(gamma=0.1, with_reset_prob=0.2),
    "ttv2": TikiTakaV2(transfer_lr=3.0),
    "cttv2": ChoppedTikiTakaV2(in_chop_prob=0.3, out_chop_prob=0.2, transfer_every=2.0),
    "mp": MixedPrecision(n_x_bins=7, n_d_bins=9, n_rows_per_transfer=5, random_row=True),
}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_update_steps_cpu_equals_cuda(name):
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=SoftBounds(dw_min=0.1), algorithm=ALGORITHMS[name])
    cpu = make_tile(16, 12, cfg, seed=9)
    gpu = copy.deepcopy(cpu).to("cuda")
    g = torch.Generator().manual_seed(4)
    for step in range(12):
        x = torch.rand(6, 12, generator=g)
        d = torch.randn(6, 16, generator=g) * 0.3
        cpu.update(x, d, 0.2)
        gpu.update(x.cuda(), d.cuda(), 0.2)
        if step == 4 and hasattr(cpu, "signal_warm_start"):
            cpu.signal_warm_start()
            gpu.signal_warm_start()
    assert torch.equal(cpu.get_weights()[0], gpu.get_weights()[0].cpu())
    for a, b in zip(cpu.state_dict().values(), gpu.state_dict().values()):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b.cpu())
