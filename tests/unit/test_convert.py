"""convert_to_analog on a CIFAR ResNet-18 (torchvision module names): exactly the requested layers change.

Spec: experiments.md §2.2 (analog: every conv and linear inside layer3, layer4 and fc).
"""
from __future__ import annotations

import pytest
import torch

import xbarsim
from xbarsim.config.seeds import child_seed
from xbarsim.models import PAPER_ANALOG_LAYERS, resnet18
from xbarsim.nn import AnalogConv2d, AnalogLayerBase, AnalogLinear, convert_to_analog

from _frontend import ideal_config


def _convertible(model):
    return {n: m for n, m in model.named_modules() if type(m) in (torch.nn.Linear, torch.nn.Conv2d, torch.nn.Conv1d)}


def test_paper_layers_of_resnet18_become_analog_and_nothing_else():
    torch.manual_seed(0)
    digital = resnet18(num_classes=10, width=4).double().eval()
    analog = convert_to_analog(digital, ideal_config(), layers=PAPER_ANALOG_LAYERS, seed=10).eval()
    expected = {n for n in _convertible(digital) if n.split(".")[0] in PAPER_ANALOG_LAYERS}
    # layer3 and layer4: 2 blocks x 2 convs + 1 shortcut conv each; plus fc
    assert len(expected) == 2 * 5 + 1
    converted = {n for n, m in analog.named_modules() if isinstance(m, AnalogLayerBase)}
    assert converted == expected
    for name, module in _convertible(analog).items():
        assert name not in expected and type(module) is type(digital.get_submodule(name))
    assert isinstance(analog.layer3[0].downsample[0], AnalogConv2d) and isinstance(analog.fc, AnalogLinear)
    # tile shapes of the paper's table (with width 4 instead of 64)
    assert (analog.layer4[1].conv2.blocks[0].out_size, analog.layer4[1].conv2.blocks[0].in_size) == (32, 32 * 9)
    # the original is untouched (inplace=False) and the ideal analog model computes the same function
    assert not any(isinstance(m, AnalogLayerBase) for m in digital.modules())
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    torch.testing.assert_close(analog(x), digital(x), rtol=1e-10, atol=1e-10)
    seeds = sorted(m.seed for m in analog.modules() if isinstance(m, AnalogLayerBase))
    assert seeds == sorted(child_seed(10, k) for k in range(11))


def test_selection_by_type_predicate_and_inplace():
    torch.manual_seed(1)
    model = resnet18(width=4)
    only_linear = convert_to_analog(model, ideal_config(), layers=torch.nn.Linear)
    assert [n for n, m in only_linear.named_modules() if isinstance(m, AnalogLayerBase)] == ["fc"]
    by_predicate = convert_to_analog(model, ideal_config(),
                                     layers=lambda name, m: isinstance(m, torch.nn.Conv2d) and m.kernel_size == (1, 1))
    assert sorted(n for n, m in by_predicate.named_modules() if isinstance(m, AnalogLayerBase)) == \
        ["layer2.0.downsample.0", "layer3.0.downsample.0", "layer4.0.downsample.0"]
    same = convert_to_analog(model, ideal_config(), layers=["layer1.0.conv1"], inplace=True)
    assert same is model and isinstance(model.layer1[0].conv1, AnalogConv2d)


def test_weights_biases_and_options_are_carried_over():
    torch.manual_seed(2)
    lin = torch.nn.Linear(6, 3)
    analog = convert_to_analog(lin, ideal_config(), digital_bias=False,
                               mapping=xbarsim.MappingConfig(max_in_size=4))
    assert isinstance(analog, AnalogLinear) and analog.analog_bias and len(analog.blocks) == 2
    w, b = analog.get_weights()
    assert torch.equal(w, lin.weight.detach()) and torch.equal(b, lin.bias.detach())


def test_bad_selections():
    model = resnet18(width=4)
    with pytest.raises(ValueError, match=r"layers must name submodules of the model; got unknown \['layer5'\]"):
        convert_to_analog(model, layers=["layer3", "layer5"])
    with pytest.raises(TypeError, match="layers must"):
        convert_to_analog(model, layers=3)
    grouped = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError, match="groups must be 1"):
        convert_to_analog(grouped)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        convert_to_analog("model")
