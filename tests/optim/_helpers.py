"""Shared helpers for the optimizer tests: the same parameters in gradlite and PyTorch, and synthetic
gradients that depend on the current parameter values (so trajectories feed back into the gradients)."""

from __future__ import annotations

import numpy as np

import gradlite

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def start_values(seed: int = 0, shapes=SHAPES, dtype=np.float32) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def make_params(values, torch_mod, device: str = "cpu"):
    """Leaf parameters holding ``values`` in gradlite (``torch_mod is gradlite``) or in PyTorch."""
    if torch_mod is gradlite:
        return [gradlite.nn.Parameter(gradlite.tensor(v, device=device)) for v in values]
    return [torch_mod.nn.Parameter(torch_mod.tensor(v)) for v in values]


def host(t) -> np.ndarray:
    """A detached copy of a gradlite or torch tensor's values on the host."""
    if isinstance(t, gradlite.Tensor):
        return np.array(t.detach()._host())
    return t.detach().cpu().numpy().copy()


def synthetic_grad(value: np.ndarray, step: int, i: int) -> np.ndarray:
    """d/dp of 0.5 * ||p - c||^2 * s plus a fixed perturbation: depends on p, on the step and on the param."""
    rng = np.random.default_rng(1000 * step + i)
    c = rng.standard_normal(value.shape)
    scale = 0.5 + (step % 3) * 0.25
    return ((value.astype(np.float64) - c) * scale + 0.1 * rng.standard_normal(value.shape)).astype(
        value.dtype
    )


def set_grads(params, step: int, torch_mod, device: str = "cpu", skip: int | None = None) -> None:
    """Give every parameter its synthetic gradient (``skip``: index of one left with ``grad=None``)."""
    for i, p in enumerate(params):
        if i == skip:
            p.grad = None
            continue
        g = synthetic_grad(host(p), step, i)
        p.grad = gradlite.tensor(g, device=device) if torch_mod is gradlite else torch_mod.tensor(g)


def run(opt_cls, params, torch_mod, steps: int, device: str = "cpu", kwargs=None, groups=None, skip_every=0):
    """Run ``steps`` optimizer steps; returns the parameter values after each step."""
    opt = opt_cls(groups(params) if groups else params, **(kwargs or {}))
    trajectory = []
    for k in range(steps):
        skip = (k % len(params)) if skip_every and k % skip_every == 0 else None
        set_grads(params, k, torch_mod, device, skip)
        opt.step()
        trajectory.append([host(p) for p in params])
    return opt, trajectory
