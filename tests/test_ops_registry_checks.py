"""The generic registry checks can fail: deliberately wrong entries, each caught by the check meant for it.

A claimed capability that is missing and an unclaimed one that silently works must both be test failures;
so must a wrong gradient, a mutated input, a wrong reference or a wrong error declaration.
"""

from __future__ import annotations

import numpy as np
import pytest

import tests.test_op_registry as R
from gradlite.autograd import GradcheckError
from gradlite.ops._base import apply
from tests.conftest import STRICT
from tests.opinfo import ErrorSample, OpInfo, Sample

FAILS = (AssertionError, GradcheckError, pytest.fail.Exception)


def _samples(rng):
    return [Sample((rng.uniform(0.5, 1.5, (2, 3)),), name="mat")]


def _op(name, fn, **kw):
    kw.setdefault("ref", lambda np, x: np.sin(x))
    return OpInfo(name=f"_broken_{name}", op=fn, samples=_samples, **kw)


def _wrong_grad(m, x):
    if m is not R.gl:
        return m.sin(x)
    # sin's value with a gradient that is off by a factor 2
    return apply("SinBackward0", R.gl.sin(x.detach())._data, (x,), (lambda gy: gy * x.cos() * 2,), saved=(x,))


def _raw_backward(m, x):
    if m is not R.gl:
        return m.sin(x)
    # the right first derivative, computed on raw arrays: nothing recorded, so no second derivative
    return apply(
        "SinBackward0",
        R.gl.sin(x.detach())._data,
        (x,),
        (lambda gy: gy * R.gl.tensor(np.cos(x.detach()._host()), dtype=x.dtype),),
        saved=(x,),
    )


def _mutating(m, x):
    y = m.sin(x)
    if m is R.gl:
        x._data[...] = 0.0
    return y


def _gy_mutating(m, x):
    if m is not R.gl:
        return m.sin(x)

    def g(gy):
        gy._data[...] = 0.0
        return gy * x.cos()

    return apply("SinBackward0", R.gl.sin(x.detach())._data, (x,), (g,), saved=(x,))


def test_wrong_gradient_fails_gradcheck():
    with pytest.raises(FAILS):
        R.test_gradcheck(_op("wrong_grad", _wrong_grad), 0, "cpu")


@pytest.mark.skipif(STRICT, reason="torch parity does not run on the strict array-API backend")
def test_wrong_gradient_fails_torch_parity(torch_cpu):
    with pytest.raises(FAILS):
        R.test_gradients(_op("wrong_grad_torch", _wrong_grad), 0, "cpu")


def test_claimed_gradgrad_that_fails_is_caught():
    with pytest.raises(FAILS):
        R.test_gradgradcheck(_op("raw_backward", _raw_backward), 0, "cpu")


def test_unclaimed_gradgrad_that_works_is_caught():
    op = _op("unclaimed_gradgrad", lambda m, x: m.sin(x), supports_gradgrad=False)
    with pytest.raises(FAILS):
        R.test_gradgradcheck(op, 0, "cpu")
    # the honest claim passes
    R.test_gradgradcheck(_op("claimed_gradgrad", lambda m, x: m.sin(x)), 0, "cpu")


def test_unclaimed_differentiability_is_caught():
    op = _op("unclaimed_diff", lambda m, x: m.sin(x), differentiable=False)
    with pytest.raises(FAILS):
        R.test_gradients(op, 0, "cpu")


def test_mutated_input_and_wrong_reference_are_caught():
    with pytest.raises(FAILS):
        R.test_forward(_op("mutating", _mutating), 0, "float32", "cpu")
    with pytest.raises(FAILS):
        R.test_forward(
            _op("wrong_ref", lambda m, x: m.sin(x), ref=lambda np, x: np.cos(x)), 0, "float64", "cpu"
        )


def test_backward_mutating_grad_outputs_is_caught():
    with pytest.raises(FAILS):
        R.test_gradients(_op("gy_mutating", _gy_mutating), 0, "cpu")


def test_wrong_dtype_claims_are_caught(torch_cpu):
    # frac has no integer kernel in torch: declaring int64 is a wrong claim
    op = _op("int_frac", lambda m, x: m.frac(x), ref=None, dtypes=("float32", "float64", "int64"))
    with pytest.raises(FAILS):
        R.test_declared_dtypes_match_torch(op, "cpu")
    # sin runs in float64 in torch: leaving float64 out is an unclaimed capability
    with pytest.raises(FAILS):
        R.test_declared_dtypes_match_torch(_op("no_f64", lambda m, x: m.sin(x), dtypes=("float32",)), "cpu")


def test_wrong_error_declaration_is_caught():
    err = ErrorSample(Sample((np.ones(3), np.ones(4))), RuntimeError, "this is not the message")
    op = _op("wrong_error", lambda m, x, y: m.add(x, y), errors=lambda rng: [err])
    with pytest.raises(FAILS):
        R.test_errors(op, 0, "cpu")
    op = _op(
        "wrong_exc",
        lambda m, x, y: m.add(x, y),
        errors=lambda rng: [ErrorSample(err.sample, TypeError, "size of tensor a")],
    )
    with pytest.raises((AssertionError, RuntimeError, pytest.fail.Exception)):
        R.test_errors(op, 0, "cpu")
