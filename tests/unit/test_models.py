"""Model builders: the paper's LeNet-5 shapes and tiles, MLP options. Spec: experiments.md §1.2."""
from __future__ import annotations

import pytest
import torch

from xbarsim.config.seeds import child_seed
from xbarsim.models import lenet5, mlp
from xbarsim.nn import AnalogConv2d, AnalogLinear

from _frontend import ideal_config


def test_lenet5_tiles_and_vectors_per_image_match_the_paper():
    model = lenet5(ideal_config(), seed=0)
    tiles = [(m.blocks[0].out_size, m.blocks[0].in_size) for m in model if isinstance(m, (AnalogConv2d, AnalogLinear))]
    assert tiles == [(16, 25), (32, 400), (128, 512), (10, 128)]
    assert sum(o * i for o, i in tiles) == 80016  # analog weights per tile copy (experiments.md §1.2)
    out = model(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(3))  # LogSoftmax
    assert [m.seed for m in model if hasattr(m, "seed")] == [child_seed(0, k) for k in range(4)]


def test_digital_lenet5_equals_ideal_analog_lenet5():
    torch.manual_seed(0)
    digital = lenet5().double()
    analog = lenet5(ideal_config(), seed=0).double()
    for d, a in zip(digital, analog):
        if hasattr(a, "set_weights"):
            a.set_weights(d.weight.detach(), d.bias.detach())
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(analog(x), digital(x), rtol=0, atol=1e-12)


def test_mlp_options():
    model = mlp((784, 256, 128, 10), config=ideal_config(), activation="tanh", seed=5)
    assert [n for n, _ in model.named_children()] == ["flatten", "fc1", "act1", "fc2", "act2", "fc3"]
    assert model(torch.rand(4, 1, 28, 28)).shape == (4, 10)
    assert isinstance(mlp((3, 2))[1], torch.nn.Linear)
    with pytest.raises(ValueError, match="mlp: sizes must be at least two positive ints"):
        mlp((3,))
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp(activation="gelu")
    with pytest.raises(TypeError, match="config must be a TileConfig or None"):
        mlp(config="ideal")
