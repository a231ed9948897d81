"""Analytical hardware cost of analog training: latency, energy, digital storage and area.

Spec: hardware-cost.md. A :class:`HardwareModel` holds the technology constants (the paper's by
default, or loaded from YAML); :func:`model_shapes` reads the analog tile shapes of a model from
``xbarsim.models``; per layer, an :class:`OpCounts` says what the layer does per training sample
(:func:`analytic_counts` is the paper's estimate; a run's measured counters are the other
source); :func:`layer_cost` and :func:`model_cost` turn counts into costs, and :func:`table5`,
:func:`table8` and :func:`paper_comparison` regenerate the paper's Tables 5–8. Measured counts:
:func:`counts` reads the operation counters of a model's tiles (``TileConfig(count_ops=True)`` or
inside :func:`counting`), :func:`measured_op_counts` turns a layer's into OpCounts, and
:func:`compare_run` sets a training run's measured costs beside the analytical estimate.

Example:
    >>> from xbarsim import cost
    >>> c = cost.model_cost("lenet5", cost.Method(name="resl", n_tiles=4))
    >>> round(c.latency_ns, 1), c.storage_bytes
    (95.9, 2130.0)
"""
from .counters import METHODS, Method, OpCounts, analytic_counts, parse_methods
from .hardware_model import ENERGY_SCALINGS, HardwareModel
from .measured import COUNT_KEYS, Counting, counting, counts, diff_counts, measured_op_counts, sum_counts
from .run_compare import RunComparison, compare_run
from .shapes import MODEL_NAMES, LayerShape, ModelShapes, model_shapes, shapes_from_module, square_model
from .tables import (
    STORAGE_UNITS,
    LayerCost,
    ModelCost,
    PaperCell,
    energy_crossover_tiles,
    layer_cost,
    model_cost,
    paper_comparison,
    peripheral_power_w,
    storage_kb,
    table5,
    table8,
)

__all__ = [
    "HardwareModel", "ENERGY_SCALINGS",
    "LayerShape", "ModelShapes", "MODEL_NAMES", "model_shapes", "shapes_from_module", "square_model",
    "Method", "METHODS", "parse_methods", "OpCounts", "analytic_counts",
    "LayerCost", "ModelCost", "layer_cost", "model_cost", "peripheral_power_w", "storage_kb", "STORAGE_UNITS",
    "table5", "table8", "energy_crossover_tiles", "PaperCell", "paper_comparison",
    "counts", "counting", "Counting", "COUNT_KEYS", "diff_counts", "sum_counts", "measured_op_counts",
    "compare_run", "RunComparison",
]
