"""``RMSprop``: divide the gradient by a running root-mean-square, optionally centered, with momentum."""

from __future__ import annotations

from gradlite.optim.optimizer import Optimizer, bump_step, check, state_tensor, step_tensor


class RMSprop(Optimizer):
    """RMSprop (Hinton), following ``torch.optim.RMSprop``'s update step by step."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        check(group["lr"], "learning rate")
        check(group["eps"], "epsilon value")
        check(group["momentum"], "momentum value")
        check(group["weight_decay"], "weight_decay value")
        check(group["alpha"], "alpha value")

    def _init_state(self, p, group, state) -> None:
        state["step"] = step_tensor()
        state["square_avg"] = state_tensor(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = state_tensor(p)
        if group["centered"]:
            state["grad_avg"] = state_tensor(p)

    def _update(self, p, g, state, group) -> None:
        xp = p._device.backend.xp
        lr, alpha, eps, wd, momentum = (group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        if group["maximize"]:
            g = -g
        bump_step(state)
        if wd != 0:
            g = g + wd * p._data
        sq = state["square_avg"]._data
        sq[...] = sq * alpha + (1 - alpha) * g * g
        if group["centered"]:
            ga = state["grad_avg"]._data
            ga[...] = ga + (1 - alpha) * (g - ga)
            avg = xp.sqrt(sq + (-1) * ga * ga) + eps
        else:
            avg = xp.sqrt(sq) + eps
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf[...] = buf * momentum + g / avg
            p._data[...] = p._data + (-lr) * buf
        else:
            p._data[...] = p._data + (-lr) * g / avg
