"""Analog models under torch.compile: no graph breaks, same results and recorded batches as eager.

Spec: STYLE.md §3 "Torch custom ops" (fake kernels; compose with torch.compile).
"""
from __future__ import annotations

import copy

import torch

import xbarsim
from xbarsim.models import lenet5
from xbarsim.optim import AnalogSGD

from _frontend import ideal_config, softbounds_config


def _loss_fn(model):
    def loss(x, y):
        return torch.nn.functional.nll_loss(model(x), y)
    return loss


def test_compiled_forward_and_backward_have_no_graph_breaks_and_match_eager():
    torch.manual_seed(0)
    eager = lenet5(ideal_config(), seed=0)
    compiled_model = copy.deepcopy(eager)
    opt_e = AnalogSGD(eager.parameters(), lr=0.05)
    opt_c = AnalogSGD(compiled_model.parameters(), lr=0.05)
    # fullgraph=True turns any graph break into an error; aot_eager traces forward and backward
    # through the fake kernels without inductor's code generation (slow on small CPUs)
    step = torch.compile(_loss_fn(compiled_model), fullgraph=True, backend="aot_eager")
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        x, y = torch.rand(4, 1, 28, 28, generator=gen), torch.randint(0, 10, (4,), generator=gen)
        opt_e.zero_grad()
        opt_c.zero_grad()
        loss_e = _loss_fn(eager)(x, y)
        loss_c = step(x, y)
        loss_e.backward()
        loss_c.backward()
        torch.testing.assert_close(loss_c, loss_e, rtol=1e-6, atol=1e-6)
        assert compiled_model.conv1.analog_ctx.grad.item() == 1.0 and compiled_model.conv1.has_recorded_batch()
        opt_e.step()
        opt_c.step()
    for (name, a), b in zip(eager.state_dict().items(), compiled_model.state_dict().values()):
        if isinstance(a, torch.Tensor):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=name)


def test_explain_reports_one_graph_for_a_noisy_pulsed_model():
    model = torch.nn.Sequential(xbarsim.nn.AnalogLinear(8, 6, config=softbounds_config(16), seed=1), torch.nn.Tanh(),
                                xbarsim.nn.AnalogConv1d(1, 2, 3, config=softbounds_config(16), seed=2))

    def f(x):
        return model(x.unsqueeze(1)).square().sum()

    explanation = torch._dynamo.explain(f)(torch.rand(3, 8))
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1


def test_compiled_model_does_not_recompile_across_steps():
    torch._dynamo.reset()
    model = torch.nn.Sequential(xbarsim.nn.AnalogLinear(8, 6, config=softbounds_config(16), seed=1))
    opt = AnalogSGD(model.parameters(), lr=0.1)
    counts = []

    def backend(gm, example_inputs):
        counts.append(1)
        return gm.forward

    step = torch.compile(lambda x: model(x).square().sum(), backend=backend, fullgraph=True)
    for _ in range(4):  # the tiles' RNG counters advance every step: they must not be guarded on
        opt.zero_grad()
        step(torch.rand(5, 8)).backward()
        opt.step()
    assert len(counts) == 1
