"""What the training loop adds to the bare training steps (target: at most 5 %).

For one epoch of the paper's LeNet-5 on the embedded Fashion-MNIST subset (batch 16), the loop's
training time (``xbarsim.train.Trainer``: data order, batch gather, batched preprocessing, loss and
accuracy sums, the progress bookkeeping; its ``epoch_train_s``, evaluation excluded) against the same
steps on pre-made batches in a plain Python loop, both timed in this run. Cases: the digital network
(where overhead shows most) and residual learning with 4 tiles (the paper's method).
"""
from __future__ import annotations

import dataclasses
import tempfile
import time

import torch

from _timing import row

SUITE = "loop"
GROUP = "training"


def _bare_seconds(setup, options) -> float:
    """The same optimizer steps on batches made beforehand (what a hand-written loop costs at least)."""
    from xbarsim.train.loop import batch_generator, epoch_order

    data = setup.train_set
    order = epoch_order(len(data), options.seed, 0)
    batches = []
    for step in range(-(-len(data) // options.batch_size)):
        idx = order[step * options.batch_size:(step + 1) * options.batch_size]
        batches.append((setup.train_preprocess(data.images[idx], batch_generator(options.seed, 0, step)),
                        data.labels[idx]))
    model, opt, loss_fn = setup.model, setup.optimizer, setup.loss_fn
    t0 = time.perf_counter()
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return time.perf_counter() - t0


def _case(algorithm: str, limit: int) -> dict:
    from xbarsim.train import RunConfig, RunDirectory, Trainer, build, resolve

    cfg = resolve(RunConfig(algorithm=algorithm, tiles=4, epochs=1, limit=limit, test_limit=100))
    bare_setup, options = build(cfg)
    bare = _bare_seconds(bare_setup, options)
    setup, options = build(cfg)  # a fresh model: the same steps again
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(setup, dataclasses.replace(options, progress=False), RunDirectory(tmp)).fit()
        loop = RunDirectory(tmp).metrics()[-1]["epoch_train_s"]
    steps = -(-limit // options.batch_size)
    return row(SUITE, f"lenet5_{cfg.preset.split('/')[-1]}_{steps}steps", "cpu", 1e3 * loop / steps,
               1e3 * bare / steps, "the same steps on pre-made batches", overhead_pct=round(100 * (loop / bare - 1), 2))


def run(device: str, quick: bool) -> list[dict]:
    if device != "cpu":
        return []
    limit = 320 if quick else 3200
    torch.manual_seed(0)
    return [_case("digital", limit), _case("resl", limit)]
