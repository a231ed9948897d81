"""Model builders used by the experiments, tests and benchmarks (experiments.md §1–§3)."""
from .build import build_model
from .lenet5 import lenet5
from .mlp import mlp
from .resnet import PAPER_ANALOG_LAYERS, ResNet, resnet18, resnet34

__all__ = ["build_model", "mlp", "lenet5", "ResNet", "resnet18", "resnet34", "PAPER_ANALOG_LAYERS"]
