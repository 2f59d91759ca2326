"""Arithmetic: add, sub, mul, div, pow, neg, matmul (and their operator and reversed forms)."""

from __future__ import annotations

from gradlite import dtypes
from gradlite.autograd.node import identity as _identity
from gradlite.autograd.node import zero
from gradlite.ops._base import apply, check_broadcast, checked_int, operands, tensor_method, wrap_int
from gradlite.tensor import _DTYPE_OF, Size, Tensor, _dtype_of

# Backward functions ``fn(gy, *args)``: operators only, so each serves gradient tensors (create_graph) and
# raw gradient arrays alike (see ``apply``).

def _neg_grad(gy, *_):
    return -gy


def _scale_grad(gy, alpha):
    return gy * alpha


def _mul_gx(gy, x, y):
    return gy * y


def _mul_gy(gy, x, y):
    return gy * x


def _div_gx(gy, x, y):
    return gy / y


def _div_gy(gy, x, y):  # d(x/y)/dy = -x/y**2
    return -gy * x / (y * y)


def _square_grad(gy, x, p):  # d/dx x**2 = 2x, as PyTorch: gy * (2 * x), with 2x as x + x (exact, and
    return gy * (x + x)  # on NumPy twice as fast as a python scalar times an array)


def _pow_grad(gy, x, p):  # d/dx x**p = p x**(p-1), as PyTorch: gy * (p * x**(p-1)) (in float16, gy * p first
    return gy * (p * x ** (p - 1))  # overflows to inf where the product is finite, and inf * 0 is NaN)


def _zero_grad(gy, x, p):  # x**0 is flat: a structural zero
    return zero(gy)


_ADD = (_identity, _identity)
_SUB = (_identity, _neg_grad)
_MUL = (_mul_gx, _mul_gy)
_DIV = (_div_gx, _div_gy)
_NEG = (_neg_grad,)


def _is_bool(d) -> bool:
    return type(d) is bool or (hasattr(d, "dtype") and _dtype_of(d) is dtypes.bool_)


def _has_bool_tensor(x, y) -> bool:
    """Whether x or y is a bool tensor."""
    if x.__class__ is Tensor or isinstance(x, Tensor):
        d = x._data
        if (_DTYPE_OF.get(d.dtype) or _dtype_of(d)) is dtypes.bool_:
            return True
    if y.__class__ is Tensor or isinstance(y, Tensor):
        d = y._data
        return (_DTYPE_OF.get(d.dtype) or _dtype_of(d)) is dtypes.bool_
    return False


def _logical(xd, yd, op: str):
    """``xd op yd`` for two bool operands; re-raises the TypeError of the arithmetic otherwise."""
    if not (_is_bool(xd) and _is_bool(yd)):
        raise
    return getattr(xd, op)(yd) if hasattr(xd, "dtype") else getattr(yd, op)(xd)


def _scaled(xd, yd, alpha):
    """``alpha * yd`` in ``yd``'s dtype (alpha never changes the result dtype, as in PyTorch)."""
    d = _dtype_of(xd if hasattr(xd, "dtype") else yd)
    if not d.is_floating_point and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if isinstance(alpha, bool) and d is not dtypes.bool_:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if d is dtypes.bool_ and _is_bool(yd):  # (a bool y with a non-bool x is a number: True * 2 == 2)
        return yd if alpha else yd & False
    return wrap_int(d, yd * alpha)  # (a python int product wraps into x's integer dtype, as PyTorch)


@tensor_method("__add__", "add")
def add(x, y, *, alpha=1) -> Tensor:
    """``x + alpha * y`` with broadcasting."""
    xd, yd = operands(x, y, "add")
    if alpha != 1 or alpha is True:  # (alpha=True raises for a non-bool result, as PyTorch)
        yd = _scaled(xd, yd, alpha)
        data = xd | yd if _is_bool(yd) and _is_bool(xd) else xd + yd
        return apply("AddBackward0", data, (x, y), (_identity, _scale_grad), args=(alpha,), rargs=(alpha,))
    try:
        data = xd + yd  # NumPy and CuPy: bool + bool is logical or, as in PyTorch
    except TypeError:  # array-API arrays define no arithmetic on bool: the logical form
        data = _logical(xd, yd, "__or__")
    return apply("AddBackward0", data, (x, y), _ADD, args=(), rargs=())


@tensor_method("__sub__", "sub", "subtract")
def sub(x, y, *, alpha=1) -> Tensor:
    """``x - alpha * y`` with broadcasting; bool tensors raise, as in PyTorch."""
    if _has_bool_tensor(x, y) or x.__class__ is bool or y.__class__ is bool:  # (python bools too, as PyTorch)
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead."
            if all(_is_bool(v._data if isinstance(v, Tensor) else v) for v in (x, y))
            else "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    xd, yd = operands(x, y, "sub")
    if alpha != 1 or alpha is True:  # (alpha=True raises for a non-bool result, as PyTorch)
        yd = _scaled(xd, yd, alpha)
        fns = (_identity, _scale_grad)
        return apply("SubBackward0", xd - yd, (x, y), fns, args=(-alpha,), rargs=(-alpha,))
    return apply("SubBackward0", xd - yd, (x, y), _SUB, args=(), rargs=())


@tensor_method("__mul__", "mul")
def mul(x, y) -> Tensor:
    """Elementwise product with broadcasting."""
    xd, yd = operands(x, y, "mul")
    try:
        data = xd * yd  # NumPy and CuPy: bool * bool is logical and, as in PyTorch
    except TypeError:  # array-API arrays define no arithmetic on bool: the logical form
        data = _logical(xd, yd, "__and__")
    return apply("MulBackward0", data, (x, y), _MUL, saved=(y, x), args=(x, y), rargs=(xd, yd))


@tensor_method("__truediv__", "div", "divide", "true_divide")
def div(x, y, *, rounding_mode=None) -> Tensor:
    """``x / y``; integer inputs give the default float dtype (as PyTorch); ``rounding_mode`` floor/trunc."""
    xd, yd = operands(x, y, "div")
    if rounding_mode is not None:
        from gradlite.ops import rounding

        return rounding.rounded_div(x, y, xd, yd, rounding_mode)
    if y.__class__ is int:  # (true division computes in floats: an int out of x's range is not wrapped)
        yd = y
    elif x.__class__ is int:
        xd = x
    xd, yd = _to_float(x, y, xd, yd)
    return apply("DivBackward0", xd / yd, (x, y), _DIV, saved=(y, (x, y)), args=(x, y), rargs=(xd, yd))


def _to_float(x, y, xd, yd):
    """Cast integer/bool operands of true division to the default float dtype."""
    t = x if isinstance(x, Tensor) else y
    d = xd if isinstance(x, Tensor) else yd
    if _dtype_of(d).is_floating_point:
        return xd, yd
    b = t._device.backend
    f = b.dtype(dtypes.get_default_dtype().name)
    return (b.xp.astype(xd, f) if isinstance(x, Tensor) else xd), (
        b.xp.astype(yd, f) if isinstance(y, Tensor) else yd
    )


@tensor_method("__neg__", "neg", "negative")
def neg(x: Tensor) -> Tensor:
    if _dtype_of(x._data) is dtypes.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
            "mask, use the `~` or `logical_not()` operator instead."
        )
    return apply("NegBackward0", -x._data, (x,), _NEG, args=(), rargs=())


@tensor_method("__pos__", "positive")
def positive(x: Tensor) -> Tensor:
    return x


@tensor_method("__pow__", "pow")
def pow(x, p) -> Tensor:
    """``x ** p`` for tensor or scalar exponent (and scalar base via ``2 ** x``)."""
    if not isinstance(x, Tensor):
        return _rpow(p, x)
    xd = x._data
    xdt = _DTYPE_OF.get(xd.dtype) or _dtype_of(xd)
    if xdt.is_floating_point and (p.__class__ is int or p.__class__ is float):
        pd = p  # (``x ** 2``: what ``operands`` returns for a floating tensor and a number, without a call)
    else:
        xd, pd = operands(x, p, "pow")
        xdt = _DTYPE_OF.get(xd.dtype) or _dtype_of(xd)
        if xdt is dtypes.bool_:
            if p.__class__ is not bool:
                raise NotImplementedError("\"pow\" not implemented for 'Bool'")
            return apply("PowBackward0", xd & True if p else xd | True, (x,), (None,))  # x ** True is x
    if not isinstance(p, Tensor):
        if type(p) is int and not xdt.is_floating_point:
            if p < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            pd = checked_int(xdt, p)  # (an exponent out of range raises, as PyTorch)
        grad = _zero_grad if p == 0 else _square_grad if p == 2 else _pow_grad
        # PyTorch takes x ** -0.5 as rsqrt (on float16 only on CUDA): -inf at -0, nan at -inf
        data = xd**pd if p != -0.5 or xdt is dtypes.float16 else 1 / x._device.backend.xp.sqrt(xd)
        return apply("PowBackward0", data, (x,), (grad,), saved=(x,), args=(x, p), rargs=(xd, pd))
    if xdt.category == dtypes.INT and xdt is not dtypes.uint8:
        data = _int_pow(x._device.backend.xp, xd, pd)
    else:
        data = xd**pd
    return apply(
        "PowBackward1",
        data,
        (x, p),
        (_pow_base_grad(x, p), _pow_exp_grad(x, p)),
        saved=((x, p), (x, p)),
        save_output=True,
    )


def _int_pow(xp, xd, pd):
    """``xd ** pd`` for integers with an exponent array that may hold negative numbers, as PyTorch: there
    ``x ** -n`` is ``1 / x ** n`` truncated, so 1 for x == 1, +-1 for x == -1 and 0 otherwise (0 too)."""
    neg = pd < 0
    zero = xp.zeros_like(pd)  # (arrays, not python numbers: pd's dtype on every backend)
    one = zero + 1
    data = xd ** xp.where(neg, zero, pd)
    sign = xp.where(pd % 2 == 0, one, -one)  # (-1) ** -n
    if hasattr(xd, "dtype"):
        inv = xp.where(xd == 1, one, xp.where(xd == -1, sign, zero))
    else:  # a python int base
        inv = sign if xd == -1 else one if xd == 1 else zero
    return xp.where(neg, xp.astype(inv, data.dtype), data)


def _pow_base_grad(x, p):
    def g(gy, y):
        from gradlite.ops.pointwise import where

        # d/dx x**p = p x**(p-1), taken as 0 where p == 0 (x**0 is flat even at x == 0)
        return where(p == 0, 0.0, gy * p * x ** (p - 1))

    return g


def _pow_exp_grad(x, p):
    # d/dp x**p = x**p * log(x), defined as 0 where x == 0 and p >= 0 (PyTorch's choice: 0**p is flat there)
    def g(gy, y):
        from gradlite.ops.pointwise import log, where

        return where((x == 0) & (p >= 0), 0.0, gy * y * log(x))

    return g


@tensor_method("__rpow__")
def _rpow(x: Tensor, base) -> Tensor:
    """``base ** x`` for a python scalar base: d/dx base**x = base**x * log(base)."""
    bd, xd = operands(base, x, "pow")
    xdt = _dtype_of(xd)
    if xdt is dtypes.bool_:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    import math

    lb = math.log(base) if base > 0 else float("nan") if base < 0 else float("-inf")

    def gx(gy, y):
        if base != 0:
            return gy * y * lb
        from gradlite.ops.pointwise import where

        # 0**x is flat for x >= 0 (PyTorch's choice), and 0 * -inf would be nan
        return where(x >= 0, 0.0, gy * y * lb)

    data = _int_pow(x._device.backend.xp, bd, xd) if xdt.category == dtypes.INT and xdt is not dtypes.uint8 \
        else bd**xd
    return apply("PowBackward2", data, (base, x), (None, gx), saved=(None, x), save_output=True)


# reversed forms of the commutative ops keep the tensor first (its fast path; the values are the same)
Tensor.__radd__ = add
Tensor.__rmul__ = mul


@tensor_method("__rsub__", "rsub")
def _rsub(x, y):
    return sub(y, x)


@tensor_method("__rtruediv__")
def _rdiv(x, y):
    return div(y, x)


@tensor_method("__matmul__", "matmul")
def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D operands, batching and batch broadcasting."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(
            f"matmul(): argument must be Tensor, not {type(y if isinstance(x, Tensor) else x).__name__}"
        )
    xd, yd = x._data, y._data
    xs, ys = xd.shape, yd.shape
    if len(xs) == 2 and len(ys) == 2:  # matrices: operator-only functions, for tensors and arrays alike
        if not (
            xs[1] == ys[0]
            and x._device is y._device
            and xd.dtype is yd.dtype
            and (_DTYPE_OF.get(xd.dtype) or _dtype_of(xd)).is_floating_point
        ):
            _check_matmul(x, y, "matmul")
        f = getattr(yd, "flags", None)  # a Fortran-ordered y (a transposed weight, ``x @ w.t()``): _MM_T
        fns = _MM_T if f is not None and not f.c_contiguous and f.f_contiguous else _MM
        mm = x._device.backend.mm
        return apply("MmBackward0", mm(xd, yd), (x, y), fns, saved=(y, x), args=(x, y, matmul),
                     rargs=(xd, yd, mm))
    _check_matmul(x, y, "matmul")
    xp = x._device.backend.xp
    data = xp.matmul(xd, yd)
    name = _MATMUL_NAMES.get((len(xs), len(ys)), "BmmBackward0")
    if len(xs) >= 2 and len(ys) >= 2:  # batches of matrices: the engine sums broadcast batch dims back
        return apply(name, data, (x, y), _BMM, saved=(y, x), args=(x, y, matmul, _mT),
                     rargs=(xd, yd, xp.matmul, xp.matrix_transpose))

    # Treat 1-D operands as matrices (x: 1 x k, y: k x 1), restore those dims on gy, and drop them again:
    # d/dX (X @ Y) = gy @ Y^T ; d/dY = X^T @ gy. Batch dims are summed back by the engine.
    def restore(gy):
        # y's dim first: for 1-D @ 1-D, gy is 0-d and becomes (1,) then (1, 1)
        if len(ys) == 1:
            gy = gy.unsqueeze(-1)
        return gy.unsqueeze(-2) if len(xs) == 1 else gy

    def gx(gy):
        g = restore(gy) @ (y.unsqueeze(0) if len(ys) == 1 else y.mT)
        return g.squeeze(-2) if len(xs) == 1 else g

    def gyf(gy):
        g = (x.unsqueeze(-1) if len(xs) == 1 else x.mT) @ restore(gy)
        return g.squeeze(-1) if len(ys) == 1 else g

    return apply(name, data, (x, y), (gx, gyf), saved=(y, x))


# ``mm`` is the matrix product of the arguments' kind: gradlite's ``matmul`` for tensors (create_graph), the
# backend namespace's for arrays (NumPy's ``dot``, a microsecond cheaper than the ``@`` ufunc on small ones).
def _mm_gx(gy, x, y, mm):
    return mm(gy, y.T)


def _mm_gy(gy, x, y, mm):
    return mm(x.T, gy)


def _mm_gy_t(gy, x, y, mm):
    # A transposed matrix y (the weight of ``x @ w.t()``) gets its gradient in its own layout, (gy^T @ X)^T:
    # the same product, but copying or updating that gradient later runs contiguously. (The plain X^T @ gy
    # would be a transposed array there, and a transposed copy of a 1024 x 1024 matrix is 20x a plain one.)
    return mm(gy.T, x).T


_MM = (_mm_gx, _mm_gy)
_MM_T = (_mm_gx, _mm_gy_t)


# batched: ``mT`` transposes the last two dims (``Tensor.mT`` for tensors, ``matrix_transpose`` for arrays)
def _bmm_gx(gy, x, y, mm, mT):  # noqa: N803
    return mm(gy, mT(y))


def _bmm_gy(gy, x, y, mm, mT):  # noqa: N803
    return mm(mT(x), gy)


def _mT(t):  # noqa: N802
    return t.mT


_BMM = (_bmm_gx, _bmm_gy)


# grad_fn names PyTorch shows for matmul by operand ranks
_MATMUL_NAMES = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "MmBackward0", (2, 2): "MmBackward0"}


@tensor_method("__rmatmul__")
def _rmatmul(x, y):
    return matmul(y, x)


def _check_matmul(x: Tensor, y: Tensor, op: str) -> None:
    if x._device is not y._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {x.device} and "
            f"{y.device}! (when checking argument for argument mat2 in method wrapper_{op})"
        )
    xdt, ydt = _dtype_of(x._data), _dtype_of(y._data)
    if xdt is not ydt:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {xdt} != {ydt}")
    if xdt is dtypes.bool_:
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
    xs, ys = x._data.shape, y._data.shape
    if not xs or not ys:
        raise RuntimeError(
            f"both arguments to {op} need to be at least 1D, but they are {len(xs)}D and {len(ys)}D"
        )
    k1 = xs[-1]
    k2 = ys[0] if len(ys) == 1 else ys[-2]
    if k1 == k2 and (len(xs) > 2 or len(ys) > 2):  # batch dims broadcast (PyTorch's error names them)
        check_broadcast(xs[:-2], ys[:-2])
    if k1 != k2:
        if len(xs) <= 2 and len(ys) <= 2:
            a = f"{xs[0]}x{xs[1]}" if len(xs) == 2 else f"1x{xs[0]}"
            b = f"{ys[0]}x{ys[1]}" if len(ys) == 2 else f"{ys[0]}x1"
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a} and {b})")
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{Size(xs)}] "
            f"but got: [{Size(ys)}]."
            f" (matmul: inner dimensions {k1} and {k2} differ)"
        )


@tensor_method()
def mm(x: Tensor, y: Tensor) -> Tensor:
    """2-D matrix product; both operands must be matrices."""
    if x._data.ndim != 2 or y._data.ndim != 2:
        raise RuntimeError("self must be a matrix" if x.dim() != 2 else "mat2 must be a matrix")
    return matmul(x, y)


@tensor_method()
def dot(x: Tensor, y: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    if x.dim() != 1 or y.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {x.dim()}D and {y.dim()}D tensors")
    if x.shape[0] != y.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{x.shape[0]}] and src [{y.shape[0]}] "
            "to have the same "
            f"number of elements, but got {x.shape[0]} and {y.shape[0]} elements respectively"
        )
    if x.dtype is not y.dtype:
        raise RuntimeError(
            f"dot : expected both vectors to have same dtype, but found {x.dtype} and {y.dtype}"
        )
    return matmul(x, y)


def rsub(x: Tensor, y, *, alpha=1) -> Tensor:
    """``y - alpha * x`` (PyTorch's reversed subtraction)."""
    return sub(y, x, alpha=alpha)


divide = true_divide = div
subtract = sub
multiply = mul
negative = neg
