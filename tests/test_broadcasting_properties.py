"""Property tests: binary ops over mutually broadcastable shapes, values and gradients against NumPy.

For every drawn pair of shapes, ``op(x, y)`` must equal NumPy's broadcast result, and backward with a
random upstream gradient ``g`` must give ``sum_to(g * d op/dx, x.shape)`` (and the same for y), computed
here in NumPy. Inputs and ``g`` must come out unchanged, and ``.grad`` must not alias ``g``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradlite as gl
from tests.conftest import to_numpy


def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """NumPy reference un-broadcasting: sum ``g`` over the dims that broadcasting added to ``shape``."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


# name -> (gradlite call, NumPy value, NumPy d/dx, NumPy d/dy, value range of x, value range of y)
OPS = {
    "add": (
        lambda x, y: x + y,
        np.add,
        lambda x, y: np.ones_like(x * y),
        lambda x, y: np.ones_like(x * y),
        (-3, 3),
        (-3, 3),
    ),
    "sub": (
        lambda x, y: x - y,
        np.subtract,
        lambda x, y: np.ones_like(x * y),
        lambda x, y: -np.ones_like(x * y),
        (-3, 3),
        (-3, 3),
    ),
    "mul": (
        lambda x, y: x * y,
        np.multiply,
        lambda x, y: y + 0 * x,
        lambda x, y: x + 0 * y,
        (-3, 3),
        (-3, 3),
    ),
    "div": (
        lambda x, y: x / y,
        np.divide,
        lambda x, y: 1 / y + 0 * x,
        lambda x, y: -x / y**2,
        (-3, 3),
        (0.5, 3),
    ),
    "pow": (
        lambda x, y: x**y,
        np.power,
        lambda x, y: y * x ** (y - 1),
        lambda x, y: x**y * np.log(x),
        (0.5, 2),
        (-2, 2),
    ),
    "atan2": (
        gl.atan2,
        np.arctan2,
        lambda x, y: y / (x**2 + y**2),
        lambda x, y: -x / (x**2 + y**2),
        (0.5, 3),
        (0.5, 3),
    ),
    "maximum": (
        gl.maximum,
        np.maximum,
        lambda x, y: (x > y) + 0.5 * (x == y),
        lambda x, y: (y > x) + 0.5 * (x == y),
        (-3, 3),
        (-3, 3),
    ),
    "minimum": (
        gl.minimum,
        np.minimum,
        lambda x, y: (x < y) + 0.5 * (x == y),
        lambda x, y: (y < x) + 0.5 * (x == y),
        (-3, 3),
        (-3, 3),
    ),
    "remainder": (
        lambda x, y: x % y,
        np.remainder,
        lambda x, y: np.ones_like(x * y),
        lambda x, y: -np.floor_divide(x, y),
        (-3, 3),
        (0.5, 2),
    ),
    "fmod": (
        gl.fmod,
        np.fmod,
        lambda x, y: np.ones_like(x * y),
        lambda x, y: -np.trunc(x / y),
        (-3, 3),
        (0.5, 2),
    ),
    "lerp_tensor_weight": (
        lambda x, y: gl.lerp(x, y, y * 0 + 0.25),
        lambda x, y: x + 0.25 * (y - x),
        lambda x, y: 0.75 + 0 * y,
        lambda x, y: 0.25 + 0 * x,
        (-3, 3),
        (-3, 3),
    ),
}
COMPARISONS = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "logical_and": np.logical_and,
    "logical_xor": np.logical_xor,
}


def _pair(lo_hi_x, lo_hi_y):
    @st.composite
    def draw(draw_):
        shapes = draw_(
            hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=3)
        )
        xs, ys = shapes.input_shapes

        def arr(shape, lo, hi):
            # values on a 1/8 grid: exact in binary, so ties (maximum/minimum) actually occur
            return draw_(
                hnp.arrays(np.float64, shape, elements=st.integers(lo * 8, hi * 8).map(lambda v: v / 8))
            )

        return arr(xs, *lo_hi_x), arr(ys, *lo_hi_y)

    return draw()


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("name", sorted(OPS))
def test_binary_op_values_and_gradients(name, device):
    fn, ref, dx, dy, rx, ry = OPS[name]

    @SETTINGS
    @given(pair=_pair(rx, ry))
    def check(pair):
        xa, ya = pair
        x = gl.tensor(xa, dtype=gl.float64, device=device, requires_grad=True)
        y = gl.tensor(ya, dtype=gl.float64, device=device, requires_grad=True)
        out = fn(x, y)
        expected = ref(xa, ya)
        assert tuple(out.shape) == expected.shape
        np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12, atol=1e-12)
        g_np = np.random.default_rng(0).standard_normal(expected.shape)
        g = gl.tensor(g_np, dtype=gl.float64, device=device)
        out.backward(g)
        xb, yb = np.broadcast_arrays(xa, ya)
        for leaf, d, shape, what in ((x, dx, xa.shape, "x"), (y, dy, ya.shape, "y")):
            want = sum_to(g_np * d(xb, yb), shape)
            assert leaf.grad is not None and tuple(leaf.grad.shape) == shape, f"{name}: grad of {what} shape"
            np.testing.assert_allclose(
                to_numpy(leaf.grad), want, rtol=1e-10, atol=1e-10, err_msg=f"{name}: grad of {what}"
            )
            if device == "cpu":
                assert not np.shares_memory(to_numpy(leaf.grad), to_numpy(g)), (
                    f"{name}: .grad of {what} aliases g"
                )
        np.testing.assert_array_equal(to_numpy(x), xa)
        np.testing.assert_array_equal(to_numpy(y), ya)
        np.testing.assert_array_equal(to_numpy(g), g_np)

    check()


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparison_values(name, device):
    ref = COMPARISONS[name]

    @SETTINGS
    @given(pair=_pair((-2, 2), (-2, 2)))
    def check(pair):
        xa, ya = pair
        x, y = gl.tensor(xa, device=device), gl.tensor(ya, device=device)
        out = getattr(gl, name)(x, y)
        assert out.dtype == gl.bool
        np.testing.assert_array_equal(to_numpy(out), ref(xa, ya))

    check()


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), data=st.data())
def test_where_three_way_broadcast(shapes, data):
    cs, xs, ys = shapes.input_shapes
    c = data.draw(hnp.arrays(np.bool_, cs))
    xa = data.draw(hnp.arrays(np.float64, xs, elements=st.floats(-3, 3)))
    ya = data.draw(hnp.arrays(np.float64, ys, elements=st.floats(-3, 3)))
    x = gl.tensor(xa, dtype=gl.float64, requires_grad=True)
    y = gl.tensor(ya, dtype=gl.float64, requires_grad=True)
    out = gl.where(gl.tensor(c), x, y)
    np.testing.assert_array_equal(to_numpy(out), np.where(c, xa, ya))
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(gl.tensor(g, dtype=gl.float64))
    cb = np.broadcast_to(c, out.shape)
    np.testing.assert_allclose(to_numpy(x.grad), sum_to(np.where(cb, g, 0), xs), atol=1e-12)
    np.testing.assert_allclose(to_numpy(y.grad), sum_to(np.where(cb, 0, g), ys), atol=1e-12)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
def test_incompatible_shapes_raise_like_torch(shapes):
    """Shapes made incompatible in one dim raise RuntimeError naming both sizes and the dim."""
    xs, ys = shapes.input_shapes
    if not xs or not ys:
        return
    xs = xs[:-1] + (5,)
    ys = ys[:-1] + (6,)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(5\) must match the size of tensor b \(6\)"):
        gl.zeros(*xs) + gl.zeros(*ys)
