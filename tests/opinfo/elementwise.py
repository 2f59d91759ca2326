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


# -- arithmetic ------------------------------------------------------------------------------------------
register(
    OpInfo(
        name="add",
        op=lambda m, x, y, **kw: m.add(x, y, **kw),
        ref=lambda np, x, y, alpha=1: np.asarray(np.add(x, np.multiply(y, alpha))).astype(
            np.result_type(x, y)
        ),
        samples=lambda rng: (
            binary(rng)
            + [Sample((rng.standard_normal((2, 3)), rng.standard_normal(3)), {"alpha": 2}, name="alpha")]
        ),
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal(3), rng.standard_normal(4))),
                RuntimeError,
                r"size of tensor a \(3\) must match the size of tensor b \(4\)",
            ),
            ErrorSample(Sample((rng.standard_normal(3), "a")), TypeError, "add"),
        ],
        method="add",
        inplace="add_",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="sub",
        op=lambda m, x, y, **kw: m.sub(x, y, **kw),
        ref=lambda np, x, y, alpha=1: np.subtract(x, np.multiply(y, alpha)),
        samples=lambda rng: (
            binary(rng)
            + [Sample((rng.standard_normal((2, 3)), rng.standard_normal(3)), {"alpha": 2}, name="alpha")]
        ),
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal(3) > 0, rng.standard_normal(3) > 0), keep_dtype=True),
                RuntimeError,
                "Subtraction, the `-` operator, with two bool tensors is not supported",
            ),
        ],
        method="sub",
        inplace="sub_",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="rsub_operator",
        op=lambda m, x, y: y - x,
        ref=lambda np, x, y: y - x,
        samples=lambda rng: [Sample((rng.standard_normal((2, 3)), 2.5)), Sample((rng.standard_normal(3), 1))],
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="mul",
        op=lambda m, x, y: m.mul(x, y),
        ref=lambda np, x, y: np.multiply(x, y),
        samples=binary,
        method="mul",
        inplace="mul_",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="div",
        op=lambda m, x, y: m.div(x, y),
        ref=lambda np, x, y: np.true_divide(x, y),
        samples=lambda rng: (
            binary(rng, ylo=0.5, yhi=2.0)
            + [
                Sample((np.array([1, -7, 9]), np.array([2, 2, -4])), name="int_true_div", keep_dtype=True),
            ]
        ),
        method="div",
        inplace="div_",
        dtypes=FLT,
    )
)


def _int_pairs():
    """Integer operands of every sign combination; divisors nonzero (zero: test_reliability_arith.py)."""
    x = np.array([[7, -7, 7, -7, 0, 6], [5, -5, 9, -9, 3, -6]])
    y = np.array([[2, 2, -2, -2, 3, 4], [3, 3, -4, -4, -3, 3]])
    return Sample((x, y), name="int_signs", keep_dtype=True)


register(
    OpInfo(
        name="div_floor",
        op=lambda m, x, y, rounding_mode="floor": m.div(x, y, rounding_mode=rounding_mode),
        ref=lambda np, x, y: np.floor_divide(x, y),
        samples=lambda rng: binary(rng, ylo=0.5, yhi=2.0, scalar_left=False) + [_int_pairs()],
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal(3), 2.0), {"rounding_mode": "bad"}),
                RuntimeError,
                "div expected rounding_mode to be one of None, 'trunc', or 'floor'",
            )
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="div_trunc",
        op=lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
        ref=lambda np, x, y: np.trunc(np.true_divide(x, y)).astype(np.result_type(x, y)),
        samples=lambda rng: binary(rng, ylo=0.5, yhi=2.0, scalar_left=False) + [_int_pairs()],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="floor_divide",
        op=lambda m, x, y: x // y,
        ref=lambda np, x, y: np.floor_divide(x, y),
        samples=lambda rng: binary(rng, ylo=0.5, yhi=2.0, scalar_left=False) + [_int_pairs()],
        dtypes=FLT,
        differentiable=False,
    )
)
register(
    OpInfo(
        name="remainder",
        op=lambda m, x, y: m.remainder(x, y),
        ref=lambda np, x, y: np.remainder(x, y),
        samples=lambda rng: binary(rng, -3, 3, ylo=0.5, yhi=2.0, scalar_left=False) + [_int_pairs()],
        method="remainder",
        inplace="remainder_",
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="mod_operator",
        op=lambda m, x, y: x % y,
        ref=lambda np, x, y: np.remainder(x, y),
        samples=lambda rng: [
            Sample((rng.uniform(-3, 3, (2, 3)), 1.5)),
            Sample((rng.uniform(-3, 3, 4), rng.uniform(-2, -0.5, 4))),
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="rmod_scalar",
        op=lambda m, x, y: x % y,
        ref=lambda np, x, y: np.remainder(x, y),
        samples=lambda rng: [
            Sample((2.5, rng.uniform(0.5, 2, 3))),
            Sample((-7, rng.uniform(-2, -0.5, (2, 2)))),
        ],
        dtypes=FLT,
        differentiable=False,  # PyTorch has no derivative of ``scalar % tensor``
    )
)
register(
    OpInfo(
        name="fmod",
        op=lambda m, x, y: m.fmod(x, y),
        ref=lambda np, x, y: np.fmod(x, y),
        samples=lambda rng: binary(rng, -3, 3, ylo=0.5, yhi=2.0, scalar_left=False) + [_int_pairs()],
        method="fmod",
        inplace="fmod_",
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="neg",
        op=lambda m, x: m.neg(x),
        ref=lambda np, x: np.negative(x),
        samples=unary,
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal(3) > 0,), keep_dtype=True),
                RuntimeError,
                "Negation, the `-` operator, on a bool tensor is not supported",
            )
        ],
        method="neg",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="pow",
        op=lambda m, x, y: m.pow(x, y),
        ref=lambda np, x, y: np.power(x, y),
        samples=lambda rng: [
            Sample((rng.uniform(0.5, 2, (2, 3)), rng.uniform(-2, 2, (2, 3))), name="tensor_exp"),
            Sample((rng.uniform(0.5, 2, (3, 1)), rng.uniform(-2, 2, 4)), name="broadcast"),
            Sample((rng.uniform(-2, 2, (2, 3)), 2), name="square"),
            Sample((rng.uniform(-2, 2, (2, 3)), 3), name="cube"),
            Sample((rng.uniform(0.5, 2, (2, 3)), 0.5), name="sqrt"),
            Sample((rng.uniform(0.5, 2, (3, 2)).T, -1.5), name="neg_float_transposed"),
            Sample((rng.uniform(-2, 2, 4), 0), name="zero_exp"),
            Sample((2.0, rng.uniform(-2, 2, (2, 3))), name="scalar_base"),
            Sample((rng.uniform(-2, 2, 0), 2), name="empty"),
            Sample((np.asarray(rng.uniform(0.5, 2)), rng.uniform(-1, 1, 3)), name="0d_base"),
            Sample((np.array([0, 1, 2, -3]), 3), name="int", keep_dtype=True),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((np.array([1, 2]), -1), keep_dtype=True),
                RuntimeError,
                "Integers to negative integer powers are not allowed",
            )
        ],
        method="pow",
        inplace="pow_",
        dtypes=FLT,
    )
)


# unary ops whose in-place form PyTorch has (checked by the generic in-place test)
_HAS_INPLACE = set(
    "abs absolute acos arccos arcsin arctan asin atan ceil cos cosh erf erfc exp2 expm1 fix floor frac log10 "
    "log1p log2 log negative reciprocal round rsqrt sign sin sinh sqrt square tan trunc".split()
)


def _unary(
    name,
    ref,
    lo=-2.0,
    hi=2.0,
    away=None,
    dtypes=("float32", "float64", "int64"),
    method=True,
    inplace=None,
    large=None,
    **kw,
):
    """Register a one-tensor op ``m.<name>(x)`` with the standard unary samples (and its in-place form
    ``<name>_`` where PyTorch has one)."""
    if inplace is None and name in _HAS_INPLACE:
        inplace = name + "_"

    def samples(rng):
        out = unary(rng, lo, hi, away)
        if large is not None:
            out.append(Sample((np.array(large),), name="large"))
        return out

    register(
        OpInfo(
            name=name,
            op=lambda m, x: getattr(m, name)(x),
            ref=ref,
            samples=samples,
            method=name if method else None,
            inplace=inplace,
            dtypes=dtypes,
            **kw,
        )
    )


_unary("exp", lambda np, x: np.exp(x), inplace="exp_")
_unary("exp2", lambda np, x: np.exp2(x))
_unary("expm1", lambda np, x: np.expm1(x))
_unary("log", lambda np, x: np.log(x), 0.1, 3.0)
_unary("log2", lambda np, x: np.log2(x), 0.1, 3.0)
_unary("log10", lambda np, x: np.log10(x), 0.1, 3.0)
_unary("log1p", lambda np, x: np.log1p(x), -0.9, 2.0)
_unary("sqrt", lambda np, x: np.sqrt(x), 0.1, 3.0)
_unary("rsqrt", lambda np, x: 1 / np.sqrt(x), 0.1, 3.0, dtypes=FLT)
_unary("square", lambda np, x: np.square(x), dtypes=NUM)
_unary("abs", lambda np, x: np.abs(x), away=((0.0,), 0.05), dtypes=NUM)
_unary("sign", lambda np, x: np.sign(x), away=((0.0,), 0.05), dtypes=NUM)
_unary("reciprocal", lambda np, x: 1 / x, away=((0.0,), 0.3))
_unary("sin", lambda np, x: np.sin(x))
_unary("cos", lambda np, x: np.cos(x))
_unary("tan", lambda np, x: np.tan(x), -1.2, 1.2)
_unary("asin", lambda np, x: np.arcsin(x), -0.9, 0.9)
_unary("acos", lambda np, x: np.arccos(x), -0.9, 0.9)
_unary("atan", lambda np, x: np.arctan(x))
_unary("sinh", lambda np, x: np.sinh(x))
_unary("cosh", lambda np, x: np.cosh(x))
_unary("tanh", lambda np, x: np.tanh(x), inplace="tanh_", large=[-100.0, -30.0, 30.0, 100.0])
_unary("asinh", lambda np, x: np.arcsinh(x))
_unary("acosh", lambda np, x: np.arccosh(x), 1.1, 3.0)
_unary("atanh", lambda np, x: np.arctanh(x), -0.9, 0.9)
_unary("sigmoid", lambda np, x: 1 / (1 + np.exp(-x)), inplace="sigmoid_", large=[-100.0, -30.0, 30.0, 100.0])
_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])
_unary("erf", lambda np, x: _erf(x), -3.0, 3.0, large=[-30.0, -5.0, 5.0, 30.0])
_unary("erfc", lambda np, x: _erfc(x), -3.0, 3.0, large=[-30.0, -5.0, 5.0, 26.0])
_AWAY_INT = (tuple(np.arange(-4, 4.5, 0.5)), 0.02)  # integers and halves: where rounding jumps
_unary("floor", lambda np, x: np.floor(x), away=_AWAY_INT, dtypes=NUM)
_unary("ceil", lambda np, x: np.ceil(x), away=_AWAY_INT, dtypes=NUM)
_unary("trunc", lambda np, x: np.trunc(x), away=_AWAY_INT, dtypes=NUM)
_unary("frac", lambda np, x: x - np.trunc(x), away=_AWAY_INT, dtypes=FLT)
register(
    OpInfo(
        name="round",
        op=lambda m, x, **kw: m.round(x, **kw),
        ref=lambda np, x, decimals=0: np.round(x, decimals),
        samples=lambda rng: (
            unary(rng, -3, 3, _AWAY_INT)
            + [
                Sample(
                    (np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49]),),
                    name="half_to_even",
                    skip={"gradcheck": "values sit on the jumps", "gradgradcheck": "values sit on the jumps"},
                ),
                Sample((rng.uniform(-3, 3, (2, 3)),), {"decimals": 2}, name="decimals", dtypes=FLT),
                Sample(
                    (np.array([1234.5678, -15.0, 25.0]),),
                    {"decimals": -1},
                    name="neg_decimals",
                    dtypes=FLT,
                    skip={"gradcheck": "values sit on the jumps", "gradgradcheck": "values sit on the jumps"},
                ),
            ]
        ),
        method="round",
        dtypes=NUM,
    )
)


def _binary_tensor(rng, lo=-2.0, hi=2.0, ylo=None, yhi=None):
    return binary(rng, lo, hi, ylo, yhi, scalars=(), scalar_left=False)


register(
    OpInfo(
        name="atan2",
        op=lambda m, x, y: m.atan2(x, y),
        ref=lambda np, x, y: np.arctan2(x, y),
        samples=lambda rng: (
            _binary_tensor(rng, 0.2, 2.0)
            + [
                Sample(
                    (np.array([0.0, 0.0, 1.0, -1.0]), np.array([0.0, 1.0, 0.0, 0.0])),
                    name="origin_axes",
                    skip={
                        "gradcheck": "atan2 is not differentiable at the origin",
                        "gradgradcheck": "origin",
                    },
                ),
            ]
        ),
        method="atan2",
        inplace="atan2_",
        dtypes=FLT,
    )
)


_NAN_SKIP = {
    "gradcheck": "finite differences of NaN are NaN",
    "gradgradcheck": "finite differences of NaN are NaN",
}


def _ties(rng):
    x = np.round(rng.uniform(-2, 2, (3, 4)), 1)
    y = np.where(rng.uniform(size=(3, 4)) > 0.5, x, np.round(rng.uniform(-2, 2, (3, 4)), 1))
    return Sample((x, y), name="ties", skip={"gradgradcheck": "at a tie the first derivative jumps"})


for _name, _np in (("maximum", "maximum"), ("minimum", "minimum")):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name),
            ref=(lambda n: lambda np, x, y: getattr(np, n)(x, y))(_np),
            samples=lambda rng: (
                _binary_tensor(rng)
                + [
                    _ties(rng),
                    Sample(
                        (np.array([1.0, np.nan, 2.0]), np.array([np.nan, 1.0, 3.0])),
                        name="nan",
                        skip=_NAN_SKIP,
                    ),
                ]
            ),
            method=_name,
            dtypes=NUM,
        )
    )

register(
    OpInfo(
        name="clamp",
        op=lambda m, x, *a, **kw: m.clamp(x, *a, **kw),
        ref=lambda np, x, min=None, max=None: np.minimum(
            np.maximum(x, -np.inf if min is None else min), np.inf if max is None else max
        ).astype(np.result_type(x, *(v for v in (min, max) if v is not None))),
        samples=lambda rng: [
            Sample((rng.uniform(-2, 2, (2, 3)), -0.5, 0.5), name="both"),
            Sample((rng.uniform(-2, 2, (3, 2)).T,), {"min": 0.1}, name="min_transposed"),
            Sample((rng.uniform(-2, 2, 5),), {"max": 0.3}, name="max"),
            Sample((np.asarray(1.7), -1.0, 1.0), name="0d"),
            Sample((rng.uniform(-2, 2, (0, 2)), -1.0, 1.0), name="empty"),
            Sample(
                (rng.uniform(-2, 2, (2, 3)), rng.uniform(-1, 0, 3), rng.uniform(0, 1, (2, 1))),
                name="tensor_bounds",
            ),
            Sample((rng.uniform(-2, 2, (2, 3)),), {"min": rng.uniform(-1, 0, (2, 3))}, name="tensor_min"),
            Sample((np.array([1.0, np.nan, -3.0]), -1.0, 1.0), name="nan", skip=_NAN_SKIP),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal(3),)),
                RuntimeError,
                "At least one of 'min' or 'max' must not be None",
            )
        ],
        method="clamp",
        inplace="clamp_",
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="clip",
        op=lambda m, x, lo, hi: m.clip(x, lo, hi),
        ref=lambda np, x, lo, hi: np.clip(x, lo, hi),
        samples=lambda rng: [
            Sample((rng.uniform(-2, 2, (2, 3)), -0.5, 0.5)),
            Sample((np.array([-2, 0, 3]), -1, 1), name="int", keep_dtype=True),
        ],
        method="clip",
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="where",
        op=lambda m, c, x, y: m.where(c, x, y),
        ref=lambda np, c, x, y: np.where(c, x, y),
        samples=lambda rng: [
            Sample(
                (rng.uniform(size=(2, 3)) > 0.5, rng.standard_normal((2, 3)), rng.standard_normal((2, 3))),
                name="same",
            ),
            Sample(
                (rng.uniform(size=(2, 1, 3)) > 0.5, rng.standard_normal((4, 1)), rng.standard_normal(3)),
                name="broadcast",
            ),
            Sample((rng.uniform(size=(2, 3)) > 0.5, rng.standard_normal((2, 3)), 0.0), name="scalar_other"),
            Sample((rng.uniform(size=(3,)) > 0.5, 1.5, rng.standard_normal(3)), name="scalar_self"),
            Sample(
                (np.asarray(True), rng.standard_normal((3, 2)).T, rng.standard_normal((2, 3))), name="0d_cond"
            ),
            Sample(
                (np.zeros((0, 3), bool), rng.standard_normal((0, 3)), rng.standard_normal(3)), name="empty"
            ),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3))),
                RuntimeError,
                "where expected condition to be a boolean tensor",
            )
        ],
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="lerp",
        op=lambda m, x, y, w: m.lerp(x, y, w),
        ref=lambda np, x, y, w: x + w * (y - x),
        samples=lambda rng: [
            Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), 0.3), name="scalar_weight"),
            Sample(
                (rng.standard_normal((2, 3)), rng.standard_normal(3), rng.uniform(0, 1, (2, 1))),
                name="tensor_weight",
            ),
            Sample((rng.standard_normal((3, 2)).T, rng.standard_normal((2, 3)), 0.7), name="transposed"),
            Sample((np.asarray(1.0), np.asarray(3.0), np.asarray(0.25)), name="0d"),
        ],
        method="lerp",
        inplace="lerp_",
        dtypes=FLT,
    )
)

# -- activations (nn.functional) --------------------------------------------------------------------------
_LARGE = [-100.0, -30.0, 30.0, 100.0]


_AT_KINK = {"gradcheck": "finite differences straddle the kink", "gradgradcheck": "at the kink"}


def _act(name, ref, kwargs_list=({},), away=((0.0,), 0.05), large=True, **kw):
    """Register ``F.<name>`` with the unary samples, each given kwargs, and saturating large inputs."""

    def samples(rng):
        out = []
        for kwargs in kwargs_list:
            for s in unary(rng, -3.0, 3.0, away):
                out.append(
                    Sample(s.args, dict(kwargs), name=f"{s.name}_{'_'.join(map(str, kwargs.values()))}")
                )
        if large:
            out.append(Sample((np.array(_LARGE),), name="large"))
        # exactly at the kinks: the gradient there is a convention, checked against PyTorch's
        pts = sorted({p for p in away[0]} | {0.0})
        out.append(Sample((np.array(pts),), name="kinks", skip=_AT_KINK))
        return out

    register(
        OpInfo(
            name=name,
            op=lambda m, x, **k: getattr(m.nn.functional, name)(x, **k),
            ref=ref,
            samples=samples,
            dtypes=FLT,
            **kw,
        )
    )


def _np_softplus(np, x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.logaddexp(0, x * beta) / beta)


def _np_elu(np, x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

_act("relu", lambda np, x: np.maximum(x, 0), method="relu", inplace="relu_")
_act("relu6", lambda np, x: np.clip(x, 0, 6), away=((0.0, 6.0), 0.05))
_act(
    "leaky_relu",
    lambda np, x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
    kwargs_list=({}, {"negative_slope": 0.2}),
)
_act("elu", _np_elu, kwargs_list=({}, {"alpha": 0.5}))
_act("selu", lambda np, x: _SELU_S * _np_elu(np, x, _SELU_A))
_act(
    "celu",
    lambda np, x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha)),
    kwargs_list=({}, {"alpha": 2.0}),
)
_act(
    "gelu",
    lambda np, x, approximate="none": (
        x * 0.5 * (1 + _erf(x / math.sqrt(2)))
        if approximate == "none"
        else 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    ),
    kwargs_list=({}, {"approximate": "tanh"}),
    errors=lambda rng: [
        ErrorSample(
            Sample((rng.standard_normal(3),), {"approximate": "fast"}),
            RuntimeError,
            "approximate argument must be either none or tanh",
        )
    ],
)
_act("silu", lambda np, x: x / (1 + np.exp(-x)))
_act("mish", lambda np, x: x * np.tanh(np.logaddexp(0, x)))
_act("softplus", _np_softplus, kwargs_list=({}, {"beta": 2.0, "threshold": 3.0}), away=((0.0, 1.5), 0.05))
_act("logsigmoid", lambda np, x: -np.logaddexp(0, -x))
_act(
    "hardtanh",
    lambda np, x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
    kwargs_list=({}, {"min_val": -0.5, "max_val": 2.0}),
    away=((-1.0, 1.0, -0.5, 2.0), 0.05),
)
_act("hardsigmoid", lambda np, x: np.clip(x + 3, 0, 6) / 6, away=((-3.0, 3.0), 0.05))
_act("hardswish", lambda np, x: x * np.clip(x + 3, 0, 6) / 6, away=((-3.0, 3.0), 0.05))

# -- comparisons and logic ---------------------------------------------------------------------------------


def _cmp_samples(rng):
    x = np.round(rng.uniform(-2, 2, (2, 3)))
    y = np.where(rng.uniform(size=(2, 3)) > 0.5, x, np.round(rng.uniform(-2, 2, (2, 3))))
    return [
        Sample((x, y), name="ties"),
        Sample(
            (np.round(rng.uniform(-2, 2, (2, 1, 3))), np.round(rng.uniform(-2, 2, (4, 1)))), name="broadcast"
        ),
        Sample((np.round(rng.uniform(-2, 2, 4)), 1), name="scalar_int"),
        Sample((np.round(rng.uniform(-2, 2, 4)), 0.5), name="scalar_float"),
        Sample((np.array([1.0, np.nan, np.inf]), np.array([1.0, np.nan, np.inf])), name="nan_inf"),
        Sample((np.zeros((0, 2)), np.zeros(2)), name="empty"),
    ]


for _name, _np in (
    ("eq", "equal"),
    ("ne", "not_equal"),
    ("lt", "less"),
    ("le", "less_equal"),
    ("gt", "greater"),
    ("ge", "greater_equal"),
):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name),
            ref=(lambda n: lambda np, x, y: getattr(np, n)(x, y))(_np),
            samples=_cmp_samples,
            method=_name,
            dtypes=ALL,
            differentiable=False,
        )
    )

for _name in ("logical_and", "logical_or", "logical_xor"):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, y: getattr(m, n)(x, y))(_name),
            ref=(lambda n: lambda np, x, y: getattr(np, n)(x, y))(_name),
            samples=lambda rng: [s for s in _cmp_samples(rng) if "scalar" not in s.name],
            method=_name,
            dtypes=ALL,
            differentiable=False,
        )
    )
register(
    OpInfo(
        name="logical_not",
        op=lambda m, x: m.logical_not(x),
        ref=lambda np, x: np.logical_not(x),
        samples=lambda rng: [
            Sample((np.round(rng.uniform(-1, 1, (2, 3))),)),
            Sample((np.zeros(0),), name="empty"),
        ],
        method="logical_not",
        dtypes=ALL,
        differentiable=False,
    )
)


def _special(rng):
    return [
        Sample((np.array([[1.0, np.nan, np.inf], [-np.inf, 0.0, -2.5]]),), name="special"),
        Sample((rng.standard_normal((3, 2)).T,), name="transposed"),
    ]


for _name in ("isnan", "isinf", "isfinite"):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x: getattr(m, n)(x))(_name),
            ref=(lambda n: lambda np, x: getattr(np, n)(x))(_name),
            samples=_special,
            method=_name,
            dtypes=ALL,
            differentiable=False,
        )
    )


def _close_samples(rng):
    x = rng.standard_normal((2, 3))
    return [
        Sample((x, x + 1e-9), name="close"),
        Sample((x, x + 1e-3), name="far"),
        Sample((x, x + 1e-3), {"atol": 1e-2}, name="atol"),
        Sample((np.array([1.0, np.nan]), np.array([1.0, np.nan])), {"equal_nan": True}, name="equal_nan"),
        Sample((np.array([1.0, np.nan]), np.array([1.0, np.nan])), name="nan"),
        Sample((x, x[0]), name="broadcast"),
    ]


register(
    OpInfo(
        name="allclose",
        op=lambda m, x, y, **kw: m.allclose(x, y, **kw),
        ref=lambda np, x, y, **kw: np.allclose(x, y, **kw),
        samples=_close_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((np.ones(2, np.float32), np.ones(2)), keep_dtype=True),
                RuntimeError,
                "Float did not match Double",
            )
        ],
        method="allclose",
        differentiable=False,
    )
)
register(
    OpInfo(
        name="isclose",
        op=lambda m, x, y, **kw: m.isclose(x, y, **kw),
        ref=lambda np, x, y, **kw: np.isclose(x, y, **kw),
        samples=_close_samples,
        method="isclose",
        differentiable=False,
    )
)
register(
    OpInfo(
        name="equal",
        op=lambda m, x, y: m.equal(x, y),
        ref=lambda np, x, y: bool(x.shape == y.shape and np.array_equal(x, y)),
        samples=lambda rng: [
            Sample((np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3)), name="same"),
            Sample((np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)), name="shape"),
            Sample((np.arange(3.0), np.array([0.0, 1.0, 5.0])), name="values"),
        ],
        method="equal",
        dtypes=ALL,
        differentiable=False,
    )
)
register(
    OpInfo(
        name="where_condition_only",
        op=lambda m, c: m.where(c),
        ref=lambda np, c: np.nonzero(c),
        samples=lambda rng: [
            Sample((rng.uniform(size=(2, 3)) > 0.5,), name="mat"),
            Sample((np.array([False, True, True]),), name="vec"),
            Sample((np.zeros((0, 2), bool),), name="empty"),
        ],
        dtypes=("bool",),
        differentiable=False,
    )
)
