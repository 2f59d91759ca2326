"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and PyTorch-format state dicts.

A subclass declares its defaults, validates them, and implements ``_update(p, grad, state, group)`` on
backend arrays. The base class runs every step under ``no_grad``, checks all gradients (shape, device,
dtype) *before* touching any parameter, and writes results into the parameters' storage in place
(bumping their version counters, so a graph that saved a parameter raises at backward).
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict

from gradlite.autograd.grad_mode import enable_grad, no_grad
from gradlite.tensor import Size, Tensor, _dtype_of, _make


class _Required:
    """Marker for a hyper-parameter that has no default (SGD's lr in old PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``; ``params`` is an iterable of tensors or of dicts."""

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                + params.type()
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- groups ------------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (missing options come from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this "
                "will cause an "
                "error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyper-parameters (subclasses raise ValueError as PyTorch does)."""

    # -- gradients -----------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g._grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g._data[...] = 0
                    g._version[0] += 1

    # -- the step ------------------------------------------------------------------------------------
    def step(self, closure=None):
        """One update of every parameter with a gradient; ``closure`` re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            work = [(group, self._grads(group)) for group in self.param_groups]
            for group, pairs in work:
                for p, g in pairs:
                    d = p._device
                    if d.type == "cuda" and d.backend.multi_device:  # the update runs on p's GPU
                        with d.backend.context(d.index):
                            self._step_one(p, g, group)
                    else:
                        self._step_one(p, g, group)
        self._opt_called = True
        return loss

    def _step_one(self, p, g, group: dict) -> None:
        state = self.state.get(p)
        if state is None:
            state = {}
            self._init_state(p, group, state)
        self._update(p, g, state, group)
        if state:
            self.state[p] = state
        p._version[0] += 1

    def _grads(self, group: dict) -> list:
        """``(param, grad array)`` for the group's parameters that have a gradient, checked first."""
        pairs = []
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if g._device is not p._device:
                raise RuntimeError(
                    f"{type(self).__name__}.step: the gradient is on {g._device} but its parameter is on "
                    f"{p._device}"
                )
            if g._data.shape != p._data.shape:
                raise RuntimeError(
                    f"{type(self).__name__}.step: the gradient has shape {Size(g._data.shape)} "
                    "but its parameter "
                    f"has shape {Size(p._data.shape)}"
                )
            if _dtype_of(g._data) is not _dtype_of(p._data):
                raise RuntimeError(
                    f"{type(self).__name__}.step: the gradient has dtype {g.dtype} "
                    "but its parameter has dtype "
                    f"{p.dtype}"
                )
            pairs.append((p, g._data))
        return pairs

    def _init_state(self, p: Tensor, group: dict, state: dict) -> None:
        """Create a parameter's state on its first step."""

    def _update(self, p: Tensor, g, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # -- state dicts ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, as PyTorch."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: v for p, v in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and hyper-parameters; on any mismatch raise and leave the optimizer unchanged."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state dict must be a dict with keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, sg in zip(self.param_groups, saved_groups, strict=True):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    "optimizer's group"
                )
        id_map = {}
        for g, sg in zip(self.param_groups, saved_groups, strict=True):
            for i, p in zip(sg["params"], g["params"], strict=True):
                id_map[int(i)] = p
        new_state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            try:
                key = int(k)
            except (TypeError, ValueError):
                raise ValueError(
                    f"optimizer state dict has a state key {k!r} that is not a parameter index"
                ) from None
            if key not in id_map:
                continue
            p = id_map[key]
            if not isinstance(v, dict):
                raise ValueError(
                    f"optimizer state for parameter {key} must be a dict, got {type(v).__name__}"
                )
            new_state[p] = {name: _cast_state(name, value, p, key) for name, value in v.items()}
        new_groups = []
        for g, sg in zip(self.param_groups, saved_groups, strict=True):
            ng = copy.deepcopy({k: v for k, v in sg.items() if k != "params"})
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state = new_state
        self.param_groups = new_groups

    # -- printing ------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    s += f"\n    {key}: {group[key]}"
        return s + "\n)"


def _cast_state(name: str, value, p: Tensor, key: int):
    """A copy of a state value on the parameter's device (floats in its dtype; 'step' on the CPU)."""
    if isinstance(value, Tensor):
        if name == "step":
            # the step counter stays a CPU scalar, as PyTorch's: reading it in step() is then no GPU sync
            return value.detach().to("cpu", copy=True)
        if value.dim() > 0 and value._data.shape != p._data.shape:
            raise ValueError(
                f"optimizer state '{name}' for parameter {key} has shape {value.shape}, but the parameter "
                f"has shape {p.shape}"
            )
        dt = p.dtype if value.is_floating_point() else None
        moved = value.detach().to(p._device, dt)
        return _make(moved._device.backend.xp.asarray(moved._data, copy=True), moved._device)
    if isinstance(value, dict):
        return {k: _cast_state(k, v, p, key) for k, v in value.items()}
    return copy.deepcopy(value)


def check(value, what: str) -> None:
    """PyTorch's hyper-parameter check: ``ValueError('Invalid learning rate: -1')`` unless ``0 <= value``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a python number, got {type(value).__name__}")
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value}")


def step_tensor() -> Tensor:
    """The per-parameter step counter: a float32 CPU scalar, as PyTorch keeps it (read without a sync)."""
    from gradlite.creation import tensor

    return tensor(0.0, dtype="float32")


def bump_step(state: dict) -> float:
    """Add one to ``state['step']`` in place; returns the new count as a python float (a host read)."""
    s = state["step"]
    s._data[...] = s._data + 1
    s._version[0] += 1
    return float(s._data)


def full_array(p: Tensor, fill: float = 0.0):
    """A new array of the parameter's shape, dtype and device, filled with ``fill``."""
    b = p._device.backend
    with b.context(p._device.index):
        return b.xp.full(p._data.shape, fill, dtype=p._data.dtype)


def state_tensor(p: Tensor, fill: float = 0.0) -> Tensor:
    """A new state tensor of the parameter's shape, dtype and device, filled with ``fill``."""
    return _make(full_array(p, fill), p._device)
