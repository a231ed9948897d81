"""Technology constants of the analytical cost model, with the paper's values as defaults.

Spec: hardware-cost.md §2 (constants), §3–§7 (where each one enters). Every field carries its unit
in its name; the docstring of :class:`HardwareModel` names the source of each default.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Literal, Mapping

__all__ = ["HardwareModel", "ENERGY_SCALINGS"]

#: How the per-image energies of the reference workload carry over to another model (§6, §8).
ENERGY_SCALINGS = ("network", "cells")

EnergyScaling = Literal["network", "cells"]

_INT_FIELDS = ("tiles_per_fp_unit", "ref_array_size", "ref_synapses", "dim", "batch_size")


@dataclass(frozen=True, kw_only=True)
class HardwareModel:
    """Technology constants and workload assumptions of the analytical cost model.

    The defaults are the paper's (Li et al., arXiv 2510.02516, §3.3, App. I, Tables 5–8), which
    take them from the works cited per field. ``hardware-cost.md`` §2 lists them.

    Attributes:
        t_sp_ns: duration of one update pulse slot [ns]. Default 5 (paper, Table 5).
        t_mvm_ns: one matrix-vector readout ``t_M`` [ns]; a transfer read costs one. Default 40
            (paper, Table 5).
        fp_peak_tflops: peak digital floating-point throughput [TFLOP/s]. Default 0.7 (paper, after
            Jain et al. 2022).
        tiles_per_fp_unit: tiles sharing one FP unit; the effective throughput is
            ``fp_peak_tflops / tiles_per_fp_unit`` (0.175 TFLOP/s). Default 4 (paper, after Rasch
            et al. 2024).
        mp_fp_ops_per_weight: FP operations per weight of MP's digital outer product ``χ += δxᵀ``.
            Default 2 (a multiply and an add: Table 5's ``2D² + D``); 1 (one fused multiply-add
            per weight) reproduces Table 7's MP cells (hardware-cost.md §5, inferred).
        l_avg: mean number of pulses per sample on a written tile (pulse-train length) [pulses].
            Default 5 (paper, Table 5).
        n_s: ratio between the transfer periods of consecutive tiles (the gradient tile is read
            every ``n_s`` samples by TT-v2). Default 2 (paper, Table 5).
        dim: size ``D`` of Table 5's generic ``D × D`` layer. Default 512 (paper, Table 5).
        batch_size: MP mini-batch ``B`` where neither the method nor the model gives one.
            Default 100 (paper, Table 5; Tables 6–7 use the models' 8 and 128).
        bytes_per_element: bytes per digitally stored element [byte]. Default 1 (8-bit storage;
            paper, Table 6).
        cell_pitch_nm: crossbar cell pitch [nm]; a cell covers ``pitch²``. Default 400 (BEOL
            interconnect pitch, 0.16 µm² per device; Gokmen & Vlasov 2016).
        ref_array_size: size ``D_ref`` of the reference ``D_ref × D_ref`` array whose periphery
            power is ``ref_peripheral_power_w``. Default 4096 (Gokmen & Vlasov 2016).
        ref_peripheral_power_w: power of the op-amps and stochastic translators of the reference
            array [W]; scaled by active lines ``(m + n) / (2 D_ref)``. Default 0.7 (Gokmen &
            Vlasov 2016; paper, App. I).
        e_forward_nj: energy of one forward read of one tile copy, per image of the reference
            workload [nJ]. Default 7.29 (Le Gallo et al. 2018; paper, Table 8).
        e_backward_nj: energy of one backward read of one tile copy, per image [nJ]. Default 2.15
            (Le Gallo et al. 2018; paper, Table 8).
        e_transfer_read_nj: energy of one MVM-equivalent transfer read [nJ]. Default 7.29 (the
            paper reuses the forward energy as an upper bound of all transfer reads, Table 8).
        mp_update_energy_nj: MP's measured weight-update energy per image of the reference
            workload [nJ]. Default 62.03 (Le Gallo et al. 2018, Table 1; paper, Table 8).
        mp_fwd_bwd_energy_nj: MP's measured forward + backward energy per image [nJ]. Default
            21.21 (Le Gallo et al. 2018, Table 1; paper, Table 8).
        ref_synapses: synapses of the reference workload, the perceptron 785-250-10 of Le Gallo
            et al. 2018. Default 198 760.
        energy_scaling: ``"network"`` (default, the paper's use): the measured per-image energies
            hold for the whole model whatever its size and are split over its layers by cell
            count; ``"cells"``: they scale with ``cells × vectors per image / ref_synapses`` per
            layer, and the pulse energy with the vectors per image.
    """

    t_sp_ns: float = 5.0
    t_mvm_ns: float = 40.0
    fp_peak_tflops: float = 0.7
    tiles_per_fp_unit: int = 4
    mp_fp_ops_per_weight: float = 2.0
    l_avg: float = 5.0
    n_s: float = 2.0
    dim: int = 512
    batch_size: int = 100
    bytes_per_element: float = 1.0
    cell_pitch_nm: float = 400.0
    ref_array_size: int = 4096
    ref_peripheral_power_w: float = 0.7
    e_forward_nj: float = 7.29
    e_backward_nj: float = 2.15
    e_transfer_read_nj: float = 7.29
    mp_update_energy_nj: float = 62.03
    mp_fwd_bwd_energy_nj: float = 21.21
    ref_synapses: int = 198_760
    energy_scaling: EnergyScaling = "network"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "energy_scaling":
                if value not in ENERGY_SCALINGS:
                    raise ValueError(f"HardwareModel: energy_scaling must be one of "
                                     f"{', '.join(map(repr, ENERGY_SCALINGS))}; got {value!r}")
                continue
            if f.name in _INT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"HardwareModel: {f.name} must be an int; got {value!r}")
                if value < 1:
                    raise ValueError(f"HardwareModel: {f.name} must be >= 1; got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"HardwareModel: {f.name} must be a number; got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"HardwareModel: {f.name} must be a finite number > 0; got {value!r}")
        if self.n_s <= 1:
            # Residual learning's geometric series n_s/(n_s − 1) needs n_s > 1 (hardware-cost.md §3).
            raise ValueError(f"HardwareModel: n_s must be > 1; got {self.n_s!r}")

    # ----------------------------------------------------------------------------------- derived
    def fp_tflops(self) -> float:
        """Effective FP throughput per tile [TFLOP/s]: ``fp_peak_tflops / tiles_per_fp_unit``."""
        return self.fp_peak_tflops / self.tiles_per_fp_unit

    def fp_time_ns(self, ops: float) -> float:
        """Time of ``ops`` floating-point operations at the effective throughput [ns]."""
        return ops / (self.fp_tflops() * 1e3)

    def cell_area_um2(self) -> float:
        """Area of one crossbar cell [µm²]: ``pitch²`` (0.16 µm² at 400 nm)."""
        return (self.cell_pitch_nm * 1e-3) ** 2

    # ----------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (YAML/JSON-compatible)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "HardwareModel.from_dict") -> "HardwareModel":
        """Build from a mapping of field names; missing fields keep their defaults.

        Raises:
            TypeError: ``data`` is not a mapping, or a value has the wrong type.
            ValueError: a key is not a field (unknown keys are errors), or a value is out of range.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"{where}: data must be a mapping of HardwareModel fields; got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(str(k) for k in data if k not in names)
        if unknown:
            raise ValueError(f"{where}: keys must be HardwareModel fields ({', '.join(names)}); "
                             f"got unknown {', '.join(map(repr, unknown))}")
        return cls(**dict(data))

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "HardwareModel":
        """Load a model from a YAML file of field names (``yaml.safe_load``; unknown keys are errors).

        An empty file gives the defaults. Example file::

            t_mvm_ns: 20.0
            mp_fp_ops_per_weight: 1

        Raises:
            RuntimeError: PyYAML is not installed.
            TypeError, ValueError: as :meth:`from_dict`.
        """
        try:
            import yaml
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise RuntimeError("HardwareModel.from_yaml: PyYAML is required (pip install pyyaml)") from e
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        return cls.from_dict({} if data is None else data, where=f"HardwareModel.from_yaml({os.fspath(path)!r})")

    def to_yaml(self, path: str | os.PathLike) -> None:
        """Write every field to a YAML file that :meth:`from_yaml` reads back unchanged."""
        try:
            import yaml
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise RuntimeError("HardwareModel.to_yaml: PyYAML is required (pip install pyyaml)") from e
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(self.to_dict(), f, sort_keys=False)

    def replace(self, **changes: Any) -> "HardwareModel":
        return dataclasses.replace(self, **changes)
