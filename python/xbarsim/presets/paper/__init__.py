"""The settings of Li et al. (arXiv 2510.02516) as presets: one :class:`ExperimentPreset` per cell of
Tables 1, 2, 9, 10 and 11, their published numbers, and the least-squares toy.

* :func:`experiment` ``(table, dataset, method, *, n_tiles, n_states, variant)`` builds one cell;
  :func:`table_rows` lists a table's cells in the paper's order (plus xbarsim's analog SGD and
  floating-point rows); :func:`parse` inverts :meth:`ExperimentPreset.name`
  (``"table1/fashion-mnist/resl-4"``).
* :data:`PAPER_RESULTS` holds the published accuracies, keyed by :meth:`ExperimentPreset.cell`.
* :func:`toy_least_squares` gives the toy's :class:`ToyPreset`.

Vectors are in xbarsim order (tile 0 = most significant). ``variant="code"`` (default) reproduces the
reference code, ``variant="text"`` the paper's text; both use the tables' state counts. The training
loop builds the model with ``xbarsim.models.build_model(preset, seed=...)``. docs/presets.md lists
every preset.

Spec: experiments.md §0–§4, §9, §11; algorithms.md §4 (learning-rate semantics), §10 (toy).
"""
from ._common import (DATASETS, LOSSES, METHODS, MODELS, NUM_CLASSES, PERFECT, PLATEAU_RULES, VARIANTS,
                      residual_learning)
from .experiment import (RESNET_ANALOG_LAYERS, TABLE11_ANALOG_LAYERS, TABLE_LAYOUTS, TABLES, ExperimentPreset,
                         TableLayout, table_states)
from .results import PAPER_RESULTS, PaperResult, paper_result
from .tables import experiment, method_tiles, parse, table_rows
from .toy import TOY_VARIANTS, ToyPreset, toy_least_squares

__all__ = ["ExperimentPreset", "TableLayout", "experiment", "table_rows", "parse", "method_tiles", "table_states",
           "PAPER_RESULTS", "PaperResult", "paper_result", "TABLES", "TABLE_LAYOUTS", "METHODS", "DATASETS",
           "MODELS", "LOSSES", "VARIANTS", "NUM_CLASSES", "PLATEAU_RULES", "RESNET_ANALOG_LAYERS",
           "TABLE11_ANALOG_LAYERS", "PERFECT", "residual_learning", "ToyPreset", "toy_least_squares", "TOY_VARIANTS"]
