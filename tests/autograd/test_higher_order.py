"""Higher-order derivatives: closed forms for polynomials and tanh, and a gradient-penalty training step."""

from __future__ import annotations

import numpy as np

import gradlite
from tests.autograd._helpers import both
from tests.conftest import assert_close


def _derivs(f, x, n):
    out = []
    y = f(x).sum()
    for _ in range(n):
        (y,) = gradlite.autograd.grad(y, x, create_graph=True)
        out.append(y)
        y = y.sum()
    return out


def test_polynomial_third_derivative_closed_form(device):
    a = np.linspace(-2, 2, 9)
    x = gradlite.tensor(a, device=device, requires_grad=True)
    d1, d2, d3 = _derivs(lambda t: 3 * t**5 - 2 * t**3 + t * 7, x, 3)
    assert_close(d1, 15 * a**4 - 6 * a**2 + 7)
    assert_close(d2, 60 * a**3 - 12 * a)
    assert_close(d3, 180 * a**2 - 12)


def test_tanh_third_derivative_closed_form(device):
    a = np.linspace(-3, 3, 13)
    x = gradlite.tensor(a, device=device, requires_grad=True)
    d1, d2, d3 = _derivs(lambda t: t.tanh(), x, 3)
    t = np.tanh(a)
    assert_close(d1, 1 - t**2)
    assert_close(d2, -2 * t * (1 - t**2))
    assert_close(d3, (1 - t**2) * (6 * t**2 - 2))


def test_third_derivatives_match_torch_across_ops(torch, device):
    ops = {
        "exp": lambda a: a.exp(),
        "log": lambda a: (a.abs() + 1).log(),
        "sqrt": lambda a: (a * a + 1).sqrt(),
        "sigmoid": lambda a: a.sigmoid(),
        "relu": lambda a: a.relu() * a * a,
        "div": lambda a: a / (a * a + 1),
        "pow_tensor": lambda a: (a.abs() + 0.5) ** (a * 0.5 + 1),
        "matmul": lambda a: (a.reshape(2, 3) @ a.reshape(3, 2)).reshape(-1),
        "mean": lambda a: a.mean(0) * a,
        "norm": lambda a: a.norm() * a,
        "index": lambda a: a[1:4] * a[0:3],
    }

    def program(lib, dev):
        res = []
        x0 = np.random.default_rng(0).standard_normal(6)
        for f in ops.values():
            x = lib.tensor(x0, device=dev, requires_grad=True)
            (g1,) = lib.autograd.grad(f(x).sum(), x, create_graph=True)
            (g2,) = lib.autograd.grad((g1 * g1).sum(), x, create_graph=True)
            (g3,) = lib.autograd.grad((g2 * g2).sum(), x)
            res.append(g3)
        return res

    both(torch, program, device, rtol=1e-6, atol=1e-8)


def test_gradient_penalty_training_step_matches_torch(torch, device):
    # The quickstart classifier (Linear-ReLU-Linear) trained on loss + ||d loss / d x||^2.
    from examples.quickstart import Classifier

    def program(lib, dev):
        rng = np.random.default_rng(0)
        if lib is gradlite:
            model = Classifier().to(dev)
        else:
            model = lib.nn.Sequential(lib.nn.Linear(2, 16), lib.nn.ReLU(), lib.nn.Linear(16, 1)).to(dev)
        with lib.no_grad():
            for p in model.parameters():
                p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.5, device=dev))
        x = lib.tensor(rng.standard_normal((8, 2)).astype(np.float32), device=dev, requires_grad=True)
        y = lib.tensor(rng.standard_normal((8, 1)).astype(np.float32), device=dev)
        losses, grads = [], []
        for _ in range(3):
            loss = ((model(x) - y) ** 2).mean()
            (gx,) = lib.autograd.grad(loss, x, create_graph=True)
            total = loss + (gx * gx).sum()
            for p in model.parameters():
                p.grad = None
            total.backward()
            grads.append([p.grad.clone() for p in model.parameters()])
            with lib.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
            losses.append(total.item())
        return losses, grads, list(model.parameters()), x.grad

    both(torch, program, device, rtol=1e-4, atol=1e-5)
