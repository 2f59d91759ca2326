"""Classification losses: nll_loss (one node, as PyTorch's, gathering with no host sync on the GPU) and
cross_entropy (log_softmax, then nll_loss; class-probability targets and label smoothing composed from
ops), with class weights, ``ignore_index`` and PyTorch's errors."""

from __future__ import annotations

from gradlite import dtypes
from gradlite.nn._losses import _need_float, _reduction
from gradlite.nn._softmax import log_softmax
from gradlite.ops._base import apply
from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor, _dtype_of, _make


def _class_input(input: Tensor, target: Tensor, op: str):
    """Unbatched (C,) inputs become a batch of one: returns (input (N, C, ...), target (N, ...), squeeze)."""
    if input.dim() == 0:
        raise ValueError(
            f"Expected 1 or more dimensions (got {input.dim()})"
            if op == "nll_loss"
            else "cross_entropy: input must have at least 1 dimension (the classes), got a 0-d tensor"
        )
    if input.dim() == 1:
        if target.dim() == 1:  # PyTorch takes a target of one class as a 0-d one
            name = target.dtype.name
            if name not in ("int64", "uint8"):  # (its 1-D kernel checks the dtype first, and takes bytes)
                raise RuntimeError(
                    f"expected target dtype to be Long or Byte, but got {dtypes.TORCH_NAMES[name]}"
                )
            if target.shape[0] != 1:
                raise ValueError(
                    f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}"
                )
            target = target.reshape(()).to(dtypes.int64)
        if target.dim() != 0:
            raise RuntimeError(
                f"0D or 1D target tensor expected, multi-target not supported (input {list(input.shape)}, "
                f"target {list(target.shape)})"
            )
        return input.unsqueeze(0), target.unsqueeze(0), True
    if target.dim() == 0 and input.shape[0] == 0:
        # PyTorch reads the size of a 0-d target as 0: an empty batch passes its check and fails later
        if input.dim() > 2:
            raise RuntimeError("ArrayRef: invalid slice, N = 1; size = 0")
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if input.shape[0] != (target.shape[0] if target.dim() else -1):
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.dim() else 0})."
        )
    if input.shape[2:] != target.shape[1:]:
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)})")
    return input, target, False


def _weights(weight: Tensor | None, n_classes: int, input: Tensor) -> Tensor | None:
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.dim() != 1 or weight.shape[0] != n_classes:
        shape = list(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no classes but got "
            f"weight tensor of shape: {shape}"
        )
    if weight._device is not input._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {input.device} "
            f"and {weight.device}! (when checking argument for argument weight)"
        )
    # PyTorch does not differentiate class weights of nll_loss / cross_entropy
    return weight.detach()


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probs ``input`` (N, C, d1...) at classes ``target`` (N, d1...)."""
    reduction = _reduction(reduction, size_average, reduce)
    if not isinstance(input, Tensor):
        name = type(input).__name__
        raise TypeError(f"nll_loss_nd(): argument 'input' (position 1) must be Tensor, not {name}")
    if isinstance(target, Tensor):  # PyTorch checks the shapes before the dtypes
        x, t, squeeze = _class_input(input, target, "nll_loss")
    if not isinstance(target, Tensor) or _dtype_of(t._data).name != "int64":
        got = target.dtype if isinstance(target, Tensor) else type(target).__name__
        raise RuntimeError(f"expected scalar type Long but found {got}")
    _need_float("nll_loss_out_frame", input)
    n_classes = x.shape[1]
    w = _weights(weight, n_classes, input)
    b = x._device.backend
    xp = b.xp
    td = t._data
    keep = td != ignore_index
    safe = xp.where(keep, td, 0)
    # an out-of-range class raises IndexError (on CUDA at the next host read: no sync per step)
    b.check_range(safe, 0, n_classes, IndexError, "Target {bad} is out of bounds.")
    dt = x._data.dtype
    if w is None:
        wt = xp.astype(keep, dt)
    else:
        wt = xp.reshape(xp.take(w._data, xp.reshape(safe, (-1,)), axis=0), safe.shape) * xp.astype(keep, dt)
    picked = xp.take_along_axis(x._data, _classes_axis(xp, safe), axis=1)[:, 0, ...]
    scale = -wt  # d loss_i / d x[i, t_i], before the reduction
    elems = picked * scale
    if reduction == "none":
        data = elems
    elif reduction == "sum":
        data = xp.sum(elems)
    else:  # the mean over the weights of the targets that count (0/0 = nan when all are ignored, as PyTorch)
        total = xp.sum(wt)
        data, scale = xp.sum(elems) / total, scale / total
    name = "NllLossBackward0" if input.dim() <= 2 else "NllLoss2DBackward0"
    args = (_make(safe, x._device), _make(scale, x._device), n_classes)
    loss = apply(name, data, (x,), (_nll_grad,), args=args, rargs=(xp, safe, scale, n_classes),
                 rfns=(_nll_grad_raw,))
    return loss.squeeze(0) if squeeze and reduction == "none" else loss


# NLL's gradient: gy * scale at each target class, zero elsewhere (linear in gy: its own gradient is itself)
def _nll_grad(gy, safe, scale, n_classes):
    from gradlite.creation import arange

    classes = arange(n_classes, device=safe.device).reshape((1, n_classes) + (1,) * (safe.dim() - 1))
    return (safe.unsqueeze(1) == classes).to(scale.dtype) * (gy * scale).unsqueeze(1)


def _nll_grad_raw(gy, xp, safe, scale, n_classes):
    classes = xp.reshape(xp.arange(n_classes), (1, n_classes) + (1,) * (safe.ndim - 1))
    onehot = xp.astype(_classes_axis(xp, safe) == classes, scale.dtype)
    return onehot * _classes_axis(xp, gy * scale)


def _classes_axis(xp, a):
    """``a`` (N, ...) with a class axis of size 1 inserted at 1 (a reshape: NumPy's expand_dims is Python)."""
    return xp.reshape(a, (a.shape[0], 1) + tuple(a.shape[1:])) if a.ndim else xp.reshape(a, (1,))


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C, d1...) or (C,) against class indices (N, d1...) or
    probabilities (same shape as input), with class ``weight``, ``ignore_index`` and ``label_smoothing``."""
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        bad = input if not isinstance(input, Tensor) else target
        raise TypeError(
            f"cross_entropy(): argument 'input' and 'target' must be Tensor, not {type(bad).__name__}"
        )
    if input.dim() == 0:  # PyTorch's log_softmax over class dim 1 (after a probability target's dtype check)
        if target.dim() == 0 and not target.is_floating_point():
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{dtypes.TORCH_NAMES[target.dtype.name]}"
            )
        raise IndexError(
            "Dimension specified as 1 but tensor has no dimensions"
            if target.dim() == 0
            else "Dimension out of range (expected to be in range of [-1, 0], but got 1)"
        )
    cdim = 1 if input.dim() >= 2 else 0
    n_classes = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if input.shape == target.shape:  # PyTorch takes a target of the input's shape as probabilities
        if not target.is_floating_point():
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{dtypes.TORCH_NAMES[target.dtype.name]}"
            )
        return _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, cdim, n_classes)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return nll
    # the smoothed part: the uniform distribution's cross-entropy, -sum_c w_c logp_c / C per sample
    w = _weights(weight, n_classes, input)
    wshape = (n_classes,) + (1,) * (input.dim() - cdim - 1)
    smooth = -(logp if w is None else logp * w.reshape(wshape)).sum(cdim)
    keep = target != ignore_index
    smooth = where(keep, smooth, 0.0)
    if reduction == "mean":
        if w is None:
            smooth = smooth.sum() / keep.sum()
        else:
            smooth = smooth.sum() / (w[where(keep, target, 0)] * keep).sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, cdim, n_classes):
    if target._data.shape != logp._data.shape:
        raise RuntimeError(
            f"Expected target size {list(logp.shape)}, got {list(target.shape)} (class-probability targets "
            "must have the shape of the input)"
        )
    if _dtype_of(target._data) is not _dtype_of(logp._data):
        raise RuntimeError(f"expected scalar type {logp.dtype} but found {target.dtype}")
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    loss = logp * target
    w = _weights(weight, n_classes, logp)
    if w is not None:
        loss = loss * w.reshape((n_classes,) + (1,) * (logp.dim() - cdim - 1))
    if reduction == "none":
        return -loss.sum(cdim)
    if reduction == "sum":
        return -loss.sum()
    return -loss.sum() / (logp.numel() // n_classes if n_classes else 0)
