"""AnalogLayerBase: the blocks of one layer, its autograd path and the batch it records for the update.

How an analog layer trains (docs/frontend.md):

* The layer's matrix ``W[out_size, in_size]`` is split by its :class:`~xbarsim.config.MappingConfig`
  into a grid of **blocks**, each held by a tile runtime (``make_tile``: an
  :class:`~xbarsim.AnalogTile`, or the multi-tile runtime of ``config.algorithm`` whose own
  ``tiles`` are the algorithm's physical tiles).
* Forward runs the blocks' analog forward reads through one autograd function
  (:class:`~xbarsim.nn._autograd.AnalogMatmul`); its backward runs their analog backward reads for
  the input gradient and **records** ``(x, d)`` (the layer's input rows and output gradients).
* The analog weights are not autograd leaves. Each layer owns a placeholder parameter
  ``analog_ctx`` (a 0-dim tensor): it is an input of the autograd function, so autograd always
  reaches the backward, and its ``.grad`` counts the batches recorded since the last ``zero_grad``.
  The optimizers of :mod:`xbarsim.optim` recognise it (:func:`analog_layer_of`) and apply
  ``block.update(x, d, lr)`` from the recorded batch. A plain torch optimizer would treat it as an
  ordinary (unused) parameter and never update the tiles: train analog models with
  :class:`xbarsim.optim.AnalogSGD` or :class:`xbarsim.optim.AnalogOptimizer`.
* The recorded batch behaves like a gradient: backward adds to it (gradient accumulation
  concatenates batches), ``zero_grad`` (of the optimizer or of the model) discards it, ``step``
  applies it. Only the current accumulation window is kept: one mini-batch of ``x`` and ``d`` in
  the usual loop.
* Digital output scales (:class:`~xbarsim.config.MappingConfig`): a fixed ``mapping_scales`` buffer
  ``m`` (``weight_scaling_omega > 0``) and a learnable ``out_scaling_alpha`` parameter ``α``
  (``learn_out_scaling``) multiply the analog output outside the layer op: ``y = α ⊙ (m ⊙ W̄x) + b``.
  The effective weight (``get_weights``, ``weight``) is ``α m W̄``. The recorded ``d`` is the
  gradient at ``W̄x`` (so it contains ``α m``); the update divides it by ``m²`` (aihwkit's
  ``pre_update`` divides the gradient at ``m ⊙ W̄x`` by ``m``). docs/presets.md compares with aihwkit.

Spec: analog-tile.md §0 (shapes, batches, conv patches as vectors), experiments.md §0 (mapping).
"""
from __future__ import annotations

import weakref
from typing import Any, Iterator, Optional

import torch
from torch.utils.weak import WeakIdKeyDictionary

from ..algorithms import make_tile
from ..config import MappingConfig, TileConfig
from ..config.seeds import check_seed, child_seed
from ..errors import CheckpointMismatchError
from ..ops import _library
from ..ops import update as _update
from ..ops._checks import check_device, check_finite, check_weights
from ..tile import Tile
from ..tile import op_counts as _op_counts
from ..tile.base import counted_read
from ._autograd import LOG_ALL, LOG_LATEST, LOG_NONE, AnalogMatmul, ForwardLog, LoggedForward, in_backward_pass
from ._state import dict_diff, tile_checkpoint_mismatches

__all__ = ["AnalogLayerBase", "analog_layer_of", "analog_layers", "draw_seed"]

# analog_ctx placeholder -> weakref to its layer. Keyed by identity (tensors compare elementwise),
# weak both ways so that neither keeps the other alive; refreshed whenever the parameter object
# may change (construction, _apply, deepcopy/unpickle, load_state_dict(assign=True)).
_CTX_OWNER: WeakIdKeyDictionary = WeakIdKeyDictionary()

_LAYER_STATE_VERSION = 2


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
    ``in_channels · prod(kernel_size)``) on a grid of blocks chosen by its
    :class:`~xbarsim.config.MappingConfig`. With ``bias`` and ``digital_bias=False`` the bias is an
    extra input line of constant 1 (the last one), stored and trained in the blocks.

    Attributes:
        blocks: the tile runtimes of the mapping grid, row-major over (output block, input block):
            :class:`~xbarsim.AnalogTile` s, or with a multi-tile ``config.algorithm`` its runtimes
            (``xbarsim.algorithms.make_tile``). Block k is seeded with ``child_seed(seed, k)``.
        analog_ctx: the placeholder parameter recognised by :mod:`xbarsim.optim`.
        bias: the digital bias parameter (None without bias or with an analog bias).
        mapping_scales: the fixed digital output scales ``m`` (buffer ``[out_size]`` or ``[1]``) of the
            weight remapping, or None (``mapping.weight_scaling_omega == 0``).
        out_scaling_alpha: the learned digital output scale ``α`` (parameter ``[1]`` or ``[out_size]``),
            or None (``mapping.learn_out_scaling`` off).
        weight: the effective weight ``α m W̄``, shaped like the torch layer's (a read-only copy).
        config, mapping, digital_bias, eval_noise_free, seed: as given.
    """

    in_size: int
    out_size: int
    record_count: torch.Tensor

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
        seed = check_seed(name, draw_seed() if seed is None else seed)
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
        shapes = [(o, i) for o in self.out_splits for i in self.in_splits]
        self.blocks = torch.nn.ModuleList(make_tile(o, i, config, child_seed(seed, k), device=device, dtype=dtype)
                                          for k, (o, i) in enumerate(shapes))
        self.analog_ctx = torch.nn.Parameter(torch.zeros((), device=device, dtype=dtype))
        if bias and digital_bias:
            self.bias = torch.nn.Parameter(torch.zeros(out_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        scale_shape = mapping.mapping_scale_shape(out_size)
        self.register_buffer("mapping_scales", None if scale_shape is None else
                             torch.ones(scale_shape, device=device, dtype=dtype))
        alpha_shape = mapping.learned_scale_shape(out_size)
        self.register_parameter("out_scaling_alpha", None if alpha_shape is None else
                                torch.nn.Parameter(torch.ones(alpha_shape, device=device, dtype=dtype)))
        # The record counter is the mutation the backward op declares for the record buffer (host memory).
        self.register_buffer("record_count", torch.zeros((), dtype=torch.int64), persistent=False)
        self._reset_transient_state()
        self.set_matrix_weights(init_weight, init_bias)

    # --- identity: the handle of the layer ops, the owner map of analog_ctx, transient state -------
    def _reset_transient_state(self) -> None:
        """New handle for the layer ops, empty record buffer and forward log (also after a copy)."""
        self._handle = _library.register_layer(self)
        self._records: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._forward_log = ForwardLog()
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)

    def __getstate__(self) -> dict:
        # Recorded batches and logged forwards are transient (like autograd's saved tensors).
        state = self.__dict__.copy()
        state["_records"] = []
        state["_forward_log"] = ForwardLog()
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._reset_transient_state()

    def _apply(self, fn, recurse=True):  # .to(), .cuda(), .double(), ...: the parameter may be replaced
        record_count = self.record_count  # stays in host memory, like the blocks' call counters
        out = super()._apply(fn, recurse)
        self._buffers["record_count"] = record_count
        self._records = []
        self._forward_log.clear()
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)
        return out

    # --- shapes and placement ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.analog_ctx.device

    @property
    def dtype(self) -> torch.dtype:
        return self.analog_ctx.dtype

    def _block(self, i: int, j: int) -> Tile:
        return self.blocks[i * len(self.in_splits) + j]  # type: ignore[return-value]

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
    @property
    def weight(self) -> torch.Tensor:
        """The effective weight ``α m W̄`` (W̄ without output scales) shaped like the torch layer's weight
        (a copy; read-only: programming it is :meth:`set_weights`)."""
        return self.get_weights()[0]

    def get_weights(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(weight, bias or None)``, copies, as the layer computes with them (overridden for the layer's
        shape)."""
        return self.get_matrix_weights()

    def output_scale(self) -> Optional[torch.Tensor]:
        """The product of the digital output scales ``α m`` (``[out_size]`` or ``[1]``; differentiable in
        ``α``), or None when the layer has none."""
        m, alpha = self.mapping_scales, self.out_scaling_alpha
        if m is None:
            return alpha
        return m if alpha is None else m * alpha

    def scale_output(self, y: torch.Tensor) -> torch.Tensor:
        """``α ⊙ (m ⊙ y)`` for the analog output ``y[m, out_size]`` (``y`` itself without scales).

        Ordinary torch: the gradient reaches ``α`` and flows on (times ``α m``) into the layer op.
        """
        if self.mapping_scales is not None:
            y = y * self.mapping_scales
        if self.out_scaling_alpha is not None:
            y = y * self.out_scaling_alpha
        return y

    def _get_matrix(self) -> torch.Tensor:
        """The full block matrix ``[out_size, in_size (+1 analog bias column)]`` (a copy)."""
        rows = []
        for i in range(len(self.out_splits)):
            rows.append(torch.cat([self._block(i, j).get_weights()[0] for j in range(len(self.in_splits))], dim=1))
        return torch.cat(rows, dim=0)

    @torch.no_grad()
    def get_matrix_weights(self) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(W[out_size, in_size], bias[out_size] or None)``, copies: the effective weight ``α m W̄`` (and
        the analog bias column scaled alike; a digital bias as it is)."""
        m = self._get_matrix()
        scale = self.output_scale()
        if scale is not None:
            m = m * scale.detach().reshape(-1, 1)
        if self.analog_bias:
            return m[:, :-1].contiguous(), m[:, -1].contiguous()
        return m, (self.bias.detach().clone() if self.bias is not None else None)

    @torch.no_grad()
    def set_matrix_weights(self, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> None:
        """Program the effective weight ``W[out_size, in_size]`` (and the bias, if given) into the blocks.

        With ``mapping.weight_scaling_omega = ω > 0`` the blocks receive ``W/m`` and the mapping scales
        become ``m = max|W|/ω`` (per row with ``weight_scaling_columnwise``; the analog bias column
        counts; 1 where the maximum is 0). A learned output scale is reset to 1. All checks run before
        any block changes. ``bias=None`` keeps the current bias (as an effective value).
        """
        name = f"{type(self).__name__}.set_weights"
        self._check_matrix(weight, bias, name)
        weight = weight.detach().to(self.device, self.dtype)
        if self.analog_bias:
            column = bias.detach().to(self.device, self.dtype) if bias is not None else \
                self.get_matrix_weights()[1]
            weight = torch.cat([weight, column.reshape(-1, 1)], dim=1)
        if self.mapping_scales is not None:
            scales = remap_scales(weight, self.mapping.weight_scaling_omega, self.mapping.weight_scaling_columnwise)
            weight = weight / scales.reshape(-1, 1)
            self.mapping_scales.copy_(scales)
        if self.out_scaling_alpha is not None:
            self.out_scaling_alpha.fill_(1.0)
        for i, (o0, o1) in enumerate(self._bounds(self.out_splits)):
            for j, (i0, i1) in enumerate(self._bounds(self.in_splits)):
                self._block(i, j).set_weights(weight[o0:o1, i0:i1])
        if bias is not None and self.bias is not None:
            self.bias.copy_(bias)

    def _check_matrix(self, weight: Any, bias: Any, name: str) -> None:
        check_weights(name, "weight", weight, (self.out_size, self.in_size))
        has_bias = self.analog_bias or self.bias is not None
        if bias is not None:
            if not has_bias:
                raise ValueError(f"{name}: bias must be None for a layer without bias; got a tensor")
            check_weights(name, "bias", bias, (self.out_size,))

    # --- device processes (analog-tile.md §3.5: applied only on request) ----------------------------
    @torch.no_grad()
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Decay the weights of every block towards the cells' reset bias (``AnalogTile.decay_weights``);
        a no-op for device models without ``lifetime``."""
        self._on_every_block("decay_weights", alpha)

    @torch.no_grad()
    def diffuse_weights(self, alpha: float = 1.0) -> None:
        """Add the device model's diffusion noise to the weights of every block
        (``AnalogTile.diffuse_weights``); a no-op for device models without ``diffusion``."""
        self._on_every_block("diffuse_weights", alpha)

    def _on_every_block(self, method: str, alpha: float) -> None:
        _update.check_process_alpha(alpha, f"{type(self).__name__}.{method}")  # before any block changes
        for block in self.blocks:
            getattr(block, method)(alpha)

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
                    self._block(i, j).reset_columns(mask[i0:i1])

    # --- autograd entry ------------------------------------------------------------------------
    def _op_state(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """The tensors the layer ops read and write: every block's visible weight, RNG call counter and
        noise-management running maxima."""
        blocks = list(self.blocks)
        return ([b.weight for b in blocks], [b.rng_counter for b in blocks], [b.nm_running_max for b in blocks])

    def analog_matmul(self, x: torch.Tensor) -> torch.Tensor:
        """``y[m, out_size]`` for ``x[m, in_size]`` through the layer's blocks (differentiable)."""
        weights, counters, nm_states = self._op_state()
        # What a checkpoint's recomputation may need (inside torch.compile the compiler never recomputes
        # the op; without grad only reentrant checkpointing can, and only the latest forward).
        if torch.compiler.is_compiling():
            log = LOG_NONE
        else:
            log = LOG_ALL if torch.is_grad_enabled() else LOG_LATEST
        return AnalogMatmul.apply(x, self.analog_ctx, self._handle, self.out_size, weights, counters, nm_states,
                                  self.record_count, log)

    # --- the analog passes (run inside the layer ops, on the tensors the ops were given) --------------
    def _with_bias_line(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x.new_ones((x.shape[0], 1))], dim=1) if self.analog_bias else x

    def _forward_op(self, x: torch.Tensor, weights: list[torch.Tensor], counters: list[torch.Tensor],
                    nm_states: list[torch.Tensor], log: int) -> torch.Tensor:
        """``y[m, out] = W x`` through the blocks (summing the partial outputs of input blocks).

        A forward recomputed inside a backward pass (activation checkpointing) is replayed from its
        log entry: same counter values and noise-management maxima, no state changed.
        """
        # Checked here, not only by each block: a layer of several blocks must fail before the first
        # block's RNG counter moves. (Skipped with xbarsim.ops.set_input_checks(False).)
        check_finite(type(self).__name__, "input", x)
        self._drop_stale_records()
        if self.eval_noise_free and not self.training:
            return self._perfect_read(self._with_bias_line(x.contiguous()), weights, count=True)
        if in_backward_pass():
            entry = self._forward_log.find(x)
            if entry is not None:
                return self._replay(x, entry, weights)
        if log != LOG_NONE:
            noisy_nm = any(b.config.forward.noise_management == "average_abs_max" for b in self.blocks)
            self._forward_log.push(LoggedForward(x.detach(), [int(c) for c in counters],
                                                 [s.clone() for s in nm_states] if noisy_nm else None), log)
        return self._forward_reads(self._with_bias_line(x.contiguous()), weights, counters, nm_states)

    def _replay(self, x: torch.Tensor, entry: LoggedForward, weights: list[torch.Tensor]) -> torch.Tensor:
        counters = [torch.tensor(c, dtype=torch.int64) for c in entry.calls]
        nm_states = [s.clone() for s in entry.nm_states] if entry.nm_states is not None else \
            [b.nm_running_max.clone() for b in self.blocks]
        # A replay changes no state: its reads are not counted again.
        return self._forward_reads(self._with_bias_line(x.contiguous()), weights, counters, nm_states, count=False)

    def _forward_reads(self, x: torch.Tensor, weights: list[torch.Tensor], counters: list[torch.Tensor],
                       nm_states: list[torch.Tensor], count: bool = True) -> torch.Tensor:
        in_bounds = self._bounds(self.in_splits)
        outs = []
        for i in range(len(self.out_splits)):
            acc = None
            for j, (i0, i1) in enumerate(in_bounds):
                k = i * len(in_bounds) + j
                xj = x if len(in_bounds) == 1 else x[:, i0:i1].contiguous()
                block = self.blocks[k]
                y = counted_read(block.config.forward, xj, weights[k], seed=block.seed, counter=counters[k],
                                 nm_state=nm_states[k][0:1], transpose=False,
                                 op_counts=block.op_counts if count else None)
                acc = y if acc is None else acc + y
            outs.append(acc)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    def _perfect_read(self, x: torch.Tensor, weights: list[torch.Tensor], count: bool = False) -> torch.Tensor:
        """Noise-free evaluation read: ``out_scale · W x`` exactly (analog-tile.md §1.5, §1.8); with
        ``count``, one perfect MVM per block for the blocks' operation counters."""
        if count:
            for block in self.blocks:
                if block.op_counts is not None:
                    _op_counts.count_read(block.op_counts, None, False,
                                          [x.shape[0]], block.in_size, block.out_size)
        rows = [torch.cat([weights[i * len(self.in_splits) + j] for j in range(len(self.in_splits))], dim=1)
                for i in range(len(self.out_splits))]
        y = torch.nn.functional.linear(x, torch.cat(rows, dim=0))
        scale = self.config.forward.out_scale
        return y if scale == 1.0 else y * scale

    def _backward_op(self, d: torch.Tensor, x: torch.Tensor, weights: list[torch.Tensor],
                     counters: list[torch.Tensor], nm_states: list[torch.Tensor], record_count: torch.Tensor,
                     need_grad_input: bool, copy_record: bool = False) -> torch.Tensor:
        """``Wᵀ d`` through the blocks (empty without ``need_grad_input``); records ``(x, d)``.

        Both halves of a record are validated when they arrive (x by the forward, d here), so the
        optimizer can apply every layer's batch without re-reading them.
        """
        check_finite(type(self).__name__ + ".backward", "grad_output", d)
        d = d.contiguous()
        grad_input = self._backward_reads(d, weights, counters, nm_states) if need_grad_input else x.new_empty((0,))
        self._records.append((x.clone(), d.clone()) if copy_record else (x, d))
        record_count.add_(1)
        self._forward_log.forget(x)
        return grad_input

    def _backward_reads(self, d: torch.Tensor, weights: list[torch.Tensor], counters: list[torch.Tensor],
                        nm_states: list[torch.Tensor]) -> torch.Tensor:
        out_bounds = self._bounds(self.out_splits)
        parts = []
        for j in range(len(self.in_splits)):
            acc = None
            for i, (o0, o1) in enumerate(out_bounds):
                k = i * len(self.in_splits) + j
                di = d if len(out_bounds) == 1 else d[:, o0:o1].contiguous()
                block = self.blocks[k]
                z = counted_read(block.config.backward.for_backward(), di, weights[k], seed=block.seed,
                                 counter=counters[k], nm_state=nm_states[k][1:2], transpose=True,
                                 op_counts=block.op_counts)
                acc = z if acc is None else acc + z
            parts.append(acc)
        grad_input = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return grad_input[:, :-1].contiguous() if self.analog_bias else grad_input

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
        """Discard the recorded batch and the log of forwards waiting for a backward."""
        self._records = []
        self._forward_log.clear()

    def recorded_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The recorded ``(x[m, in_size], d[m, out_size])``, batches concatenated in backward order."""
        self._drop_stale_records()
        if not self._records:
            raise RuntimeError(f"{type(self).__name__}: no recorded batch; run loss.backward() first")
        if len(self._records) == 1:
            return self._records[0]
        return (torch.cat([r[0] for r in self._records]), torch.cat([r[1] for r in self._records]))

    def apply_update(self, lr: float) -> None:
        """Apply the recorded batch to every block: ``block.update(x, d, lr)`` (analog-tile.md §2).

        With ``pulse_type="none"`` this is exactly ``W̄ ← W̄ − lr · dᵀ x`` (summed over the batch), with
        ``d/m²`` in place of ``d`` where the layer has mapping scales ``m``.
        """
        x, d = self.recorded_batch()
        x = self._with_bias_line(x)
        if self.mapping_scales is not None:
            # d is the gradient at u = W̄x, i.e. m ⊙ (gradient at m ⊙ u); aihwkit updates with the
            # latter divided by m (pre_update), which is d / m².
            d = d / (self.mapping_scales * self.mapping_scales)
        in_bounds, out_bounds = self._bounds(self.in_splits), self._bounds(self.out_splits)
        for i, (o0, o1) in enumerate(out_bounds):
            di = d if len(out_bounds) == 1 else d[:, o0:o1].contiguous()
            for j, (i0, i1) in enumerate(in_bounds):
                xj = x if len(in_bounds) == 1 else x[:, i0:i1].contiguous()
                self._block(i, j).update(xj, di, lr)

    # --- checkpoints ---------------------------------------------------------------------------
    def _layer_state(self) -> dict:
        def shape(t: Optional[torch.Tensor]) -> Optional[list[int]]:
            return None if t is None else list(t.shape)

        return {"version": _LAYER_STATE_VERSION, "kind": type(self).__name__, "in_size": self.in_size,
                "out_size": self.out_size, "analog_bias": self.analog_bias,
                "digital_bias": self.bias is not None, "in_splits": list(self.in_splits),
                "out_splits": list(self.out_splits), "mapping": self.mapping.to_dict(),
                "mapping_scales": shape(self.mapping_scales), "out_scaling_alpha": shape(self.out_scaling_alpha)}

    def get_extra_state(self) -> dict:
        return self._layer_state()

    def set_extra_state(self, state: dict) -> None:
        problems = self.checkpoint_mismatches(state_layer=state)
        if problems:
            raise CheckpointMismatchError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))

    def checkpoint_mismatches(self, state_dict: dict | None = None, prefix: str = "",
                              state_layer: dict | None = None, *, tiles: bool = True) -> list[str]:
        """Every way a checkpoint's entries for this layer differ from this layer (empty if none).

        Compares the layer layout (and its format version) and (with ``tiles``) each block's config
        field by field, so that a checkpoint from another configuration is rejected with the fields
        named before anything loads.
        """
        problems: list[str] = []
        if state_layer is None and state_dict is not None:
            state_layer = state_dict.get(prefix + "_extra_state")
        if state_layer is not None:
            ours = self._layer_state()
            state_layer = _upgrade_layer_state(state_layer)
            for key in sorted(set(ours) | set(state_layer)):
                if ours.get(key) != state_layer.get(key):
                    problems.append(f"{prefix}{key}: checkpoint {state_layer.get(key)!r}, model {ours.get(key)!r}")
        if state_dict is not None and tiles:
            for k, block in enumerate(self.blocks):
                problems += tile_checkpoint_mismatches(block, state_dict, f"{prefix}blocks.{k}.")
        return problems

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # Runs before the blocks load theirs: reject a foreign configuration with every field named.
        problems = self.checkpoint_mismatches(state_dict, prefix)
        if problems:
            raise CheckpointMismatchError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        self._records = []
        self._forward_log.clear()
        _CTX_OWNER[self.analog_ctx] = weakref.ref(self)  # assign=True replaces the parameter

    def _extra_repr_common(self) -> str:
        parts = []
        if self.mapping_scales is not None:
            parts.append(f"weight_scaling_omega={self.mapping.weight_scaling_omega}")
        if self.out_scaling_alpha is not None:
            parts.append("learn_out_scaling=True")
        if self.analog_bias:
            parts.append("analog_bias=True")
        if len(self.blocks) > 1:
            parts.append(f"blocks={len(self.out_splits)}x{len(self.in_splits)}")
        if self.eval_noise_free:
            parts.append("eval_noise_free=True")
        return ", ".join(parts)


def remap_scales(weight: torch.Tensor, omega: float, columnwise: bool) -> torch.Tensor:
    """Mapping scales of ``weight[out, lines]`` for ω > 0: ``max_j |W_ij| / ω`` per row
    (``columnwise``) or ``max |W| / ω`` as a ``[1]`` tensor; 1 where the maximum is 0.

    Spec: experiments.md §0 (mapping); aihwkit 0.9.2 ``TileWithPeriphery.apply_weight_scaling``.
    """
    if columnwise:
        peak = weight.abs().amax(dim=1)
    else:
        peak = weight.abs().amax().reshape(1)
    scales = peak / omega
    return torch.where(scales == 0, torch.ones_like(scales), scales)


def _upgrade_layer_state(state: dict) -> dict:
    """A checkpoint's layer layout in the current form: layouts written before the output scales
    existed have no scale entries and a mapping without the scale fields (all off)."""
    if not isinstance(state, dict) or "mapping_scales" in state:
        return state
    state = dict(state, mapping_scales=None, out_scaling_alpha=None)
    mapping = state.get("mapping")
    if isinstance(mapping, dict):
        try:
            state["mapping"] = MappingConfig.from_dict(mapping).to_dict()
        except (TypeError, ValueError):
            pass  # reported as a mismatch by the comparison
    return state


__all__ += ["dict_diff", "tile_checkpoint_mismatches", "remap_scales"]
