"""Pinned bits of the pulsed update: the weights (and pulse counters) after a few mini-batch updates
of small tiles, over the pulse types, device models, write noise, float64, BL beyond one 64-bit word
and both regimes of the benchmark. They pin the RNG element numbering (update/bit_lines.h,
update/pulse_noise.h), the pulse order and the device math: a change to any of them must be
deliberate (and update these hashes). The same values must come out on every CPU, with any number of
threads, and on CUDA."""
from __future__ import annotations

import hashlib

import pytest
import torch

import xbarsim
from xbarsim import TileConfig, UpdateConfig, devices, presets

COMMON = dict(count_pulses=True)
CASES = {
    # name: (device, update, dtype, lr, d scale)
    "softbounds16_typical": (presets.PaperSoftBounds(16), UpdateConfig(**COMMON), torch.float32, 0.01, 0.1),
    "softbounds16_dense": (presets.PaperSoftBounds(16), UpdateConfig(**COMMON), torch.float32, 1.0, 1.0),
    "constant_bl100_fixed": (devices.ConstantStep(dw_min=0.01, dw_min_std=0.3),
                             UpdateConfig(desired_bl=100, fixed_bl=True, **COMMON), torch.float32, 0.5, 1.0),
    "linear_write_noise": (devices.LinearStep(dw_min=0.05, write_noise_std=0.5, gamma_up=0.2, gamma_down=0.1),
                           UpdateConfig(**COMMON), torch.float32, 0.2, 1.0),
    "exp_float64": (devices.ExpStep(dw_min=0.02), UpdateConfig(**COMMON), torch.float64, 0.3, 1.0),
    "pow_negative_lr": (devices.PowStep(dw_min=0.03), UpdateConfig(**COMMON), torch.float32, -0.3, 1.0),
    "softbounds_mean_count": (presets.PaperSoftBounds(8), UpdateConfig(pulse_type="mean_count", **COMMON),
                              torch.float32, 0.5, 1.0),
    "softbounds_implicit": (presets.PaperSoftBounds(8), UpdateConfig(pulse_type="deterministic_implicit", **COMMON),
                            torch.float32, 0.5, 1.0),
}
GOLDEN = {
    "constant_bl100_fixed": "0b16d74ce42b2c042999215b760b85719f51c1caa1dead9b31bcbaa16674b9ee",
    "exp_float64": "30bc313d43a21f586d786890748671f7587033e1551f2f843e6ac3d59229df9b",
    "linear_write_noise": "b0bc446dbcbe081c3a4bda9274e1a9be77fb9d0d5b7da6fbd9045f92adbbf733",
    "pow_negative_lr": "e711444cabd948d7e76545fd73eb981e86cb120ca097710a5a1d73a53facc298",
    "softbounds16_dense": "e7f727105417f33e512cc8ebb801a120e92bca5e3412955174a77d8419f147c3",
    "softbounds16_typical": "d7a2204562e7a544df665009ce069c8574ba2b82756cec9347fb51f73cef3630",
    "softbounds_implicit": "5dbe578b725d134e7b581b7e485de064babfd5e989b6349b14e7d494b07c0d5b",
    "softbounds_mean_count": "249e76b1af5a8f0e37c47b25f72d7858baf12b8dfc1a3922818c20e9791acbf1",
}


def _devices():
    return ["cpu"] + (["cuda"] if xbarsim.cuda_available() else [])


def _run(name: str, device: str) -> str:
    dev, upd, dtype, lr, d_scale = CASES[name]
    gen = torch.Generator().manual_seed(3)
    tile = xbarsim.AnalogTile(37, 53, TileConfig(device_model=dev, update=upd), seed=5, device=device, dtype=dtype)
    tile.set_weights((torch.rand(37, 53, generator=gen, dtype=dtype) * 0.4 - 0.2).to(device))
    for _ in range(3):
        x = (torch.rand(19, 53, generator=gen, dtype=dtype) * 2 - 0.5).to(device)
        d = (d_scale * torch.randn(19, 37, generator=gen, dtype=dtype)).to(device)
        tile.update(x, d, lr)
    h = hashlib.sha256()
    h.update(tile.get_weights()[0].cpu().contiguous().numpy().tobytes())
    # The four counters the hashes were pinned with; the pulse-train slots (counted since) are checked
    # against the reference in test_pulsed_update_reference.py.
    h.update(repr(sorted((k, v) for k, v in tile.pulse_counts().items() if k != "pulse_slots")).encode())
    return h.hexdigest()


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("name", sorted(CASES))
def test_pulsed_update_golden(name, device):
    assert _run(name, device) == GOLDEN[name]


if __name__ == "__main__":  # prints the table above (after a deliberate change)
    for case in sorted(CASES):
        print(f'    "{case}": "{_run(case, "cpu")}",')
