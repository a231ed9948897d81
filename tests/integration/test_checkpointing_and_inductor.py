"""Analog layers under activation checkpointing and the default torch.compile backend (inductor).

The layer ops are state-honest (every tensor they write is a declared mutated argument) and a forward
recomputed inside the backward pass is replayed from its log, so:

* ``torch.utils.checkpoint`` around analog layers gives the same outputs, gradients, recorded batches
  and following pulsed update as without it, bit for bit;
* ``torch.compile`` with inductor gives the eager results bit for bit for a noisy, pulsed model over
  several steps, in one graph and without recompiling as the RNG counters advance.

Spec: STYLE.md §3 "Torch custom ops"; docs/frontend.md.
"""
from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.checkpoint import checkpoint

import xbarsim
from xbarsim.optim import AnalogSGD

from _frontend import softbounds_config


def _noisy_model(seed: int = 0, digital_bias: bool = True) -> torch.nn.Module:
    """Default (noisy) IO, average_abs_max noise management on the conv (a running state the forward
    writes), pulsed updates on 16-state SoftBounds devices."""
    conv_cfg = softbounds_config(16, forward=xbarsim.IOConfig(noise_management="average_abs_max"))
    kw = dict(digital_bias=digital_bias)
    return torch.nn.Sequential(
        xbarsim.nn.AnalogConv2d(2, 3, 3, config=conv_cfg, seed=seed, **kw),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        xbarsim.nn.AnalogLinear(3 * 4 * 4, 8, config=softbounds_config(16), seed=seed + 1, **kw),
        torch.nn.ReLU(),
        xbarsim.nn.AnalogLinear(8, 4, config=softbounds_config(16), seed=seed + 2, **kw),
    )


def _batches(steps: int):
    gen = torch.Generator().manual_seed(3)
    return [torch.rand(5, 2, 6, 6, generator=gen) for _ in range(steps)]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _train(model: torch.nn.Module, forward, steps: int = 3):
    """``steps`` training steps; returns per step (output, input gradient, recorded batches)."""
    opt = AnalogSGD(model.parameters(), lr=0.05)
    trace = []
    for x in _batches(steps):
        x = x.requires_grad_(True)
        opt.zero_grad()
        y = forward(x)
        y.square().sum().backward()
        records = [tuple(t.clone() for t in layer.recorded_batch())
                   for _, layer in xbarsim.nn.analog_layers(model)]
        trace.append((y.detach().clone(), x.grad.clone(), records))
        opt.step()
    return trace


def _assert_same_trace(a, b) -> None:
    for (ya, ga, ra), (yb, gb, rb) in zip(a, b):
        assert torch.equal(ya, yb) and torch.equal(ga, gb)
        for (xa, da), (xb, db) in zip(ra, rb):
            assert torch.equal(xa, xb) and torch.equal(da, db)


def test_activation_checkpointing_reproduces_outputs_gradients_and_updates():
    plain = _noisy_model()
    ckpt = copy.deepcopy(plain)
    head, tail = ckpt[:4], ckpt[4:]

    def checkpointed(x):
        # The first three layers (two analog ones) are recomputed during the backward pass.
        return tail(checkpoint(head, x, use_reentrant=False))

    a = _train(plain, plain)
    b = _train(ckpt, checkpointed)
    _assert_same_trace(a, b)
    _assert_same_state(plain, ckpt)  # weights after the pulsed updates, counters, maxima


def test_reentrant_checkpointing_too():
    plain = _noisy_model(seed=5)
    ckpt = copy.deepcopy(plain)

    def checkpointed(x):
        return checkpoint(ckpt, x, use_reentrant=True)

    _assert_same_trace(_train(plain, plain), _train(ckpt, checkpointed))
    _assert_same_state(plain, ckpt)


def test_a_recomputed_forward_changes_no_state():
    model = _noisy_model(seed=7)
    x = torch.rand(5, 2, 6, 6, requires_grad=True)
    y = checkpoint(model, x, use_reentrant=False)
    before = _state(model)
    y.sum().backward()  # recomputes the forward, then runs the backward reads
    after = _state(model)
    for name, layer in xbarsim.nn.analog_layers(model):
        for k, block in enumerate(layer.blocks):
            key = f"{name}.blocks.{k}.rng_counter"
            assert int(after[key]) == int(before[key]) + 1  # the backward read only
    for key in before:
        if "nm_running_max" in key:
            assert torch.equal(before[key][0], after[key][0])  # the forward maxima are not updated again


@pytest.mark.slow
def test_inductor_equals_eager_bit_for_bit_without_graph_breaks_or_recompiles():
    torch._dynamo.reset()
    # Biases in the tiles (analog bias lines): a digital bias's gradient is a sum over the batch, which
    # inductor may add in another order than eager torch (that is torch's arithmetic, not xbarsim's).
    eager = _noisy_model(seed=11, digital_bias=False)
    compiled_model = copy.deepcopy(eager)
    frames = []

    def count_frames(gm, example_inputs):
        frames.append(gm)
        from torch._inductor.compile_fx import compile_fx

        return compile_fx(gm, example_inputs)

    step = torch.compile(compiled_model, backend=count_frames, fullgraph=True)
    a = _train(eager, eager, steps=4)
    b = _train(compiled_model, step, steps=4)
    assert len(frames) == 1  # one graph for all steps: counters are tensors, never guarded on
    _assert_same_trace(a, b)
    _assert_same_state(eager, compiled_model)
