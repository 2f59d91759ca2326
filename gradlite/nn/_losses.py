"""Loss functions of ``nn.functional``, composed from gradlite ops (so their gradients need no code of their
own), except where stability needs a dedicated node: binary cross-entropy (on probabilities and on logits).
The classification losses (nll_loss, cross_entropy) are in ``_class_losses.py``.
"""

from __future__ import annotations

import warnings

from gradlite import dtypes
from gradlite.ops._base import apply
from gradlite.ops.pointwise import where
from gradlite.ops.shape import broadcast_tensors
from gradlite.tensor import Size, Tensor, _dtype_of

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction: str, size_average=None, reduce=None) -> str:
    """Resolve the legacy ``size_average``/``reduce`` flags and validate ``reduction``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss




def _need_float(kernel: str, *ts) -> None:
    """NotImplementedError for integer or bool inputs, as PyTorch's kernels raise."""
    for t in ts:
        if isinstance(t, Tensor) and not _dtype_of(t._data).is_floating_point:
            name = dtypes.TORCH_NAMES[_dtype_of(t._data).name]
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")


def _kernel_pair(kernel: str, x: Tensor, t: Tensor) -> tuple:
    """NotImplementedError where the promoted dtype of input and target is not floating (PyTorch's kernel
    runs in it: an integer input with a float target works); a bool operand of a float one is cast (its
    kernel takes it, where subtraction refuses bools)."""
    a, b = _dtype_of(x._data), _dtype_of(t._data)
    if not (a.is_floating_point or b.is_floating_point):
        name = dtypes.TORCH_NAMES[dtypes.promote(a, dtypes.DIM, b, dtypes.DIM).name]
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")
    if a.name == "bool":
        x = x.to(b)
    elif b.name == "bool":
        t = t.to(a)
    return x, t


def _not_differentiable(op: str, arg: str, t) -> None:
    """PyTorch has no derivative for some loss arguments (class weights, pos_weight) and refuses them."""
    from gradlite.autograd.grad_mode import state

    if isinstance(t, Tensor) and t._requires_grad and state.grad_enabled:
        raise RuntimeError(
            f"The function '{op}' is not differentiable with respect to argument '{arg}'. This input cannot "
            "have requires_grad True."
        )


def _pair(x: Tensor, target: Tensor, op: str) -> tuple:
    """Type checks and PyTorch's warning for a target that only broadcasts to the input; both broadcast."""
    if not isinstance(x, Tensor) or not isinstance(target, Tensor):
        bad = x if not isinstance(x, Tensor) else target
        raise TypeError(f"{op}(): argument 'input' and 'target' must be Tensor, not {type(bad).__name__}")
    if x._data.shape != target._data.shape:
        warnings.warn(
            f"Using a target size ({Size(target._data.shape)}) that is different to the input size "
            f"({Size(x._data.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
        # PyTorch broadcasts before its kernel: a 0-d operand then promotes as a tensor, not as a scalar
        x, target = broadcast_tensors(x, target)
    return x, target


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(input - target)**2``, reduced; input and target broadcast (with a warning)."""
    reduction = _reduction(reduction, size_average, reduce)
    input, target = _pair(input, target, "mse_loss")
    input, target = _kernel_pair("mse_cpu", input, target)
    d = input - target
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced."""
    reduction = _reduction(reduction, size_average, reduce)
    input, target = _pair(input, target, "l1_loss")
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``), reduced."""
    reduction = _reduction(reduction, size_average, reduce)
    input, target = _pair(input, target, "smooth_l1_loss")
    input, target = _kernel_pair("smooth_l1_cpu", input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    small = ~(d >= beta)  # (a NaN difference takes the square: its gradient is NaN, as PyTorch's)
    dq = where(small, d, 0.0)  # the square only of what it applies to: at |d| = inf, inf * 0 would be NaN
    return _reduce(where(small, 0.5 * dq * dq / beta, d - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight: Tensor | None = None
) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``d = input - target``."""
    reduction = _reduction(reduction)
    input, target = _pair(input, target, "huber_loss")
    x_dt, t_dt = _dtype_of(input._data), _dtype_of(target._data)
    if not x_dt.is_floating_point and t_dt.is_floating_point:
        # PyTorch's result has the input's dtype (float16 input, float32 target: float16)
        raise RuntimeError(
            f"result type {dtypes.TORCH_NAMES[t_dt.name]} can't be cast to the desired output type "
            f"{dtypes.TORCH_NAMES[x_dt.name]}"
        )
    input, target = _kernel_pair("huber_cpu", input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = (input - target).abs()
    small = ~(d >= delta)
    dq = where(small, d, 0.0)  # (as smooth_l1_loss)
    loss = where(small, 0.5 * dq * dq, delta * (d - 0.5 * delta))
    if t_dt is not x_dt:
        loss = loss.to(x_dt)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``-(t log x + (1 - t) log(1 - x))`` on probabilities ``input``; logs are clamped at -100 as PyTorch."""
    reduction = _reduction(reduction, size_average, reduce)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("binary_cross_entropy(): argument 'input' and 'target' must be Tensor")
    if input._data.shape != target._data.shape:
        raise ValueError(
            f"Using a target size ({Size(target._data.shape)}) that is different to the input size "
            f"({Size(input._data.shape)}) is deprecated. Please ensure they have the same size."
        )
    if input._device is not target._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {input.device} "
            f"and {target.device}! (when checking argument for binary_cross_entropy)"
        )
    _need_float("binary_cross_entropy", input, target)
    _not_differentiable("binary_cross_entropy", "weight", weight)
    xp = input._device.backend.xp
    x, t = input._data, target._data
    if t.dtype != x.dtype:
        raise RuntimeError(f"Found dtype {target.dtype} but expected {input.dtype}")
    if input._device.type == "cpu":
        # PyTorch's range checks (nan fails them too). On the CPU only: on CUDA reading the answer back is a
        # host sync per call (PyTorch asserts inside its kernel there), so CUDA computes unchecked.
        for name, a in (("input", x), ("target", t)):
            if not xp.all((a >= 0) & (a <= 1)):
                raise RuntimeError(f"all elements of {name} should be between 0 and 1")
    loss = -(t * xp.maximum(xp.log(x), -100.0) + (1 - t) * xp.maximum(xp.log(1 - x), -100.0))

    # d/dx = (x - t) / (x (1 - x)), the denominator clamped at 1e-12 as PyTorch (finite at x = 0 or 1)
    def gx(gy):
        d = input * (1 - input)
        return gy * (input - target) / where(d < 1e-12, 1e-12, d)

    # d/dt = log(1 - x) - log(x), with the same -100 clamp as the forward
    def gt(gy):
        lx, l1x = input.log(), (1 - input).log()
        return gy * (where(l1x < -100.0, -100.0, l1x) - where(lx < -100.0, -100.0, lx))

    loss = apply(
        "BinaryCrossEntropyBackward0", loss, (input, target), (gx, gt), saved=((input, target), input)
    )
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """``-(pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`` on logits, stable for any |x|."""
    reduction = _reduction(reduction, size_average, reduce)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("binary_cross_entropy_with_logits(): argument 'input' and 'target' must be Tensor")
    if input._data.shape != target._data.shape:
        raise ValueError(
            f"Target size ({Size(target._data.shape)}) must be the same as input size "
            f"({Size(input._data.shape)})"
        )
    _need_float("log_sigmoid_cpu", input)
    t_dt = _dtype_of(target._data)
    if t_dt.name == "bool":
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead."
        )
    if not t_dt.is_floating_point:
        # PyTorch computes the loss in place into (1 - target): its result has the target's dtype
        raise RuntimeError(
            f"result type {dtypes.TORCH_NAMES[input.dtype.name]} can't be cast to the desired output type "
            f"{dtypes.TORCH_NAMES[t_dt.name]}"
        )
    _not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    xp = input._device.backend.xp
    x, t = input._data, target._data
    # softplus(-x) = max(-x, 0) + log1p(exp(-|x|)): no overflow at any logit
    sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
    if pos_weight is None:
        loss = (1 - t) * x + sp
        # d/dx = sigmoid(x) - t ; d/dt = -x
        return _reduce_w(
            apply(
                "BinaryCrossEntropyWithLogitsBackward0",
                loss,
                (input, target),
                (lambda gy: gy * (input.sigmoid() - target), lambda gy: -gy * input),
                saved=((input, target), input),
            ),
            weight,
            reduction,
            t_dt,
        )
    _not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    pw = pos_weight._data
    lw = (pw - 1) * t + 1
    loss = (1 - t) * x + lw * sp
    lwt = (pos_weight - 1) * target + 1

    # loss = (1 - t) x + lw softplus(-x), lw = (pw - 1) t + 1:
    # d/dx = (1 - t) - lw sigmoid(-x) ; d/dt = -x + (pw - 1) softplus(-x)
    def gt(gy):
        softplus_neg = (-input).relu() + (1 + (-input.abs()).exp()).log()
        return gy * (-input + (pos_weight - 1) * softplus_neg)

    return _reduce_w(
        apply(
            "BinaryCrossEntropyWithLogitsBackward0",
            loss,
            (input, target),
            (lambda gy: gy * ((1 - target) - lwt * (-input).sigmoid()), gt),
            saved=((input, target, pos_weight), (input, pos_weight)),
        ),
        weight,
        reduction,
        t_dt,
    )


def _reduce_w(loss: Tensor, weight, reduction: str, dtype) -> Tensor:
    if weight is not None:
        loss = loss * weight
    if loss.dtype is not dtype:  # (the target's dtype, as PyTorch's in-place computation)
        loss = loss.to(dtype)
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL divergence ``target * (log target - input)`` for log-probabilities ``input``; 'batchmean' divides
    by the batch size (the mathematically correct mean)."""
    if reduction == "batchmean":
        red = "batchmean"
    else:
        red = _reduction(reduction, size_average, reduce)
        if red == "mean":
            warnings.warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support "
                "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                "definition.'mean' will be changed to behave the same as 'batchmean' in the next major "
                "release.",
                UserWarning,
                stacklevel=2,
            )
    for t in (input, target):
        if not _dtype_of(t._data).is_floating_point:
            raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t), as PyTorch: 0 log 0 = 0, and nan for a negative or nan target; the inner where keeps
        # log away from 0 so no nan reaches the gradient
        zero = target == 0
        loss = where(zero, 0.0, target * where(zero, 1.0, target).log()) - target * input
    if red == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, red)
