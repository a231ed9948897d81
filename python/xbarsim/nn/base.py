"""AnalogLayerBase: the tiles of one layer, its autograd path and the batch it records for the update.

How an analog layer trains (docs/frontend.md):

* Forward runs the tiles' analog forward (``AnalogTile.forward``) through the custom op
  ``xbarsim::layer_forward``; autograd's backward runs the tiles' analog backward for the input
  gradient and **records** ``(x, d)`` (the layer's input rows and output gradients) in the layer.
* The analog weights are not autograd leaves. Each layer owns a placeholder parameter
  ``analog_ctx`` (a 0-dim tensor): it is an input of the op, so autograd always reaches the
  backward, and its ``.grad`` counts the batches recorded since the last ``zero_grad``. The
  optimizers of :mod:`xbarsim.optim` recognise it (:func:`analog_layer_of`) and apply
  ``tile.update(x, d, lr)`` from the recorded batch. A plain torch optimizer would treat it as an
  ordinary (unused) parameter and never update the tiles: train analog models with
  :class:`xbarsim.optim.AnalogSGD` or :class:`xbarsim.optim.AnalogOptimizer`.
* The recorded batch behaves like a gradient: backward adds to it (gradient accumulation
  concatenates batches), ``zero_grad`` (of the optimizer or of the model) discards it, ``step``
  applies it. Only the current accumulation window is kept: one mini-batch of ``x`` and ``d`` in
  the usual loop.

Spec: analog-tile.md §0 (shapes, batches, conv patches as vectors), experiments.md §0 (mapping).
"""
from __future__ import annotations

import math
import weakref
from typing import Any, Iterator, Optional

import torch
from torch.utils.weak import WeakIdKeyDictionary

from ..algorithms import MultiTile, make_tile
from ..config import MappingConfig, TileConfig
from ..errors import CheckpointMismatchError
from ..ops import _library
from ..ops import update as _update
from ..ops._checks import check_device, check_finite, check_weights
from ..tile import AnalogTile

__all__ = ["AnalogLayerBase", "analog_layer_of", "analog_layers", "tile_checkpoint_mismatches"]

# analog_ctx placeholder -> weakref to its layer. Keyed by identity (tensors compare elementwise),
# weak both ways so that neither keeps the other alive; refreshed whenever the parameter object
# may change (construction, _apply, deepcopy/unpickle, load_state_dict(assign=True)).
_CTX_OWNER: WeakIdKeyDictionary = WeakIdKeyDictionary()

# Golden-ratio increment (2^64 / phi): tile k of a layer gets seed + k * _SEED_STRIDE, so the tiles
# of one layer draw from distinct Philox keys while tile 0 keeps the layer seed itself.
_SEED_STRIDE = 0x9E3779B97F4A7C15
_LAYER_STATE_VERSION = 1


def analog_layer_of(param: torch.Tensor) -> Optional["AnalogLayerBase"]:
    """The analog layer whose placeholder ``analog_ctx`` is ``param``, else None."""
    ref = _CTX_OWNER.get(param)
    layer = ref() if ref is not None else None
    if layer is None or layer.analog_ctx is not param:
        return None
    return layer


def analog_layers(module: torch.nn.Module) -> Iterator[tuple[str, "AnalogLayerBase"]]:
    """``(name, layer)`` for every analog layer inside ``module`` (itself included)."""
    for name, sub in module.named_modules():
        if isinstance(sub, AnalogLayerBase):
            yield name, sub


def draw_seed() -> int:
    """A layer seed from torch's default generator, so ``torch.manual_seed`` fixes it."""
    return int(torch.randint(0, 2**62, (1,), dtype=torch.int64).item())


def check_placement(name: str, device: Any, dtype: Any) -> tuple[torch.device | None, torch.dtype]:
    """The ``device`` and ``dtype`` arguments of a layer constructor, checked before anything is
    allocated with them: a cpu or cuda device (or None), float32 or float64 (None: torch's default)."""
    device = check_device(name, "device", device)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name}: dtype must be torch.float32 or torch.float64; got {dtype}")
    return device, dtype


class AnalogLayerBase(torch.nn.Module):
    """Common machinery of :class:`AnalogLinear` and the analog convolutions.

    A layer holds the matrix ``W[out_size, in_size]`` (for convolutions ``in_size`` is
    ``in_channels · prod(kernel_size)``) on a grid of tiles chosen by its
    :class:`~xbarsim.config.MappingConfig`. With ``bias`` and ``digital_bias=False`` the bias is an
    extra input line of constant 1 (the last one), stored and trained in the tiles.

    Attributes:
        tiles: the tiles, row-major over (output block, input block): :class:`~xbarsim.AnalogTile` s,
            or with a multi-tile ``config.algorithm`` its runtimes (``xbarsim.algorithms.make_tile``).
        analog_ctx: the placeholder parameter recognised by :mod:`xbarsim.optim`.
        bias: the digital bias parameter (None without bias or with an analog bias).
        config, mapping, digital_bias, eval_noise_free: as given.
    """

    in_size: int
    out_size: int

    def __init__(self, in_size: int, out_size: int, *, bias: bool, config: TileConfig | None,
                 mapping: MappingConfig | None, digital_bias: bool, eval_noise_free: bool,
                 seed: int | None, device: Any, dtype: torch.dtype | None,
                 init_weight: torch.Tensor, init_bias: torch.Tensor | None) -> None:
        super().__init__()
        name = type(self).__name__
        config = TileConfig() if config is None else config
        mapping = MappingConfig() if mapping is None else mapping
        if not isinstance(config, TileConfig):
            raise TypeError(f"{name}: config must be a TileConfig; got {type(config).__name__}")
        if not isinstance(mapping, MappingConfig):
            raise TypeError(f"{name}: mapping must be a MappingConfig; got {type(mapping).__name__}")
        for flag, value in (("bias", bias), ("digital_bias", digital_bias), ("eval_noise_free", eval_noise_free)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: {flag} must be a bool; got {value!r}")
        if seed is None:
            seed = draw_seed()
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"{name}: seed must be an int in [0, 2**64) or None; got {seed!r}")
        device, dtype = check_placement(name, device, dtype)

        self.in_size = in_size
        self.out_size = out_size
        self.config = config
        self.mapping = mapping
        self.digital_bias = digital_bias
        self.analog_bias = bias and not digital_bias
        self.eval_noise_free = eval_noise_free
        self.seed = seed
        self.in_splits, self.out_splits = mapping.split_sizes(in_size + int(self.analog_bias), out_size)
        # make_tile: an AnalogTile for analog SGD, or the multi-tile runtime of config.algorithm
        # (residual learning, Tiki-Taka, mixed precision); both have the same interface.
        self.tiles = torch.nn.ModuleList(
            make_tile(o, i, config, (seed + k * _SEED_STRIDE) % 2**64, device=device, dtype=dtype)
            for k, (o, i) in enumerate((o, i) for o in self.out_splits for i in self.in_splits)
        )
        self.analog_ctx = torch.nn.Parameter(torch.zeros((), device=device, dtype=dtype))
        if bias and digital_bias:
            self.bias = torch.nn.Parameter(torch.zeros(out_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self._records: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._handle = _library.register_layer(self)
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)
        self.set_matrix_weights(init_weight, init_bias)

    # --- identity: the handle of the layer ops and the owner map of analog_ctx -------------------
    def _reregister(self) -> None:
        self._handle = _library.register_layer(self)
        self._records = []
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)

    def __getstate__(self) -> dict:
        # A recorded batch is transient (like autograd's saved tensors): copies start without one.
        state = self.__dict__.copy()
        state["_records"] = []
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._reregister()

    def _apply(self, fn, recurse=True):  # .to(), .cuda(), .double(), ...: the parameter may be replaced
        out = super()._apply(fn, recurse)
        self._records = []
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)
        return out

    # --- shapes and placement ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.analog_ctx.device

    @property
    def dtype(self) -> torch.dtype:
        return self.analog_ctx.dtype

    def _tile(self, i: int, j: int) -> AnalogTile | MultiTile:
        return self.tiles[i * len(self.in_splits) + j]  # type: ignore[return-value]

    @staticmethod
    def _bounds(sizes: tuple[int, ...]) -> list[tuple[int, int]]:
        out, start = [], 0
        for s in sizes:
            out.append((start, start + s))
            start += s
        return out

    def _check_input_2d(self, x: torch.Tensor, name: str) -> None:
        """Device/dtype checks shared by the subclasses' forward (shape checks are theirs)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: input must be a torch.Tensor; got {type(x).__name__}")
        if x.dtype != self.dtype:
            raise TypeError(f"{name}: input must have the layer's dtype {self.dtype}; got {x.dtype}")
        if x.device != self.device:
            raise ValueError(f"{name}: input must be on the layer's device {self.device}; got {x.device}")

    # --- weights -------------------------------------------------------------------------------
    def _get_matrix(self) -> torch.Tensor:
        """The full tile matrix ``[out_size, in_size (+1 analog bias column)]`` (a copy)."""
        rows = []
        for i in range(len(self.out_splits)):
            rows.append(torch.cat([self._tile(i, j).get_weights() for j in range(len(self.in_splits))], dim=1))
        return torch.cat(rows, dim=0)

    def get_matrix_weights(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(W[out_size, in_size], bias[out_size] or None)``, copies, as the tiles hold them."""
        m = self._get_matrix()
        if self.analog_bias:
            return m[:, :-1].contiguous(), m[:, -1].contiguous()
        return m, (self.bias.detach().clone() if self.bias is not None else None)

    @torch.no_grad()
    def set_matrix_weights(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> None:
        """Program ``W[out_size, in_size]`` (and the bias, if given) into the tiles.

        All checks run before any tile changes. ``bias=None`` keeps the current bias.
        """
        name = f"{type(self).__name__}.set_weights"
        check_weights(name, "weight", weight, (self.out_size, self.in_size))
        has_bias = self.analog_bias or self.bias is not None
        if bias is not None:
            if not has_bias:
                raise ValueError(f"{name}: bias must be None for a layer without bias; got a tensor")
            check_weights(name, "bias", bias, (self.out_size,))
        weight = weight.detach().to(self.device, self.dtype)
        if self.analog_bias:
            column = bias if bias is not None else self._get_matrix()[:, -1]
            weight = torch.cat([weight, column.detach().to(self.device, self.dtype).reshape(-1, 1)], dim=1)
        for i, (o0, o1) in enumerate(self._bounds(self.out_splits)):
            for j, (i0, i1) in enumerate(self._bounds(self.in_splits)):
                self._tile(i, j).set_weights(weight[o0:o1, i0:i1])
        if bias is not None and self.bias is not None:
            self.bias.copy_(bias)

    # --- device processes (analog-tile.md §3.5: applied only on request) ----------------------------
    @torch.no_grad()
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Decay the weights of every tile towards the cells' reset bias (``AnalogTile.decay_weights``);
        a no-op for devices without ``lifetime``."""
        self._on_every_tile("decay_weights", alpha)

    @torch.no_grad()
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """Add the device's diffusion noise to the weights of every tile (``AnalogTile.diffuse_weights``);
        a no-op for devices without ``diffusion``."""
        self._on_every_tile("diffuse_weights", alpha)

    def _on_every_tile(self, method: str, alpha: float) -> None:
        _update.check_process_alpha(alpha, f"{type(self).__name__}.{method}")  # before any tile changes
        for tile in self.tiles:
            getattr(tile, method)(alpha)

    @torch.no_grad()
    def reset_columns(self, columns: Any = None) -> None:
        """Reset the weights of the selected inputs (all when None) to the cells' reset bias plus
        ``reset_std`` noise (``AnalogTile.reset_columns``); ``columns`` index the layer's
        ``in_size`` inputs (an analog bias line is reset only with ``columns=None``)."""
        where = f"{type(self).__name__}.reset_columns"
        lines = self.in_size + int(self.analog_bias)
        if columns is None:
            mask = torch.ones(lines, dtype=torch.bool, device=self.device)
        else:
            mask = torch.zeros(lines, dtype=torch.bool, device=self.device)
            mask[:self.in_size] = _update.column_mask(columns, self.in_size, self.device, where).bool()
        for i in range(len(self.out_splits)):
            for j, (i0, i1) in enumerate(self._bounds(self.in_splits)):
                if bool(mask[i0:i1].any()):
                    self._tile(i, j).reset_columns(mask[i0:i1])

    # --- the analog passes (run inside the layer ops) -------------------------------------------
    def _with_bias_line(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x.new_ones((x.shape[0], 1))], dim=1) if self.analog_bias else x

    def _analog_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y[m, out] = W x`` through the tiles (summing the partial outputs of input blocks)."""
        # Checked here, not only by each tile: a layer of several tiles must fail before the first
        # tile's RNG counter moves. (Skipped with xbarsim.ops.set_input_checks(False).)
        check_finite(type(self).__name__, "input", x)
        self._drop_stale_records()
        x = self._with_bias_line(x.contiguous())
        if self.eval_noise_free and not self.training:
            return self._perfect_read(x)
        in_bounds = self._bounds(self.in_splits)
        outs = []
        for i in range(len(self.out_splits)):
            acc = None
            for j, (i0, i1) in enumerate(in_bounds):
                xj = x if len(in_bounds) == 1 else x[:, i0:i1].contiguous()
                y = self._tile(i, j).forward(xj)
                acc = y if acc is None else acc + y
            outs.append(acc)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    def _perfect_read(self, x: torch.Tensor) -> torch.Tensor:
        """Noise-free evaluation read: ``out_scale · W x`` exactly (analog-tile.md §1.5, §1.8)."""
        y = torch.nn.functional.linear(x, self._get_matrix())
        scale = self.config.forward.out_scale
        return y if scale == 1.0 else y * scale

    def _analog_backward(self, d: torch.Tensor, x: torch.Tensor,
                         need_grad_input: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Wᵀ d through the tiles, 1)``; records ``(x, d)`` for the optimizer.

        Both halves of a record are validated when they arrive (x by the forward, d here), so the
        optimizer can apply every layer's batch without re-reading them.
        """
        check_finite(type(self).__name__ + ".backward", "grad_output", d)
        d = d.contiguous()
        if need_grad_input:
            out_bounds = self._bounds(self.out_splits)
            parts = []
            for j in range(len(self.in_splits)):
                acc = None
                for i, (o0, o1) in enumerate(out_bounds):
                    di = d if len(out_bounds) == 1 else d[:, o0:o1].contiguous()
                    z = self._tile(i, j).backward(di)
                    acc = z if acc is None else acc + z
                parts.append(acc)
            grad_input = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
            if self.analog_bias:
                grad_input = grad_input[:, :-1].contiguous()
        else:
            grad_input = x.new_empty((0,))
        self._records.append((x, d))
        return grad_input, self.analog_ctx.new_ones(())

    # --- the recorded batch (the layer's "gradient") --------------------------------------------
    def _drop_stale_records(self) -> None:
        """Discard batches recorded before the last ``zero_grad`` (of the model or an optimizer).

        ``analog_ctx.grad`` counts the recorded batches; None or 0 means zero_grad ran since.
        """
        if self._records:
            grad = self.analog_ctx.grad
            if grad is None or not bool(grad != 0):
                self._records = []

    def has_recorded_batch(self) -> bool:
        """True if a backward pass recorded a batch since the last ``zero_grad``."""
        self._drop_stale_records()
        return bool(self._records)

    def clear_recorded_batch(self) -> None:
        self._records = []

    def recorded_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The recorded ``(x[m, in_size], d[m, out_size])``, batches concatenated in backward order."""
        self._drop_stale_records()
        if not self._records:
            raise RuntimeError(f"{type(self).__name__}: no recorded batch; run loss.backward() first")
        if len(self._records) == 1:
            return self._records[0]
        return (torch.cat([r[0] for r in self._records]), torch.cat([r[1] for r in self._records]))

    def apply_update(self, lr: float) -> None:
        """Apply the recorded batch to every tile: ``tile.update(x, d, lr)`` (analog-tile.md §2).

        With ``pulse_type="none"`` this is exactly ``W ← W − lr · dᵀ x`` (summed over the batch).
        """
        x, d = self.recorded_batch()
        x = self._with_bias_line(x)
        in_bounds, out_bounds = self._bounds(self.in_splits), self._bounds(self.out_splits)
        for i, (o0, o1) in enumerate(out_bounds):
            di = d if len(out_bounds) == 1 else d[:, o0:o1].contiguous()
            for j, (i0, i1) in enumerate(in_bounds):
                xj = x if len(in_bounds) == 1 else x[:, i0:i1].contiguous()
                self._tile(i, j).update(xj, di, lr)

    # --- autograd entry ------------------------------------------------------------------------
    def analog_matmul(self, x: torch.Tensor) -> torch.Tensor:
        """``y[m, out_size]`` for ``x[m, in_size]`` through the layer op (differentiable)."""
        return _library.layer_forward(x, self.analog_ctx, self._handle, self.out_size)

    # --- checkpoints ---------------------------------------------------------------------------
    def _layer_state(self) -> dict:
        return {"version": _LAYER_STATE_VERSION, "kind": type(self).__name__, "in_size": self.in_size,
                "out_size": self.out_size, "analog_bias": self.analog_bias,
                "digital_bias": self.bias is not None, "in_splits": list(self.in_splits),
                "out_splits": list(self.out_splits), "mapping": self.mapping.to_dict()}

    def get_extra_state(self) -> dict:
        return self._layer_state()

    def set_extra_state(self, state: dict) -> None:
        problems = self.checkpoint_mismatches(state_layer=state)
        if problems:
            raise CheckpointMismatchError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))

    def checkpoint_mismatches(self, state_dict: dict | None = None, prefix: str = "",
                              state_layer: dict | None = None, *, tiles: bool = True) -> list[str]:
        """Every way a checkpoint's entries for this layer differ from this layer (empty if none).

        Compares the layer layout and (with ``tiles``) each tile's config field by field, so that a
        checkpoint from another configuration is rejected with the fields named before anything loads.
        """
        problems: list[str] = []
        if state_layer is None and state_dict is not None:
            state_layer = state_dict.get(prefix + "_extra_state")
        if state_layer is not None:
            ours = self._layer_state()
            for key in sorted(set(ours) | set(state_layer)):
                if key != "version" and ours.get(key) != state_layer.get(key):
                    problems.append(f"{prefix}{key}: checkpoint {state_layer.get(key)!r}, model {ours.get(key)!r}")
        if state_dict is not None and tiles:
            for k, tile in enumerate(self.tiles):
                problems += tile_checkpoint_mismatches(tile, state_dict, f"{prefix}tiles.{k}.")
        return problems

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # Runs before the tiles load theirs: reject a foreign configuration with every field named.
        problems = self.checkpoint_mismatches(state_dict, prefix)
        if problems:
            raise CheckpointMismatchError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        self._records = []
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)  # assign=True replaces the parameter

    def _extra_repr_common(self) -> str:
        parts = []
        if self.analog_bias:
            parts.append("analog_bias=True")
        if len(self.tiles) > 1:
            parts.append(f"tiles={len(self.out_splits)}x{len(self.in_splits)}")
        if self.eval_noise_free:
            parts.append("eval_noise_free=True")
        return ", ".join(parts)


def tile_checkpoint_mismatches(tile: AnalogTile | MultiTile, state_dict: dict, prefix: str) -> list[str]:
    """Differences between a checkpoint's extra state for ``tile`` (at ``prefix``) and the tile:
    config fields (``forward.out_noise: checkpoint 0.06, model 0.1``) and shape. Missing entries are
    not reported here (the caller reports missing keys)."""
    key = prefix + "_extra_state"
    state = state_dict.get(key)
    if not isinstance(state, dict) or "config" not in state:
        return []
    problems = [f"{key} config.{p}" for p in _dict_diff(state["config"], tile.config.to_dict())]
    shape = tuple(state.get("shape", ()))
    if shape != (tile.out_size, tile.in_size):
        problems.append(f"{key} shape: checkpoint {shape}, model {(tile.out_size, tile.in_size)}")
    return problems


def _dict_diff(theirs: Any, ours: Any, path: str = "") -> list[str]:
    """Field paths where two ``to_dict`` trees differ, as ``"a.b: checkpoint X, model Y"``."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        out = []
        for key in sorted(set(theirs) | set(ours), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in ours:
                out.append(f"{sub}: only in the checkpoint ({theirs[key]!r})")
            elif key not in theirs:
                out.append(f"{sub}: missing in the checkpoint (model {ours[key]!r})")
            else:
                out += _dict_diff(theirs[key], ours[key], sub)
        return out
    if isinstance(theirs, (list, tuple)) and isinstance(ours, (list, tuple)) and len(theirs) == len(ours):
        return [d for k, (a, b) in enumerate(zip(theirs, ours)) for d in _dict_diff(a, b, f"{path}[{k}]")]
    if theirs != ours and not (isinstance(theirs, float) and isinstance(ours, float)
                               and math.isnan(theirs) and math.isnan(ours)):
        return [f"{path or 'value'}: checkpoint {theirs!r}, model {ours!r}"]
    return []
