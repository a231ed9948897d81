"""Latency, energy, digital storage and analog area per layer and per model (the paper's Tables 5–8).

Spec: hardware-cost.md §3 (Table 5: per-sample latency), §4 (Table 6: storage), §5 (Table 7: the
slowest layer's latency), §6 (Table 8: energy per image), §7 (area), §8 (requirements).

Every cost is a function of a layer's :class:`~xbarsim.cost.counters.OpCounts` and a
:class:`~xbarsim.cost.hardware_model.HardwareModel`:

* latency per sample = ``pulse_slots · t_sp + transfer_reads · t_M + fp_ops / F`` with
  ``F = fp_peak_tflops / tiles_per_fp_unit``; memory operations are not timed. A model's latency
  is its slowest layer's (layers work in parallel).
* energy per image: update = pulses ``P · pulse_slots · t_sp`` with the periphery power
  ``P = P_ref (m + n)/(2 D_ref)`` plus transfer reads ``transfer_reads · E_trans``;
  forward/backward = ``forward_reads · E_fwd + backward_reads · E_bwd``; MP uses its measured
  energies instead. How the per-image constants carry over to other models: ``energy_scaling``.
* storage = ``stored_elements · bytes_per_element``; area of one logical copy = ``pitch² · m n``,
  logical = copy × logical tiles, physical = logical × 2 (differential pairs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Optional, Union

from .counters import Method, OpCounts, analytic_counts, parse_methods
from .hardware_model import HardwareModel
from .shapes import LayerShape, ModelShapes, model_shapes, square_model

__all__ = [
    "LayerCost", "ModelCost", "layer_cost", "model_cost", "peripheral_power_w", "STORAGE_UNITS",
    "storage_kb", "table5", "table8", "energy_crossover_tiles", "PaperCell", "paper_comparison",
    "PAPER_TABLE5_NS", "PAPER_TABLE6_KB", "PAPER_TABLE7_NS",
]

#: Units of :func:`storage_kb`: decimal kB, binary KiB, or the paper's mixture (hardware-cost.md §4).
STORAGE_UNITS = ("kB", "KiB", "paper")

Units = Literal["kB", "KiB", "paper"]

# The only cells of Table 6 that the paper prints in 1024-byte units (hardware-cost.md §4, inferred).
_PAPER_KIB_CELLS = {("lenet5", "ttv2"), ("lenet5", "mp")}


def peripheral_power_w(layer: LayerShape, hw: Optional[HardwareModel] = None) -> float:
    """Periphery power of one layer while it is updated [W]: ``P_ref · (m + n) / (2 D_ref)``.

    The paper scales the 0.7 W of a 4096 × 4096 array to the active lines of the perceptron
    785-250-10: ``0.7 · 1295/8192 = 0.1107 W`` (hardware-cost.md §6 step 1, inferred form).
    """
    hw = HardwareModel() if hw is None else hw
    return hw.ref_peripheral_power_w * layer.lines / (2.0 * hw.ref_array_size)


@dataclass(frozen=True, kw_only=True)
class LayerCost:
    """The cost of one analog layer under one method.

    Attributes:
        layer: the tile shape.
        method: the method (MP's batch resolved).
        counts: the per-sample operation counts the costs were computed from.
        pulse_time_ns: update pulses per sample, ``pulse_slots · t_sp`` [ns].
        transfer_time_ns: transfer reads per sample, ``transfer_reads · t_M`` [ns].
        fp_time_ns: digital FP operations per sample, ``fp_ops / F`` [ns].
        energy_update_nj: weight-update energy per image [nJ].
        energy_update_parts: its terms, ``(("pulses", …), ("transfer reads", …))`` or MP's
            ``(("measured", …),)``.
        energy_fwd_bwd_nj: forward + backward energy per image [nJ].
        storage_bytes: digital storage [byte].
        area_copy_um2: one logical copy of the tile, ``pitch² · m n`` [µm²].
    """

    layer: LayerShape
    method: Method
    counts: OpCounts
    pulse_time_ns: float
    transfer_time_ns: float
    fp_time_ns: float
    energy_update_nj: float
    energy_update_parts: tuple[tuple[str, float], ...]
    energy_fwd_bwd_nj: float
    storage_bytes: float
    area_copy_um2: float

    @property
    def latency_ns(self) -> float:
        """Update latency per sample [ns]: pulses + transfer reads + FP operations."""
        return self.pulse_time_ns + self.transfer_time_ns + self.fp_time_ns

    @property
    def energy_total_nj(self) -> float:
        return self.energy_update_nj + self.energy_fwd_bwd_nj

    @property
    def area_logical_um2(self) -> float:
        """All logical tiles of the layer [µm²]."""
        return self.area_copy_um2 * self.method.logical_tiles

    @property
    def area_physical_um2(self) -> float:
        """All crossbars of the layer, differential pairs included [µm²]."""
        return self.area_copy_um2 * self.method.physical_tiles

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer.name, "out_size": self.layer.out_size, "in_size": self.layer.in_size,
            "vectors_per_image": self.layer.vectors_per_image, "counts": self.counts.to_dict(),
            "pulse_time_ns": self.pulse_time_ns, "transfer_time_ns": self.transfer_time_ns,
            "fp_time_ns": self.fp_time_ns, "latency_ns": self.latency_ns,
            "energy_update_nj": self.energy_update_nj, "energy_update_parts": dict(self.energy_update_parts),
            "energy_fwd_bwd_nj": self.energy_fwd_bwd_nj, "energy_total_nj": self.energy_total_nj,
            "storage_bytes": self.storage_bytes, "area_copy_um2": self.area_copy_um2,
            "area_logical_um2": self.area_logical_um2, "area_physical_um2": self.area_physical_um2,
            "logical_tiles": self.method.logical_tiles, "physical_tiles": self.method.physical_tiles,
        }


def _resolve_batch(method: Method, model_batch: Optional[int], hw: HardwareModel) -> Method:
    if method.name != "mp" or method.batch_size is not None:
        return method
    return Method(name="mp", batch_size=model_batch if model_batch is not None else hw.batch_size)


def layer_cost(layer: LayerShape, method: Method, hw: Optional[HardwareModel] = None, *,
               counts: Optional[OpCounts] = None, model_cells: Optional[int] = None) -> LayerCost:
    """The cost of one layer from its counts (default: :func:`~xbarsim.cost.counters.analytic_counts`).

    Args:
        layer: the tile shape.
        method: the method; an MP method without a batch uses ``hw.batch_size``.
        hw: the hardware model; default the paper's.
        counts: per-sample counts of this layer (e.g. a run's); None: the analytic estimate.
        model_cells: cells of the whole model, to split the per-image energies by cell share when
            ``hw.energy_scaling == "network"``; None: the layer is the whole model.

    Spec: hardware-cost.md §3–§7.
    """
    hw = HardwareModel() if hw is None else hw
    if not isinstance(layer, LayerShape):
        raise TypeError(f"layer_cost: layer must be a LayerShape; got {type(layer).__name__}")
    if not isinstance(method, Method):
        raise TypeError(f"layer_cost: method must be a Method; got {type(method).__name__}")
    method = _resolve_batch(method, None, hw)
    if counts is None:
        counts = analytic_counts(layer, method, hw)
    elif not isinstance(counts, OpCounts):
        raise TypeError(f"layer_cost: counts must be an OpCounts or None; got {type(counts).__name__}")
    if model_cells is None:
        model_cells = layer.cells
    elif isinstance(model_cells, bool) or not isinstance(model_cells, int) or model_cells < layer.cells:
        raise ValueError(f"layer_cost: model_cells must be an int >= the layer's {layer.cells} cells; "
                         f"got {model_cells!r}")

    if hw.energy_scaling == "network":
        share, vectors = layer.cells / model_cells, 1
    else:
        share, vectors = layer.cells * layer.vectors_per_image / hw.ref_synapses, layer.vectors_per_image
    pulse_time = counts.pulse_slots * hw.t_sp_ns
    if method.name == "mp":
        update = hw.mp_update_energy_nj * share
        parts: tuple[tuple[str, float], ...] = (("measured", update),)
        fwd_bwd = hw.mp_fwd_bwd_energy_nj * share
    else:
        pulses = peripheral_power_w(layer, hw) * pulse_time * vectors  # W · ns = nJ
        reads = counts.transfer_reads * hw.e_transfer_read_nj * share
        update, parts = pulses + reads, (("pulses", pulses), ("transfer reads", reads))
        fwd_bwd = (counts.forward_reads * hw.e_forward_nj + counts.backward_reads * hw.e_backward_nj) * share
    return LayerCost(
        layer=layer, method=method, counts=counts, pulse_time_ns=pulse_time,
        transfer_time_ns=counts.transfer_reads * hw.t_mvm_ns, fp_time_ns=hw.fp_time_ns(counts.fp_ops),
        energy_update_nj=update, energy_update_parts=parts, energy_fwd_bwd_nj=fwd_bwd,
        storage_bytes=counts.stored_elements * hw.bytes_per_element,
        area_copy_um2=hw.cell_area_um2() * layer.cells)


@dataclass(frozen=True, kw_only=True)
class ModelCost:
    """The cost of a model under one method: its layers' costs and their totals.

    Latency is the slowest layer's (layers update in parallel, Table 7); energies, storage and
    areas are sums over the layers.
    """

    model: ModelShapes
    method: Method
    hardware: HardwareModel
    layers: tuple[LayerCost, ...]

    @property
    def slowest_layer(self) -> LayerCost:
        return max(self.layers, key=lambda c: c.latency_ns)

    @property
    def latency_ns(self) -> float:
        """Per-sample update latency [ns]: the slowest layer's."""
        return self.slowest_layer.latency_ns

    @property
    def energy_update_nj(self) -> float:
        return math.fsum(c.energy_update_nj for c in self.layers)

    @property
    def energy_fwd_bwd_nj(self) -> float:
        return math.fsum(c.energy_fwd_bwd_nj for c in self.layers)

    @property
    def energy_total_nj(self) -> float:
        return self.energy_update_nj + self.energy_fwd_bwd_nj

    @property
    def storage_bytes(self) -> float:
        return math.fsum(c.storage_bytes for c in self.layers)

    def storage_kb(self, units: Units = "kB") -> float:
        """Digital storage in ``units`` (see :func:`storage_kb`)."""
        return storage_kb(self.storage_bytes, units, model=self.model.name, method=self.method.name)

    @property
    def area_copy_mm2(self) -> float:
        """One logical copy of every tile [mm²]: the paper's "analog area" (hardware-cost.md §7)."""
        return math.fsum(c.area_copy_um2 for c in self.layers) * 1e-6

    @property
    def area_logical_mm2(self) -> float:
        return math.fsum(c.area_logical_um2 for c in self.layers) * 1e-6

    @property
    def area_physical_mm2(self) -> float:
        return math.fsum(c.area_physical_um2 for c in self.layers) * 1e-6

    @property
    def logical_tiles(self) -> int:
        return self.method.logical_tiles * len(self.layers)

    @property
    def physical_tiles(self) -> int:
        return self.method.physical_tiles * len(self.layers)

    def to_dict(self, units: Units = "kB") -> dict[str, Any]:
        return {
            "model": self.model.name, "description": self.model.description, "method": self.method.key,
            "label": self.method.label, "n_tiles": self.method.logical_tiles,
            "batch_size": self.method.batch_size, "latency_ns": self.latency_ns,
            "slowest_layer": self.slowest_layer.layer.name, "energy_update_nj": self.energy_update_nj,
            "energy_fwd_bwd_nj": self.energy_fwd_bwd_nj, "energy_total_nj": self.energy_total_nj,
            "storage_bytes": self.storage_bytes, "storage_units": units, "storage_kb": self.storage_kb(units),
            "area_copy_mm2": self.area_copy_mm2, "area_logical_mm2": self.area_logical_mm2,
            "area_physical_mm2": self.area_physical_mm2, "logical_tiles": self.logical_tiles,
            "physical_tiles": self.physical_tiles, "counts_source": sorted({c.counts.source for c in self.layers}),
            "layers": [c.to_dict() for c in self.layers],
        }


def model_cost(model: Union[str, ModelShapes], method: Method, hw: Optional[HardwareModel] = None, *,
               counts: Optional[Mapping[str, OpCounts]] = None, num_classes: Optional[int] = None) -> ModelCost:
    """The cost of every analog layer of ``model`` and the model's totals.

    Args:
        model: a name of :data:`~xbarsim.cost.shapes.MODEL_NAMES` or a ModelShapes.
        method: the method; an MP method without a batch takes the model's (8 for LeNet-5, 128 for
            the ResNets) or ``hw.batch_size``.
        hw: the hardware model; default the paper's.
        counts: per-layer counts by layer name, all layers (e.g. a run's measured counters);
            None: the analytic estimate.
        num_classes: classes of the model's classifier when ``model`` is a name; None: 10.

    Raises:
        ValueError: ``counts`` misses a layer or names an unknown one.
    """
    hw = HardwareModel() if hw is None else hw
    if isinstance(model, str):
        model = model_shapes(model, num_classes=num_classes)
    elif not isinstance(model, ModelShapes):
        raise TypeError(f"model_cost: model must be a model name or a ModelShapes; got {type(model).__name__}")
    elif num_classes is not None:
        raise ValueError(f"model_cost: num_classes must be None when model is a ModelShapes; got {num_classes!r}")
    if not isinstance(method, Method):
        raise TypeError(f"model_cost: method must be a Method; got {type(method).__name__}")
    method = _resolve_batch(method, model.batch_size, hw)
    names = [layer.name for layer in model.layers]
    if counts is not None:
        missing, unknown = sorted(set(names) - set(counts)), sorted(set(counts) - set(names))
        if missing or unknown:
            raise ValueError(f"model_cost: counts must have exactly the layers {names}; "
                             f"got missing {missing}, unknown {unknown}")
    cells = model.cells
    layers = tuple(layer_cost(layer, method, hw, counts=None if counts is None else counts[layer.name],
                              model_cells=cells) for layer in model.layers)
    return ModelCost(model=model, method=method, hardware=hw, layers=layers)


def storage_kb(nbytes: float, units: Units = "kB", *, model: str = "", method: str = "") -> float:
    """``nbytes`` in kB (1000 B), KiB (1024 B) or the paper's mixture.

    ``units="paper"`` divides by 1024 for LeNet-5's TT-v2 and MP cells and by 1000 elsewhere: the
    only rule that reproduces every cell of Table 6 (hardware-cost.md §4, inferred).
    """
    if units not in STORAGE_UNITS:
        raise ValueError(f"storage_kb: units must be one of {', '.join(map(repr, STORAGE_UNITS))}; got {units!r}")
    if units == "KiB" or (units == "paper" and (model, method) in _PAPER_KIB_CELLS):
        return nbytes / 1024.0
    return nbytes / 1000.0


# --------------------------------------------------------------------------------------------
# The paper's tables


def table5(hw: Optional[HardwareModel] = None, *, n_tiles: int = 4) -> dict[str, LayerCost]:
    """Table 5: per-sample costs of one ``D × D`` layer (D = ``hw.dim``, MP batch ``hw.batch_size``).

    Returns ``{"ttv2", "sgd", "mp", "resl": LayerCost}``; ``latency_ns`` is the "time est." row,
    ``counts.stored_elements``, ``counts.memory_bits`` and ``counts.fp_ops`` the complexity rows.
    Residual learning's latency is a bound for any ``n_tiles``.

    Spec: hardware-cost.md §3.
    """
    hw = HardwareModel() if hw is None else hw
    layer = square_model(hw.dim).layers[0]
    methods = {"ttv2": Method(name="ttv2"), "sgd": Method(name="sgd"),
               "mp": Method(name="mp", batch_size=hw.batch_size), "resl": Method(name="resl", n_tiles=n_tiles)}
    return {k: layer_cost(layer, m, hw) for k, m in methods.items()}


def table8(hw: Optional[HardwareModel] = None, *, n_tiles: int = 4, model: Union[str, ModelShapes] = "perceptron"
           ) -> dict[str, ModelCost]:
    """Table 8: energy per training image of MP and residual learning with ``n_tiles`` tiles.

    Returns ``{"mp", "resl": ModelCost}`` for the perceptron 785-250-10 of the energy constants.

    Spec: hardware-cost.md §6.
    """
    hw = HardwareModel() if hw is None else hw
    shapes = model_shapes(model) if isinstance(model, str) else model
    return {"mp": model_cost(shapes, Method(name="mp"), hw),
            "resl": model_cost(shapes, Method(name="resl", n_tiles=n_tiles), hw)}


def energy_crossover_tiles(hw: Optional[HardwareModel] = None, *, model: Union[str, ModelShapes] = "perceptron",
                           max_tiles: int = 1000) -> Optional[int]:
    """The smallest N at which residual learning with N tiles uses more energy per image than MP.

    The paper's constants give 8 (12.82 + 8 · 9.44 = 88.34 nJ > 83.2 nJ; N = 7: 78.90 nJ).
    None if no N <= ``max_tiles`` does.

    Spec: hardware-cost.md §6 step 6.
    """
    hw = HardwareModel() if hw is None else hw
    shapes = model_shapes(model) if isinstance(model, str) else model
    mp = model_cost(shapes, Method(name="mp"), hw).energy_total_nj
    for n in range(2, max_tiles + 1):
        if model_cost(shapes, Method(name="resl", n_tiles=n), hw).energy_total_nj > mp:
            return n
    return None


@dataclass(frozen=True, kw_only=True)
class PaperCell:
    """One printed number of the paper beside the model's value.

    Attributes:
        table: ``"Table 5"``, ..., ``"Area"``, ``"Claims"``.
        row, column: the cell.
        printed: the paper's text, verbatim.
        value: the model's unrounded value.
        tolerance: half a unit of the printed number's last digit (3 significant digits for
            integers printed with trailing zeros; 1 for integer ×-claims).
        note: the assumption that reproduces the cell, or why it is not reproduced.
    """

    table: str
    row: str
    column: str
    printed: str
    value: float
    tolerance: float
    note: str = ""

    @property
    def paper_value(self) -> float:
        return float(self.printed.replace(",", "").rstrip("×"))

    @property
    def reproduced(self) -> bool:
        return abs(self.value - self.paper_value) <= self.tolerance * (1 + 1e-9)


def _half_unit(printed: str) -> float:
    text = printed.replace(",", "")
    if "." in text:
        return 0.5 * 10.0 ** -len(text.split(".")[1])
    digits = len(text.lstrip("-"))
    return 0.5 * 10.0 ** max(digits - 3, 0)  # "10,600", "17,000": three significant digits


def _round_as(value: float, printed: str) -> float:
    """``value`` rounded like ``printed`` (its decimals, or three significant digits for "10,600")."""
    text = printed.replace(",", "")
    if "." in text:
        return round(value, len(text.split(".")[1]))
    return float(round(value, -max(len(text) - 3, 0)))


#: The paper's printed cells, verbatim (hardware-cost.md §3–§5): {method or (model, method): text}.
PAPER_TABLE5_NS = {"ttv2": "56.3", "sgd": "30.9", "mp": "3024.5", "resl": "95.9"}
PAPER_TABLE6_KB = {("lenet5", "ttv2"): "80.2", ("lenet5", "sgd"): "2.13", ("lenet5", "mp"): "94.8",
                   ("lenet5", "resl"): "2.13", ("resnet18", "ttv2"): "10,600", ("resnet18", "sgd"): "50.2",
                   ("resnet18", "mp"): "17,000", ("resnet18", "resl"): "50.2"}
PAPER_TABLE7_NS = {("lenet5", "ttv2"): "56.3", ("lenet5", "sgd"): "30.9", ("lenet5", "mp"): "457.4",
                   ("lenet5", "resl"): "95.9", ("resnet18", "ttv2"): "126.5", ("resnet18", "sgd"): "77.7",
                   ("resnet18", "mp"): "13528.0", ("resnet18", "resl"): "142.7"}
_PAPER_COLUMNS = {"ttv2": "TT-v2", "sgd": "Analog SGD", "mp": "MP", "resl": "Ours"}
_PAPER_ROWS = {"lenet5": "LeNet-5", "resnet18": "ResNet-18"}


def paper_comparison(hw: Optional[HardwareModel] = None) -> tuple[PaperCell, ...]:
    """Every printed number of the paper's Tables 5–8, its area figures and its ratio claims,
    beside the model's value computed from the paper's stated assumptions.

    Assumptions beyond ``hw`` (hardware-cost.md §4–§7): Table 6 in the paper's units and with a
    100-class ResNet-18; Table 7's MP cells with ``mp_fp_ops_per_weight = 1``; Table 8 on the
    perceptron 785-250-10; the area is one logical copy of the weights.
    """
    hw = HardwareModel() if hw is None else hw
    cells: list[PaperCell] = []

    def add(table: str, row: str, column: str, printed: str, value: float, note: str = "",
            tolerance: Optional[float] = None) -> None:
        cells.append(PaperCell(table=table, row=row, column=column, printed=printed, value=value,
                               tolerance=_half_unit(printed) if tolerance is None else tolerance, note=note))

    t5 = table5(hw)
    for key, printed in PAPER_TABLE5_NS.items():
        add("Table 5", "Time est. [ns]", _PAPER_COLUMNS[key], printed, t5[key].latency_ns,
            f"D = {hw.dim}, B = {hw.batch_size}")

    models = {"lenet5": model_shapes("lenet5"), "resnet18": model_shapes("resnet18", num_classes=100)}
    t6, t7 = PAPER_TABLE6_KB, PAPER_TABLE7_NS
    costs: dict[tuple[str, str], ModelCost] = {}
    for (mname, key), printed in t6.items():
        method = parse_methods(key, n_tiles=4)[0]
        cost = costs[(mname, key)] = model_cost(models[mname], method, hw)
        unit = "KiB" if (mname, key) in _PAPER_KIB_CELLS else "kB"
        note = f"{cost.storage_bytes:,.0f} B / {1024 if unit == 'KiB' else 1000}"
        if mname == "resnet18":
            note += "; 100-class fc"
        if key == "mp":
            note += f"; B = {cost.method.batch_size}"
        add("Table 6", f"{_PAPER_ROWS[mname]} (KB)", _PAPER_COLUMNS[key], printed,
            cost.storage_kb("paper"), note)

    hw7 = hw.replace(mp_fp_ops_per_weight=1)
    t7_costs: dict[tuple[str, str], ModelCost] = {}
    for (mname, key), printed in t7.items():
        method = parse_methods(key, n_tiles=4)[0]
        cost = t7_costs[(mname, key)] = model_cost(models[mname], method, hw7 if key == "mp" else hw)
        slow = cost.slowest_layer.layer
        note = f"slowest layer {slow.name} ({slow.out_size}x{slow.in_size})"
        if key == "mp":
            note += (f", B = {cost.method.batch_size}, mp_fp_ops_per_weight = 1 (Table 5's 2 gives "
                     f"{model_cost(models[mname], method, hw).latency_ns:.1f})")
        add("Table 7", f"{_PAPER_ROWS[mname]} (ns)", _PAPER_COLUMNS[key], printed, cost.latency_ns, note)

    t8 = table8(hw, n_tiles=4)  # the fwd/bwd cell is per tile: divided by N
    mp8, ours8 = t8["mp"], t8["resl"]
    n8 = ours8.method.n_tiles
    add("Table 8", "Weight update", "MP (nJ)", "62.03", mp8.energy_update_nj)
    add("Table 8", "Forward/backward pass", "MP (nJ)", "21.21", mp8.energy_fwd_bwd_nj)
    add("Table 8", "Total", "MP (nJ)", "83.2", mp8.energy_total_nj)
    add("Table 8", "Weight update", "Ours (nJ)", "12.82", ours8.energy_update_nj, "pulses P · 50 ns + one E_trans")
    add("Table 8", "Forward/backward pass", "Ours (nJ), per tile (N·9.44)", "9.44", ours8.energy_fwd_bwd_nj / n8)
    pulses = math.fsum(dict(c.energy_update_parts)["pulses"] for c in ours8.layers)
    power = math.fsum(peripheral_power_w(c.layer, hw) for c in ours8.layers)
    add("Table 8", "periphery power P (App. I text)", "Ours (W)", "0.1107", power, "0.7 W · 1295/8192")
    add("Table 8", "pulse energy P · 50 ns (App. I text)", "Ours (nJ)", "5.53", pulses)
    add("Table 8", "crossover: MP cheaper when N >= (analysis)", "N", "8",
        float(energy_crossover_tiles(hw) or math.nan), "the summary's \"N > 8\" contradicts it", tolerance=0.0)

    tile_area = lambda m, n: hw.cell_area_um2() * m * n * 1e-6  # noqa: E731
    add("Area", "4096 x 4096 tile", "mm²", "2.68", tile_area(4096, 4096))
    add("Area", "128 x 512 tile", "mm²", "0.0105", tile_area(128, 512))
    add("Area", "LeNet-5, total analog area", "mm²", "0.0128", costs[("lenet5", "resl")].area_copy_mm2,
        "one logical copy")
    add("Area", "ResNet-18, total analog area", "mm²", "1.69", costs[("resnet18", "resl")].area_copy_mm2,
        "one logical copy, 100-class fc")

    # The paper's ratio claims divide its rounded cells (17,000 / 50.2 = 338.6), so the model's
    # values are rounded as printed before dividing; the notes give the unrounded ratios.
    def claim(row: str, printed: str, num: tuple[float, str], den: tuple[float, str], note: str = "",
              tolerance: Optional[float] = None) -> None:
        value = _round_as(*num) / _round_as(*den)
        note = f"{num[1]} / {den[1]} = {value:.2f} (unrounded {num[0] / den[0]:.2f})" + (f"; {note}" if note else "")
        add("Claims", row, "×", printed, value, note, tolerance)

    def kb(key: tuple[str, str]) -> tuple[float, str]:
        return costs[key].storage_kb("paper"), t6[key]

    def ns(key: tuple[str, str]) -> tuple[float, str]:
        return t7_costs[key].latency_ns, t7[key]

    claim("storage TT-v2 / Ours, LeNet-5", "37", kb(("lenet5", "ttv2")), kb(("lenet5", "resl")),
          "the paper truncates", tolerance=1.0)
    claim("storage TT-v2 / Ours, ResNet-18", "211", kb(("resnet18", "ttv2")), kb(("resnet18", "resl")), tolerance=1.0)
    claim("storage MP / Ours, LeNet-5", "44", kb(("lenet5", "mp")), kb(("lenet5", "resl")),
          "the paper truncates", tolerance=1.0)
    claim("storage MP / Ours, ResNet-18", "339", kb(("resnet18", "mp")), kb(("resnet18", "resl")), tolerance=1.0)
    claim("latency MP / Ours, LeNet-5", "4.8", ns(("lenet5", "mp")), ns(("lenet5", "resl")))
    claim("latency MP / Ours, ResNet-18", "94.7", ns(("resnet18", "mp")), ns(("resnet18", "resl")),
          "**not reproduced**: the paper's own cells give 94.8")
    return tuple(cells)
