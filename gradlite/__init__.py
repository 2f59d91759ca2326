"""gradlite: define-by-run autograd with PyTorch's programming model on NumPy (CPU) and CuPy (GPU).

``import gradlite as torch`` runs the autograd and training code of PyTorch's tutorials.
"""

from gradlite import autograd, cuda, dtypes, ops  # noqa: F401  (ops registers the Tensor methods)
from gradlite.autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from gradlite.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from gradlite.creation import (
    Generator,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from gradlite.device import device
from gradlite.dtypes import (
    bool_ as bool,  # noqa: A001 -- PyTorch's name
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from gradlite.ops.arithmetic import add, div, dot, matmul, mm, mul, neg, pow, sub
from gradlite.ops.arithmetic import divide, multiply, negative, positive, rsub, subtract, true_divide  # noqa: F401
from gradlite.ops.comparison import eq, ge, gt, le, lt, ne
from gradlite.ops.comparison import (  # noqa: F401
    allclose, equal, greater, greater_equal, isclose, isfinite, isinf, isnan, less, less_equal, logical_and,
    logical_not, logical_or, logical_xor, not_equal,
)
from gradlite.ops.comparison import bitwise_and, bitwise_not, bitwise_or, bitwise_xor  # noqa: F401
from gradlite.ops.indexing import (
    gather,
    index_add,
    index_select,
    masked_fill,
    masked_select,
    scatter,
    scatter_add,
    take,
    take_along_dim,
)
from gradlite.ops.inplace import clone
from gradlite.ops.solve import det, inverse, logdet, slogdet
from gradlite.ops.scatter_reduce import scatter_reduce
from gradlite.ops.join import cat, chunk, concat, concatenate, hstack, row_stack, split, stack, unbind, vstack
from gradlite.ops.linalg import bmm, diag, diagonal, einsum, ger, mv, outer, tensordot, trace, tril, triu
from gradlite.ops.pointwise import abs, exp, log, relu, sigmoid, sign, sqrt, tanh, where
from gradlite.ops.pointwise import (  # noqa: F401
    absolute, acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan,
    atan2, atanh, clamp, clamp_max, clamp_min, clip, cos, cosh, erf, erfc, exp2, expm1, lerp, log1p, log2,
    log10, maximum, minimum, reciprocal, rsqrt, sin, sinh, square, tan,
)
from gradlite.ops.rounding import ceil, fix, floor, floor_divide, fmod, frac, remainder, round, trunc  # noqa: F401
from gradlite.ops.activation import celu, hardtanh, logsigmoid, relu6, selu, softplus  # noqa: F401
from gradlite.ops.random import randperm
from gradlite.ops.reduction import mean, norm, sum
from gradlite.ops.sorting import argsort, sort, topk
from gradlite.ops.more import (  # noqa: F401
    addcdiv, addcmul, argwhere, count_nonzero, diff, meshgrid, nan_to_num, nanmean, nansum, nonzero,
    repeat_interleave,
)
from gradlite.ops.reduction import (  # noqa: F401
    all, amax, amin, any, argmax, argmin, cumprod, cumsum, logsumexp, max, min, prod, return_types, std,
    std_mean, var, var_mean,
)
from gradlite.ops.shape import (
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    expand,
    flatten,
    flip,
    fliplr,
    flipud,
    movedim,
    moveaxis,
    narrow,
    permute,
    reshape,
    roll,
    select,
    squeeze,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    unflatten,
    unsqueeze,
)
from gradlite.tensor import Size, Tensor, is_tensor

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

from gradlite import nn  # noqa: E402  (nn builds on everything above)
from gradlite import linalg  # noqa: E402,F401  (linalg.norm, vector_norm, matrix_norm)
from gradlite.nn._softmax import log_softmax, softmax  # noqa: E402
from gradlite import optim, utils  # noqa: E402,F401  (optimizers, data loading)
from gradlite.serialization import load, save  # noqa: E402,F401

__version__ = "0.1.0"

import warnings as _warnings  # noqa: E402

# PyTorch computes log(0) = -inf, 0/0 = nan and exp(1000) = inf without a word; NumPy warns about each, from
# the Python frame that called it. Those warnings are silenced where that frame is gradlite's own code, and
# nowhere else: the user's NumPy calls warn as before.
_warnings.filterwarnings(
    "ignore",
    r"(divide by zero|invalid value|overflow|underflow) encountered|Mean of empty slice|Degrees of freedom",
    RuntimeWarning,
    r"gradlite\.",
)
