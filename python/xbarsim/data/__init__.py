"""The datasets of the experiments: validated loaders, downloads, the embedded subset, batched
preprocessing.

>>> import torch, xbarsim.data as data
>>> train = data.load("fashion-mnist-mini")                  # embedded: works offline
>>> prep = data.Preprocess.for_dataset("fashion-mnist-mini", train=True)
>>> x = prep(train.images[:16], torch.Generator().manual_seed(0))   # float32 [16, 1, 28, 28]

Files are looked for in ``<root>/<name>`` (``root`` = ``--data-dir``, else ``$XBARSIM_DATA``, else
``~/.cache/xbarsim/data``); see docs/data.md.

Spec: experiments.md §1.1, §2.1, §12.
"""
from .autoaugment import CIFAR10_POLICY
from .cifar import read_cifar, safe_unpickle
from .datasets import FASHION_MNIST_CLASSES, MNIST_CLASSES, ImageDataset, load
from .idx import MNIST_FILES, load_mnist_like, read_idx, read_mnist_split
from .sources import DATASETS, dataset_dir, default_root, download_file
from .transforms import Preprocess, autoaugment_cifar10, cutout, normalize, random_crop, random_hflip

__all__ = [
    "DATASETS", "ImageDataset", "load", "default_root", "dataset_dir", "Preprocess",
    "random_crop", "cutout", "random_hflip", "autoaugment_cifar10", "normalize", "CIFAR10_POLICY",
    "read_idx", "read_mnist_split", "load_mnist_like", "MNIST_FILES", "read_cifar", "safe_unpickle",
    "download_file", "MNIST_CLASSES", "FASHION_MNIST_CLASSES",
]
