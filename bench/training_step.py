"""Training step (forward + backward + optimizer step) of analog models against the same digital model,
interleaved in the same run (suite "train_step", group "training").

Models: the MLP 784-256-128-10 at batch 100, the paper's LeNet-5 (experiments.md §1.2) at batch 16,
and (CUDA only: on this CPU one digital step alone takes seconds) ResNet-18 on 32×32 images at batch
128 with layer3, layer4 and fc analog (experiments.md §2.2). Algorithms: analog SGD, TT-v2, mixed
precision, and residual learning with 4 and 8 tiles, on SoftBounds with 16 states on [-1, 1], default
(non-ideal) IO and the default pulsed update, trained with ``xbarsim.optim.AnalogSGD``; the baseline is
the digital model with ``torch.optim.SGD``. Each row also gives the state memory (parameters and
buffers) of the analog model over the digital one, and on CUDA the peak memory of one step.

LeNet-5 also runs the paper's residual-learning preset (``table1/fashion-mnist/resl-4``: 4-state
SoftBounds, perfect IO, the paper's mapping), built as ``xbarsim train`` builds it.

Targets (the digital step = 1): LeNet-5 with the paper's residual learning on 4 tiles at most 3x; the MLP (analog
SGD) at most 2.5x; ResNet-18 with residual learning on 4 tiles (GPU) at most 3x. State memory: at
most (N + 2)x the digital weights for N tiles (plus the digital layers, biases and per-tile scalars).

One more row times the operation counters of the cost model (``TileConfig.count_ops``): LeNet-5 with
residual learning on 4 tiles, counting on against counting off. Target: counting adds at most 10 %.
"""
from __future__ import annotations

import dataclasses

import torch

import xbarsim
from _timing import peak_memory_mb, row, state_bytes, time_interleaved

SUITE = "train_step"
GROUP = "training"

ALGORITHMS = {"sgd": (None, 1), "ttv2": ("TikiTakaV2", 2), "mp": ("MixedPrecision", 1),
              "resl4": ("ResidualLearning", 4), "resl8": ("ResidualLearning", 8)}
TARGETS = {("mlp", "sgd"): 2.5, ("lenet5", "paper resl4"): 3.0, ("resnet18", "resl4"): 3.0}
PAPER_PRESET = "table1/fashion-mnist/resl-4"  # the paper's LeNet-5 ResL-4: 4 states, perfect IO


def _config(algorithm: str) -> "xbarsim.TileConfig":
    from xbarsim import algorithms, devices

    cfg = xbarsim.TileConfig(device_model=devices.SoftBounds(w_min=-1.0, w_max=1.0, n_states=16))
    cls_name, n_tiles = ALGORITHMS[algorithm]
    if cls_name is None:
        return cfg
    cls = getattr(algorithms, cls_name)
    algo = cls(n_tiles=n_tiles, gamma=0.5) if cls_name == "ResidualLearning" else cls()
    return dataclasses.replace(cfg, algorithm=algo)


def _models(device: str, quick: bool) -> list[tuple[str, object, int, object, tuple]]:
    """(name, build(config or None), batch, loss, input shape) per model."""
    from xbarsim.nn import convert_to_analog

    mlp_sizes = (784, 64, 32, 10) if quick else (784, 256, 128, 10)

    def resnet(cfg):
        torch.manual_seed(0)
        net = xbarsim.models.resnet18(num_classes=10, width=16 if quick else 64)
        return net if cfg is None else convert_to_analog(net, cfg, layers=["layer3", "layer4", "fc"], seed=1)

    models = [("mlp", lambda cfg: xbarsim.models.mlp(mlp_sizes, config=cfg, seed=None if cfg is None else 1),
               100, torch.nn.functional.cross_entropy, (1, 28, 28)),
              ("lenet5", lambda cfg: xbarsim.models.lenet5(cfg, seed=None if cfg is None else 1),
               16, torch.nn.functional.nll_loss, (1, 28, 28))]
    if device == "cuda":
        models.append(("resnet18", resnet, 128, torch.nn.functional.cross_entropy, (3, 32, 32)))
    return models


def _step_fn(model, opt, loss_fn, x, y):
    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _model_rows(name, build, batch, loss_fn, shape, device: str, quick: bool) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, *shape, generator=gen).to(device)
    y = torch.randint(0, 10, (batch,), generator=gen).to(device)
    torch.manual_seed(0)
    digital = build(None).to(device)
    steps = {"digital": _step_fn(digital, torch.optim.SGD(digital.parameters(), lr=0.01), loss_fn, x, y)}
    analog = {}
    algorithms = ("sgd", "resl4") if quick else tuple(ALGORITHMS)
    for algorithm in algorithms:
        analog[algorithm] = build(_config(algorithm)).to(device)
    if name == "lenet5":  # the target case: the paper's preset, as `xbarsim train` builds it
        from xbarsim.presets import paper

        analog["paper resl4"] = xbarsim.models.build_model(paper.parse(PAPER_PRESET), seed=1).to(device)
    for algorithm, model in analog.items():
        steps[algorithm] = _step_fn(model, xbarsim.optim.AnalogSGD(model.parameters(), lr=0.01), loss_fn, x, y)
    ms = time_interleaved(steps, device, warmup=2, repeats=3 if quick else 10, min_time_s=0.0)
    base_peak = peak_memory_mb(steps["digital"], device)
    rows = []
    for algorithm, model in analog.items():
        n_tiles = 4 if algorithm == "paper resl4" else ALGORITHMS[algorithm][1]
        rows.append(row(SUITE, f"{name} {algorithm} b{batch}", device, ms[algorithm], ms["digital"],
                        "digital model + torch.optim.SGD", target=TARGETS.get((name, algorithm)), n_tiles=n_tiles,
                        state_ratio=round(state_bytes(model) / state_bytes(digital), 2),
                        state_target=n_tiles + 2, peak_mb=peak_memory_mb(steps[algorithm], device),
                        baseline_peak_mb=base_peak))
    return rows


def _counting_row(device: str, quick: bool) -> dict:
    """LeNet-5, ResL with 4 tiles, batch 16: a step with ``count_ops`` on against the same step off."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (16,), generator=gen).to(device)
    steps = {}
    for count_ops in (False, True):
        cfg = dataclasses.replace(_config("resl4"), count_ops=count_ops)
        model = xbarsim.models.lenet5(cfg, seed=1).to(device)
        opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.01)
        steps[count_ops] = _step_fn(model, opt, torch.nn.functional.nll_loss, x, y)
    ms = time_interleaved(steps, device, warmup=2, repeats=3 if quick else 10, min_time_s=0.0)
    return row(SUITE, "lenet5 resl4 b16 count_ops", device, ms[True], ms[False], "same model, count_ops=False",
               target=1.1)


def run(device: str, quick: bool) -> list[dict]:
    rows = []
    for name, build, batch, loss_fn, shape in _models(device, quick):
        rows.extend(_model_rows(name, build, batch, loss_fn, shape, device, quick))
    return rows + [_counting_row(device, quick)]
