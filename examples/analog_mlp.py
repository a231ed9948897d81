"""An analog MLP on Fashion-MNIST in about 20 lines of user code.

Two ``xbarsim.nn.AnalogLinear`` layers (784 → 128 → 10) on 64-state soft-bounds devices with the
default non-ideal read path (DAC/ADC, noise, noise and bound management), trained with pulsed
updates by ``xbarsim.optim.AnalogSGD`` in a plain PyTorch loop, on the Fashion-MNIST subset
embedded in the package (6 000 training and 1 000 test images: no download, works offline).
It reaches about 70 % test accuracy in 3 epochs (the same MLP in floating point: about 72 %);
with 4 or 16 states analog SGD falls far behind, which is what residual learning is for
(examples/compare_algorithms.py, docs/guide.md).

    python examples/analog_mlp.py            # 3 epochs, about 12 s on one CPU core
    python examples/analog_mlp.py --tiny     # a few seconds (what the tests run); also XBARSIM_EXAMPLE_TINY=1
"""
import argparse
import os

import torch
import torch.nn.functional as F

import xbarsim
from xbarsim.nn import AnalogLinear


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", default=bool(os.environ.get("XBARSIM_EXAMPLE_TINY")),
                        help="a few seconds: 256 training images, one epoch")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    n_train, epochs = (256, 1) if args.tiny else (None, args.epochs)

    # --- the user code ------------------------------------------------------------------------
    torch.manual_seed(0)
    train, test = (xbarsim.data.load("fashion-mnist-mini", train=t) for t in (True, False))
    x_train, y_train = train.images[:n_train].flatten(1).float() / 255, train.labels[:n_train]
    x_test, y_test = test.images.flatten(1).float() / 255, test.labels

    # 64 states on [-1, 1], 30 % device-to-device and cycle-to-cycle variation; default IOConfig
    config = xbarsim.TileConfig(device_model=xbarsim.presets.PaperSoftBounds(64))
    model = torch.nn.Sequential(AnalogLinear(784, 128, config=config), torch.nn.ReLU(),
                                AnalogLinear(128, 10, config=config))
    opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.05)

    for epoch in range(epochs):
        for batch in torch.randperm(len(x_train)).split(32):
            opt.zero_grad()
            F.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            opt.step()                       # pulsed updates on the tiles, SGD on the biases
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: test accuracy {100 * accuracy:.1f} %")
    # ------------------------------------------------------------------------------------------
    return accuracy


if __name__ == "__main__":
    main()
