"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from gradlite.optim.optimizer import Optimizer, check
from gradlite.tensor import _make


class SGD(Optimizer):
    """``p -= lr * g`` with optional heavy-ball or Nesterov momentum, as ``torch.optim.SGD``."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        check(group["lr"], "learning rate")
        check(group["momentum"], "momentum value")
        check(group["weight_decay"], "weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, g, state, group) -> None:
        if group["maximize"]:
            g = -g
        wd, momentum = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p._data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                xp = p._device.backend.xp
                # the first step stores the gradient itself (no dampening), as PyTorch
                buf = state["momentum_buffer"] = _make(xp.asarray(g, copy=True), p._device)
            else:
                buf._data[...] = buf._data * momentum + (1 - group["dampening"]) * g
            g = g + momentum * buf._data if group["nesterov"] else buf._data
        p._data[...] = p._data + (-group["lr"]) * g
