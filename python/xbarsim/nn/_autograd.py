"""The autograd path of the analog layers, and what makes it safe to recompute.

:class:`AnalogMatmul` is the one differentiable op of every analog layer: its forward runs the
state-honest custom op ``xbarsim::layer_forward_`` (analog forward reads of every block), its
backward ``xbarsim::layer_backward_`` (analog backward reads for the input gradient, and the
recording of ``(x, d)`` for the optimizer). The ops mutate their inputs (the blocks' RNG counters and
noise-management maxima, the layer's record counter), so they cannot carry a registered autograd
formula; an ``autograd.Function`` around them is what torch offers for that, and ``torch.compile``
traces it (forward and backward) into one graph.

Activation checkpointing (``torch.utils.checkpoint``) runs a layer's forward a second time inside
the backward pass. Drawing new noise then would give other activations than the ones the loss saw
(and other gradients); advancing the counters again would shift every later draw. :class:`ForwardLog`
remembers, for each forward still waiting for its backward, the counter values and the
noise-management maxima it started from, so that a recomputation reproduces it bit for bit and
changes no state.

Spec: docs/frontend.md (how an analog layer trains); analog-tile.md §4 (RNG numbering).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from ..ops import _library

__all__ = ["AnalogMatmul", "ForwardLog", "LoggedForward", "in_backward_pass", "LOG_NONE", "LOG_ALL", "LOG_LATEST"]


def in_backward_pass() -> bool:
    """True while the autograd engine runs a backward pass on this thread (where checkpointing
    recomputes forwards)."""
    return torch._C._current_graph_task_id() != -1


@dataclass(eq=False)
class LoggedForward:
    """What a forward started from: its input (detached: the log must not keep autograd graphs alive),
    the blocks' counter values and (when noise management keeps running maxima) copies of the maxima."""

    x: torch.Tensor
    calls: list[int]
    nm_states: Optional[list[torch.Tensor]]
    latest_only: bool = False


#: Values of the layer ops' ``log`` argument: what to remember of a forward for a recomputation.
LOG_NONE = 0  # nothing (inside torch.compile: the compiler never recomputes the op)
LOG_ALL = 1  # grad mode: every forward waiting for its backward
LOG_LATEST = 2  # no-grad mode: only the latest (reentrant checkpointing runs its forward without grad)


class ForwardLog:
    """The forwards of one layer whose backward has not run yet (at most ``capacity``, oldest dropped).

    A forward is found again by its input: the same memory (while the log holds an input, no other
    tensor can have its address with another content), or, for a recomputed input, a tensor with equal
    shape, dtype, device and values.
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self.entries: list[LoggedForward] = []

    def push(self, entry: LoggedForward, mode: int = LOG_ALL) -> None:
        """Remember ``entry``; with ``LOG_LATEST`` it replaces the earlier no-grad entries (so that an
        evaluation loop without grad keeps one input per layer alive, not ``capacity``)."""
        entry.latest_only = mode == LOG_LATEST
        if entry.latest_only:
            self.entries = [e for e in self.entries if not e.latest_only]
        self.entries.append(entry)
        if len(self.entries) > self.capacity:
            del self.entries[0]

    def find(self, x: torch.Tensor) -> Optional[LoggedForward]:
        key = _memory_key(x)
        for entry in self.entries:
            if _memory_key(entry.x) == key:
                return entry
        for entry in self.entries:
            e = entry.x
            if e.shape == x.shape and e.dtype == x.dtype and e.device == x.device and torch.equal(e, x):
                return entry
        return None

    def forget(self, x: torch.Tensor) -> None:
        entry = self.find(x)
        if entry is not None:
            self.entries = [e for e in self.entries if e is not entry]

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


def _memory_key(t: torch.Tensor) -> tuple:
    return (t.data_ptr(), t.device, t.dtype, tuple(t.shape), tuple(t.stride()))


def _eager(t: torch.Tensor) -> bool:
    """True for a plain tensor outside torch.compile/export tracing: the layer's op implementation is
    then called directly. Through the custom-op dispatcher it is the same function, plus the
    dispatcher's schema binding and version bumps of the mutated counters: a few hundred µs per
    forward + backward pair on the development VM, about a sixth of the MLP step. Traced calls (FakeTensors, functional tensors, dynamo) go through the registered
    op, whose declared mutations the compiler needs."""
    return type(t) is torch.Tensor and not torch.compiler.is_compiling()


class AnalogMatmul(torch.autograd.Function):
    """``y[m, out] = W x`` through a layer's blocks; backward ``W^T d`` and the update record."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, anchor: torch.Tensor, handle: int, out_size: int,
                weights: list[torch.Tensor], counters: list[torch.Tensor], nm_states: list[torch.Tensor],
                record_count: torch.Tensor, log: int) -> torch.Tensor:
        if _eager(x):
            y = _library.lookup_layer(handle)._forward_op(x, weights, counters, nm_states, log)
        else:
            y = _library.layer_forward_(x, weights, counters, nm_states, handle, out_size, log)
        ctx.save_for_backward(x, *weights)
        ctx.handle = handle
        ctx.counters = counters
        ctx.nm_states = nm_states
        ctx.record_count = record_count
        # Inside a compiled graph the compiler reuses the memory of x and d once the op returned, so the
        # recorded batch must be a copy there (in eager mode autograd's own references keep them intact).
        ctx.copy_record = log == LOG_NONE
        return y

    @staticmethod
    def backward(ctx: Any, grad_y: torch.Tensor):  # type: ignore[override]
        x, *weights = ctx.saved_tensors
        need_grad_input = bool(ctx.needs_input_grad[0])
        args = (grad_y, x, list(weights), list(ctx.counters), list(ctx.nm_states), ctx.record_count)
        if _eager(grad_y):
            grad_x = _library.lookup_layer(ctx.handle)._backward_op(*args, need_grad_input, ctx.copy_record)
        else:
            grad_x = _library.layer_backward_(*args, ctx.handle, need_grad_input, ctx.copy_record)
        # The placeholder's gradient counts the batches recorded since the last zero_grad.
        grad_anchor = torch.ones((), dtype=grad_y.dtype, device=grad_y.device)
        return (grad_x if need_grad_input else None), grad_anchor, None, None, None, None, None, None, None
