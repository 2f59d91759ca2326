"""Normalisation functions: layer_norm, batch_norm (with running statistics), group_norm.

layer_norm and batch_norm with batch statistics (in every transformer block and CNN) are one node each,
with closed-form gradients; the others are compositions of mean, subtraction and rsqrt, so their gradients
come from those ops. Variances are the biased ones PyTorch normalises
with; batch_norm's running variance uses the unbiased estimate, as PyTorch's.
"""

from __future__ import annotations

from gradlite import dtypes
from gradlite.autograd.grad_mode import no_grad
from gradlite.autograd.node import identity
from gradlite.ops._base import apply
from gradlite.tensor import Tensor


# float16 statistics are computed in float32 and the result rounded once, as PyTorch's kernels: in
# float16 the variance of [300, -300, 0] (60000) is near its largest number and x**2 overflows beyond 256.
def _normalise(x: Tensor, dims: tuple, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` (kept, in x's dtype), with the mean and biased
    variance (float32 for float16 x)."""
    half = x.dtype is dtypes.float16
    if half:
        x = x.float()
    mu = x.mean(dims, keepdim=True)
    xc = x - mu
    var = (xc * xc).mean(dims, keepdim=True)
    xhat = xc / (var + eps).sqrt()
    return (xhat.half() if half else xhat), mu, var


def _wide(gy, x, w):
    """The tensors of a gradient formula in float32 when x is float16 (the engine rounds the results)."""
    if x.dtype is not dtypes.float16:
        return gy, x, w
    return gy.float(), x.float(), None if w is None else w.float()


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims, then scale and shift elementwise."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.dim() - k :]) != shape or input.dim() < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, "
            f"expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size{list(input.shape)}"
        )
    axes = tuple(range(input.dim() - k, input.dim()))
    return _norm_affine("NativeLayerNormBackward0", input, axes, eps, weight, bias, None)[0]


def _norm_affine(name: str, x: Tensor, axes: tuple, eps: float, weight, bias, view):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over ``axes`` as one node (PyTorch's native layer
    and batch norms): returns it with the mean and biased variance arrays. ``view`` reshapes a per-channel
    weight/bias for broadcasting (batch norm); None when they already broadcast (layer norm's trailing
    dims). The gradients are the closed forms, on arrays, or on tensors under create_graph."""
    xp = x._device.backend.xp
    xd = x._data
    half = x.dtype is dtypes.float16
    if half:  # (see _normalise; the saved xhat, rstd and weight are float32: so is the backward)
        xd = xp.astype(xd, xp.float32)
    mean = xp.mean(xd, axis=axes, keepdims=True)
    xc = xd - mean
    var = xp.mean(xc * xc, axis=axes, keepdims=True)
    rstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc * rstd
    wd = None if weight is None else (weight._data if view is None else xp.reshape(weight._data, view))
    if half and wd is not None:
        wd = xp.astype(wd, xp.float32)
    y = xhat if wd is None else xhat * wd
    if bias is not None:
        y = y + (bias._data if view is None else xp.reshape(bias._data, view))
    if half:
        y = xp.astype(y, x._data.dtype)
    fns, rfns = (_NORM, _NORM_RAW) if view is None else (_BN, _BN_RAW)
    out = apply(name, y, (x, weight, bias), fns, saved=((x, weight), x), args=(x, weight, eps, axes, view),
                rargs=(xp, xhat, rstd, wd, axes), rfns=rfns)
    return out, mean, var


# the gradients: with g = gy * w, gx = rstd (g - mean(g) - xhat mean(g xhat)) over the normalised dims;
# gw = gy xhat and gb = gy, summed over the other dims (by the engine for layer norm's trailing-dim weight,
# here for batch norm's per-channel one)
def _norm_gx(gy, x, w, eps, axes, view):
    gy, x, w = _wide(gy, x, w)
    xhat, _, var = _normalise(x, axes, eps)  # (recomputed from x: differentiable again)
    g = gy if w is None else gy * (w if view is None else w.reshape(view))
    m1, m2 = g.mean(axes, keepdim=True), (g * xhat).mean(axes, keepdim=True)
    return (g - m1 - xhat * m2) / (var + eps).sqrt()


def _norm_gw(gy, x, w, eps, axes, view):
    gy, x, w = _wide(gy, x, w)
    return gy * _normalise(x, axes, eps)[0]


def _bn_gw(gy, x, w, eps, axes, view):
    return _norm_gw(gy, x, w, eps, axes, view).sum(axes)


def _bn_gb(gy, x, w, eps, axes, view):
    return gy.sum(axes)


def _norm_gx_raw(gy, xp, xhat, rstd, w, axes):
    g = gy if w is None else gy * w
    m1, m2 = xp.mean(g, axis=axes, keepdims=True), xp.mean(g * xhat, axis=axes, keepdims=True)
    return rstd * (g - m1 - xhat * m2)


def _norm_gw_raw(gy, xp, xhat, rstd, w, axes):
    return gy * xhat


def _bn_gw_raw(gy, xp, xhat, rstd, w, axes):
    return xp.sum(gy * xhat, axis=axes)


def _bn_gb_raw(gy, xp, xhat, rstd, w, axes):
    return xp.sum(gy, axis=axes)


_NORM, _NORM_RAW = (_norm_gx, _norm_gw, identity), (_norm_gx_raw, _norm_gw_raw, identity)
_BN, _BN_RAW = (_norm_gx, _bn_gw, _bn_gb), (_norm_gx_raw, _bn_gw_raw, _bn_gb_raw)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise (N, C, *) per channel C: batch statistics when training (updating the running ones in
    place with ``momentum``), else the running statistics."""
    if input.dim() < 2:
        raise ValueError(
            f"batch_norm: expected at least 2D input (N, C, *), got input of size {list(input.shape)}"
        )
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    dims = (0,) + tuple(range(2, input.dim()))
    view = (1, c) + (1,) * (input.dim() - 2)
    if training or running_mean is None or running_var is None:
        n = input.numel() // c
        if training and n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {input.shape}"
            )
        y, mu, var = _norm_affine("NativeBatchNormBackward0", input, dims, eps, weight, bias, view)
        if training and running_mean is not None and running_var is not None:
            from gradlite.tensor import _make

            with no_grad():
                # PyTorch keeps the unbiased variance in running_var but normalises with the biased one
                xp = input._device.backend.xp
                unbiased = _make(xp.reshape(var, (c,)) * (n / (n - 1)), input._device)
                running_mean.mul_(1 - momentum).add_(_make(xp.reshape(mu, (c,)), input._device) * momentum)
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
        return y
    y = (input - running_mean.reshape(view)) / (running_var.reshape(view) + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise (N, C, *) over each group of C / num_groups channels (and all spatial positions)."""
    if input.dim() < 2:
        raise RuntimeError(
            f"group_norm: expected at least 2D input (N, C, *), got input of size {list(input.shape)}"
        )
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{list(input.shape)} and num_groups={num_groups}"
        )
    y, _, _ = _normalise(input.reshape(n, num_groups, -1), (2,), eps)
    y = y.reshape(input.shape)
    view = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise (N, C, *) per sample and channel over the spatial dims; with running statistics, they
    move towards the batch average of the per-instance statistics (as PyTorch)."""
    if input.dim() < 3:
        raise ValueError(
            f"instance_norm: expected (N, C, *) input with spatial dims, got {list(input.shape)}"
        )
    n, c = input.shape[:2]
    view = (1, c) + (1,) * (input.dim() - 2)
    if use_input_stats:
        dims = tuple(range(2, input.dim()))
        y, mu, var = _normalise(input, dims, eps)
        if running_mean is not None and running_var is not None:
            m = input.numel() // (n * c)
            with no_grad():
                unbiased = var.detach().reshape(n, c) * (m / max(m - 1, 1))
                running_mean.mul_(1 - momentum).add_(mu.detach().reshape(n, c).mean(0) * momentum)
                running_var.mul_(1 - momentum).add_(unbiased.mean(0) * momentum)
    else:
        y = (input - running_mean.reshape(view)) / (running_var.reshape(view) + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dims; eps defaults to
    the dtype's machine epsilon, as PyTorch."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, "
            f"expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size{list(input.shape)}"
        )
    if eps is None:
        eps = _EPS[input.dtype.name]
    dims = tuple(range(input.dim() - k, input.dim()))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


_EPS = {"float16": 0.0009765625, "float32": 1.1920928955078125e-07, "float64": 2.220446049250313e-16}


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha * mean of x**2 over ``size`` neighbouring channels)**beta (AlexNet's normalisation)."""
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    from gradlite.nn._conv import windows

    n, c = input.shape[:2]
    sq = (input * input).reshape(n, 1, c, -1)
    # a (size x 1) window sliding over the channels, zero-padded like PyTorch's (size // 2, (size - 1) // 2)
    win = windows(sq, (size, 1), (1, 1), (size // 2, (size - 1) // 2, 0, 0), (1, 1))
    div = win.sum((2, 3)).reshape(input.shape) * (alpha / size) + k
    return input / div**beta
