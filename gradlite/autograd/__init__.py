"""Automatic differentiation: the graph, the engine, grad modes and the functional entry points."""

from gradlite.autograd import functional, graph
from gradlite.autograd.anomaly_mode import anomaly_enabled, detect_anomaly, set_detect_anomaly
from gradlite.autograd.engine import backward, grad
from gradlite.autograd.function import Function, FunctionCtx, once_differentiable
from gradlite.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from gradlite.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from gradlite.autograd.node import Node

__all__ = [
    "Function",
    "GradcheckError",
    "FunctionCtx",
    "Node",
    "Variable",
    "anomaly_enabled",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "grad",
    "graph",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_grad_enabled",
]


def Variable(data, requires_grad: bool = False, volatile: bool = False):
    """Legacy ``autograd.Variable(t, requires_grad=True)``: since PyTorch 0.4 it is just a Tensor."""
    from gradlite.creation import as_tensor

    t = as_tensor(data)
    if requires_grad:
        t = t.detach().requires_grad_(True)
    return t
