"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from gradlite.optim.optimizer import Optimizer, check, state_tensor


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
        k = p._device.backend.kernels  # each update one fused kernel on CuPy (backends/_kernels.py)
        if momentum == 0:
            k.sgd_step(p._data, g, -group["lr"])
            return
        buf = state.get("momentum_buffer")
        if buf is None:
            # the first step stores the gradient itself (no dampening), as PyTorch: buf * 0 + 1 * g
            buf = state["momentum_buffer"] = state_tensor(p)
            damp = 1.0
        else:
            damp = 1 - group["dampening"]
        step = k.sgd_nesterov_step if group["nesterov"] else k.sgd_momentum_step
        step(p._data, g, buf._data, momentum, damp, -group["lr"])
