"""build_model: the network of a paper preset. Spec: experiments.md §1.2 and §2.2 (analog tiles per model)."""
from __future__ import annotations

import pytest
import torch

from xbarsim.config.algorithms import ResidualLearning
from xbarsim.config.seeds import child_seed
from xbarsim.models import build_model
from xbarsim.nn import AnalogConv2d, AnalogLinear, analog_layers
from xbarsim.optim import AnalogSGD
from xbarsim.presets import paper


def _tiles(model):
    return [(name, layer.out_size, layer.in_size) for name, layer in analog_layers(model)]


def _digital_tiles(model, prefixes):
    """(name, out, in) of the conv/linear layers under ``prefixes`` of a digital model (the matrices the
    analog layers would hold)."""
    out = []
    for name, m in model.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and name.split(".")[0] in prefixes:
            out.append((name, m.weight.shape[0], m.weight[0].numel()))
    return out


def test_lenet5_preset_builds_its_analog_network():
    preset = paper.parse("table1/fashion-mnist/resl-3")
    model = build_model(preset, seed=5)
    assert [(o, i) for _, o, i in _tiles(model)] == [(16, 25), (32, 400), (128, 512), (10, 128)]
    for k, (_, layer) in enumerate(analog_layers(model)):
        assert layer.config == preset.config and layer.mapping == preset.mapping
        assert isinstance(layer.blocks[0].config.algorithm, ResidualLearning) and layer.bias is not None
        assert layer.seed == child_seed(child_seed(5, 1), k)
    x = torch.rand(4, 1, 28, 28)
    opt = AnalogSGD(model.parameters(), lr=preset.lr)
    loss = torch.nn.functional.nll_loss(model(x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    opt.step()


def test_same_seed_same_model_and_the_global_generator_is_untouched():
    preset = paper.parse("table1/mnist/sgd")
    torch.manual_seed(1)
    before = torch.random.get_rng_state()
    a = build_model(preset, seed=9)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = build_model(preset, seed=9)
    c = build_model(preset, seed=10)
    for (_, la), (_, lb), (_, lc) in zip(analog_layers(a), analog_layers(b), analog_layers(c)):
        assert torch.equal(la.weight, lb.weight) and not torch.equal(la.weight, lc.weight)


def test_digital_preset_builds_the_floating_point_network():
    model = build_model(paper.parse("table1/mnist/digital"), seed=0)
    assert not list(analog_layers(model)) and isinstance(model.fc2, torch.nn.Linear)
    resnet = build_model(paper.parse("table2/cifar100/digital"), seed=0, width=4)
    assert not list(analog_layers(resnet)) and resnet.fc.out_features == 100


def test_small_resnet_with_scales_trains_a_step():
    """Table 2's TT-v2 (ω 0.3, learned scales) at width 4: layer3, layer4, fc analog, all else digital."""
    preset = paper.parse("table2/cifar10/ttv2")
    model = build_model(preset, seed=2, width=4, num_classes=3)
    names = [n for n, _ in analog_layers(model)]
    assert names and all(n.split(".")[0] in ("layer3", "layer4", "fc") for n in names)
    assert isinstance(model.layer2[0].conv1, torch.nn.Conv2d) and not isinstance(model.layer2[0].conv1, AnalogConv2d)
    assert isinstance(model.fc, AnalogLinear) and model.fc.out_size == 3
    for _, layer in analog_layers(model):
        assert layer.mapping_scales is not None and layer.out_scaling_alpha.shape == (1,)
        assert layer.blocks[0].get_weights()[0].abs().amax() <= 0.3 + 1e-6
    opt = AnalogSGD(model.parameters(), lr=preset.lr)
    model(torch.rand(2, 3, 32, 32)).logsumexp(1).sum().backward()
    opt.step()


def test_resnet18_full_width_analog_shapes_match_section_2_2():
    """Tables 9 and 10 select the spec's ResNet-18 tiles (checked on the digital network: same modules)."""
    preset = paper.experiment(9, "cifar10", "resl", n_tiles=4)
    digital = build_model(paper.experiment(9, "cifar10", "digital"), seed=0)
    tiles = _digital_tiles(digital, preset.analog_layers)
    layer3 = [(o, i) for n, o, i in tiles if n.startswith("layer3")]
    layer4 = [(o, i) for n, o, i in tiles if n.startswith("layer4")]
    assert sorted(layer3) == sorted([(256, 1152), (256, 128)] + [(256, 2304)] * 3)
    assert sorted(layer4) == sorted([(512, 2304), (512, 256)] + [(512, 4608)] * 3)
    assert [(o, i) for n, o, i in tiles if n == "fc"] == [(10, 512)]
    assert sum(o * i for _, o, i in tiles) == 10_490_880


@pytest.mark.slow
def test_resnet34_table11_full_width_analog_layers_match_section_2_2():
    """Table 11 at full width (constructed, not trained): layer2, layer3, layer4 and fc analog."""
    preset = paper.experiment(11, "cifar10", "sgd")
    model = build_model(preset, seed=0)
    tiles = _tiles(model)
    parts = {p: sorted((o, i) for n, o, i in tiles if n.split(".")[0] == p) for p in ("layer2", "layer3", "layer4")}
    assert parts["layer2"] == sorted([(128, 576), (128, 64)] + [(128, 1152)] * 7)
    assert parts["layer3"] == sorted([(256, 1152), (256, 128)] + [(256, 2304)] * 11)
    assert parts["layer4"] == sorted([(512, 2304), (512, 256)] + [(512, 4608)] * 5)
    assert [(o, i) for n, o, i in tiles if n == "fc"] == [(10, 512)]
    assert sum(o * i for _, o, i in tiles) == 19_928_064 + 1_114_112
    assert not isinstance(model.layer1[0].conv1, AnalogConv2d) and not isinstance(model.conv1, AnalogConv2d)
    for _, layer in analog_layers(model):  # one tile per layer; only fc has a (digital) bias
        assert len(layer.blocks) == 1 and (layer.bias is None) == (layer is not model.fc)


def test_build_model_rejects_bad_arguments():
    preset = paper.parse("table1/mnist/mp")
    with pytest.raises(TypeError, match="build_model: preset must be an ExperimentPreset"):
        build_model("table1/mnist/mp", seed=0)
    with pytest.raises(ValueError, match="build_model: seed must be an int"):
        build_model(preset, seed=-1)
    with pytest.raises(ValueError, match="build_model: width must be None for lenet5"):
        build_model(preset, seed=0, width=8)
    with pytest.raises(ValueError, match="build_model: num_classes must be a positive int"):
        build_model(preset, seed=0, num_classes=0)
