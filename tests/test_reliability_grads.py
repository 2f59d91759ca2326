"""Gradients at the edges (issue 17: F06, F27, F08, F09, F22), compared with PyTorch.

F06: a gradient that is zero by the op's definition is a structural zero, never ``0 * g``: an infinite
upstream gradient gives 0 there, not NaN, on the engine's array path and under ``create_graph``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlite

from .conftest import assert_close, to_numpy

inf = math.inf
X = [-1.5, 2.5, 0.0, 3.0]


def _programs(T):
    F = T.nn.functional
    return {
        "relu": lambda x: T.relu(x),
        "F.relu": lambda x: F.relu(x),
        "relu_": lambda x: (x * 1).relu_(),
        "F.relu(inplace)": lambda x: F.relu(x * 1, inplace=True),
        "nn.ReLU": lambda x: T.nn.ReLU()(x),
        "floor": lambda x: T.floor(x),
        "ceil": lambda x: T.ceil(x),
        "round": lambda x: T.round(x),
        "round(decimals)": lambda x: T.round(x, decimals=1),
        "trunc": lambda x: T.trunc(x),
        "sign": lambda x: T.sign(x),
        "div(floor)": lambda x: T.div(x, 2.0, rounding_mode="floor"),
        "div(trunc)": lambda x: T.div(x, 2.0, rounding_mode="trunc"),
        "div(floor) divisor": lambda x: T.div(T.ones(4, device=x.device) * 3, x, rounding_mode="floor"),
        "pow 0": lambda x: x**0,
        "zero_": lambda x: (x * 1).zero_(),
        "fill_": lambda x: (x * 1).fill_(2.0),
        "fill_ tensor": lambda x: (x * 1).fill_(T.tensor(2.0, device=x.device)),
        "copy_": lambda x: (x * 1).copy_(T.ones(4, device=x.device)),
        "view fill_": lambda x: (lambda y: (y[1:].fill_(0), y)[1])(x * 1),
        "view zero_": lambda x: (lambda y: (y[:2].zero_(), y)[1])(x * 1),
        "max": lambda x: x.max().expand(4),
        "max_pool1d": lambda x: F.max_pool1d(x.reshape(1, 1, 4), 2).reshape(2).repeat_interleave(2),
        "max_pool2d": lambda x: F.max_pool2d(x.reshape(1, 1, 2, 2), 2).reshape(1).expand(4),
        "max_pool2d overlapping": lambda x: F.max_pool2d(x.reshape(1, 1, 2, 2), 1, 1).reshape(4),
        "adaptive_max_pool1d": lambda x: F.adaptive_max_pool1d(x.reshape(1, 1, 4), 2).reshape(2).repeat_interleave(2),
        "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x.reshape(1, 1, 2, 2), 1).reshape(1).expand(4),
    }


NAMES = sorted(_programs(gradlite))


def _grad(T, name, upstream, dev, create_graph):
    x = T.tensor(X, requires_grad=True, device=dev)
    y = _programs(T)[name](x)
    g = T.full(tuple(y.shape), upstream, device=dev)
    if create_graph:
        (gx,) = T.autograd.grad(y, x, g, create_graph=True)
        return gx
    y.backward(g)
    return x.grad


@pytest.mark.parametrize("create_graph", [False, True], ids=["arrays", "create_graph"])
@pytest.mark.parametrize("name", NAMES)
def test_structural_zero_gradient_with_infinite_upstream(name, create_graph, device, torch_cpu):
    # PyTorch's CPU build is the reference (its CUDA whole-tensor max multiplies by the mask: NaN)
    ours = _grad(gradlite, name, inf, device, create_graph)
    ref = _grad(torch_cpu, name, inf, "cpu", create_graph)
    assert_close(ours, ref)
    assert not np.isnan(to_numpy(ours)).any()


@pytest.mark.parametrize("name", NAMES)
def test_structural_zero_gradient_with_nan_upstream(name, device, torch_cpu):
    ours = _grad(gradlite, name, math.nan, device, False)
    ref = _grad(torch_cpu, name, math.nan, "cpu", False)
    assert_close(ours, ref)


def test_relu_issue_repro(device):
    x = gradlite.tensor([-1.5, 2.5], requires_grad=True, device=device)
    gradlite.relu(x).backward(gradlite.full((2,), inf, device=device))
    assert x.grad.tolist() == [0.0, inf]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_relu_gradient_at_zero_and_nan_as_torch(dtype, device, torch_cpu):
    # 0 where the output is <= 0 (at 0 too); the gradient passes where the output is NaN (threshold_backward)
    vals = [math.nan, -1.0, 0.0, -0.0, 2.0, -inf, inf]
    up = [3.0, inf, -inf, math.nan, 5.0, inf, 1.0]
    out = []
    for T, dev in ((gradlite, device), (torch_cpu, "cpu")):
        dt = getattr(T, dtype)
        x = T.tensor(vals, dtype=dt, requires_grad=True, device=dev)
        T.relu(x).backward(T.tensor(up, dtype=dt, device=dev))
        out.append(x.grad)
    assert_close(out[0], out[1])


@pytest.mark.parametrize("shape", [(), (3, 1), (2, 3, 4)])
def test_relu_gradient_shapes_and_broadcast_upstream(shape, device, torch_cpu):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    out = []
    for T, dev in ((gradlite, device), (torch_cpu, "cpu")):
        x = T.tensor(a, requires_grad=True, device=dev)
        (T.relu(x) * 2).sum().backward()  # the upstream gradient of relu is an expanded constant
        out.append(x.grad)
    assert_close(out[0], out[1])


def test_relu_second_order_is_zero(device, torch_cpu):
    out = []
    for T, dev in ((gradlite, device), (torch_cpu, "cpu")):
        x = T.tensor([-1.0, 2.0], requires_grad=True, device=dev)
        (g,) = T.autograd.grad((T.relu(x) ** 2).sum(), x, create_graph=True)
        (gg,) = T.autograd.grad(g.sum(), x)
        out.append((g, gg))
    assert_close(out[0][0], out[1][0])
    assert_close(out[0][1], out[1][1])


def test_max_pool_gradient_matches_torch_on_random_input(device, torch_cpu):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    up = rng.standard_normal((2, 3, 4, 3)).astype(np.float32)
    up[0, 0, 0, 0] = inf
    out = []
    for T, dev in ((gradlite, device), (torch_cpu, "cpu")):
        x = T.tensor(a, requires_grad=True, device=dev)
        T.nn.functional.max_pool2d(x, 3, 2, padding=1).backward(T.tensor(up, device=dev))
        out.append(x.grad)
    assert_close(out[0], out[1])
