"""An analog MLP learns Fashion-MNIST with AnalogSGD on 16-state SoftBounds devices.

Setup: 5 000 training / 1 000 test images of the shipped Fashion-MNIST, MLP 784-64-10 (sigmoid),
batch 50, lr 0.2, 2 epochs (200 steps, a few seconds of CPU), default non-ideal IO, default pulsed
update (stochastic_compressed, BL 31, update and BL management), SoftBounds on [-1, 1] with 16
states and the default device-to-device and cycle-to-cycle variation.

Measured test accuracy (CPU, seeds 0-4): 0.509, 0.567, 0.470, 0.463, 0.541 (mean 0.510, sd 0.045);
chance is 0.10, and the same network with perfect IO and the exact float update reaches 0.69-0.71
(few-state devices stall analog SGD: the paper's point). THRESHOLD = 0.35 is the mean minus 3.5 sd.

Spec: experiments.md §0 (SoftBounds, AnalogSGD), §12.1 (data).
"""
from __future__ import annotations

import pytest
import torch

from xbarsim.data import load_mnist_like
from xbarsim.models import mlp
from xbarsim.optim import AnalogSGD

from _frontend import softbounds_config

THRESHOLD = 0.35


def _train_and_evaluate(root, seed: int) -> float:
    x_train, y_train = load_mnist_like(root, "train", limit=5000)
    x_test, y_test = load_mnist_like(root, "test", limit=1000)
    torch.manual_seed(seed)
    model = mlp((784, 64, 10), config=softbounds_config(16), seed=seed)
    opt = AnalogSGD(model.parameters(), lr=0.2)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(2):
        order = torch.randperm(len(x_train), generator=gen)
        for batch in order.split(50):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).float().mean().item()


@pytest.mark.parametrize("seed", [0])
def test_analog_mlp_learns_fashion_mnist(fashion_mnist_dir, seed):
    accuracy = _train_and_evaluate(fashion_mnist_dir, seed)
    assert accuracy >= THRESHOLD, f"test accuracy {accuracy:.3f} below {THRESHOLD}"
