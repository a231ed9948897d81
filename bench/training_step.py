"""Training step (forward + backward + update) of analog models against the same digital model.

Cases: the MLP 784-256-128-10 at batch 100 and the paper's LeNet-5 (experiments.md §1.2) at batch
16, SoftBounds with 16 states on [-1, 1], default (non-ideal) IO and the default pulsed update,
trained with ``xbarsim.optim.AnalogSGD``; the baseline is the digital model with
``torch.optim.SGD``, timed in the same run. Target: the MLP step within 5x digital on CPU.

One more case times the operation counters of the cost model (``TileConfig.count_ops``): LeNet-5
with residual learning on 4 tiles, counting on against the same model with counting off (the
baseline of that row). Target: counting adds at most 10 %.
"""
from __future__ import annotations

import dataclasses

import torch

import xbarsim
from _timing import row, time_fn

SUITE = "train_step"


def _config() -> "xbarsim.TileConfig":
    from xbarsim import devices

    return xbarsim.TileConfig(device_model=devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=16))


def _step_fn(model, opt, loss_fn, x, y):
    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _case(name: str, build, batch: int, loss_fn, device: str, quick: bool) -> dict:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (batch,), generator=gen).to(device)
    torch.manual_seed(0)
    digital = build(None).to(device)
    analog = build(_config()).to(device)
    repeats = 3 if quick else 10
    ms_d = time_fn(_step_fn(digital, torch.optim.SGD(digital.parameters(), lr=0.01), loss_fn, x, y), device,
                   warmup=2, repeats=repeats)
    ms_a = time_fn(_step_fn(analog, xbarsim.optim.AnalogSGD(analog.parameters(), lr=0.01), loss_fn, x, y), device,
                   warmup=2, repeats=repeats)
    return row(SUITE, name, device, ms_a, ms_d, "digital model + torch.optim.SGD", batch=batch)


def _counting_case(device: str, quick: bool) -> dict:
    """LeNet-5, ResL with 4 tiles, batch 16: a step with ``count_ops`` on against the same step off."""
    from xbarsim.algorithms import ResidualLearning

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (16,), generator=gen).to(device)
    repeats = 3 if quick else 10
    ms = {}
    for count_ops in (False, True):
        cfg = dataclasses.replace(_config(), algorithm=ResidualLearning(n_tiles=4, gamma=0.5), count_ops=count_ops)
        model = xbarsim.models.lenet5(cfg, seed=1).to(device)
        opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.01)
        ms[count_ops] = time_fn(_step_fn(model, opt, torch.nn.functional.nll_loss, x, y), device,
                                warmup=2, repeats=repeats)
    return row(SUITE, "lenet5_resl4_b16_count_ops", device, ms[True], ms[False],
               "same model, count_ops=False", batch=16)


def run(device: str, quick: bool) -> list[dict]:
    mlp_sizes = (784, 64, 32, 10) if quick else (784, 256, 128, 10)
    cases = [
        ("mlp_" + "-".join(map(str, mlp_sizes)) + "_b100",
         lambda cfg: xbarsim.models.mlp(mlp_sizes, config=cfg, seed=None if cfg is None else 1),
         100, torch.nn.functional.cross_entropy),
        ("lenet5_b16", lambda cfg: xbarsim.models.lenet5(cfg, seed=None if cfg is None else 1),
         16, torch.nn.functional.nll_loss),
    ]
    return [_case(name, build, batch, loss, device, quick) for name, build, batch, loss in cases] + \
        [_counting_case(device, quick)]
