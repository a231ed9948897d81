"""AnalogSGD and AnalogOptimizer: torch optimizers for models with analog layers.

Digital parameters (biases, BatchNorm, digital layers) are stepped by an ordinary torch optimizer;
analog layers get the pulsed update of their tiles from the batch recorded by the last backward
pass, ``tile.update(x, d, lr)`` with the ``lr`` of the parameter group that holds the layer's
placeholder parameter ``analog_ctx``. Learning-rate schedulers change ``param_group["lr"]`` and
therefore act on both. Momentum, dampening, Nesterov and weight decay are digital-only: the
analog update is the tiles' pulsed SGD rule (analog-tile.md §2), as in aihwkit's AnalogSGD.

``zero_grad`` discards the recorded batches with the gradients; ``step`` applies them (and, as
torch applies ``.grad``, applies them again if called twice without a new backward pass).

Spec: experiments.md §0 "Optimizer"; analog-tile.md §2.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import torch

from ..nn.base import AnalogLayerBase, analog_layer_of

__all__ = ["AnalogOptimizer", "AnalogSGD"]


class AnalogOptimizer(torch.optim.Optimizer):
    """Wrap any torch optimizer class for the digital parameters and add the analog update.

    Args:
        optimizer_cls: a ``torch.optim.Optimizer`` subclass (``torch.optim.Adam``, ...). Optimizers
            that re-evaluate the closure several times per step (``LBFGS``) are not supported.
        params: the model's parameters (or parameter groups), analog placeholders included
            (``model.parameters()``).
        **kwargs: the optimizer's options (``lr=...``).

    Attributes:
        optimizer: the wrapped optimizer instance; ``param_groups``, ``state`` and ``defaults`` are
            its own (shared, not copied), so schedulers and checkpoints see one optimizer.

    Raises:
        RuntimeError: from :meth:`step` if no backward pass left a gradient (no analog layer has a
            recorded batch and no digital parameter has a ``.grad``); nothing changes then. (Recorded
            batches are checked for NaN/inf when they are recorded, so a step cannot fail halfway.)

    Examples::

        >>> opt = xbarsim.optim.AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=1e-3)
        >>> loss_fn(model(x), y).backward(); opt.step(); opt.zero_grad()
    """

    def __init__(self, optimizer_cls: type, params: Iterable[Any], **kwargs: Any) -> None:
        name = type(self).__name__
        if not (isinstance(optimizer_cls, type) and issubclass(optimizer_cls, torch.optim.Optimizer)):
            raise TypeError(f"{name}: optimizer_cls must be a torch.optim.Optimizer subclass; got {optimizer_cls!r}")
        if issubclass(optimizer_cls, AnalogOptimizer):
            raise TypeError(f"{name}: optimizer_cls must be a digital torch optimizer; got {optimizer_cls.__name__}")
        if issubclass(optimizer_cls, torch.optim.LBFGS):
            raise TypeError(f"{name}: optimizer_cls must evaluate the closure at most once per step; "
                            "got LBFGS")
        inner = optimizer_cls(params, **kwargs)
        self._inner: Optional[torch.optim.Optimizer] = None  # until set, the attributes below are our own
        super().__init__(inner.param_groups, inner.defaults)
        self._inner = inner

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        assert self._inner is not None
        return self._inner

    # param_groups, state and defaults are the wrapped optimizer's (also after its load_state_dict,
    # which replaces them), so schedulers and checkpoints see one optimizer.
    def _shared(name: str):  # type: ignore[misc]
        def get(self):
            inner = self.__dict__.get("_inner")
            return getattr(inner, name) if inner is not None else self.__dict__["_own_" + name]

        def set(self, value):
            inner = self.__dict__.get("_inner")
            if inner is not None:
                setattr(inner, name, value)
            else:
                self.__dict__["_own_" + name] = value
        return property(get, set)

    param_groups = _shared("param_groups")
    state = _shared("state")
    defaults = _shared("defaults")
    del _shared

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self._inner is None:
            super().add_param_group(param_group)
        else:
            self._inner.add_param_group(param_group)

    # --- the analog side ------------------------------------------------------------------------
    def analog_layers(self) -> list[tuple[AnalogLayerBase, dict]]:
        """``(layer, param_group)`` for every analog layer whose placeholder this optimizer holds."""
        out = []
        for group in self.param_groups:
            for p in group["params"]:
                layer = analog_layer_of(p)
                if layer is not None:
                    out.append((layer, group))
        return out

    @staticmethod
    def _analog_lr(group: dict) -> float:
        lr = group["lr"]
        lr = float(lr.item()) if isinstance(lr, torch.Tensor) else float(lr)
        return -lr if group.get("maximize", False) else lr

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:  # type: ignore[override]
        """Apply the analog updates, then step the digital parameters.

        Args:
            closure: re-evaluates the model and returns the loss (evaluated once, with grad enabled).
        """
        name = type(self).__name__
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        layers = self.analog_layers()
        recorded = [(layer, group) for layer, group in layers if layer.has_recorded_batch()]
        ctx_params = {id(layer.analog_ctx) for layer, _ in layers}
        digital_grads = any(p.grad is not None for g in self.param_groups for p in g["params"]
                            if id(p) not in ctx_params)
        if not recorded and not digital_grads:
            raise RuntimeError(f"{name}.step: no gradients: call loss.backward() before step() (no analog layer "
                               "has a recorded batch and no parameter has a .grad)")
        for layer, group in recorded:
            layer.apply_update(self._analog_lr(group))
        # The placeholders are not digital parameters: hide their gradient (a batch count) from the
        # wrapped optimizer so that it neither moves them nor allocates state for them.
        hidden = [(layer.analog_ctx, layer.analog_ctx.grad) for layer, _ in layers]
        for p, _ in hidden:
            p.grad = None
        try:
            if digital_grads:
                self.optimizer.step()
        finally:
            for p, grad in hidden:
                p.grad = grad
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters and discard the analog layers' recorded batches."""
        self.optimizer.zero_grad(set_to_none=set_to_none)
        for layer, _ in self.analog_layers():
            layer.clear_recorded_batch()

    def __getstate__(self) -> dict[str, Any]:  # pickle / deepcopy: the wrapped optimizer carries everything
        return {"_inner": self._inner}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__["_inner"] = state["_inner"]
        super().__setstate__({})  # re-creates the hook dicts and re-patches step

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.optimizer!r})"


class AnalogSGD(AnalogOptimizer):
    """SGD for models with analog layers: ``torch.optim.SGD`` for digital parameters, pulsed SGD on tiles.

    Arguments are ``torch.optim.SGD``'s. The analog tiles use ``lr`` only (with the sign flipped by
    ``maximize``); ``momentum``, ``dampening``, ``nesterov`` and ``weight_decay`` act on the digital
    parameters only.

    Spec: experiments.md §0 "Optimizer" (aihwkit AnalogSGD).

    Examples::

        >>> opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.1)
        >>> sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5)
    """

    def __init__(self, params: Iterable[Any], lr: float | torch.Tensor = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(torch.optim.SGD, params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov, maximize=maximize, foreach=foreach,
                         differentiable=differentiable, fused=fused)
