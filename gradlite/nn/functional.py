"""``nn.functional``: stateless building blocks, composed from gradlite ops."""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.nn._activation import (  # noqa: F401  (activations the nn package adds)
    glu,
    hardshrink,
    prelu,
    rrelu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)
from gradlite.nn._attention import scaled_dot_product_attention  # noqa: F401
from gradlite.nn._class_losses import cross_entropy, nll_loss  # noqa: F401  (re-exported under F.)
from gradlite.nn._conv import (  # noqa: F401  (layers' functional forms, from nn's own modules)
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
)
from gradlite.nn._dropout import alpha_dropout, dropout1d, dropout2d, dropout3d  # noqa: F401
from gradlite.nn._embedding import embedding  # noqa: F401
from gradlite.nn._grid_sample import affine_grid, grid_sample  # noqa: F401
from gradlite.nn._losses import (  # noqa: F401  (re-exported under F.)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from gradlite.nn._margin_losses import (  # noqa: F401
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from gradlite.nn._norm import (  # noqa: F401
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    rms_norm,
)
from gradlite.nn._padding import pad  # noqa: F401  (constant, reflect, replicate, circular)
from gradlite.nn._pool import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from gradlite.nn._softmax import log_softmax, softmax  # noqa: F401
from gradlite.nn.distance import cosine_similarity, normalize, pairwise_distance  # noqa: F401
from gradlite.nn.fold import fold, unfold  # noqa: F401
from gradlite.nn.pixelshuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: F401
from gradlite.nn.upsampling import interpolate  # noqa: F401
from gradlite.ops._base import apply
from gradlite.ops.activation import (  # noqa: F401  (re-exported under F.)
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softplus,
)
from gradlite.ops.arithmetic import matmul
from gradlite.ops.pointwise import sigmoid, tanh  # noqa: F401  (re-exported under F.)
from gradlite.tensor import _DTYPE_OF, Tensor, _dtype_of


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``; x: (*, in), weight: (out, in), bias: (out,) -> (*, out)."""
    if isinstance(x, Tensor) and isinstance(weight, Tensor):  # a batch of rows: one node (checked inline)
        xd, wd = x._data, weight._data
        if (
            xd.ndim == 2
            and wd.ndim == 2
            and xd.shape[1] == wd.shape[1]
            and x._device is weight._device
            and (xd.dtype is wd.dtype or xd.dtype == wd.dtype)
            and (_DTYPE_OF.get(xd.dtype) or _dtype_of(xd)) is not dtypes.bool_  # (the general path raises)
            and (bias is None or _same(bias, x) and bias._data.ndim == 1)
        ):
            return _addmm(x, weight, bias)
    if not x._data.ndim or not weight._data.ndim:
        raise RuntimeError(
            f"both arguments to linear need to be at least 1D, but they are {x.dim()}D and {weight.dim()}D"
        )
    if x.shape[-1:] != weight.shape[-1:]:
        a = f"{x.numel() // max(x.shape[-1], 1)}x{x.shape[-1]}" if x.dim() else "scalar"
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a} and {weight.shape[1]}x{weight.shape[0]})"
        )
    y = x @ weight.t()
    return y if bias is None else y + bias


def _same(b: Tensor, x: Tensor) -> bool:
    return isinstance(b, Tensor) and b._device is x._device and b._data.dtype == x._data.dtype


def _addmm(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``x @ weight.T + bias`` for a batch of rows, as one node (PyTorch's ``AddmmBackward0``): the bias is
    added into the product in place, and the weight gradient comes as ``gy.T @ x``, in the weight's layout."""
    xd, wd = x._data, weight._data
    mm = x._device.backend.mm
    data = mm(xd, wd.T)
    args, rargs = (x, weight, matmul), (xd, wd, mm)  # (``mm``: as for arithmetic's matmul)
    if bias is None:
        return apply("MmBackward0", data, (x, weight), _MM, saved=(weight, x), args=args, rargs=rargs)
    data += bias._data
    return apply("AddmmBackward0", data, (bias, x, weight), _ADDMM, saved=(None, weight, x), args=args,
                 rargs=rargs)


def _linear_gx(gy, x, w, mm):
    return mm(gy, w)


def _linear_gw(gy, x, w, mm):
    return mm(gy.T, x)


def _linear_gb(gy, x, w, mm):  # summed over the batch by the engine
    return gy


_MM = (_linear_gx, _linear_gw)
_ADDMM = (_linear_gb, _linear_gx, _linear_gw)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p``, scale the rest by ``1 / (1 - p)``; identity in eval."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if not input.dtype.is_floating_point:  # PyTorch: p = 1 multiplies by a zero of x's dtype, else its
        if p < 1.0:  # float scale cannot be written back into an integer or bool tensor
            name = dtypes.TORCH_NAMES[input.dtype.name]
            raise RuntimeError(f"result type Float can't be cast to the desired output type {name}")
        from gradlite.tensor import _make

        b = input._device.backend
        with b.context(input._device.index):
            zero = _make(b.xp.zeros((), dtype=input._data.dtype), input._device)
        return input.mul_(zero) if inplace else input * zero
    from gradlite.creation import rand_like

    # the mask is a constant: the gradient is gy * mask / (1 - p), zero where dropped
    keep = (rand_like(input) >= p).to(input.dtype)  # (in the input's dtype: float16 stays float16)
    scale = keep * (1.0 / (1.0 - p)) if p < 1.0 else keep * 0.0
    return input.mul_(scale) if inplace else input * scale


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: (*) class indices -> (*, num_classes); ``num_classes=-1`` takes max + 1."""
    if not isinstance(tensor, Tensor) or _dtype_of(tensor._data).name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    b = tensor._device.backend
    xp = b.xp
    t = tensor._data
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(b.to_host(xp.max(t))) + 1
    b.check_range(t, 0, math.inf, RuntimeError, "Class values must be non-negative.")
    b.check_range(t, -math.inf, num_classes, RuntimeError, "Class values must be smaller than num_classes.")
    with b.context(tensor._device.index):
        classes = xp.arange(num_classes, dtype=t.dtype)
    from gradlite.tensor import _make

    return _make(xp.astype(t[..., None] == classes, t.dtype), tensor._device)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; ``inplace=True`` writes the result into ``input`` (``relu_``)."""
    return input.relu_() if inplace else input.relu()
