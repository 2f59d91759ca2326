"""Registry entries for ``nn.functional``: softmax family, linear, dropout, one_hot, embedding, losses."""

from __future__ import annotations

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

FLT = ("float32", "float64")
NUM = ("float32", "float64", "int64")
REDUCTIONS = ("mean", "sum", "none")


def arr(rng, *shape, lo=None, hi=None):
    if lo is not None:
        return np.asarray(rng.uniform(lo, hi, size=shape))
    return np.asarray(rng.standard_normal(shape))


def ix(*v):
    return np.array(v, dtype=np.int64)


def _reduce(np, loss, reduction):
    if reduction == "mean":
        return np.asarray(loss.mean(), dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=loss.dtype)
    return loss


# -- softmax family -------------------------------------------------------------------------------------
def _np_log_softmax(np, x, dim):
    if x.ndim == 0:
        return np.zeros_like(x)
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


def _softmax_samples(rng):
    return [
        Sample((arr(rng, 3, 4), 1), name="rows"),
        Sample((arr(rng, 3, 4), 0), name="cols"),
        Sample((arr(rng, 2, 3, 4), -1), name="3d"),
        Sample((arr(rng, 3, 4) * 1e4, 1), name="large_logits"),
        Sample((arr(rng), 0), name="0d"),
        Sample((arr(rng, 0, 4), 1), name="empty"),
        Sample((arr(rng, 4, 3).T, 1), name="transposed"),
    ]


register(
    OpInfo(
        name="softmax",
        op=lambda m, x, d: m.nn.functional.softmax(x, d),
        ref=lambda np, x, d: np.exp(_np_log_softmax(np, x, d)),
        samples=_softmax_samples,
        errors=lambda rng: [ErrorSample(Sample((arr(rng, 3, 4), 2)), IndexError, "Dimension out of range")],
        method="softmax",
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="log_softmax",
        op=lambda m, x, d: m.nn.functional.log_softmax(x, d),
        ref=_np_log_softmax,
        samples=_softmax_samples,
        errors=lambda rng: [ErrorSample(Sample((arr(rng, 3, 4), -3)), IndexError, "Dimension out of range")],
        method="log_softmax",
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="softmax_function",
        op=lambda m, x, d: m.softmax(x, d),
        ref=lambda np, x, d: np.exp(_np_log_softmax(np, x, d)),
        samples=lambda rng: [Sample((arr(rng, 3, 4), 1), name="rows")],
        dtypes=FLT,
    )
)


# -- linear, dropout, one_hot, embedding ----------------------------------------------------------------
register(
    OpInfo(
        name="linear",
        op=lambda m, x, w, b=None: m.nn.functional.linear(x, w, b),
        ref=lambda np, x, w, b=None: x @ w.T + (0 if b is None else b),
        samples=lambda rng: [
            Sample((arr(rng, 4, 3), arr(rng, 2, 3), arr(rng, 2)), name="bias"),
            Sample((arr(rng, 4, 3), arr(rng, 2, 3)), name="no_bias"),
            Sample((arr(rng, 2, 5, 3), arr(rng, 2, 3), arr(rng, 2)), name="batch"),
            Sample((arr(rng, 3), arr(rng, 2, 3), arr(rng, 2)), name="vec"),
            Sample((arr(rng, 0, 3), arr(rng, 2, 3), arr(rng, 2)), name="empty"),
            Sample((arr(rng, 3, 4).T, arr(rng, 3, 2).T, arr(rng, 2)), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 4, 3), arr(rng, 2, 5))),
                RuntimeError,
                "mat1 and mat2 shapes cannot be multiplied",
            )
        ],
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="dropout_deterministic",
        op=lambda m, x, **kw: m.nn.functional.dropout(x, **kw),
        ref=lambda np, x, p=0.5, training=True: x * 0 if training and p == 1 else x,
        samples=lambda rng: [
            Sample((arr(rng, 3, 4),), {"training": False}, name="eval"),
            Sample((arr(rng, 3, 4),), {"p": 0.0}, name="p0"),
            Sample((arr(rng, 3, 4),), {"p": 1.0}, name="p1"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3),), {"p": 1.5}),
                ValueError,
                "dropout probability has to be between 0 and 1",
            ),
            ErrorSample(Sample((arr(rng, 3),), {"p": -0.1}), ValueError, "but got -0.1"),
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="embedding_padding_idx",
        op=lambda m, i, w, **kw: m.nn.functional.embedding(i, w, **kw),
        ref=lambda np, i, w, padding_idx=None: w[i],
        samples=lambda rng: [
            Sample((np.array([[0, 2, 0], [4, 1, 1]]), arr(rng, 5, 3)), {"padding_idx": 0}, name="padding"),
            Sample((ix(3, 4, 4), arr(rng, 5, 3)), {"padding_idx": -1}, name="neg_padding"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((ix(1), arr(rng, 5, 3)), {"padding_idx": 5}),
                AssertionError,
                "Padding_idx must be within num_embeddings",
            )
        ],
        skips={
            "gradcheck": "by design the padding row gets no gradient although the output depends on it",
            "gradgradcheck": "as gradcheck: the padding row's gradient is zeroed on purpose",
        },
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="one_hot",
        op=lambda m, t, n=-1: m.nn.functional.one_hot(t, n),
        ref=lambda np, t, n=-1: (t[..., None] == np.arange(n if n != -1 else t.max() + 1)).astype(np.int64),
        samples=lambda rng: [
            Sample((ix(0, 2, 1),), name="infer"),
            Sample((np.array([[1], [3]]), 5), name="2d"),
            Sample((np.array(2), 3), name="0d"),
            Sample((ix(), 3), name="empty"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((ix(0, 3), 3)), RuntimeError, "Class values must be smaller than num_classes"),
            ErrorSample(Sample((ix(0, -1), 3)), RuntimeError, "Class values must be non-negative"),
            ErrorSample(
                Sample((arr(rng, 3), 3), keep_dtype=True),
                RuntimeError,
                "one_hot is only applicable to index tensor",
            ),
        ],
        differentiable=False,
        dtypes=("int64",),
    )
)
register(
    OpInfo(
        name="embedding",
        op=lambda m, i, w, **kw: m.nn.functional.embedding(i, w, **kw),
        ref=lambda np, i, w, padding_idx=None, scale_grad_by_freq=False: w[i],
        samples=lambda rng: [
            Sample((np.array([[0, 2, 0], [4, 4, 1]]), arr(rng, 5, 3)), name="repeated"),
            Sample((np.array(2), arr(rng, 5, 3)), name="0d"),
            Sample((ix(), arr(rng, 5, 3)), name="empty"),
            Sample((ix(1, 2), arr(rng, 3, 5).T), name="transposed"),
            Sample(
                (np.array([[0, 2, 0], [4, 4, 4]]), arr(rng, 5, 3)),
                {"scale_grad_by_freq": True},
                name="by_freq",
                skip={"gradcheck": "by design each row's gradient is divided by its count in the batch",
                      "gradgradcheck": "as gradcheck"},
            ),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((ix(5), arr(rng, 5, 3))), IndexError, "index out of range in self"),
            ErrorSample(
                Sample((arr(rng, 2), arr(rng, 5, 3))),
                RuntimeError,
                "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
                "Int",
            ),
        ],
        dtypes=FLT,
    )
)


# -- regression losses --------------------------------------------------------------------------------
def _pair_samples(rng, **kw):
    out = []
    for r in REDUCTIONS:
        out.append(Sample((arr(rng, 3, 4), arr(rng, 3, 4)), {"reduction": r, **kw}, name=f"mat_{r}"))
    out += [
        Sample((arr(rng), arr(rng)), kw, name="0d"),
        Sample((arr(rng, 0, 4), arr(rng, 0, 4)), {"reduction": "sum", **kw}, name="empty"),
        Sample((arr(rng, 4, 3).T, arr(rng, 3, 4)), kw, name="transposed"),
    ]
    return out


def _pair_errors(rng):
    return [
        ErrorSample(
            Sample((arr(rng, 3), arr(rng, 3)), {"reduction": "avg"}),
            ValueError,
            "avg is not a valid value for reduction",
        )
    ]


register(
    OpInfo(
        name="mse_loss",
        op=lambda m, x, t, **kw: m.nn.functional.mse_loss(x, t, **kw),
        ref=lambda np, x, t, reduction="mean": _reduce(np, (x - t) ** 2, reduction),
        samples=lambda rng: _pair_samples(rng) + [Sample((arr(rng, 3, 4), arr(rng, 4)), name="broadcast")],
        errors=_pair_errors,
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="l1_loss",
        op=lambda m, x, t, **kw: m.nn.functional.l1_loss(x, t, **kw),
        ref=lambda np, x, t, reduction="mean": _reduce(np, np.abs(x - t), reduction),
        samples=_pair_samples,
        errors=_pair_errors,
        dtypes=FLT,
    )
)


def _np_smooth_l1(np, x, t, reduction="mean", beta=1.0):
    d = np.abs(x - t)
    loss = d if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(np, loss.astype(x.dtype), reduction)


register(
    OpInfo(
        name="smooth_l1_loss",
        op=lambda m, x, t, **kw: m.nn.functional.smooth_l1_loss(x, t, **kw),
        ref=_np_smooth_l1,
        samples=lambda rng: (
            _pair_samples(rng)
            + _pair_samples(rng, beta=0.5)[:1]
            + [Sample((arr(rng, 3, 4), arr(rng, 3, 4)), {"beta": 0.0}, name="beta0")]
        ),
        errors=lambda rng: (
            _pair_errors(rng)
            + [
                ErrorSample(
                    Sample((arr(rng, 3), arr(rng, 3)), {"beta": -1.0}),
                    RuntimeError,
                    "does not support negative values for beta",
                )
            ]
        ),
        dtypes=FLT,
    )
)


def _np_huber(np, x, t, reduction="mean", delta=1.0):
    d = np.abs(x - t)
    return _reduce(np, np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)).astype(x.dtype), reduction)


register(
    OpInfo(
        name="huber_loss",
        op=lambda m, x, t, **kw: m.nn.functional.huber_loss(x, t, **kw),
        ref=_np_huber,
        samples=lambda rng: _pair_samples(rng) + _pair_samples(rng, delta=0.5)[:1],
        errors=_pair_errors,
        dtypes=FLT,
    )
)


# -- classification losses -----------------------------------------------------------------------------
def _np_nll(np, logp, t, weight=None, ignore_index=-100, reduction="mean"):
    if logp.ndim == 1:
        logp, t = logp[None], np.asarray(t)[None]
    c = logp.shape[1]
    w = np.ones(c, dtype=logp.dtype) if weight is None else weight
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    wt = w[safe] * keep
    loss = -picked * wt
    if reduction == "none":
        return loss.reshape(t.shape) if t.shape != (1,) or logp.shape[0] != 1 else loss
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=logp.dtype)
    return np.asarray(loss.sum() / wt.sum(), dtype=logp.dtype)


def _class_samples(rng, big=False):
    scale = 1e4 if big else 1.0
    t = ix(1, 0, 3, 2)
    out = [Sample((arr(rng, 4, 5) * scale, t), {"reduction": r}, name=f"idx_{r}") for r in REDUCTIONS]
    out += [
        Sample((arr(rng, 4, 5), ix(1, -100, 3, 2)), name="ignore_default"),
        Sample((arr(rng, 4, 5), t), {"ignore_index": 3, "reduction": "sum"}, name="ignore_index"),
        Sample((arr(rng, 4, 5), t, arr(rng, 5, lo=0.5, hi=2.0)), grad=(0,), name="weight"),
        Sample((arr(rng, 2, 3, 4, 2), rng.integers(0, 3, (2, 4, 2))), name="kdim"),
        Sample((arr(rng, 2, 3, 4), rng.integers(0, 3, (2, 4))), {"reduction": "none"}, name="kdim_none"),
        Sample((arr(rng, 5), np.array(2)), name="unbatched"),
        Sample((arr(rng, 5, 4).T, t), name="transposed"),
        Sample((arr(rng, 0, 5), ix()), {"reduction": "sum"}, name="empty"),
    ]
    return out


def _class_errors(rng):
    return [
        ErrorSample(Sample((arr(rng, 4, 5), ix(1, 0, 5, 2))), IndexError, "Target 5 is out of bounds"),
        ErrorSample(
            Sample((arr(rng, 4, 5), ix(1, 0, 2))),
            ValueError,
            r"Expected input batch_size \(4\) to match target batch_size \(3\)",
        ),
        ErrorSample(
            Sample((arr(rng, 4, 5), ix(1, 0, 1, 2), arr(rng, 4))),
            RuntimeError,
            "weight tensor should be defined either for all 5 classes or no classes",
        ),
    ]


register(
    OpInfo(
        name="nll_loss",
        op=lambda m, x, t, w=None, **kw: m.nn.functional.nll_loss(x, t, w, **kw),
        ref=_np_nll,
        samples=_class_samples,
        errors=_class_errors,
        dtypes=FLT,
    )
)


def _np_ce(np, x, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    cdim = 1 if x.ndim >= 2 else 0
    logp = _np_log_softmax(np, x, cdim)
    c = x.shape[cdim]
    wshape = (c,) + (1,) * (x.ndim - cdim - 1)
    if t.dtype.kind == "f":
        t = t * (1 - label_smoothing) + label_smoothing / c
        loss = logp * t * (1 if weight is None else weight.reshape(wshape))
        if reduction == "none":
            return -loss.sum(axis=cdim)
        if reduction == "sum":
            return np.asarray(-loss.sum(), dtype=x.dtype)
        return np.asarray(-loss.sum() / (logp.size // c), dtype=x.dtype)
    if x.ndim > 2:  # move classes last and flatten the spatial dims
        logp2 = np.moveaxis(logp, 1, -1).reshape(-1, c)
        nll = _np_nll(np, logp2, t.reshape(-1), weight, ignore_index, reduction)
        nll = nll.reshape(t.shape) if reduction == "none" else nll
    else:
        nll = _np_nll(np, logp, t, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    w = np.ones(c, dtype=x.dtype) if weight is None else weight
    smooth = -(logp * w.reshape(wshape)).sum(axis=cdim)
    keep = t != ignore_index
    smooth = np.where(keep, smooth, 0)
    if reduction == "mean":
        smooth = smooth.sum() / (w[np.where(keep, t, 0)] * keep).sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return np.asarray((1 - label_smoothing) * nll + smooth * (label_smoothing / c), dtype=x.dtype)


def _ce_samples(rng):
    out = _class_samples(rng, big=True)
    probs = arr(rng, 4, 5, lo=0.0, hi=1.0)
    probs = probs / probs.sum(1, keepdims=True)
    out += [
        Sample((arr(rng, 4, 5), ix(1, 0, -100, 2)), {"label_smoothing": 0.2}, name="smoothing"),
        Sample(
            (arr(rng, 4, 5), ix(1, 0, 3, 2), arr(rng, 5, lo=0.5, hi=2.0)),
            {"label_smoothing": 0.1, "reduction": "sum"},
            grad=(0,),
            name="smoothing_weight",
        ),
        Sample((arr(rng, 4, 5), probs), name="probs"),
        Sample(
            (arr(rng, 4, 5) * 1e4, probs), {"reduction": "sum", "label_smoothing": 0.3}, name="probs_large"
        ),
        Sample(
            (arr(rng, 4, 5), probs, arr(rng, 5, lo=0.5, hi=2.0)),
            {"reduction": "none"},
            grad=(0, 1),
            name="probs_weight",
        ),
        Sample(
            (arr(rng, 2, 3, 4), np.moveaxis(probs[:3, :3].repeat(3, 0)[:8].reshape(2, 4, 3), -1, 1).copy()),
            name="probs_kdim",
        ),
    ]
    return out


register(
    OpInfo(
        name="cross_entropy",
        op=lambda m, x, t, w=None, **kw: m.nn.functional.cross_entropy(x, t, w, **kw),
        ref=_np_ce,
        samples=_ce_samples,
        errors=lambda rng: (
            _class_errors(rng)
            + [
                ErrorSample(
                    Sample((arr(rng, 4, 5), ix(1, 0, 1, 2)), {"label_smoothing": 1.5}),
                    RuntimeError,
                    "label_smoothing must be between 0.0 and 1.0",
                ),
            ]
        ),
        dtypes=FLT,
    )
)


def _np_bce(np, x, t, weight=None, reduction="mean"):
    loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    if weight is not None:
        loss = loss * weight
    return _reduce(np, loss.astype(x.dtype), reduction)


register(
    OpInfo(
        name="binary_cross_entropy",
        op=lambda m, x, t, w=None, **kw: m.nn.functional.binary_cross_entropy(x, t, w, **kw),
        ref=_np_bce,
        samples=lambda rng: (
            [
                Sample(
                    (arr(rng, 3, 4, lo=0.05, hi=0.95), arr(rng, 3, 4, lo=0, hi=1)), {"reduction": r}, name=r
                )
                for r in REDUCTIONS
            ]
            + [
                Sample(
                    (arr(rng, 3, 4, lo=0.05, hi=0.95), arr(rng, 3, 4, lo=0, hi=1), arr(rng, 4, lo=0.5, hi=2)),
                    grad=(0, 1),
                    name="weight",
                ),
                Sample((arr(rng, lo=0.05, hi=0.95), arr(rng, lo=0, hi=1)), name="0d"),
                Sample((arr(rng, 4, 3, lo=0.05, hi=0.95).T, arr(rng, 3, 4, lo=0, hi=1)), name="transposed"),
            ]
        ),
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 1, lo=0.1, hi=0.9), arr(rng, 3, lo=0, hi=1))),
                ValueError,
                "Using a target size .* that is different to the input size",
            )
        ],
        dtypes=FLT,
    )
)


def _np_bce_logits(np, x, t, weight=None, reduction="mean", pos_weight=None):
    sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
    lw = 1 if pos_weight is None else (pos_weight - 1) * t + 1
    loss = (1 - t) * x + lw * sp
    if weight is not None:
        loss = loss * weight
    return _reduce(np, loss.astype(x.dtype), reduction)


register(
    OpInfo(
        name="binary_cross_entropy_with_logits",
        op=lambda m, x, t, w=None, **kw: m.nn.functional.binary_cross_entropy_with_logits(x, t, w, **kw),
        ref=_np_bce_logits,
        samples=lambda rng: (
            [
                Sample((arr(rng, 3, 4), arr(rng, 3, 4, lo=0, hi=1)), {"reduction": r}, name=r)
                for r in REDUCTIONS
            ]
            + [
                Sample((arr(rng, 3, 4) * 1e4, arr(rng, 3, 4, lo=0, hi=1)), name="large_logits"),
                Sample(
                    (arr(rng, 3, 4), arr(rng, 3, 4, lo=0, hi=1)),
                    {"pos_weight": arr(rng, 4, lo=0.5, hi=3)},
                    grad=(0, 1),
                    name="pos_weight",
                ),
                Sample(
                    (arr(rng, 3, 4) * 1e4, arr(rng, 3, 4, lo=0, hi=1)),
                    {"pos_weight": arr(rng, 4, lo=0.5, hi=3), "reduction": "sum"},
                    grad=(0, 1),
                    name="pos_weight_large",
                ),
                Sample(
                    (arr(rng, 3, 4), arr(rng, 3, 4, lo=0, hi=1), arr(rng, 3, 1, lo=0.5, hi=2)),
                    grad=(0, 1),
                    name="weight",
                ),
                Sample((arr(rng), arr(rng, lo=0, hi=1)), name="0d"),
                Sample((arr(rng, 4, 3).T, arr(rng, 3, 4, lo=0, hi=1)), name="transposed"),
            ]
        ),
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 1), arr(rng, 3, lo=0, hi=1))),
                ValueError,
                r"Target size \(.*\) must be the same as input size",
            )
        ],
        dtypes=FLT,
    )
)


def _np_kl(np, x, t, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        loss = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
    loss = loss.astype(x.dtype)
    if reduction == "batchmean":
        return np.asarray(loss.sum() / x.shape[0], dtype=x.dtype)
    return _reduce(np, loss, reduction)


def _kl_samples(rng):
    logp = np.log(arr(rng, 3, 4, lo=0.05, hi=1))
    q = arr(rng, 3, 4, lo=0.05, hi=1)
    q0 = q.copy()
    q0[0, 1] = 0.0
    out = [Sample((logp, q), {"reduction": r}, name=r) for r in ("batchmean", "sum", "none")]
    out += [
        Sample((logp, np.log(q)), {"reduction": "batchmean", "log_target": True}, name="log_target"),
        Sample((logp, q0), {"reduction": "sum"}, grad=(0,), name="zero_target"),
        Sample((np.log(arr(rng, 4, 3, lo=0.05, hi=1)).T, q), {"reduction": "batchmean"}, name="transposed"),
    ]
    return out


register(
    OpInfo(
        name="kl_div",
        op=lambda m, x, t, **kw: m.nn.functional.kl_div(x, t, **kw),
        ref=_np_kl,
        samples=_kl_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3), arr(rng, 3)), {"reduction": "avg"}),
                ValueError,
                "avg is not a valid value for reduction",
            )
        ],
        dtypes=FLT,
    )
)
