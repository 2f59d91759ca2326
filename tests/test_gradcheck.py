"""``gradlite.autograd.gradcheck`` / ``gradgradcheck``: they pass correct gradients and catch wrong ones."""

from __future__ import annotations

import re

import numpy as np
import pytest

import gradlite as gl
from gradlite.autograd import GradcheckError, gradcheck, gradgradcheck
from gradlite.ops._base import apply


def _x(device, *shape, requires_grad=True):
    return gl.randn(*shape, dtype=gl.float64, device=device, requires_grad=requires_grad)


def _wrong_mul(x, k=2.0, claimed=3.0):
    """``k * x`` whose recorded gradient claims ``claimed * gy``: a deliberately wrong backward."""
    return apply("WrongBackward0", x._data * k, (x,), (lambda gy: gy * claimed,))


def test_exported():
    assert gl.autograd.gradcheck is gradcheck and gl.autograd.gradgradcheck is gradgradcheck
    assert issubclass(GradcheckError, RuntimeError)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_passes_correct_gradients(device, fast_mode):
    x, y = _x(device, 3, 2), _x(device, 2)
    assert gradcheck(lambda a, b: (a * b).exp().sum(0) / (1 + b * b), (x, y), fast_mode=fast_mode)
    assert gradgradcheck(lambda a, b: (a * b).tanh(), (x, y), fast_mode=fast_mode)


def test_multiple_outputs_and_non_tensor_inputs(device):
    x = _x(device, 4)
    assert gradcheck(lambda a, k: (a * k, a.sin(), a.sum() > 0), (x, 3.0))


@pytest.mark.parametrize("fast_mode", [False, True])
def test_wrong_gradient_raises_naming_indices_and_jacobians(device, fast_mode):
    x, y = _x(device, 3), _x(device, 3)

    def fn(a, b):
        return a * b, _wrong_mul(b)

    with pytest.raises(GradcheckError) as err:
        gradcheck(fn, (x, y), fast_mode=fast_mode)
    msg = str(err.value)
    assert "Jacobian mismatch for output 1 with respect to input 1" in msg
    assert re.search("numerical:", msg) and re.search("analytical:", msg)
    if not fast_mode:
        # the full Jacobians are printed: 2 on the diagonal numerically, 3 analytically
        num = msg.split("numerical:")[1].split("analytical:")[0]
        ana = msg.split("analytical:")[1]
        assert "2." in num and "3." in ana


def test_raise_exception_false_returns_false(device):
    x = _x(device, 3)
    assert gradcheck(_wrong_mul, (x,), raise_exception=False) is False
    assert gradcheck(lambda a: a * 2, (x,), raise_exception=False) is True


def test_missing_gradient_is_caught(device):
    """A function whose output does not require grad, although it depends on the input, fails."""
    x = _x(device, 3)
    with pytest.raises(GradcheckError, match="output 0 with respect to input 0"):
        gradcheck(lambda a: a.detach() * a.detach().exp(), (x,))


def test_wrong_shape_gradient_is_caught(device):
    x = _x(device, 3)

    def fn(a):
        # the engine sums broadcast gradients back; a gradient of an incompatible shape must still fail
        return apply(
            "BadShapeBackward0",
            a._data * 1,
            (a,),
            (lambda gy: gy.sum() * gl.ones(2, 2, dtype=gy.dtype, device=gy.device),),
        )

    with pytest.raises((GradcheckError, RuntimeError)):
        gradcheck(fn, (x,))


def test_needs_an_input_requiring_grad(device):
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (_x(device, 3, requires_grad=False),))


def test_warns_for_single_precision(device):
    x = gl.randn(3, device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda a: a * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_inputs_restored_after_check(device):
    x = _x(device, 2, 3)
    before = x.detach().clone()
    gradcheck(lambda a: a.exp(), (x,))
    np.testing.assert_array_equal(x.detach()._host(), before._host())


def test_gradgradcheck_catches_a_non_differentiable_backward(device):
    """A backward that computes on raw arrays (so records nothing) has no second derivative: caught."""
    x = _x(device, 4)

    def square(a):
        # d/da a**2 = 2a, but computed outside autograd, so the gradient is a constant to autograd
        return apply(
            "SquareBackward0",
            a._data * a._data,
            (a,),
            (lambda gy: gy * gl.tensor(2 * a.detach()._host(), device=gy.device),),
        )

    assert gradcheck(square, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradgradcheck(square, (x,))


def test_gradgradcheck_with_given_grad_outputs(device):
    x = _x(device, 3)
    v = _x(device, 3)
    assert gradgradcheck(lambda a: a.sin() * a, (x,), (v,))


def test_matches_torch_on_the_same_function(device, torch):
    """gradcheck passes where torch.autograd.gradcheck passes; atol/rtol bound the allowed mismatch."""
    a = np.random.default_rng(0).standard_normal(4)
    x = gl.tensor(a, dtype=gl.float64, device=device, requires_grad=True)
    t = torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True)
    assert gradcheck(lambda z: z.sigmoid() * z.cos(), (x,))
    assert torch.autograd.gradcheck(lambda z: z.sigmoid() * z.cos(), (t,))
    # a loose tolerance hides a wrong gradient in both; a tight one exposes it in both
    assert gradcheck(lambda z: _wrong_mul(z, 1.0, 1.0 + 1e-4), (x,), atol=1e-3, rtol=0.0)
    assert not gradcheck(
        lambda z: _wrong_mul(z, 1.0, 1.0 + 1e-4), (x,), atol=1e-6, rtol=0.0, raise_exception=False
    )


def test_non_reentrant_backward_is_caught(device):
    """A backward whose result changes from one run to the next fails, as in PyTorch."""
    x = _x(device, 3)
    calls = []

    def drifting(a):
        def g(gy):
            calls.append(1)
            return gy * (2.0 + 1e-3 * len(calls))

        return apply("DriftBackward0", a._data * 2, (a,), (g,))

    with pytest.raises(GradcheckError, match="not reentrant"):
        gradcheck(drifting, (x,), atol=1.0)
    assert gradcheck(drifting, (x,), atol=1.0, nondet_tol=1.0)


def test_nan_gradients_fail(device):
    """NaN in both Jacobians is not a match (as torch.allclose without equal_nan)."""
    x = _x(device, 2)
    with pytest.raises(GradcheckError):
        gradcheck(lambda a: (a * float("nan")), (x,))
