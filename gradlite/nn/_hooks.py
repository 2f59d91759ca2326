"""Module backward hooks (``register_full_backward_hook`` / ``register_full_backward_pre_hook``).

As in PyTorch, the module's tensor inputs and outputs pass through identity functions: the one on the
outputs sees the gradients w.r.t. the outputs (and lets pre-hooks replace them), the one on the inputs
sees the gradients w.r.t. the inputs once all of them are known, calls the hooks with both, and lets
them replace the input gradients.
"""

from __future__ import annotations

import warnings

from gradlite.autograd.function import Function
from gradlite.tensor import Tensor


class _State:
    """What the two identity nodes of one call share: the module and the gradients w.r.t. its outputs."""

    def __init__(self, module, n_inputs: int, input_mask: tuple):
        self.module, self.n_inputs, self.input_mask = module, n_inputs, input_mask
        self.grad_output = None

    def call_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            r = hook(self.module, grad_input, self.grad_output)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grad_input):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got {len(r)}, but expected "
                        f"{len(grad_input)}"
                    )
                grad_input = r
        return grad_input


class _OutputHook(Function):
    @staticmethod
    def forward(ctx, state, *outs):
        ctx.state = state
        return outs

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        for hook in list(state.module._backward_pre_hooks.values()):
            r = hook(state.module, grads)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grads):
                    raise RuntimeError(
                        f"Backward pre hook returned an invalid number of grad_output, got {len(r)}, "
                        f"but expected {len(grads)}"
                    )
                grads = r
        state.grad_output = grads
        if not any(state.input_mask) and state.module._backward_hooks:
            # no input needs a gradient: PyTorch calls the hooks now, with None for every grad_input
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module outputs "
                "since no inputs require gradients.",
                UserWarning,
                stacklevel=2,
            )
            state.call_hooks((None,) * state.n_inputs)
        return (None, *grads)


class _InputHook(Function):
    @staticmethod
    def forward(ctx, state, *xs):
        ctx.state = state
        return xs

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        it = iter(grads)
        grad_input = tuple(next(it) if m else None for m in state.input_mask)
        grad_input = state.call_hooks(grad_input)
        return (None, *(g for g, m in zip(grad_input, state.input_mask, strict=True) if m))


def _flatten(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return []


def _rebuild(out, replace: dict):
    if isinstance(out, Tensor):
        return replace.get(id(out), out)
    if isinstance(out, (tuple, list)):
        return type(out)(_rebuild(o, replace) for o in out)
    return out


def call_with_backward_hooks(module, args: tuple, kwargs: dict) -> tuple:
    """``(module.forward(*args, **kwargs), args)`` with identity nodes around the call that run the module's
    backward hooks; ``args`` are the (wrapped) positional arguments that forward saw."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    mask = tuple(t._requires_grad for t in tensors)
    state = _State(module, len(tensors), mask)
    if any(mask):
        wrapped = iter(_InputHook.apply(state, *(t for t, m in zip(tensors, mask, strict=True) if m)))
        args = tuple(next(wrapped) if isinstance(a, Tensor) and a._requires_grad else a for a in args)
    out = module.forward(*args, **kwargs)
    flat = [t for t in _flatten(out) if t._requires_grad]
    if not flat:
        return out, args
    hooked = _OutputHook.apply(state, *flat)
    return _rebuild(out, {id(t): h for t, h in zip(flat, hooked, strict=True)}), args
