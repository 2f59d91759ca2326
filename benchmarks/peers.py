"""The reference peers of issue 6's table: MyGrad and HIPS autograd running run.py's main workloads.

Each builder mirrors one of run.py's programs (``chain_lib``, ``linreg_lib``, ``mlp_lib``) with the same
float32 data, ops, loss, SGD update and learning rate, written idiomatically for the peer: MyGrad is
define-by-run like gradlite (``loss.backward()``, then ``p.grad``), autograd is functional
(``autograd.grad`` of a loss function). The peers are benchmark-only dependencies, imported only when
installed: ``AVAILABLE`` says which are, ``PEERS`` maps each installed one to its builders.
"""

from __future__ import annotations

import numpy as np
from data import linreg_data, mlp_data, mlp_params

try:
    import mygrad as mg
except ImportError:  # optional: its columns are left empty
    mg = None

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # optional: its columns are left empty
    autograd = anp = None

AVAILABLE = {"mygrad": mg is not None, "autograd": autograd is not None}


def versions() -> dict:
    """The installed peers' versions (for the benchmark's machine record)."""
    from importlib.metadata import version

    return {name: version(name) for name, ok in AVAILABLE.items() if ok}

# MyGrad turns Python floats into float64 constants, so its scalars are float32 (autograd keeps float32).
_F32 = {c: np.float32(c) for c in (1.01, 0.01, 0.1)}


def _chain_x(size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-0.5, 0.5, size).astype(np.float32)


# -- MyGrad ------------------------------------------------------------------------------------------------
def chain_mygrad(size: int, depth: int):
    """run.py's ``depth``-op elementwise chain, then sum + backward; returns d/dx."""
    x = mg.tensor(_chain_x(size))
    a, c = _F32[1.01], _F32[0.01]

    def step():
        y = x
        for i in range(depth):
            k = i % 4
            if k == 0:
                y = y * a
            elif k == 1:
                y = y + c
            elif k == 2:
                y = mg.tanh(y)
            else:
                y = y * x
        y.sum().backward()
        return x.grad

    return step


def linreg_mygrad(n: int, iters: int):
    """The tutorial's linear regression; a new graph clears the old gradients, so nothing is zeroed."""
    x, y = linreg_data(n)
    lr = _F32[0.1]

    def run():
        w = mg.zeros((1, 1), dtype=np.float32)
        b = mg.zeros(1, dtype=np.float32)
        for _ in range(iters):
            loss = ((x @ w + b - y) ** 2).mean()
            loss.backward()
            w.data -= lr * w.grad
            b.data -= lr * b.grad
        return w.data

    return run


def mlp_mygrad(sizes, batch: int):
    """One SGD step (lr 0.01) of the ReLU MLP with an MSE loss; returns the loss."""
    params = [mg.tensor(p) for p in mlp_params(sizes)]
    ws, bs = params[0::2], params[1::2]
    x, y = mlp_data(batch, sizes[0], sizes[-1])
    lr = np.float32(0.01)

    def step():
        h = x
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = h @ w.T + b
            if i < len(ws) - 1:
                h = mg.nnet.relu(h)
        loss = ((h - y) ** 2).mean()
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
        return loss

    return step


# -- HIPS autograd -----------------------------------------------------------------------------------------
def chain_autograd(size: int, depth: int):
    """run.py's ``depth``-op elementwise chain as a function of x; ``step`` returns its gradient."""
    x = _chain_x(size)

    def f(x):
        y = x
        for i in range(depth):
            k = i % 4
            if k == 0:
                y = y * 1.01
            elif k == 1:
                y = y + 0.01
            elif k == 2:
                y = anp.tanh(y)
            else:
                y = y * x
        return y.sum()

    grad_f = autograd.grad(f)
    return lambda: grad_f(x)


def linreg_autograd(n: int, iters: int):
    """The tutorial's linear regression, with the gradient of the loss in (w, b)."""
    x, y = linreg_data(n)
    grad_loss = autograd.grad(lambda w, b: ((x @ w + b - y) ** 2).mean(), (0, 1))

    def run():
        w = np.zeros((1, 1), np.float32)
        b = np.zeros(1, np.float32)
        for _ in range(iters):
            gw, gb = grad_loss(w, b)
            w -= 0.1 * gw
            b -= 0.1 * gb
        return w

    return run


def mlp_autograd(sizes, batch: int):
    """One SGD step (lr 0.01) of the ReLU MLP with an MSE loss, updating the arrays in place."""
    params = mlp_params(sizes)
    x, y = mlp_data(batch, sizes[0], sizes[-1])

    def loss(params):
        h, last = x, len(params) - 2
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i < last:
                h = anp.where(h > 0, h, 0)  # np.maximum's gradient is float64 (and 1/2 at ties)
        return ((h - y) ** 2).mean()

    loss_and_grad = autograd.value_and_grad(loss)

    def step():
        value, grads = loss_and_grad(params)
        for p, g in zip(params, grads, strict=True):
            p -= 0.01 * g
        return value

    return step


PEERS = {
    name: builders
    for name, builders in {
        "mygrad": {"chain": chain_mygrad, "linreg": linreg_mygrad, "mlp": mlp_mygrad},
        "autograd": {"chain": chain_autograd, "linreg": linreg_autograd, "mlp": mlp_autograd},
    }.items()
    if AVAILABLE[name]
}
