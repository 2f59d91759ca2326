"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay and AMSGrad."""

from __future__ import annotations

from gradlite.dtypes import float16
from gradlite.optim.optimizer import Optimizer, bump_step, check, state_tensor, step_tensor


class Adam(Optimizer):
    """Adam (Kingma & Ba), following ``torch.optim.Adam``'s single-tensor update step by step."""

    _decoupled = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        check(group["lr"], "learning rate")
        check(group["eps"], "epsilon value")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of floats, got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check(group["weight_decay"], "weight_decay value")

    def _init_state(self, p, group, state) -> None:
        state["step"] = step_tensor()
        state["exp_avg"] = state_tensor(p)
        state["exp_avg_sq"] = state_tensor(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = state_tensor(p)

    def _update(self, p, g, state, group) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        step = bump_step(state)
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        k = p._device.backend.kernels
        factors = (beta2, 1 - beta2, -lr / bias_correction1, bias_correction2_sqrt, eps)
        if p.dtype is float16:  # in float32, weight decay included, each value rounded once (_kernels.py)
            factors += (0.0, 1 - lr * wd) if self._decoupled else (wd, 1.0)
            if group["amsgrad"]:
                k.amsgrad_half_step(p._data, g, m, v, state["max_exp_avg_sq"]._data, 1 - beta1, *factors)
            else:
                k.adam_half_step(p._data, g, m, v, 1 - beta1, *factors)
            return
        if wd != 0:
            if self._decoupled:
                p._data *= 1 - lr * wd
            else:
                g = g + wd * p._data
        # the moments and the parameter in one fused kernel on CuPy (backends/_kernels.py)
        if group["amsgrad"]:
            k.amsgrad_step(p._data, g, m, v, state["max_exp_avg_sq"]._data, 1 - beta1, *factors)
        else:
            k.adam_step(p._data, g, m, v, 1 - beta1, *factors)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay`` each step."""

    _decoupled = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
