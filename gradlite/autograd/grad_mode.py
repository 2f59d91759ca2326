"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode`` (context managers
and decorators)."""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    # Read on every op. Grad mode and inference mode are per thread, as in PyTorch (a new thread starts
    # with grad enabled): the defaults are class attributes, read through the class by a thread that never
    # set a mode. ``grad_enabled`` is what ops read: record a graph (grad mode on, inference mode off; the
    # engine sets it alone for its pass). ``grad_mode`` is the grad mode ``is_grad_enabled`` reports inside
    # inference mode, where ``enable_grad`` switches grad mode on but nothing records (as PyTorch).
    # ``inference_used`` turns on the inference-tensor checks in every thread once any thread has entered
    # inference_mode (an inference tensor can cross threads): it is only ever set on the class.
    grad_enabled = True
    grad_mode = True
    inference = False
    inference_used = False


state = _State()


def is_grad_enabled() -> bool:
    return state.grad_mode if state.inference else state.grad_enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


INFERENCE_SAVE_ERROR = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in "
    "computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and "
    "use "
    "it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`."
)


class _Mode:
    """Base of the grad-mode context managers; an instance also decorates functions."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapper

    _args: tuple = ()

    def __exit__(self, *exc):
        state.grad_enabled, state.grad_mode = self._prev
        return False


class no_grad(_Mode):
    """Disable graph recording: ops inside produce tensors without ``grad_fn``."""

    def __new__(cls, orig_func=None):
        # (no __init__: ``with no_grad():`` in a training loop costs one Python call less)
        self = object.__new__(cls)
        if callable(orig_func):  # `@no_grad` without parentheses passes the function here
            return self(orig_func)
        return self

    def __enter__(self):
        self._prev = (state.grad_enabled, state.grad_mode)
        state.grad_enabled = state.grad_mode = False


class enable_grad(no_grad):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __enter__(self):
        self._prev = (state.grad_enabled, state.grad_mode)
        state.grad_mode = True
        state.grad_enabled = not state.inference


class set_grad_enabled(_Mode):
    """``set_grad_enabled(False)`` as a context manager, a decorator, or a plain call."""

    def __init__(self, mode: bool):
        self._args = (mode,)
        self._prev = (state.grad_enabled, state.grad_mode)
        state.grad_mode = bool(mode)
        state.grad_enabled = state.grad_mode and not state.inference

    def __enter__(self):
        return None

    def __call__(self, fn):
        # used as a decorator: the constructor must not have switched
        state.grad_enabled, state.grad_mode = self._prev
        return super().__call__(fn)


class inference_mode(_Mode):
    """Like ``no_grad``, and tensors made inside are *inference tensors*: they can never enter autograd
    later (saving one for backward, an in-place update or ``requires_grad_()`` outside raises)."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):  # ``@inference_mode`` without parentheses
            self.__init__()
            return self(mode)
        return self

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._args = (mode,)

    def __enter__(self):
        self._prev = (state.grad_enabled, state.grad_mode)
        self._prev_inf = state.inference
        if self._mode:
            _State.inference_used = True
        # as c10::InferenceMode: inference_mode(False) enables grad
        state.grad_enabled = state.grad_mode = not self._mode
        state.inference = self._mode

    def __exit__(self, *exc):
        state.grad_enabled, state.grad_mode = self._prev
        state.inference = self._prev_inf
        return False

    def clone(self):
        return self.__class__(self._mode)
