"""Helpers for comparing a gradlite module with its PyTorch twin: same parameters, same input, same
outputs, same gradients for the input and every parameter."""

from __future__ import annotations

import numpy as np

import gradlite
from tests.conftest import assert_close, to_numpy


def state_from_torch(tm, device: str = "cpu") -> dict:
    """A torch module's state dict as gradlite tensors (NumPy in between), keys unchanged."""
    return {k: gradlite.tensor(v.detach().cpu().numpy(), device=device) for k, v in tm.state_dict().items()}


def copy_from_torch(gm, tm, device: str = "cpu"):
    """Load torch's parameters and buffers into ``gm`` (strict: also proves the key names match)."""
    result = gm.load_state_dict(state_from_torch(tm, device))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(gm.state_dict()) == list(tm.state_dict())
    return gm


def pair(torch, arrays, device: str = "cpu", grad: bool = True):
    """The same NumPy arrays as torch tensors and gradlite tensors (float arrays require grad)."""
    ts, gs = [], []
    for a in arrays:
        floating = a.dtype.kind == "f" and grad
        ts.append(torch.tensor(a, requires_grad=floating))
        gs.append(gradlite.tensor(a, device=device, requires_grad=floating))
    return ts, gs


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out] if out is not None else []


def check_module(
    torch,
    gm,
    tm,
    arrays,
    device: str = "cpu",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    kwargs=None,
    seed: int = 0,
):
    """Run ``gm`` and ``tm`` on the same inputs; compare every output, then backpropagate the same random
    weighting of all outputs and compare the gradients of float inputs and of every parameter."""
    kwargs = kwargs or {}
    ts, gs = pair(torch, arrays, device)
    t_out, g_out = tm(*ts, **kwargs), gm(*gs, **kwargs)
    t_flat, g_flat = _flat(t_out), _flat(g_out)
    assert len(t_flat) == len(g_flat)
    rng = np.random.default_rng(seed)
    t_loss, g_loss = 0, 0
    for t, g in zip(t_flat, g_flat, strict=True):
        assert tuple(g.shape) == tuple(t.shape)
        assert_close(g, t, rtol=rtol, atol=atol)
        if t.requires_grad:
            r = rng.standard_normal(tuple(t.shape)).astype(to_numpy(t).dtype)
            t_loss = t_loss + (t * torch.tensor(r)).sum()
            g_loss = g_loss + (g * gradlite.tensor(r, device=device)).sum()
    t_loss.backward()
    g_loss.backward()
    for t, g in zip(ts, gs, strict=True):
        if t.requires_grad:
            assert_close(g.grad, t.grad, rtol=rtol, atol=atol)
    t_params = dict(tm.named_parameters())
    g_params = dict(gm.named_parameters())
    assert list(g_params) == list(t_params)
    for name, tp in t_params.items():
        gp = g_params[name]
        if tp.grad is None:
            assert gp.grad is None, name
        else:
            assert gp.grad is not None, f"{name} got no gradient"
            assert_close(gp.grad, tp.grad, rtol=rtol, atol=atol)
    return t_out, g_out
