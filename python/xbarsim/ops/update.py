"""The pulsed weight update and the device-state ops of a tile (validated wrappers over ``_core``).

The weight never receives a floating-point gradient: each vector pair (x, d) of a mini-batch is
turned into stochastic pulse trains on the input and output lines, and every cell receives its
number of coincidences as device pulses, one after another, in sample order.

Spec: analog-tile.md §2 (pulsed update), §3 (device models and population).
"""
from __future__ import annotations

import functools
import math
from typing import Mapping, Optional

import torch

from .. import _core
from ..config.devices import PiecewiseStep, PulsedDevice
from ..config.update import MAX_BL, UpdateConfig
from . import _checks
from ._views import cuda_stream, view

__all__ = ["pulsed_update", "populate_device", "clip_weights", "device_process", "device_cell_fields", "pack_update",
           "pack_device", "COUNTER_NAMES", "DEVICE_PROCESSES"]

#: Meaning of the entries of a tile's int64 pulse counters (analog-tile.md §2.9): pulses fired on the
#: input and output lines, coincidences applied up and down, and the pulse-train slots Σ BL of the
#: vectors written (each slot lasts t_sp; hardware-cost.md §8).
COUNTER_NAMES = ("input_pulses", "output_pulses", "coincidences_up", "coincidences_down", "pulse_slots")


# --- packing configs into the native argument structs (field by field, same names) ---------------

@functools.lru_cache(maxsize=256)
def pack_update(update: UpdateConfig) -> "_core.UpdateArgs":
    """``UpdateConfig`` -> ``_core.UpdateArgs``, every dataclass field copied by name."""
    import dataclasses

    args = _core.UpdateArgs()
    for f in dataclasses.fields(update):
        value = getattr(update, f.name)
        if f.name == "pulse_type":
            value = _core.PulseType[value]
        setattr(args, f.name, value)
    return args


@functools.lru_cache(maxsize=256)
def pack_device(device_model: PulsedDevice) -> "_core.DeviceConfigArgs":
    """A device-model dataclass -> ``_core.DeviceConfigArgs``, every scalar field copied by name.

    Tables (``PiecewiseStep.piecewise_up``/``_down``) travel as tensors instead.
    """
    import dataclasses

    args = _core.DeviceConfigArgs()
    args.model = _core.DeviceModel[device_model.model]
    for f in dataclasses.fields(device_model):
        value = getattr(device_model, f.name)
        if isinstance(value, tuple):
            continue
        if not hasattr(args, f.name):
            raise TypeError(f"pack_device: {type(device_model).__name__}.{f.name} has no native counterpart")
        setattr(args, f.name, value)
    return args


def device_cell_fields(device_model: PulsedDevice) -> tuple[str, ...]:
    """Names of the per-cell parameter arrays the device model keeps (tile state, analog-tile.md §3.2)."""
    return tuple(_core.device_cell_fields(_core.DeviceModel[device_model.model]))


def cell_views(cells: Mapping[str, torch.Tensor], names: tuple[str, ...], where: str) -> "_core.DeviceCellViews":
    """The native views of the per-cell tensors ``names`` of ``cells``."""
    views = _core.DeviceCellViews()
    for name in names:
        t = cells.get(name)
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{where}: cells must hold the per-cell tensor {name!r}")
        setattr(views, name, view(t))
    return views


# --- population and clipping -----------------------------------------------------------------------

def populate_device(device_model: PulsedDevice, out_size: int, in_size: int, *, seed: int,
                    dtype: torch.dtype = torch.float32,
                    device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
    """Draw the per-cell parameters of a tile (device-to-device variation, once at construction).

    Args:
        device_model: the resistive device model.
        out_size, in_size: tile shape.
        seed: population seed (``device_model.population_seed(tile_seed)``).
        dtype: float32 or float64.
        device: torch device of the tensors.

    Returns:
        ``{name: tensor[out_size, in_size]}`` for every name of :func:`device_cell_fields`.

    Spec: analog-tile.md §3.2 (draws keyed by (seed, Stream::kPopulation, call, param·cells + cell)).
    """
    if not isinstance(device_model, PulsedDevice):
        raise TypeError(f"populate_device: device_model must be a PulsedDevice; got {type(device_model).__name__}")
    cells = {name: torch.empty(out_size, in_size, dtype=dtype, device=device)
             for name in device_cell_fields(device_model)}
    ref = cells["b_min"]
    _core.populate_device(cell_views(cells, tuple(cells), "populate_device"), pack_device(device_model), int(seed),
                          cuda_stream(ref))
    return cells


def clip_weights(weight: torch.Tensor, cells: Mapping[str, torch.Tensor], device_model: PulsedDevice, *,
                 persistent: torch.Tensor | None = None, write_noise: bool = False, seed: int = 0,
                 call: int = 0) -> None:
    """Clip weights to each cell's bounds, in place (SoftBoundsReference clips ``w + r``).

    With ``persistent`` (write-noise devices) the persistent weights are clipped and ``weight`` (the
    apparent weights) becomes ``persistent + write_noise_std·dw_min·ξ`` if ``write_noise``, else a
    copy of ``persistent``.

    Spec: analog-tile.md §3.4, §3.5, §6 #12.
    """
    _core.clip_weights(view(weight), cell_views(cells, device_cell_fields(device_model), "clip_weights"),
                       pack_device(device_model), bool(write_noise), int(seed), int(call),
                       None if persistent is None else view(persistent), cuda_stream(weight))


def check_process_alpha(alpha: object, where: str) -> float:
    """``alpha`` of a decay or diffusion as a float; ValueError unless a finite number ≥ 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{where}: alpha must be a finite number >= 0; got {alpha!r}")
    return float(alpha)


def column_mask(columns: object, in_size: int, device: torch.device, where: str) -> torch.Tensor:
    """uint8 ``[in_size]`` mask of the selected input lines: ``columns`` is an int, a sequence of ints,
    an integer tensor of indices or a bool tensor ``[in_size]``. Negative indices count from the end."""
    if isinstance(columns, torch.Tensor) and columns.dtype == torch.bool:
        if tuple(columns.shape) != (in_size,):
            raise ValueError(f"{where}: columns must have shape [in_size={in_size}] as a bool mask; "
                             f"got {tuple(columns.shape)}")
        return columns.to(device=device, dtype=torch.uint8)
    if isinstance(columns, torch.Tensor):
        if columns.dim() > 1 or columns.is_floating_point() or columns.is_complex():
            raise TypeError(f"{where}: columns must be indices (ints) or a bool mask; got a {columns.dtype} tensor "
                            f"of shape {tuple(columns.shape)}")
        index = [int(c) for c in columns.reshape(-1).tolist()]
    elif isinstance(columns, int) and not isinstance(columns, bool):
        index = [columns]
    elif isinstance(columns, (list, tuple, range)) and all(isinstance(c, int) and not isinstance(c, bool)
                                                            for c in columns):
        index = list(columns)
    else:
        raise TypeError(f"{where}: columns must be an int, a sequence of ints, an index tensor or a bool mask; "
                        f"got {type(columns).__name__}")
    bad = [c for c in index if not -in_size <= c < in_size]
    if bad:
        raise IndexError(f"{where}: columns must be in [-{in_size}, {in_size}); got {bad[:5]}")
    mask = torch.zeros(in_size, dtype=torch.uint8)
    mask[[c % in_size for c in index]] = 1
    return mask.to(device)


#: The processes of analog-tile.md §3.5 that :func:`device_process` applies.
DEVICE_PROCESSES = ("decay", "diffuse", "reset")


def device_process(weight: torch.Tensor, cells: Mapping[str, torch.Tensor], device_model: PulsedDevice, process: str, *,
                   alpha: float = 1.0, columns: torch.Tensor | None = None, pop_seed: int, seed: int, call: int,
                   persistent: torch.Tensor | None = None) -> None:
    """Apply a device process of analog-tile.md §3.5 to every cell, in place, then clip to the bounds.

    * ``"decay"``: ``w ← (w − b)·(1 − alpha·(1 − s)) + b`` with the cell's reset bias ``b`` and decay
      scale ``s = 1 − 1/lifetime`` (device-to-device spread ``lifetime_dtod``; ``s = 1`` without
      ``lifetime``), so ``alpha = 1`` is one lifetime unit (a mini-batch in aihwkit's convention);
    * ``"diffuse"``: ``w ← w + alpha·r·ξ`` with the cell's rate ``r = |diffusion·(1 + diffusion_dtod·ξ')|``;
    * ``"reset"``: ``w ← b + reset_std·ξ`` on the input lines where ``columns`` (uint8 ``[in]``) is 1, or
      on all lines when it is None.

    The per-cell ``b``, ``s`` and ``r`` are population draws (§3.2 step 8) keyed by ``pop_seed``; the
    noise ``ξ`` by ``(seed, call, cell)``. With ``persistent`` (write-noise devices) the process acts on
    the persistent weights and ``weight`` (the apparent ones) is redrawn.
    """
    if process not in DEVICE_PROCESSES:
        raise ValueError(f"device_process: process must be one of {DEVICE_PROCESSES}; got {process!r}")
    alpha = check_process_alpha(alpha, "device_process")
    _core.device_process(view(weight), cell_views(cells, device_cell_fields(device_model), "device_process"),
                         pack_device(device_model), _core.DeviceProcess[process], float(alpha),
                         None if columns is None else view(columns), int(pop_seed), int(seed), int(call),
                         None if persistent is None else view(persistent), cuda_stream(weight))


# --- the pulsed update --------------------------------------------------------------------------------

def _as_batch(t: object, name: str, size: int, size_name: str, like: torch.Tensor, where: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor; got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{where}: {name} must be a floating-point tensor; got {t.dtype}")
    if t.dim() < 1 or t.shape[-1] != size:
        raise ValueError(f"{where}: {name} must have shape [..., {size_name}={size}]; got {tuple(t.shape)}")
    if not (t.is_cpu and like.is_cpu) and t.device != like.device:  # is_cpu first: no torch.device objects
        raise ValueError(f"{where}: {name} must be on the weight's device {like.device}; got {t.device}")
    t = t.reshape(-1, size)
    if t.dtype != like.dtype:
        t = t.to(like.dtype)
    return t if t.is_contiguous() else t.contiguous()


def _check_lr(lr: object, where: str) -> float:
    if isinstance(lr, torch.Tensor):
        if lr.numel() != 1:
            raise ValueError(f"{where}: lr must be a number; got a tensor of shape {tuple(lr.shape)}")
        lr = lr.item()
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"{where}: lr must be a number; got {type(lr).__name__}")
    if not math.isfinite(lr):
        raise ValueError(f"{where}: lr must be finite; got {lr!r}")
    return float(lr)


def check_update_batch(x: object, d: object, lr: object, like: torch.Tensor,
                       where: str) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Validate the arguments of an update of the ``[out, in]`` weights ``like`` before any state changes.

    Returns ``x`` and ``d`` flattened to ``[m, in]`` and ``[m, out]`` (contiguous, ``like``'s dtype)
    and ``lr`` as a float. Raises TypeError/ValueError naming the argument: not a float tensor,
    wrong last dimension, other device, different leading dimensions, NaN/inf (one reduction each;
    off with :func:`xbarsim.ops.set_input_checks`), lr not a finite number.
    """
    out_size, in_size = like.shape
    lr = _check_lr(lr, where)
    xb = _as_batch(x, "x", in_size, "in_size", like, where)
    db = _as_batch(d, "d", out_size, "out_size", like, where)
    if x.shape[:-1] != d.shape[:-1]:  # type: ignore[union-attr]
        raise ValueError(f"{where}: x and d must have the same leading dimensions; "
                         f"got {tuple(x.shape)} and {tuple(d.shape)}")  # type: ignore[union-attr]
    _checks.check_finite(where, "x", xb)
    _checks.check_finite(where, "d", db)
    return xb, db, lr


def _check_state_args(where: str, weight: torch.Tensor, persistent: object, counters: object,
                      piecewise: object) -> None:
    """The optional tensors the update writes or reads besides x and d: like the weight (persistent,
    piecewise tables) or int64[5] (counters), on the weight's device, contiguous."""
    out_size, in_size = weight.shape
    if persistent is not None:
        _checks.check_tensor(where, "persistent", persistent, shape=(("out_size", out_size), ("in_size", in_size)),
                             dtype=weight.dtype, device=weight.device)
    if counters is not None:
        _checks.check_tensor(where, "counters", counters, shape=(len(COUNTER_NAMES),), dtype=torch.int64,
                             device=weight.device)
    if piecewise is not None:
        if not isinstance(piecewise, (tuple, list)) or len(piecewise) != 2:
            raise TypeError(f"{where}: piecewise must be a pair of tensors (piecewise_up, piecewise_down); "
                            f"got {type(piecewise).__name__}")
        for k, t in enumerate(piecewise):
            _checks.check_tensor(where, f"piecewise[{k}]", t, ndim=1, dtype=weight.dtype, device=weight.device)
        lengths = [t.shape[0] for t in piecewise]
        if lengths[0] < 1 or lengths[0] != lengths[1]:
            raise ValueError(f"{where}: piecewise must hold two tables of the same length >= 1; "
                             f"got {lengths[0]} and {lengths[1]}")
    for name, t in (("persistent", persistent), ("counters", counters),
                    *(() if piecewise is None else (("piecewise[0]", piecewise[0]), ("piecewise[1]", piecewise[1])))):
        if t is not None and not t.is_contiguous():  # type: ignore[union-attr]
            raise ValueError(f"{where}: {name} must be contiguous")


@torch.no_grad()
def pulsed_update(weight: torch.Tensor, x: torch.Tensor, d: torch.Tensor, lr: float, *, update: UpdateConfig,
                  device_model: PulsedDevice, cells: Mapping[str, torch.Tensor], seed: int, call: int,
                  persistent: torch.Tensor | None = None, counters: torch.Tensor | None = None,
                  piecewise: tuple[torch.Tensor, torch.Tensor] | None = None,
                  where: str = "pulsed_update", prepared_cells: Optional["_core.DeviceCellViews"] = None) -> None:
    """Apply the pulsed update of a mini-batch to ``weight`` in place.

    Every vector pair (x_b, d_b) is one update (analog-tile.md §0): BL, A and B from update and BL
    management, Bernoulli bit lines for every input and output line, the signed coincidence count of
    every cell, and that many device pulses applied one after another, samples in order. A positive
    ``lr`` realises ``E[ΔW] ≈ −lr·dᵀx`` on a constant-step device.

    Args:
        weight: ``W[out, in]`` (float32/float64, contiguous); the apparent weights with write noise.
        x: ``[..., in]`` inputs; leading dimensions are flattened into the batch.
        d: ``[..., out]`` errors, with the same leading dimensions as ``x``.
        lr: learning rate handed to the device (finite; sign handled per §2.5; 0 is a no-op).
        update: the UpdateConfig (``pulse_type="none"`` gives ``W ← W − lr·dᵀx`` exactly,
            ``"none_with_device"`` then clips to the cell bounds).
        device_model: the resistive device model; ``cells`` its per-cell tensors (:func:`populate_device`).
        seed, call: the tile's seed and this call's value of its RNG call counter.
        persistent: persistent weights of a write-noise device (the pulses act on them and the
            touched cells' apparent weights are redrawn).
        counters: int64[5] pulse counters (see ``COUNTER_NAMES``), incremented when
            ``update.count_pulses``.
        piecewise: the PiecewiseStep tables as tensors (made from ``device_model`` if omitted).
        where: the callable named in error messages.
        prepared_cells: native views of ``cells`` made earlier (``DeviceState.cell_views``); the native
            core checks them against the weight (shape, dtype, device) before the kernel runs.

    Raises:
        TypeError, ValueError: bad argument types, shapes, devices, non-finite values or lr, seed not
            an int in [0, 2**64) or call not an int in [0, 2**48); the weights are unchanged.

    Spec: analog-tile.md §2, §3.
    """
    xb, db, lr = _check_pulsed_update(weight, x, d, lr, update, device_model, cells, where, seed=seed, call=call,
                                      persistent=persistent, counters=counters, piecewise=piecewise,
                                      check_cells=prepared_cells is None)
    if lr == 0.0 or xb.shape[0] == 0:
        return
    if update.pulse_type in ("none", "none_with_device"):
        _exact_update(weight, xb, db, lr, update, device_model, cells, seed, call, persistent)
        return
    pw_up = pw_down = None
    if isinstance(device_model, PiecewiseStep):
        if piecewise is None:
            piecewise = (torch.tensor(device_model.piecewise_up, dtype=weight.dtype, device=weight.device),
                         torch.tensor(device_model.piecewise_down, dtype=weight.dtype, device=weight.device))
        pw_up, pw_down = view(piecewise[0]), view(piecewise[1])
    out_size, in_size = weight.shape
    eps = device_model.granularity()
    dtype_name = "float64" if weight.dtype == torch.float64 else "float32"
    nbytes = _core.pulsed_update_workspace_bytes(pack_update(update), lr, eps, xb.shape[0], in_size, out_size,
                                                 dtype_name)
    workspace = torch.empty(nbytes, dtype=torch.uint8, device=weight.device)
    counter_view = view(counters) if (counters is not None and update.count_pulses) else None
    _core.pulsed_update(view(weight), view(xb), view(db), view(workspace), pack_update(update),
                        pack_device(device_model),
                        prepared_cells if prepared_cells is not None else
                        cell_views(cells, device_cell_fields(device_model), where), lr, eps,
                        int(seed), int(call), None if persistent is None else view(persistent), counter_view, pw_up,
                        pw_down, cuda_stream(weight))


def _check_pulsed_update(weight: object, x: object, d: object, lr: object, update: object, device_model: object,
                         cells: object, where: str, *, seed: object = 0, call: object = 0, persistent: object = None,
                         counters: object = None, piecewise: object = None,
                         check_cells: bool = True) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Every check of :func:`pulsed_update`, before anything changes; returns the flattened batch and lr.
    ``check_cells=False``: the cells come as views a tile made of its own state (the native core checks
    their shapes, dtypes and devices against the weight before the kernel runs)."""
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{where}: weight must be a 2-D float32 or float64 tensor")
    if not weight.is_contiguous():
        raise ValueError(f"{where}: weight must be contiguous")
    if weight.device.type not in _checks.SUPPORTED_DEVICE_TYPES:
        raise ValueError(f"{where}: weight must be on a cpu or cuda device; got {weight.device}")
    if not isinstance(update, UpdateConfig):
        raise TypeError(f"{where}: update must be an UpdateConfig; got {type(update).__name__}")
    if not isinstance(device_model, PulsedDevice):
        raise TypeError(f"{where}: device_model must be a PulsedDevice; got {type(device_model).__name__}")
    _checks.check_int(where, "seed", seed, 0, 2**64)
    _checks.check_int(where, "call", call, 0, 2**48)
    _check_state_args(where, weight, persistent, counters, piecewise)
    xb, db, lr = check_update_batch(x, d, lr, weight, where)
    if update.is_pulsed() and lr != 0.0:
        bl_max = _core.update_bl_max(lr, device_model.granularity(), update.desired_bl, update.fixed_bl,
                                     update.update_bl_management)
        if bl_max > MAX_BL:
            raise ValueError(f"{where}: lr must give at most {MAX_BL} pulses per vector without BL management "
                             f"(ceil(|lr| / granularity) = {bl_max}); got lr={lr!r}")
    for name in device_cell_fields(device_model) if check_cells else ():
        t = cells.get(name) if isinstance(cells, Mapping) else None
        if not isinstance(t, torch.Tensor) or t.shape != weight.shape or t.dtype != weight.dtype \
                or t.device != weight.device:
            raise ValueError(f"{where}: cells[{name!r}] must be a tensor like the weight")
    return xb, db, lr


def _exact_update(weight: torch.Tensor, xb: torch.Tensor, db: torch.Tensor, lr: float, update: UpdateConfig,
                  device_model: PulsedDevice, cells: Mapping[str, torch.Tensor], seed: int, call: int,
                  persistent: torch.Tensor | None) -> None:
    """``pulse_type="none"``: ``W ← W − lr·dᵀx`` exactly; ``"none_with_device"``: then clipped to the cells."""
    target = weight if persistent is None else persistent
    target.addmm_(db.T, xb, alpha=-lr)
    if update.pulse_type == "none":
        if persistent is not None:
            weight.addmm_(db.T, xb, alpha=-lr)
        return
    clip_weights(weight, cells, device_model, persistent=persistent, write_noise=persistent is not None, seed=seed,
                 call=call)
