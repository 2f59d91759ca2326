"""``Adagrad``: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from gradlite.optim.optimizer import Optimizer, bump_step, check, state_tensor, step_tensor


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), following ``torch.optim.Adagrad``'s update step by step."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state at construction, so a fresh state_dict already holds it
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {}
                self._init_state(p, group, self.state[p])

    def _check_group(self, group: dict) -> None:
        check(group["lr"], "learning rate")
        check(group["lr_decay"], "lr_decay value")
        check(group["weight_decay"], "weight_decay value")
        check(group["initial_accumulator_value"], "initial_accumulator_value value")
        check(group["eps"], "epsilon value")

    def _init_state(self, p, group, state) -> None:
        state["step"] = step_tensor()
        state["sum"] = state_tensor(p, group["initial_accumulator_value"])

    def _update(self, p, g, state, group) -> None:
        xp = p._device.backend.xp
        step = bump_step(state)
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p._data
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]._data
        s[...] = s + g * g
        p._data[...] = p._data + (-clr) * g / (xp.sqrt(s) + group["eps"])
