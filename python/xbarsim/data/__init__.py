"""Dataset readers for local files (experiments.md §12)."""
from .idx import load_mnist_like, read_idx

__all__ = ["read_idx", "load_mnist_like"]
