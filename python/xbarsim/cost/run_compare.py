"""A training run's measured operation counts beside the analytical model's estimate.

:func:`compare_run` reads a run directory written by ``xbarsim train --count-ops`` (``config.yaml`` for
the model and method, ``summary.json`` or else ``metrics.jsonl`` for the counts), turns each layer's
counts into per-sample :class:`~xbarsim.cost.counters.OpCounts` (:func:`measured_op_counts`), costs
both with the same :class:`~xbarsim.cost.hardware_model.HardwareModel` and says where they differ and
why (pulse-train lengths chosen by BL management, transfer periods and warm start, TT-v2 thresholds
that fire less than every transfer, bound-management re-reads, exact buffer sizes).

Spec: hardware-cost.md §8 (counted mode).
"""
from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from .counters import Method, OpCounts
from .hardware_model import HardwareModel
from .measured import COUNT_KEYS, MAX_KEYS, STATE_KEYS, measured_op_counts
from .report import _table, format_number
from .shapes import MODEL_NAMES, LayerShape, ModelShapes, model_shapes
from .tables import ModelCost, model_cost

__all__ = ["RunComparison", "ComparisonRow", "compare_run", "read_run_counts", "run_method"]

#: Run algorithms the analytic model has no column for, and the method whose hardware stands in.
_STAND_IN = {"ttv1": "ttv2", "cttv2": "ttv2"}


@dataclass(frozen=True)
class ComparisonRow:
    """One quantity: the measured value, the analytic estimate (None: the model has none) and why they
    differ."""

    quantity: str
    measured: float
    analytic: Optional[float]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "measured": self.measured, "analytic": self.analytic, "note": self.note}


@dataclass(frozen=True)
class RunComparison:
    """A run's measured costs beside the analytical estimate for the same model and method.

    Attributes:
        run: the run directory.
        model: the run's model name; method: the cost-model method (for TT-v1 and chopped TT-v2:
            TT-v2's hardware, see ``notes``); algorithm: the run's training method.
        hardware: the constants both sides use.
        counts: the run's cumulative counts (:func:`xbarsim.cost.counts` form).
        measured, analytic: the model costs from the measured and the analytic counts.
        rows: the model-level comparison (per-sample counts summed over layers; latency of the slowest
            layer; energies and storage summed); layer_rows: the same per layer.
        notes: where the two differ, with the run's numbers.
    """

    run: str
    model: str
    algorithm: str
    method: Method
    hardware: HardwareModel
    counts: dict
    measured: ModelCost
    analytic: ModelCost
    rows: tuple[ComparisonRow, ...]
    layer_rows: dict[str, tuple[ComparisonRow, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def markdown(self, *, layers: bool = False) -> str:
        """The report: measured counts, the comparison and the notes (``layers``: per layer too)."""
        total = self.counts["total"]
        out = [f"# Measured vs analytical cost: {self.run}", "",
               f"Model {self.model}, method {self.algorithm} (cost model: {self.method.label}); "
               f"{total['update_vectors']:,} training samples (update vectors, all {len(self.counts['layers'])} "
               f"analog layers together). Per sample: a layer's count over the samples it wrote; the model rows "
               f"pool the layers (all layers' counts over all their samples; the analytical column the same "
               f"mean of the layers' estimates). Costs as `xbarsim cost`: latency of the slowest layer, energy "
               f"per image, storage summed.", "",
               "## Measured counts (whole run)", "", counts_markdown(self.counts), "",
               "## Per sample: measured vs analytical", "", rows_markdown(self.rows), ""]
        if layers:
            for name, rows in self.layer_rows.items():
                out += [f"### {name}", "", rows_markdown(rows), ""]
        out += ["## Where they differ", ""] + [f"* {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "model": self.model, "algorithm": self.algorithm, "method": self.method.key,
                "hardware": self.hardware.to_dict(), "counts": self.counts,
                "rows": [r.to_dict() for r in self.rows],
                "layer_rows": {k: [r.to_dict() for r in v] for k, v in self.layer_rows.items()},
                "notes": list(self.notes), "measured_cost": self.measured.to_dict(),
                "analytic_cost": self.analytic.to_dict()}


def rows_markdown(rows: Sequence[ComparisonRow]) -> str:
    def num(v: Optional[float]) -> str:
        return "—" if v is None else format_number(v)

    def ratio(r: ComparisonRow) -> str:
        if r.analytic is None or r.analytic == 0:
            return "—"
        return f"{r.measured / r.analytic:.3g}"

    return _table(["Quantity", "Measured", "Analytical", "Measured / analytical", "Note"],
                  [[r.quantity, num(r.measured), num(r.analytic), ratio(r), r.note] for r in rows])


_COUNT_ROWS = (
    ("forward MVMs (bound-management re-reads)", lambda c: f"{c['forward_mvms']:,} "
                                                           f"({c['forward_mvms'] - c['forward_vectors']:,})"),
    ("backward MVMs", lambda c: f"{c['backward_mvms']:,}"),
    ("transfer reads (one-hot MVMs)", lambda c: f"{c['transfer_reads']:,}"),
    ("DAC conversions", lambda c: f"{c['dac_conversions']:,}"),
    ("ADC conversions", lambda c: f"{c['adc_conversions']:,}"),
    ("update calls / vectors", lambda c: f"{c['update_calls']:,} / {c['update_vectors']:,}"),
    ("transfer events / lines", lambda c: f"{c['transfer_events']:,} / {c['transfer_lines']:,}"),
    ("gradient pulses: input lines / output lines", lambda c: f"{c['gradient_input_pulses']:,} / "
                                                              f"{c['gradient_output_pulses']:,}"),
    ("gradient coincidences: up / down", lambda c: f"{c['gradient_coincidences_up']:,} / "
                                                   f"{c['gradient_coincidences_down']:,}"),
    ("gradient pulse slots (Σ BL)", lambda c: f"{c['gradient_pulse_slots']:,}"),
    ("transfer pulses: input lines / output lines", lambda c: f"{c['transfer_input_pulses']:,} / "
                                                              f"{c['transfer_output_pulses']:,}"),
    ("transfer coincidences: up / down", lambda c: f"{c['transfer_coincidences_up']:,} / "
                                                   f"{c['transfer_coincidences_down']:,}"),
    ("transfer pulse slots (Σ BL)", lambda c: f"{c['transfer_pulse_slots']:,}"),
    ("digital ops: update / buffer / MP", lambda c: f"{c['flops_update']:,} / {c['flops_buffer']:,} / "
                                                    f"{c['flops_mp']:,}"),
    ("digital ops: reads' noise/bound management", lambda c: f"{c['flops_io']:,}"),
    ("digital ops: W̄ sum (read mode 'reduced')", lambda c: f"{c['flops_reduce']:,}"),
    ("digital state elements read and written (H, χ)", lambda c: f"{c['digital_state_updates']:,}"),
    ("digital storage [elements]: vectors / H / choppers / χ", lambda c: f"{c['stored_vectors']:,} / "
        f"{c['stored_buffer']:,} / {c['stored_choppers']:,} / {c['stored_chi']:,}"),
)


def counts_markdown(counts: Mapping[str, Any]) -> str:
    """The cumulative counts of a run: one row per kind, one column per layer and the total."""
    names = list(counts["layers"])
    cols = [counts["layers"][n] for n in names] + [counts["total"]]
    return _table(["Count", *names, "total"], [[label, *(fn(c) for c in cols)] for label, fn in _COUNT_ROWS])


def read_run_counts(run_dir: str | pathlib.Path) -> tuple[dict, dict]:
    """``(config, counts)`` of a run directory: the resolved run config (plain YAML values) and the
    cumulative counts from ``summary.json`` or, for a run that has not ended, the sum of the per-epoch
    counts in ``metrics.jsonl``.

    Raises:
        FileNotFoundError: no run directory or no ``config.yaml``.
        ValueError: the run recorded no operation counts (train with ``--count-ops``).
    """
    import yaml

    path = pathlib.Path(run_dir)
    config_file = path / "config.yaml"
    if not config_file.is_file():
        raise FileNotFoundError(f"compare_run: {str(path)!r} is not a run directory (no config.yaml)")
    config = yaml.safe_load(config_file.read_text()) or {}
    summary_file = path / "summary.json"
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text())
        if isinstance(summary.get("counts"), dict):
            return config, summary["counts"]
    rows = []
    metrics = path / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line
            if isinstance(row.get("counts"), dict):
                rows.append(row["counts"])
    if not rows:
        raise ValueError(f"compare_run: run {str(path)!r} has no operation counts; train it with "
                         "xbarsim train --count-ops")
    return config, accumulate_epochs(rows)


def accumulate_epochs(rows: Sequence[Mapping[str, Any]]) -> dict:
    """The cumulative counts of a sequence of per-epoch counts (sums; states from the last epoch)."""
    def add(acc: dict, part: Mapping[str, int]) -> None:
        for k in COUNT_KEYS:
            v = int(part.get(k, 0))
            if k in MAX_KEYS:
                acc[k] = max(acc.get(k, 0), v)
            elif k in STATE_KEYS:
                acc[k] = v
            else:
                acc[k] = acc.get(k, 0) + v

    layers: dict[str, dict] = {}
    total: dict[str, int] = {}
    for row in rows:
        for name, part in row["layers"].items():
            add(layers.setdefault(name, {}), part)
        add(total, row["total"])
    return {"layers": layers, "total": total}


def run_method(config: Mapping[str, Any]) -> tuple[Method, str]:
    """The cost-model method of a run config, and its training method.

    Raises:
        ValueError: a digital run (nothing analog to cost).
    """
    from ..config import TileConfig

    algorithm = str(config.get("algorithm", "resl"))
    if algorithm == "digital":
        raise ValueError("compare_run: a digital run has no analog tiles to cost")
    name = _STAND_IN.get(algorithm, algorithm)
    if name == "resl":
        tile = TileConfig.from_dict(config["tile_config"])
        return Method(name="resl", n_tiles=tile.algorithm.num_tiles()), algorithm
    if name == "mp":
        return Method(name="mp", batch_size=int(config["batch_size"])), algorithm
    return Method(name=name), algorithm


def _shapes(config: Mapping[str, Any], counts: Mapping[str, Any]) -> ModelShapes:
    """The layers of the run as the counts name them, with the vectors per image of the named model."""
    model = str(config.get("model") or "")
    vectors: dict[str, int] = {}
    if model in MODEL_NAMES:
        classes = 100 if str(config.get("dataset", "")) == "cifar100" else 10
        vectors = {layer.name: layer.vectors_per_image for layer in model_shapes(model, num_classes=classes).layers}
    layers = tuple(LayerShape(name=name, out_size=int(c["out_size"]), in_size=int(c["in_size"]),
                              vectors_per_image=vectors.get(name, 1)) for name, c in counts["layers"].items())
    return ModelShapes(name=model or "run", layers=layers, batch_size=config.get("batch_size"),
                       description=f"{model} as trained")


def _per_sample(c: Mapping[str, int], key: str) -> float:
    s = c.get("update_vectors", 0)
    return c.get(key, 0) / s if s else 0.0


def _rows(c: Mapping[str, int], mo: OpCounts, ao: OpCounts, method: Method, hw: HardwareModel,
          latency: tuple[float, float], energy: tuple[tuple[float, float], tuple[float, float]],
          storage: tuple[float, float]) -> tuple[ComparisonRow, ...]:
    l_grad = 0.0 if method.name == "mp" else hw.l_avg
    r = ComparisonRow
    return (
        r("pulse slots / sample, gradient writes", _per_sample(c, "gradient_pulse_slots"), l_grad,
          "mean BL per sample on the gradient tile (l_avg)"),
        r("pulse slots / sample, transfer writes", _per_sample(c, "transfer_pulse_slots"), ao.pulse_slots - l_grad),
        r("pulse slots / sample, all writes", mo.pulse_slots, ao.pulse_slots, "× t_sp = pulse time"),
        r("transfer reads / sample", mo.transfer_reads, ao.transfer_reads, "× t_M = transfer time"),
        r("transfer events / sample", _per_sample(c, "transfer_events"), None),
        r("digital FP ops / sample (update side)", mo.fp_ops, ao.fp_ops, "÷ F = FP time"),
        r("digital FP ops / sample, reads' noise/bound management", _per_sample(c, "flops_io"), None,
          "not in the paper's update cost"),
        r("digital FP ops / sample, W̄ sum (simulator)", _per_sample(c, "flops_reduce"), None,
          "not costed: the circuit sums in analog"),
        r("memory traffic / sample [bit]", mo.memory_bits, ao.memory_bits, "not timed"),
        r("forward tile reads / sample", mo.forward_reads, ao.forward_reads),
        r("backward tile reads / sample", mo.backward_reads, ao.backward_reads),
        r("digital storage [elements]", mo.stored_elements, ao.stored_elements),
        r("latency / sample [ns]", latency[0], latency[1]),
        r("update energy / image [nJ]", energy[0][0], energy[0][1]),
        r("forward/backward energy / image [nJ]", energy[1][0], energy[1][1]),
        r("digital storage [B]", storage[0], storage[1]),
    )


#: Model-level rows that add up over the layers (the others are per sample: pooled, see _model_rows).
_SUMMED_ROWS = ("digital storage [elements]", "update energy / image [nJ]", "forward/backward energy / image [nJ]",
                "digital storage [B]")


def _model_rows(layer_rows: Sequence[Sequence[ComparisonRow]], samples: Sequence[int], measured: ModelCost,
                analytic: ModelCost) -> tuple[ComparisonRow, ...]:
    """The model-level rows: per-sample counts pooled over the layers (each layer weighted by the
    samples it wrote, so the measured value is all layers' count over all their samples, and the
    analytical one the same mean of the layers' estimates), energies and storage summed, latency of
    the slowest layer."""
    total = max(sum(samples), 1)
    out = []
    for k, row in enumerate(layer_rows[0]):
        note = row.note
        if row.quantity in _SUMMED_ROWS:
            m = math.fsum(rows[k].measured for rows in layer_rows)
            a = None if row.analytic is None else math.fsum(rows[k].analytic for rows in layer_rows)  # type: ignore
            note = note or "sum over the layers"
        elif row.quantity.startswith("latency"):
            m, a = measured.latency_ns, analytic.latency_ns
            note = (f"slowest layer: {measured.slowest_layer.layer.name} (measured), "
                    f"{analytic.slowest_layer.layer.name} (analytical)")
        else:
            m = math.fsum(rows[k].measured * s for rows, s in zip(layer_rows, samples)) / total
            a = None if row.analytic is None else \
                math.fsum(rows[k].analytic * s for rows, s in zip(layer_rows, samples)) / total  # type: ignore
        out.append(ComparisonRow(row.quantity, m, a, note))
    return tuple(out)


def _notes(config: Mapping[str, Any], counts: Mapping[str, Any], method: Method, algorithm: str,
           hw: HardwareModel) -> tuple[str, ...]:
    from ..config import TileConfig
    from ..config.algorithms import MixedPrecision, ResidualLearning, TikiTakaV2, TransferCompound

    t = counts["total"]
    s = max(int(t["update_vectors"]), 1)
    tile = TileConfig.from_dict(config["tile_config"])
    algo = tile.algorithm
    notes: list[str] = []
    if algorithm in _STAND_IN:
        notes.append(f"{algorithm} is not in the paper's tables: the analytical column is TT-v2's, costed "
                     "with TT-v2's hardware (two logical tiles).")
    upd = tile.update
    grad_writes = int(t["update_vectors"])
    if method.name != "mp" and grad_writes:
        how = (f"BL management picks BL = min(⌈|η|·x_max·d_max/ε⌉, desired_bl = {upd.desired_bl}) per vector"
               if upd.update_bl_management else f"fixed BL = desired_bl = {upd.desired_bl}")
        notes.append(f"Gradient pulse trains: {t['gradient_pulse_slots'] / grad_writes:.2f} slots per sample "
                     f"measured vs l_avg = {hw.l_avg:g} assumed; {how} (vectors with x = 0 or d = 0 fire none). "
                     f"Coincidences per sample: "
                     f"{(t['gradient_coincidences_up'] + t['gradient_coincidences_down']) / grad_writes:.1f}.")
    if isinstance(algo, TransferCompound):
        layers = counts["layers"]
        periods = []
        for name, c in layers.items():
            per = algo.periods(int(c["out_size"]), int(c["in_size"]))
            periods.append(f"{name}: " + ", ".join(f"{p:g}" for p in per))
        unit = "mini-batches" if algo.units_in_mbatch else "vectors"
        notes.append(f"Transfers: {t['transfer_events']:,} events, {t['transfer_lines']:,} lines read over {s:,} "
                     f"samples ({t['transfer_reads'] / s:.4g} reads per sample). Periods transfer_every per tile "
                     f"(tile 0 first, in {unit}): {'; '.join(periods)}. The analytical model assumes tile n is "
                     f"read every n_s^(N−n) samples with n_s = {hw.n_s:g} (ResL: at most 1/(n_s − 1) = "
                     f"{1 / (hw.n_s - 1):.3g} reads per sample; TT-v2: 1/n_s = {1 / hw.n_s:.3g}).")
        if isinstance(algo, ResidualLearning) and algo.warm_start != "none":
            notes.append(f"Warm start '{algo.warm_start}': until the plateau signals end it, the gradient tile "
                         "transfers straight into the target tile of the current phase (algorithms.md §6), "
                         "which changes how often each tile is written; the analytical bound ignores it.")
        lines = max(int(t["transfer_lines"]), 1)
        bl_t = algo.transfer_update.desired_bl
        if isinstance(algo, TikiTakaV2) or algorithm == "cttv2":
            notes.append(f"TT-v2 thresholds: the buffer H writes C only where |H| crosses the threshold: "
                         f"{t['transfer_pulse_slots']:,} pulse slots over {t['transfer_lines']:,} line writes "
                         f"({t['transfer_pulse_slots'] / lines:.3g} per write, at most BL_t = {bl_t}); the analytical "
                         f"model charges 1/n_s write slot per sample. Buffer arithmetic: "
                         f"{t['flops_buffer'] / lines:.0f} ops per line read (4 or 6 per element, "
                         f"algorithms.md §8.3) vs the paper's 2D/n_s.")
        else:
            notes.append(f"Transfer writes: {t['transfer_pulse_slots'] / lines:.3g} pulse slots per line written "
                         f"(transfer_update desired_bl = {bl_t}, BL management "
                         f"{'on' if algo.transfer_update.update_bl_management else 'off'}) vs l_avg = {hw.l_avg:g} "
                         f"per write in the analytical model.")
    if isinstance(algo, MixedPrecision):
        notes.append(f"MP: {t['transfer_events']:,} row transfers wrote {t['transfer_lines']:,} rows "
                     f"({t['transfer_pulse_slots'] / max(int(t['transfer_lines']), 1):.3g} slots per row) vs the "
                     f"analytical one row per B samples; χ costs out + 2·out·in ops per sample here vs "
                     f"k·mn + n (k = mp_fp_ops_per_weight = {hw.mp_fp_ops_per_weight:g}); the batch buffers hold "
                     f"the largest update call, B = {t['max_update_vectors']}.")
    fwd = int(t["forward_vectors"])
    if fwd:
        rr = int(t["forward_mvms"]) - fwd
        notes.append(f"Bound management re-read {rr:,} of {fwd:,} forward vectors ({100 * rr / fwd:.3g} %): "
                     f"{int(t['forward_mvms']) / fwd:.4g} MVMs per forward vector (training and evaluation reads), "
                     "where the analytical model reads once.")
    no_backward = [name for name, c in counts["layers"].items() if c["update_vectors"] and not c["backward_mvms"]]
    if no_backward:
        notes.append(f"No backward read where the layer's input needs no gradient ({', '.join(no_backward)}: the "
                     "first layer), where the analytical model reads every tile backward once per sample.")
    tiles_read = int(t.get("tiles_read", 1))
    if tiles_read > 1:
        notes.append(f"A read of W̄ sums {tiles_read} tiles (γ ≠ 0) in analog with one ADC per output "
                     "(hardware-cost.md §1.2): tile reads = MVMs × tiles.")
    notes.append("Digital FP ops (update side) are counted with the exact sizes: update management takes the "
                 "maxima of x and d, in + out per written vector, where the paper writes 2D with D = in "
                 "(formulas: xbarsim.tile.op_counts).")
    if t["flops_reduce"]:
        notes.append(f"The simulator recomputes W̄ = Σ γ_n W⁽ⁿ⁾ digitally after every update (read mode "
                     f"'reduced'): {t['flops_reduce'] / s:.4g} ops per sample, reported but not costed (the "
                     "paper's circuit sums the tiles in analog).")
    notes.append(f"Digital storage: x and d vectors hold in + out elements per layer "
                 f"({t['stored_vectors']:,} in all) where the paper counts 2n; buffers as allocated "
                 f"(H {t['stored_buffer']:,}, χ {t['stored_chi']:,}, choppers {t['stored_choppers']:,}).")
    notes.append("Reads (forward, backward, transfer) drive L_in DACs and convert L_out ADC outputs per MVM; "
                 "the evaluation passes' reads are counted too.")
    return tuple(notes)


def compare_run(run_dir: str | pathlib.Path, hw: Optional[HardwareModel] = None) -> RunComparison:
    """The measured costs of a training run beside the analytical estimate for its model and method.

    Args:
        run_dir: a run directory of ``xbarsim train --count-ops``.
        hw: the hardware model of both sides; default the paper's constants.

    Raises:
        FileNotFoundError, ValueError: no run, no counts, a digital run.

    Spec: hardware-cost.md §8 (counted mode).
    """
    hw = HardwareModel() if hw is None else hw
    config, counts = read_run_counts(run_dir)
    method, algorithm = run_method(config)
    shapes = _shapes(config, counts)
    measured_counts = {name: measured_op_counts(c, hw) for name, c in counts["layers"].items()}
    measured = model_cost(shapes, method, hw, counts=measured_counts)
    analytic = model_cost(shapes, method, hw)
    layer_rows: dict[str, tuple[ComparisonRow, ...]] = {}
    for lm, la in zip(measured.layers, analytic.layers):
        c = counts["layers"][lm.layer.name]
        layer_rows[lm.layer.name] = _rows(c, lm.counts, la.counts, measured.method, hw,
                                          (lm.latency_ns, la.latency_ns),
                                          ((lm.energy_update_nj, la.energy_update_nj),
                                           (lm.energy_fwd_bwd_nj, la.energy_fwd_bwd_nj)),
                                          (lm.storage_bytes, la.storage_bytes))
    samples = [int(counts["layers"][name]["update_vectors"]) for name in layer_rows]
    rows = _model_rows(list(layer_rows.values()), samples, measured, analytic)
    return RunComparison(run=str(run_dir), model=shapes.name, algorithm=algorithm, method=measured.method,
                         hardware=hw, counts=counts, measured=measured, analytic=analytic, rows=rows,
                         layer_rows=layer_rows, notes=_notes(config, counts, measured.method, algorithm, hw))
