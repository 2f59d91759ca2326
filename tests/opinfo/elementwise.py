"""Registry entries for elementwise ops: arithmetic, unary math, activations, rounding, comparisons, logic."""

from __future__ import annotations

import math

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

ALL = ("float32", "float64", "int64", "bool")
NUM = ("float32", "float64", "int64")
FLT = ("float32", "float64")


def unary(rng, lo=-2.0, hi=2.0, away=None):
    """0-d, empty, vector, matrix and a transposed (non-contiguous) matrix, values in [lo, hi].

    ``away`` keeps values at least that far from the listed points (kinks, poles), so finite
    differences stay on one side of them.
    """

    def draw(*shape):
        a = rng.uniform(lo, hi, size=shape)
        if away is not None:
            pts, gap = away
            for p in pts:
                close = np.abs(a - p) < gap
                a = np.where(close, p + np.where(a >= p, gap, -gap) * 1.5, a)
        return np.asarray(a)

    return [
        Sample((draw(),), name="0d"),
        Sample((draw(0),), name="empty"),
        Sample((draw(5),), name="vec"),
        Sample((draw(2, 3),), name="mat"),
        Sample((draw(3, 2).T,), name="transposed"),
    ]


def binary(rng, lo=-2.0, hi=2.0, ylo=None, yhi=None, scalars=(1.5, 2), scalar_left=True):
    """Same-shape, broadcast, 0-d, empty, transposed and python-scalar operand pairs."""

    def x(*shape):
        return rng.uniform(lo, hi, size=shape)

    def y(*shape):
        return rng.uniform(lo if ylo is None else ylo, hi if yhi is None else yhi, size=shape)

    out = [
        Sample((x(2, 3), y(2, 3)), name="same"),
        Sample((x(2, 1, 3), y(4, 1)), name="broadcast"),
        Sample((x(3), np.asarray(y())), name="0d_right"),
        Sample((x(0, 3), y(3)), name="empty"),
        Sample((x(3, 2).T, y(2, 3)), name="transposed"),
    ]
    for s in scalars:
        out.append(Sample((x(2, 3), s), name=f"scalar_{type(s).__name__}"))
    if scalar_left:
        out.append(Sample((scalars[0], y(3)), name="scalar_left"))
    return out


def _dev_err(op_name, fn):
    return []


# -- arithmetic ------------------------------------------------------------------------------------------
register(OpInfo(
    name="add",
    op=lambda m, x, y, **kw: m.add(x, y, **kw),
    ref=lambda np, x, y, alpha=1: np.asarray(np.add(x, np.multiply(y, alpha))).astype(np.result_type(x, y)),
    samples=lambda rng: binary(rng) + [Sample((rng.standard_normal((2, 3)), rng.standard_normal(3)),
                                              {"alpha": 2}, name="alpha")],
    errors=lambda rng: [
        ErrorSample(Sample((rng.standard_normal(3), rng.standard_normal(4))), RuntimeError,
                    r"size of tensor a \(3\) must match the size of tensor b \(4\)"),
        ErrorSample(Sample((rng.standard_normal(3), "a")), TypeError, "add"),
    ],
    method="add",
    inplace="add_",
    dtypes=ALL,
))
register(OpInfo(
    name="sub",
    op=lambda m, x, y, **kw: m.sub(x, y, **kw),
    ref=lambda np, x, y, alpha=1: np.subtract(x, np.multiply(y, alpha)),
    samples=lambda rng: binary(rng) + [Sample((rng.standard_normal((2, 3)), rng.standard_normal(3)),
                                              {"alpha": 2}, name="alpha")],
    errors=lambda rng: [
        ErrorSample(Sample((rng.standard_normal(3) > 0, rng.standard_normal(3) > 0), keep_dtype=True),
                    RuntimeError, "Subtraction, the `-` operator, with two bool tensors is not supported"),
    ],
    method="sub",
    inplace="sub_",
    dtypes=NUM,
))
register(OpInfo(
    name="rsub_operator",
    op=lambda m, x, y: y - x,
    ref=lambda np, x, y: y - x,
    samples=lambda rng: [Sample((rng.standard_normal((2, 3)), 2.5)), Sample((rng.standard_normal(3), 1))],
    dtypes=NUM,
))
register(OpInfo(
    name="mul",
    op=lambda m, x, y: m.mul(x, y),
    ref=lambda np, x, y: np.multiply(x, y),
    samples=binary,
    method="mul",
    inplace="mul_",
    dtypes=ALL,
))
register(OpInfo(
    name="div",
    op=lambda m, x, y: m.div(x, y),
    ref=lambda np, x, y: np.true_divide(x, y),
    samples=lambda rng: binary(rng, ylo=0.5, yhi=2.0) + [
        Sample((np.array([1, -7, 9]), np.array([2, 2, -4])), name="int_true_div", keep_dtype=True),
    ],
    method="div",
    inplace="div_",
    dtypes=FLT,
))
