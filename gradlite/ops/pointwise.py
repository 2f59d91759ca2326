"""Unary pointwise math, ``where``, ``clamp``, ``maximum``/``minimum``, ``lerp`` and ``atan2``.

Each forward is one or two namespace calls; each gradient a formula written with gradlite ops, so it is
differentiable again. Integer and bool inputs of floating functions give the default float dtype.
"""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.autograd.node import zero
from gradlite.backends import _kernels
from gradlite.ops._base import apply, checked_int, operands, tensor_method
from gradlite.tensor import _DTYPE_OF, Tensor, _dtype_of


def fdata(x: Tensor):
    """The array of ``x`` as floating point (integer and bool tensors give the default float dtype)."""
    d = x._data
    if _dtype_of(d).is_floating_point:
        return d
    b = x._device.backend
    return b.xp.astype(d, b.dtype(dtypes.get_default_dtype().name))


def xp_of(x: Tensor):
    return x._device.backend.xp


def _check(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _unary(name: str, node: str, fwd, grad=None, grad_y=None, floating: bool = True, methods: tuple = (),
           rgrad=None, kernel=None):
    """Make a unary op: ``fwd(xp, xd)`` computes it; ``grad(gy, x)`` or ``grad_y(gy, y)`` its gradient.

    The gradient formulas use operators only, so they serve tensors (create_graph) and arrays alike; a
    ``grad`` that calls gradlite functions comes with ``rgrad(gy, x, xp)``, its array version. ``kernel``
    names the backend kernel (``backends/_kernels.py``) that computes ``grad_y`` on arrays: the same
    formula, one fused kernel on CuPy.
    """
    fns = (grad_y if grad_y is not None else grad,)
    rfns = None if rgrad is None else (rgrad,)

    def op(x: Tensor) -> Tensor:
        if x.__class__ is not Tensor:
            _check(x, name)
        xd = x._data
        if floating and not (_DTYPE_OF.get(xd.dtype) or _dtype_of(xd)).is_floating_point:
            xd = fdata(x)
        xp = x._device.backend.xp
        data = fwd(xp, xd)
        if grad_y is not None:
            rf = None if kernel is None else (getattr(x._device.backend.kernels, kernel),)
            return apply(node, data, (x,), fns, save_output=True, args=(), rargs=(), rfns=rf)
        return apply(node, data, (x,), fns, saved=(x,), args=(x,), rargs=(xd,) if rfns is None else (xd, xp),
                     rfns=rfns)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``; any shape -> same shape."
    tensor_method(name, *methods)(op)
    return op


# -- exponentials and logarithms ----------------------------------------------------------------------
# d/dx exp(x) = exp(x)
exp = _unary("exp", "ExpBackward0", lambda xp, x: xp.exp(x), grad_y=lambda gy, y: gy * y)
# d/dx 2**x = 2**x ln 2
exp2 = _unary(
    "exp2", "Exp2Backward0", lambda xp, x: xp.pow(2.0, x), grad_y=lambda gy, y: gy * y * math.log(2.0)
)
# d/dx (e**x - 1) = e**x = y + 1
expm1 = _unary("expm1", "Expm1Backward0", lambda xp, x: xp.expm1(x), grad_y=lambda gy, y: gy * (y + 1))
# d/dx log x = 1/x
log = _unary("log", "LogBackward0", lambda xp, x: xp.log(x), grad=lambda gy, x: gy / x)
log2 = _unary("log2", "Log2Backward0", lambda xp, x: xp.log2(x), grad=lambda gy, x: gy / (x * math.log(2.0)))
log10 = _unary(
    "log10", "Log10Backward0", lambda xp, x: xp.log10(x), grad=lambda gy, x: gy / (x * math.log(10.0))
)
log1p = _unary("log1p", "Log1PBackward0", lambda xp, x: xp.log1p(x), grad=lambda gy, x: gy / (x + 1))
# d/dx sqrt(x) = 1 / (2 sqrt(x))
sqrt = _unary("sqrt", "SqrtBackward0", lambda xp, x: xp.sqrt(x), grad_y=lambda gy, y: gy / (2 * y))
# d/dx x**-1/2 = -1/2 x**-3/2 = -y**3 / 2
rsqrt = _unary(
    "rsqrt", "RsqrtBackward0", lambda xp, x: 1.0 / xp.sqrt(x), grad_y=lambda gy, y: gy * y * y * y * -0.5
)
# d/dx 1/x = -1/x**2 = -y**2
reciprocal = _unary(
    "reciprocal", "ReciprocalBackward0", lambda xp, x: 1.0 / x, grad_y=lambda gy, y: -gy * y * y
)


@tensor_method()
def square(x: Tensor) -> Tensor:
    """``x * x``; integer dtypes stay integer (bool gives int64), as PyTorch."""
    _check(x, "square")
    if _dtype_of(x._data) is dtypes.bool_:
        x = x.to(dtypes.int64)
    # d/dx x**2 = 2x
    return apply("PowBackward0", x._data * x._data, (x,), (_twice,), saved=(x,), args=(x,), rargs=(x._data,))


def _twice(gy, x):  # d/dx x**2 = 2x, as PyTorch: gy * (2 * x) (gy * 2 may overflow float16, then inf * 0)
    return gy * (x + x)


# -- trigonometric and hyperbolic ---------------------------------------------------------------------
sin = _unary(
    "sin", "SinBackward0", lambda xp, x: xp.sin(x), grad=lambda gy, x: gy * cos(x),
    rgrad=lambda gy, x, xp: gy * xp.cos(x),
)
cos = _unary(
    "cos", "CosBackward0", lambda xp, x: xp.cos(x), grad=lambda gy, x: -gy * sin(x),
    rgrad=lambda gy, x, xp: -gy * xp.sin(x),
)
# d/dx tan = 1 + tan**2
tan = _unary("tan", "TanBackward0", lambda xp, x: xp.tan(x), grad_y=lambda gy, y: gy * (1 + y * y))
# d/dx asin = 1/sqrt(1 - x**2) ; acos = -that
asin = _unary(
    "asin",
    "AsinBackward0",
    lambda xp, x: xp.asin(x),
    grad=lambda gy, x: gy * rsqrt(1 - x * x),
    rgrad=lambda gy, x, xp: gy * (1.0 / xp.sqrt(1 - x * x)),
    methods=("arcsin",),
)
acos = _unary(
    "acos",
    "AcosBackward0",
    lambda xp, x: xp.acos(x),
    grad=lambda gy, x: -gy * rsqrt(1 - x * x),
    rgrad=lambda gy, x, xp: -gy * (1.0 / xp.sqrt(1 - x * x)),
    methods=("arccos",),
)
atan = _unary(
    "atan",
    "AtanBackward0",
    lambda xp, x: xp.atan(x),
    grad=lambda gy, x: gy / (1 + x * x),
    methods=("arctan",),
)
sinh = _unary(
    "sinh", "SinhBackward0", lambda xp, x: xp.sinh(x), grad=lambda gy, x: gy * cosh(x),
    rgrad=lambda gy, x, xp: gy * xp.cosh(x),
)
cosh = _unary(
    "cosh", "CoshBackward0", lambda xp, x: xp.cosh(x), grad=lambda gy, x: gy * sinh(x),
    rgrad=lambda gy, x, xp: gy * xp.sinh(x),
)
# d/dx tanh = 1 - y**2 (the formula of the backends' kernel, which it runs on arrays)
tanh = _unary(
    "tanh", "TanhBackward0", lambda xp, x: xp.tanh(x), grad_y=_kernels.tanh_grad, kernel="tanh_grad"
)
# d/dx asinh = 1/sqrt(x**2 + 1); acosh = 1/sqrt(x**2 - 1); atanh = 1/(1 - x**2)
asinh = _unary(
    "asinh",
    "AsinhBackward0",
    lambda xp, x: xp.asinh(x),
    grad=lambda gy, x: gy * rsqrt(x * x + 1),
    rgrad=lambda gy, x, xp: gy * (1.0 / xp.sqrt(x * x + 1)),
    methods=("arcsinh",),
)
acosh = _unary(
    "acosh",
    "AcoshBackward0",
    lambda xp, x: xp.acosh(x),
    grad=lambda gy, x: gy * rsqrt(x * x - 1),
    rgrad=lambda gy, x, xp: gy * (1.0 / xp.sqrt(x * x - 1)),
    methods=("arccosh",),
)
atanh = _unary(
    "atanh",
    "AtanhBackward0",
    lambda xp, x: xp.atanh(x),
    grad=lambda gy, x: gy / (1 - x * x),
    methods=("arctanh",),
)


def _sigmoid_fwd(xp, x):
    # 1 / (1 + exp(-x)) computed as (1 + tanh(x/2)) / 2: no overflow for large |x|
    return (xp.tanh(x * 0.5) + 1) * 0.5


# d/dx sigmoid = y (1 - y)
sigmoid = _unary(
    "sigmoid", "SigmoidBackward0", _sigmoid_fwd, grad_y=_kernels.sigmoid_grad, kernel="sigmoid_grad"
)


def clip_array(xp, a, lo=None, hi=None):
    """``a`` clipped to ``[lo, hi]`` (python numbers or arrays; NaN stays NaN), as two ufuncs: the array API's
    generic ``clip`` (array-api-compat on CuPy) writes through boolean masks, and a mask write reads its
    count back to the host, a synchronisation per call on a GPU."""
    if lo is not None:
        a = xp.maximum(a, lo)
    if hi is not None:
        a = xp.minimum(a, hi)
    return a


# -- erf: the array API has none, so Cody's rational approximations (W. J. Cody, Math. Comp. 1969, as in
# CALERF), written with namespace ops: relative error ~1e-16 in float64, on both backends.
_ERF_A = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_ERF_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_ERF_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_ERF_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_ERF_Q = (
    2.56852019228982242e00,
    1.87295284992346725e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
_SQRPI = 5.6418958354775628695e-1  # 1 / sqrt(pi)


def _erf_small(x):
    """erf(x) for |x| <= 0.5."""
    z = x * x
    num, den = _ERF_A[4] * z, z
    for i in range(3):
        num, den = (num + _ERF_A[i]) * z, (den + _ERF_B[i]) * z
    return x * (num + _ERF_A[3]) / (den + _ERF_B[3])


def _erfc_pos(xp, y):
    """erfc(y) for y >= 0.5 (the middle range up to 4, then the asymptotic one)."""
    y = xp.minimum(y, 30.0)  # erfc underflows to 0 long before 30; inf would make inf - inf = nan below
    mid = clip_array(xp, y, 0.5, 4.0)
    num, den = _ERF_C[8] * mid, mid
    for i in range(7):
        num, den = (num + _ERF_C[i]) * mid, (den + _ERF_D[i]) * mid
    r_mid = (num + _ERF_C[7]) / (den + _ERF_D[7])
    big = xp.where(y > 4.0, y, 4.0)
    z = 1.0 / (big * big)
    num, den = _ERF_P[5] * z, z
    for i in range(4):
        num, den = (num + _ERF_P[i]) * z, (den + _ERF_Q[i]) * z
    r_big = (_SQRPI - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / big
    r = xp.where(y > 4.0, r_big, r_mid)
    # exp(-y**2) split as exp(-s**2) exp(-(y - s)(y + s)) with s = y rounded to 1/16: no cancellation
    s = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-s * s) * xp.exp(-(y - s) * (y + s)) * r


# float32/float16: one rational function erf(x) ~ x P(x^2) / Q(x^2) on |x| <= 4 (beyond, erf is +-1 to
# float32's precision), fitted for gradlite by reweighted least squares to a relative error of 2.3e-9 and
# evaluated in float64: within 0.54 ulp of the true value once rounded to float32, in a third of Cody's ops.
_ERF32_P = (
    1.1283791684742093,
    0.18522471077175004,
    0.05433683527265751,
    0.0038528600560595824,
    0.00038038115142475896,
    4.704061417077493e-06,
    -1.3300442913699584e-08,
)
_ERF32_Q = (
    1.0,
    0.49748453069248216,
    0.11398244207188067,
    0.015471051046263945,
    0.0013092977218244414,
    6.329687537991353e-05,
)


def _erf_fwd(xp, x):
    if x.dtype != xp.float64:
        c = clip_array(xp, xp.astype(x, xp.float64), -4.0, 4.0)
        t = c * c
        num, den = _ERF32_P[6] * t + _ERF32_P[5], _ERF32_Q[5] * t + _ERF32_Q[4]
        for k in (4, 3, 2, 1, 0):
            num = num * t + _ERF32_P[k]
        for k in (3, 2, 1, 0):
            den = den * t + _ERF32_Q[k]
        return xp.astype(c * num / den, x.dtype)
    a = xp.abs(x)
    small = _erf_small(clip_array(xp, x, -0.5, 0.5))
    tail = 1.0 - _erfc_pos(xp, a)
    return xp.where(a <= 0.5, small, xp.where(x < 0, -tail, tail))


def _erfc_fwd(xp, x):
    if x.dtype not in (xp.float32, xp.float64):
        # float16: the rational functions' terms (mid**8) overflow to inf / inf = NaN; computed in float32
        return xp.astype(_erfc_fwd(xp, xp.astype(x, xp.float32)), x.dtype)
    a = xp.abs(x)
    small = 1.0 - _erf_small(clip_array(xp, x, -0.5, 0.5))
    tail = _erfc_pos(xp, a)
    return xp.where(a <= 0.5, small, xp.where(x < 0, 2.0 - tail, tail))


# d/dx erf = 2/sqrt(pi) exp(-x**2)
erf = _unary(
    "erf", "ErfBackward0", _erf_fwd, grad=lambda gy, x: gy * (2 * _SQRPI) * exp(-x * x),
    rgrad=lambda gy, x, xp: gy * (2 * _SQRPI) * xp.exp(-x * x),
)
erfc = _unary(
    "erfc", "ErfcBackward0", _erfc_fwd, grad=lambda gy, x: gy * (-2 * _SQRPI) * exp(-x * x),
    rgrad=lambda gy, x, xp: gy * (-2 * _SQRPI) * xp.exp(-x * x),
)


# -- sign-like ----------------------------------------------------------------------------------------
@tensor_method("__abs__", "abs", "absolute")
def abs(x: Tensor) -> Tensor:
    """``|x|``; same dtype."""
    _check(x, "abs")
    if _dtype_of(x._data) is dtypes.bool_:
        raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
    # d/dx |x| = sign(x); PyTorch takes 0 at x == 0
    return apply("AbsBackward0", xp_of(x).abs(x._data), (x,), (lambda gy: gy * sign(x),), saved=(x,))


@tensor_method()
def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of ``x``; same dtype."""
    _check(x, "sign")
    xd = x._data
    d = _dtype_of(xd)
    if d.is_floating_point:  # PyTorch's (0 < x) - (x < 0): 0 at nan, where the namespace's sign gives nan
        xp = xp_of(x)
        data = xp.astype(xd > 0, xd.dtype) - xp.astype(xd < 0, xd.dtype)
    else:
        data = xd if d is dtypes.bool_ else xp_of(x).sign(xd)
    # piecewise constant: the gradient is 0 everywhere it exists
    return apply("SignBackward0", data, (x,), (zero,))


@tensor_method()
def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``; same dtype."""
    if x.__class__ is not Tensor:
        _check(x, "relu")
    xd = x._data
    if (_DTYPE_OF.get(xd.dtype) or _dtype_of(xd)) is dtypes.bool_:
        raise RuntimeError("\"clamp_min_scalar_cpu\" not implemented for 'Bool'")
    # The gradient at 0 is a choice; PyTorch (and we) take 0: mask by y > 0. On arrays, the backend's
    # kernel (one fused kernel on CuPy).
    b = x._device.backend
    return apply("ReluBackward0", b.xp.maximum(xd, 0), (x,), _RELU, save_output=True, args=(), rargs=(),
                 rfns=(b.kernels.relu_grad,))


def _relu_grad(gy, y):  # (the tensor form of the backend's relu_grad kernel)
    return where(y <= 0, 0.0, gy)


_RELU = (_relu_grad,)




# -- selection ----------------------------------------------------------------------------------------
def where(condition: Tensor, x=None, y=None) -> Tensor:
    """Elementwise ``x if condition else y`` with broadcasting; gradients flow to the chosen side."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' must be Tensor, not {type(condition).__name__}")
    if x is None and y is None:  # where(condition): the indices of the true elements, one tensor per dim
        from gradlite.ops.more import nonzero

        return nonzero(condition, as_tuple=True)
    if _dtype_of(condition._data) is not dtypes.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}"
        )
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        from gradlite.creation import tensor

        x = tensor(x, device=condition.device)
    xd, yd = operands(x, y, "where")
    for t in (x, y):
        if isinstance(t, Tensor) and t._device is not condition._device:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{condition.device} and {t.device}! (when checking argument for where)"
            )
    xp = xp_of(condition)
    c = condition._data
    # python scalars become 0-d arrays of the other operand's dtype (the namespace's where wants arrays)
    if not hasattr(xd, "dtype"):
        xd = xp.asarray(xd, dtype=yd.dtype)
    if not hasattr(yd, "dtype"):
        yd = xp.asarray(yd, dtype=xd.dtype)
    data = xp.where(c, xd, yd)
    return apply(
        "WhereBackward0",
        data,
        (x, y),
        (lambda gy: where(condition, gy, 0.0), lambda gy: where(condition, 0.0, gy)),
    )


Tensor.where = lambda self, condition, y: where(condition, self, y)


@tensor_method()
def maximum(x: Tensor, y: Tensor) -> Tensor:
    """Elementwise max of two tensors with broadcasting; at ties each side gets half the gradient."""
    return _extremum(x, y, "maximum", "MaximumBackward0", True)


@tensor_method()
def minimum(x: Tensor, y: Tensor) -> Tensor:
    """Elementwise min of two tensors with broadcasting; at ties each side gets half the gradient."""
    return _extremum(x, y, "minimum", "MinimumBackward0", False)


def _extremum(x, y, name, node, is_max):
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        bad = y if isinstance(x, Tensor) else x
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(bad).__name__}")
    xd, yd = operands(x, y, name)
    xp = xp_of(x)
    data = (xp.maximum if is_max else xp.minimum)(xd, yd)
    if _dtype_of(data).is_floating_point:  # a NaN on either side propagates, as in PyTorch
        data = xp.where(xp.isnan(xd), xd, xp.where(xp.isnan(yd), yd, data))

    # gradient to the winning side, split evenly at ties; a side loses only when strictly smaller (larger),
    # so with a NaN both sides get the gradient (PyTorch's formula)
    def gx(gy):
        lose = (x < y) if is_max else (x > y)
        return where(lose, 0.0, where(x == y, gy * 0.5, gy))

    def gyf(gy):
        lose = (x > y) if is_max else (x < y)
        return where(lose, 0.0, where(x == y, gy * 0.5, gy))

    return apply(node, data, (x, y), (gx, gyf), saved=((x, y), (x, y)))


@tensor_method("clamp", "clip")
def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """``x`` limited to ``[min, max]`` (numbers or broadcast tensors); gradient 1 inside, 0 outside."""
    _check(x, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensors = isinstance(min, Tensor) or isinstance(max, Tensor)
    if not tensors:
        return _clamp_scalar(x, min, max)
    y = x
    lo, hi = min, max
    if x.dtype is dtypes.bool_ and all(isinstance(t, Tensor) and t.dtype is dtypes.bool_ for t in (lo, hi)):
        raise NotImplementedError("\"clamp_cpu\" not implemented for 'Bool'")  # (PyTorch's kernel)
    if lo is not None:
        y = _clamp_side(y, lo, True)
    if hi is not None:
        y = _clamp_side(y, hi, False)
    return y


def _clamp_scalar(x, lo, hi, node="ClampBackward1"):
    xp = xp_of(x)
    d = x._data
    src = _dtype_of(d)
    if src is dtypes.bool_:  # python int bounds promote a bool tensor to int64, as PyTorch
        d = x._device.backend.xp.astype(d, x._device.backend.dtype("int64"))
    if not src.is_floating_point and any(isinstance(v, float) for v in (lo, hi)):
        d = fdata(x)  # a float bound promotes an integer tensor, as PyTorch
    elif src.category == dtypes.INT:  # int bounds converted as PyTorch: checked, -1 is 255 for uint8
        lo, hi = (None if v is None else checked_int(src, v) for v in (lo, hi))
    out = d
    if lo is not None:
        out = xp.maximum(out, xp.asarray(lo, dtype=out.dtype))
    if hi is not None:
        out = xp.minimum(out, xp.asarray(hi, dtype=out.dtype))
    if _dtype_of(out).is_floating_point:
        out = xp.where(xp.isnan(d), d, out)

    # gradient passes where lo <= x <= hi (bounds inclusive, as PyTorch)
    def gx(gy):
        m = None
        if lo is not None:
            m = x >= lo
        if hi is not None:
            m = (x <= hi) if m is None else m & (x <= hi)
        return where(m, gy, 0.0)

    return apply(node, out, (x,), (gx,), saved=(x,))


def _clamp_side(x, b, is_min, node="ClampBackward0"):
    """One side of a tensor-bound clamp: ``maximum(x, b)`` with the gradient going wholly to the winner."""
    xd, bd = operands(x, b, "clamp")
    xp = xp_of(x if isinstance(x, Tensor) else b)
    if not hasattr(bd, "dtype"):
        bd = xp.asarray(bd, dtype=xd.dtype)
    data = xp.maximum(xd, bd) if is_min else xp.minimum(xd, bd)

    # x keeps the gradient where it is inside the bound (ties included), the bound gets it elsewhere
    def inside():
        return (x >= b) if is_min else (x <= b)

    return apply(
        node,
        data,
        (x, b),
        (lambda gy: where(inside(), gy, 0.0), lambda gy: where(inside(), 0.0, gy)),
        saved=((x, b), (x, b)),
    )


@tensor_method()
def clamp_min(x: Tensor, min) -> Tensor:
    """``clamp(x, min=min)``, recorded under PyTorch's own node names for it."""
    return _clamp_one(x, min, True)


@tensor_method()
def clamp_max(x: Tensor, max) -> Tensor:
    """``clamp(x, max=max)``, recorded under PyTorch's own node names for it."""
    return _clamp_one(x, max, False)


def _clamp_one(x: Tensor, bound, is_min: bool) -> Tensor:
    _check(x, "clamp")
    if bound is None:
        return clamp(x, None, None)  # (raises PyTorch's error)
    node = "ClampMinBackward" if is_min else "ClampMaxBackward"
    if isinstance(bound, Tensor):
        return _clamp_side(x, bound, is_min, node + "1")
    return _clamp_scalar(x, bound if is_min else None, None if is_min else bound, node + "0")


clip = clamp


@tensor_method()
def lerp(x: Tensor, end: Tensor, weight) -> Tensor:
    """``x + weight * (end - x)``, weight a number or a tensor (broadcast)."""
    _check(x, "lerp")
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp(): argument 'end' (position 2) must be Tensor, not {type(end).__name__}")
    if _dtype_of(x._data) is not _dtype_of(end._data):
        raise RuntimeError(f"expected dtype {x.dtype} for `end` but got dtype {end.dtype}")
    if isinstance(weight, Tensor) and _dtype_of(weight._data) is not _dtype_of(x._data):
        if weight.dim() != 0:
            raise RuntimeError(f"expected dtype {x.dtype} for `weight` but got dtype {weight.dtype}")
        # PyTorch takes a 0-d weight of any dtype, promoting as a 0-d operand (a float one makes an
        # integer lerp a float one)
        dt = dtypes.promote(x.dtype, dtypes.DIM, weight.dtype, dtypes.ZERO_DIM)
        if dt is not x.dtype:
            x, end = x.to(dt), end.to(dt)
        weight = weight.to(dt)
    if not _dtype_of(x._data).is_floating_point:
        kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{dtypes.TORCH_NAMES[x.dtype.name]}'")
    xd, ed = operands(x, end, "lerp")
    w = weight._data if isinstance(weight, Tensor) else weight
    # PyTorch's two-sided formula: exact at w = 1, and the same infinities (lerp(0.5, inf, 0.7) is NaN)
    xp = xp_of(x)
    data = xp.where(xp.abs(xp.asarray(w)) < 0.5, xd + w * (ed - xd), ed - (ed - xd) * (1 - w))
    # d/dx = 1 - w ; d/dend = w ; d/dw = end - x
    if not isinstance(weight, Tensor):
        return apply("LerpBackward0", data, (x, end), (lambda gy: gy * (1 - weight), lambda gy: gy * weight))
    return apply(
        "LerpBackward1",
        data,
        (x, end, weight),
        (lambda gy: gy * (1 - weight), lambda gy: gy * weight, lambda gy: gy * (end - x)),
        saved=(weight, weight, (x, end)),
    )


@tensor_method("atan2", "arctan2")
def atan2(y: Tensor, x: Tensor) -> Tensor:
    """Angle of the point ``(x, y)``, elementwise with broadcasting."""
    if not isinstance(y, Tensor) or not isinstance(x, Tensor):
        raise TypeError("atan2(): argument 'other' (position 2) must be Tensor")
    yd, xd = operands(y, x, "atan2")
    if not _dtype_of(yd).is_floating_point:
        b = y._device.backend
        f = b.dtype(dtypes.get_default_dtype().name)
        yd, xd = b.xp.astype(yd, f), b.xp.astype(xd, f)
    data = xp_of(y).atan2(yd, xd)
    # d/dy = x / (x**2 + y**2) ; d/dx = -y / (x**2 + y**2); at the origin PyTorch takes 0 for both
    def recip():
        r2 = x * x + y * y
        return where(r2 == 0, 0.0, 1 / where(r2 == 0, 1.0, r2))

    return apply(
        "Atan2Backward0",
        data,
        (y, x),
        (lambda gy: gy * x * recip(), lambda gy: -gy * y * recip()),
        saved=((x, y), (x, y)),
    )


arctan2 = atan2
absolute = abs
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
