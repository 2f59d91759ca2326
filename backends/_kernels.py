"""The elementwise formulas of the hot paths, written once for every backend.

The activation gradients, the elementwise part of the softmax and log-softmax backward (cross-entropy's
gradient flows through the latter) and the SGD and Adam updates. Each formula uses operators and the
functions of the namespace it is built over, so one text serves every backend: NumPy runs it as it is,
CuPy compiles it into one kernel with ``cupy.fuse`` (``cupy_kernels``), and CuPy running it unfused (one
kernel per operator) is the reference the fused kernels are tested against.

The updates write their state arrays in place (``+=``, ``*=``, ``[...] =``, which ``cupy.fuse`` supports
on its array arguments) and return nothing. Each does what PyTorch's single-tensor update does, in the
same order of roundings.
"""

from __future__ import annotations

from types import SimpleNamespace


# The activation gradients use operators only: they also serve gradient tensors (create_graph), as the
# ops' backward functions (relu's needs ``where``: see ``formulas``).
def tanh_grad(gy, y):  # d tanh = 1 - y**2
    return gy * (1 - y * y)


def sigmoid_grad(gy, y):  # d sigmoid = y (1 - y)
    return gy * y * (1 - y)


def formulas(xp) -> SimpleNamespace:
    """The formulas over the namespace ``xp`` (NumPy, CuPy or an array-API namespace)."""
    sqrt, exp, maximum, where = xp.sqrt, xp.exp, xp.maximum, xp.where

    def zero_where(zero, gy):  # gy with a structural 0 where ``zero``; never gy * mask (0 * inf is NaN)
        return where(zero, 0, gy)

    def relu_grad(gy, y):  # 0 where y <= 0 (at 0 too), gy elsewhere (NaN too): PyTorch's threshold_backward
        return where(y <= 0, 0, gy)

    def softmax_grad(gy, y, s):  # s = sum(gy * y) along the softmax dim
        return y * (gy - s)

    def log_softmax_grad(gy, y, s):  # s = sum(gy) along the dim; softmax = exp(y)
        return gy - exp(y) * s

    def sgd_step(p, g, neg_lr):  # p.add_(g, alpha=-lr)
        p += neg_lr * g

    def sgd_momentum_step(p, g, buf, momentum, damp, neg_lr):  # buf.mul_(momentum).add_(g, alpha=damp)
        buf *= momentum
        buf += damp * g
        p += neg_lr * buf

    def sgd_nesterov_step(p, g, buf, momentum, damp, neg_lr):  # the step along g + momentum * buf
        buf *= momentum
        buf += damp * g
        p += neg_lr * (g + momentum * buf)

    def adam_step(p, g, m, v, w1, beta2, w2, neg_step, bc2_sqrt, eps):
        m += w1 * (g - m)  # m.lerp_(g, 1 - beta1)
        v *= beta2  # v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        v += w2 * g * g
        p += neg_step * m / (sqrt(v) / bc2_sqrt + eps)  # p.addcdiv_(m, denom, value=-lr / bc1)

    def amsgrad_step(p, g, m, v, vmax, w1, beta2, w2, neg_step, bc2_sqrt, eps):
        m += w1 * (g - m)
        v *= beta2
        v += w2 * g * g
        vmax[...] = maximum(vmax, v)
        p += neg_step * m / (sqrt(vmax) / bc2_sqrt + eps)

    # float16 Adam computes in float32 and rounds each stored value once, as PyTorch's fused and CUDA
    # kernels (opmath): in float16 an eps of 1e-8 rounds to 0, and a zero moment gives 0/0 = NaN. The
    # weight decay is done here too (l2: Adam's g + wd p; decay: AdamW's p * (1 - lr wd)), in float32.
    f16, f32 = getattr(xp, "float16", None), xp.float32  # (the strict array API has no float16)

    def adam_half_step(p, g, m, v, w1, beta2, w2, neg_step, bc2_sqrt, eps, l2, decay):
        p32, g32, m32, v32 = p.astype(f32), g.astype(f32), m.astype(f32), v.astype(f32)
        g32 = g32 + l2 * p32
        m32 = m32 + w1 * (g32 - m32)
        v32 = v32 * beta2 + w2 * g32 * g32
        m[...] = m32.astype(f16)
        v[...] = v32.astype(f16)
        p[...] = (p32 * decay + neg_step * m32 / (sqrt(v32) / bc2_sqrt + eps)).astype(f16)

    def amsgrad_half_step(p, g, m, v, vmax, w1, beta2, w2, neg_step, bc2_sqrt, eps, l2, decay):
        p32, g32, m32, v32 = p.astype(f32), g.astype(f32), m.astype(f32), v.astype(f32)
        g32 = g32 + l2 * p32
        m32 = m32 + w1 * (g32 - m32)
        v32 = v32 * beta2 + w2 * g32 * g32
        vmax32 = maximum(vmax.astype(f32), v32)
        m[...] = m32.astype(f16)
        v[...] = v32.astype(f16)
        vmax[...] = vmax32.astype(f16)
        p[...] = (p32 * decay + neg_step * m32 / (sqrt(vmax32) / bc2_sqrt + eps)).astype(f16)

    return SimpleNamespace(
        zero_where=zero_where, relu_grad=relu_grad, tanh_grad=tanh_grad, sigmoid_grad=sigmoid_grad,
        softmax_grad=softmax_grad,
        log_softmax_grad=log_softmax_grad, sgd_step=sgd_step, sgd_momentum_step=sgd_momentum_step,
        sgd_nesterov_step=sgd_nesterov_step, adam_step=adam_step, amsgrad_step=amsgrad_step,
        adam_half_step=adam_half_step, amsgrad_half_step=amsgrad_half_step,
    )


# the optimizer steps: how many array arguments come before the scalar factors
STEP_ARRAYS = {
    "sgd_step": 2, "sgd_momentum_step": 3, "sgd_nesterov_step": 3, "adam_step": 4, "amsgrad_step": 5,
    "adam_half_step": 4, "amsgrad_half_step": 5,
}
# the steps that compute a float16 parameter's update in float32: their factors are float32 numbers
OPMATH_STEPS = ("adam_half_step", "amsgrad_half_step")


def scalars_in_param_dtype(step, n_arrays: int, opmath: bool = False):
    """``step`` with its scalar factors (Python or NumPy numbers) first made numbers of the parameter's
    dtype (float32 for an ``opmath`` step). For fused kernels: a Python float makes CuPy 13 under NumPy 2
    (and a numpy.float64 any CuPy) compute a float32 parameter's update in float64, unlike PyTorch and the
    NumPy backend."""

    def typed(*args):
        t = _float32() if opmath else args[0].dtype.type
        return step(*args[:n_arrays], *(t(s) for s in args[n_arrays:]))

    typed.__name__ = getattr(step, "__name__", "step")
    return typed


def _float32():
    import numpy

    return numpy.float32


def bitmask_zero_where(xp):
    """``zero_where`` for backends without kernel fusion. NumPy's ``where`` on a random mask is 3-10x slower
    than a multiplication by the mask, but ``gy * mask`` is NaN where gy is infinite and the mask 0: so the
    gradient's bits are and-ed with a mask of all zeros (a structural 0) or all ones (gy), as fast as the
    multiplication. ``zero`` has the result's shape (``gy`` broadcasts to it). Arrays that cannot be viewed
    as integers (the strict array API) take ``where``."""
    ints = {2: xp.int16, 4: xp.int32, 8: xp.int64}

    def zero_where(zero, gy):
        if not hasattr(gy, "view") or getattr(zero, "ndim", 0) == 0:
            return xp.where(zero, xp.zeros_like(gy), gy)
        it = ints[gy.dtype.itemsize]
        m = xp.astype(zero, it)  # 1 where the gradient is 0
        m -= 1  # 0 there, -1 (all bits set) where it is gy
        m &= gy.view(it)
        return m.view(gy.dtype)

    return zero_where


def unfused(xp) -> SimpleNamespace:
    """The kernels of a backend that runs the formulas as they are (NumPy, the strict array API)."""
    k = formulas(xp)
    zero_where = k.zero_where = bitmask_zero_where(xp)

    def relu_grad(gy, y):
        return zero_where(y <= 0, gy)

    k.relu_grad = relu_grad
    return k
