"""``autograd.grad`` semantics and ``autograd.functional`` (vjp, jvp, jacobian, hessian, hvp, vhp)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.autograd._helpers import both, errors_alike


def _T(lib, dev, a, rg=False):
    return lib.tensor(np.array(a, dtype=np.float64), device=dev, requires_grad=rg)


X = [[1.0, 2.0], [3.0, 4.0]]
Y = [0.5, -1.0]


def f1(a):
    return (a**3).sum(1)


def f2(a, b):
    return a @ b, (a * a).sum() + b.tanh().sum()


def scalar(a, b):
    return (a.tanh() * (a @ b).sum()).sum() + (b**3).sum()


CASES = {
    "vjp1": lambda F, T: F.vjp(f1, T(X), T([1.0, 2.0])),
    "vjp2": lambda F, T: F.vjp(f2, (T(X), T(Y)), (T([1.0, -1.0]), T(2.0))),
    "vjp_scalar_no_v": lambda F, T: F.vjp(lambda a: (a * a).sum(), T(Y)),
    "jvp1": lambda F, T: F.jvp(f1, T(X), T([[1.0, 0.0], [0.0, 1.0]])),
    "jvp2": lambda F, T: F.jvp(f2, (T(X), T(Y)), (T([[1.0, 0.0], [0.0, 1.0]]), T([1.0, 1.0]))),
    "jacobian1": lambda F, T: F.jacobian(f1, T(X)),
    "jacobian2": lambda F, T: F.jacobian(f2, (T(X), T(Y))),
    "jacobian_tuple_in": lambda F, T: F.jacobian(lambda a, b: a * b, (T(Y), T([2.0, 3.0]))),
    "jacobian_create_graph": lambda F, T: F.jacobian(
        lambda a: a.exp(), T([1.0, 2.0], True), create_graph=True
    ),
    "hessian1": lambda F, T: F.hessian(lambda a: (a**3).sum(), T(Y)),
    "hessian2": lambda F, T: F.hessian(scalar, (T(X), T(Y))),
    "hvp": lambda F, T: F.hvp(lambda a: (a**3).sum(), T(Y), T([1.0, 2.0])),
    "hvp2": lambda F, T: F.hvp(scalar, (T(X), T(Y)), (T([[1.0, 0.0], [0.0, 1.0]]), T([1.0, 1.0]))),
    "vhp2": lambda F, T: F.vhp(scalar, (T(X), T(Y)), (T([[1.0, 0.0], [0.0, 1.0]]), T([1.0, 1.0]))),
    "unused_input_gives_zeros": lambda F, T: F.jacobian(lambda a, b: a * 2, (T(X), T(Y))),
    # vectorize / forward-mode: how PyTorch computes the matrix (vmap, forward AD); the same matrix
    "jacobian_vectorize": lambda F, T: F.jacobian(f2, (T(X), T(Y)), vectorize=True),
    "jacobian_vectorize_unused": lambda F, T: F.jacobian(lambda a, b: a * 2, (T(X), T(Y)), vectorize=True),
    "jacobian_vectorize_create_graph": lambda F, T: F.jacobian(
        lambda a: a.exp(), T([1.0, 2.0], True), create_graph=True, vectorize=True
    ),
    "jacobian_forward_mode": lambda F, T: F.jacobian(
        f2, (T(X), T(Y)), vectorize=True, strategy="forward-mode"
    ),
    "jacobian_forward_mode_one_input": lambda F, T: F.jacobian(
        lambda a: (a.sum(), a * 2), T(X), vectorize=True, strategy="forward-mode"
    ),
    "jacobian_forward_mode_one_output": lambda F, T: F.jacobian(
        lambda a, b: a.sum() * b, (T(X), T(Y)), vectorize=True, strategy="forward-mode"
    ),
}


def _flat(r):
    if isinstance(r, (tuple, list)):  # (the container's type is compared as well)
        return (type(r).__name__, *(_flat(e) for e in r))
    return (r, r.requires_grad)


@pytest.mark.parametrize("case", list(CASES))
def test_functional_matches_torch(torch, device, case):
    def program(lib, dev):
        return _flat(CASES[case](lib.autograd.functional, lambda a, rg=False: _T(lib, dev, a, rg)))

    both(torch, program, device, rtol=1e-6, atol=1e-8)


def test_hessian_forward_over_reverse(torch, device):
    """The same values and containers. (PyTorch's results also require grad here, its forward AD carrying
    the inner graph; gradlite's, computed by reverse mode without create_graph, do not.)"""

    def program(lib, dev):
        T = lambda a: _T(lib, dev, a)  # noqa: E731
        h = lib.autograd.functional.hessian(
            scalar, (T(X), T(Y)), vectorize=True, outer_jacobian_strategy="forward-mode"
        )
        return [type(h).__name__, *([type(row).__name__, *row] for row in h)]

    both(torch, program, device, rtol=1e-6, atol=1e-8)


ERRORS = {
    "strict_independent": (
        lambda F, T: F.jacobian(lambda a, b: a * 2, (T(X), T(Y)), strict=True),
        "Output 0 of the user-provided function is independent of input 1",
    ),
    "strict_no_grad_output": (
        lambda F, T: F.vjp(lambda a: a.detach(), T(Y), T([1.0, 1.0]), strict=True),
        "does not require gradients",
    ),
    "bad_v_size": (lambda F, T: F.vjp(f1, T(X), T([1.0, 2.0, 3.0])), "v has invalid size: should be"),
    "bad_v_length": (lambda F, T: F.jvp(f2, (T(X), T(Y)), (T(X),)), "v is a tuple of invalid length"),
    "v_needed": (lambda F, T: F.vjp(f1, T(X)), "The vector v can only be None"),
    "bad_input_type": (lambda F, T: F.vjp(f1, [T(X)]), "must be either a Tensor or a tuple of Tensors"),
    "hessian_not_scalar": (lambda F, T: F.hessian(lambda a: a * 2, T(Y)), "should contain a single element"),
    "bad_strategy": (
        lambda F, T: F.jacobian(f1, T(X), strategy="sideways"), "Expected strategy to be either"
    ),
    "forward_mode_needs_vectorize": (
        lambda F, T: F.jacobian(f1, T(X), strategy="forward-mode"),
        "only implemented for `vectorize=True`",
    ),
    "forward_mode_create_graph": (
        lambda F, T: F.jacobian(f1, T(X), strategy="forward-mode", vectorize=True, create_graph=True),
        "`create_graph=True` and `strategy=\"forward-mode\"` are not supported together",
    ),
    "forward_mode_strict": (
        lambda F, T: F.jacobian(f1, T(X), strategy="forward-mode", strict=True),
        "`strict=True` and `strategy=\"forward-mode\"` are not supported together",
    ),
    "vectorize_strict": (
        lambda F, T: F.jacobian(f1, T(X), vectorize=True, strict=True),
        "`strict=True` and `vectorized=True` are not supported together",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_functional_errors(torch, device, case):
    fn, match = ERRORS[case]
    errors_alike(
        torch,
        lambda lib, dev: fn(lib.autograd.functional, lambda a, rg=False: _T(lib, dev, a, rg)),
        device,
        match,
    )


# -- autograd.grad --------------------------------------------------------------------------------------
def _xw(lib, dev):
    x = _T(lib, dev, [1.0, 2.0, 3.0], True)
    w = _T(lib, dev, [0.5, -1.0, 2.0], True)
    return x, w


def test_grad_basic_and_interior_inputs(torch, device):
    def program(lib, dev):
        x, w = _xw(lib, dev)
        y = x * w
        z = (y * y).sum()
        gx, gy = lib.autograd.grad(z, [x, y])
        return gx, gy, x.grad, gx.requires_grad

    both(torch, program, device)


def test_grad_outputs_and_several_outputs(torch, device):
    def program(lib, dev):
        x, w = _xw(lib, dev)
        a, b = x * w, x.exp()
        return lib.autograd.grad(
            [a, b],
            [x, w],
            grad_outputs=[_T(lib, dev, [1.0, 2.0, 3.0]), None and a or _T(lib, dev, [1.0, 1.0, 1.0])],
        )

    both(torch, program, device)


def test_grad_allow_unused_and_materialize(torch, device):
    def program(lib, dev):
        x, w = _xw(lib, dev)
        y = (x * 2).sum()
        r1 = lib.autograd.grad(y, [x, w], allow_unused=True, retain_graph=True)
        r2 = lib.autograd.grad(y, [x, w], materialize_grads=True)
        return r1, r2

    both(torch, program, device)


def test_grad_unused_raises(torch, device):
    def program(lib, dev):
        x, w = _xw(lib, dev)
        lib.autograd.grad((x * 2).sum(), [x, w])

    errors_alike(torch, program, device, "appears to not have been used in the graph")


def test_grad_errors(torch, device):
    errors_alike(
        torch,
        lambda lib, d: lib.autograd.grad((_xw(lib, d)[0] * 2).sum(), [_T(lib, d, [1.0])]),
        device,
        "One of the differentiated Tensors does not require grad",
    )
    errors_alike(
        torch,
        lambda lib, d: lib.autograd.grad(_xw(lib, d)[0] * 2, _xw(lib, d)[0]),
        device,
        "grad can be implicitly created only for scalar outputs",
    )
    errors_alike(
        torch,
        lambda lib, d: lib.autograd.grad(_T(lib, d, [1.0]).sum(), _xw(lib, d)[0]),
        device,
        "does not require grad and does not have a grad_fn",
    )

    def mismatch(lib, d):
        x, _ = _xw(lib, d)
        lib.autograd.grad(x * 2, x, grad_outputs=_T(lib, d, [1.0, 2.0]))

    errors_alike(torch, mismatch, device, "Mismatch in shape")

    def materialize_conflict(lib, d):
        x, _ = _xw(lib, d)
        lib.autograd.grad((x * 2).sum(), x, allow_unused=False, materialize_grads=True)

    errors_alike(torch, materialize_conflict, device, "Expected allow_unused to be True or not passed")


def test_grad_retain_graph_and_freed(torch, device):
    def program(lib, dev):
        x, _ = _xw(lib, dev)
        y = (x.exp() * x).sum()
        g1 = lib.autograd.grad(y, x, retain_graph=True)
        g2 = lib.autograd.grad(y, x)
        return g1, g2

    both(torch, program, device)

    def twice(lib, dev):
        x, _ = _xw(lib, dev)
        y = (x.exp() * x).sum()
        lib.autograd.grad(y, x)
        lib.autograd.grad(y, x)

    errors_alike(torch, twice, device, "Trying to backward through the graph a second time")


def test_grad_does_not_touch_dot_grad_and_backward_inputs(torch, device):
    def program(lib, dev):
        x, w = _xw(lib, dev)
        y = x * w
        (y * y).sum().backward(inputs=[w, y])
        lib.autograd.grad((x * x).sum(), x)
        return x.grad, w.grad, y.grad

    both(torch, program, device)
