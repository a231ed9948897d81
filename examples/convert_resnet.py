"""Convert part of a torchvision-style ResNet to analog layers and train it for a few steps.

``xbarsim.models.resnet18`` is a CIFAR ResNet-18 with torchvision's module names (``conv1``,
``layer1`` … ``layer4``, ``fc``), so the conversion call below works unchanged on a torchvision
model. As in the paper, only ``layer3``, ``layer4`` and ``fc`` become analog (every convolution
inside them, shortcut convolutions included); the rest stays digital and is trained by the same
optimizer. The analog layers take the tile and mapping settings of a paper preset (Table 9,
ResNet-18 on CIFAR-10: residual learning with 4 tiles on 4-state soft-bounds devices, a learned
digital output scale per layer); any other TileConfig works the same way.

The data are CIFAR-10 when it is found (``--data-dir`` or ``$XBARSIM_DATA``, see docs/data.md),
otherwise random CIFAR-shaped images: the point here is the mechanics, not the accuracy (random
labels cannot be learnt: the loss stays around ln 10 ≈ 2.3, and a 4-state device makes it jumpy).

    python examples/convert_resnet.py            # width 16, 20 steps of batch 32: about 15 s on one core
    python examples/convert_resnet.py --tiny     # width 4, 2 steps: a few seconds; also XBARSIM_EXAMPLE_TINY=1
    python examples/convert_resnet.py --width 64 --steps 100 --data-dir ~/data   # the paper's width
"""
import argparse
import os

import torch
import torch.nn.functional as F

import xbarsim
from xbarsim.nn import convert_to_analog
from xbarsim.nn.base import AnalogLayerBase


def cifar_batches(data_dir, batch_size, steps, generator):
    """``steps`` batches of CIFAR-10 (normalised as the paper's test preprocessing) or of random images."""
    try:
        train = xbarsim.data.load("cifar10", root=data_dir, train=True)
        prep = xbarsim.data.Preprocess.for_dataset("cifar10", train=False)
        print(f"data: CIFAR-10 from {xbarsim.data.dataset_dir('cifar10', data_dir)}")
        for _ in range(steps):
            idx = torch.randint(len(train), (batch_size,), generator=generator)
            yield prep(train.images[idx], generator), train.labels[idx]
    except FileNotFoundError:
        print("data: CIFAR-10 not found, random CIFAR-shaped images (see docs/data.md to add it)")
        for _ in range(steps):
            yield torch.randn(batch_size, 3, 32, 32, generator=generator), torch.randint(10, (batch_size,),
                                                                                          generator=generator)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", default=bool(os.environ.get("XBARSIM_EXAMPLE_TINY")),
                        help="a few seconds: width 4, 2 steps of batch 8")
    parser.add_argument("--width", type=int, default=16, help="channels of the first stage (64 in the paper)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-dir", default=None, help="where CIFAR-10 is looked for (docs/data.md)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.width, args.steps, args.batch_size = 4, 2, 8

    torch.manual_seed(0)
    digital = xbarsim.models.resnet18(num_classes=10, width=args.width)
    preset = xbarsim.presets.paper.experiment(9, "cifar10", "resl", n_tiles=4)   # docs/presets.md
    print(f"preset {preset.name()}: {type(preset.config.algorithm).__name__}, "
          f"{preset.config.device_model.n_states():g}-state {type(preset.config.device_model).__name__}")
    model = convert_to_analog(digital, preset.config, layers=["layer3", "layer4", "fc"], seed=0,
                              mapping=preset.mapping)

    analog = [(name, m) for name, m in model.named_modules() if isinstance(m, AnalogLayerBase)]
    print(f"{len(analog)} analog layers (tile shape [out, in] × physical tiles):")
    for name, layer in analog:
        block = layer.blocks[0]                      # one block per layer: no mapping split
        print(f"  {name:28s} {type(layer).__name__:13s} [{block.out_size:4d}, {block.in_size:4d}] "
              f"× {len(block.tiles)} tiles")
    digital_layers = [name for name, m in model.named_modules()
                      if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and not isinstance(m, AnalogLayerBase)]
    print(f"{len(digital_layers)} digital conv/linear layers: {', '.join(digital_layers)}")

    opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.02)   # pulsed updates on the tiles, SGD elsewhere
    g = torch.Generator().manual_seed(0)
    for step, (x, y) in enumerate(cifar_batches(args.data_dir, args.batch_size, args.steps, g), 1):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        print(f"step {step:3d}: loss {loss.item():.3f}")


if __name__ == "__main__":
    main()
