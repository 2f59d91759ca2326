"""Registry entries for sorting and PyTorch's convenience ops: sort, argsort, topk, addcmul, addcdiv,
nan_to_num, nansum, nanmean, count_nonzero, diff, normalize."""

from __future__ import annotations

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

FLT = ("float32", "float64")
NUM = FLT + ("int64",)
ALL = NUM + ("bool",)


def _distinct(rng, shape):
    """Distinct values, exact in every dtype (PyTorch's unstable sorts may order ties either way)."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - 7.0) / 2


def _sorting_samples(rng):
    x = _distinct(rng, (3, 5))
    return [
        Sample((x,), name="last"),
        Sample((x,), {"dim": 0}, name="dim0"),
        Sample((x,), {"descending": True}, name="descending"),
        Sample((_distinct(rng, (5, 3)).T,), {"dim": 1}, name="transposed"),
        Sample((np.asarray(1.5),), name="0d"),
        Sample((np.zeros((2, 0)),), name="empty"),
    ]


def _order(np, x, dim, descending):
    key = x.astype(np.int8) if x.dtype == bool else x
    return np.argsort(-key if descending else key, axis=dim, kind="stable") if x.ndim else np.asarray(0)


def _sort_ref(np, x, dim=-1, descending=False):
    i = _order(np, x, dim, descending)
    return (np.take_along_axis(x, i, axis=dim) if x.ndim else x.copy()), i


register(
    OpInfo(
        name="sort",
        op=lambda m, x, **kw: m.sort(x, **kw),
        ref=_sort_ref,
        samples=_sorting_samples,
        errors=lambda rng: [ErrorSample(Sample((rng.standard_normal((2, 3)),), {"dim": 2}), IndexError,
                                        "Dimension out of range")],
        method="sort",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="argsort",
        op=lambda m, x, **kw: m.argsort(x, **kw),
        ref=lambda np, x, dim=-1, descending=False: _order(np, x, dim, descending),
        samples=_sorting_samples,
        method="argsort",
        dtypes=ALL,
        differentiable=False,
    )
)


def _topk_ref(np, x, k, dim=-1, largest=True):
    i = _order(np, x, dim, largest)
    if x.ndim:
        i = np.take(i, np.arange(k), axis=dim)
    return (np.take_along_axis(x, i, axis=dim) if x.ndim else x.copy()), i


register(
    OpInfo(
        name="topk",
        op=lambda m, x, k, **kw: m.topk(x, k, **kw),
        ref=_topk_ref,
        samples=lambda rng: [
            Sample((_distinct(rng, (3, 5)), 2), name="largest"),
            Sample((_distinct(rng, (3, 5)), 3), {"dim": 0, "largest": False}, name="smallest_dim0"),
            Sample((_distinct(rng, (4, 3)).T, 4), name="transposed"),
            Sample((_distinct(rng, (6,)), 0), name="k0"),
            Sample((np.asarray(1.5), 1), name="0d"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((_distinct(rng, (2, 3)), 4)), RuntimeError, "selected index k out of range"),
            ErrorSample(Sample((np.array([True, False]), 1), keep_dtype=True), RuntimeError,
                        "topk does not support bool dtypes on CPU"),
        ],
        method="topk",
        dtypes=NUM,
    )
)


def _three(rng, lo=0.5, hi=2.0):
    return [
        Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.uniform(lo, hi, (2, 3))),
               name="same"),
        Sample((rng.standard_normal(3), rng.standard_normal((2, 3)), rng.uniform(lo, hi, (2, 1))),
               {"value": 0.5}, name="broadcast"),
        Sample((np.asarray(1.5), rng.standard_normal(4), rng.uniform(lo, hi, 4)), {"value": -2}, name="0d"),
    ]


register(
    OpInfo(
        name="addcmul",
        op=lambda m, x, a, b, **kw: m.addcmul(x, a, b, **kw),
        ref=lambda np, x, a, b, value=1: x + (value if x.dtype.kind == "f" else int(value)) * a * b,
        samples=_three,
        method="addcmul",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="addcdiv",
        op=lambda m, x, a, b, **kw: m.addcdiv(x, a, b, **kw),
        ref=lambda np, x, a, b, value=1: x + value * a / b,
        samples=_three,
        errors=lambda rng: [
            ErrorSample(Sample((np.ones(2), np.ones(2, np.int64), np.ones(2, np.int64)), keep_dtype=True),
                        RuntimeError, "Integer division with addcdiv is no longer supported")
        ],
        method="addcdiv",
        dtypes=FLT,
    )
)

_INF = {"gradcheck": "inf and nan inputs", "gradgradcheck": "inf and nan inputs"}
register(
    OpInfo(
        name="nan_to_num",
        op=lambda m, x, **kw: m.nan_to_num(x, **kw),
        ref=lambda np, x, **kw: np.nan_to_num(x, **kw),
        samples=lambda rng: [
            Sample((rng.standard_normal((2, 3)),), name="finite"),
            Sample((np.array([1.0, np.nan, np.inf, -np.inf, -2.0]),), skip=_INF, name="special"),
            Sample((np.array([np.nan, np.inf, -np.inf]),), {"nan": 1.5, "posinf": 9.0, "neginf": -9.0},
                   skip=_INF, name="given"),
        ],
        method="nan_to_num",
        dtypes=ALL,
    )
)


def _with_nans(rng):
    x = rng.standard_normal((3, 4))
    x[0, 1] = x[2, 3] = np.nan
    return x


def _nan_samples(rng):
    return [
        Sample((_with_nans(rng),), name="all"),
        Sample((_with_nans(rng),), {"dim": 1}, name="dim1"),
        Sample((_with_nans(rng),), {"dim": 0, "keepdim": True}, name="keepdim"),
        Sample((rng.standard_normal((4, 3)).T,), {"dim": 0}, name="transposed"),
    ]


_NAN_SKIPS = {"gradcheck": "finite differences through NaN inputs", "gradgradcheck": "NaN inputs"}


register(
    OpInfo(
        name="nansum",
        op=lambda m, x, *a, **kw: m.nansum(x, *a, **kw),
        ref=lambda np, x, dim=None, keepdim=False: np.asarray(np.nansum(x, axis=dim, keepdims=keepdim)),
        samples=_nan_samples,
        method="nansum",
        dtypes=NUM,
        skips=_NAN_SKIPS,
    )
)
register(
    OpInfo(
        name="nanmean",
        op=lambda m, x, *a, **kw: m.nanmean(x, *a, **kw),
        ref=lambda np, x, dim=None, keepdim=False: np.asarray(np.nanmean(x, axis=dim, keepdims=keepdim)),
        samples=_nan_samples,
        errors=lambda rng: [ErrorSample(Sample((np.array([1, 2]),), keep_dtype=True), RuntimeError,
                                        "nanmean\\(\\): expected input to have floating point")],
        method="nanmean",
        dtypes=FLT,
        skips=_NAN_SKIPS,
    )
)
register(
    OpInfo(
        name="count_nonzero",
        op=lambda m, x, **kw: m.count_nonzero(x, **kw),
        ref=lambda np, x, dim=None: np.asarray(np.count_nonzero(x, axis=dim)),
        samples=lambda rng: [
            Sample((np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),), name="all"),
            Sample((np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),), {"dim": 0}, name="dim0"),
            Sample((np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),), {"dim": (0, 1)}, name="dims"),
        ],
        method="count_nonzero",
        dtypes=ALL,
        differentiable=False,
    )
)
register(
    OpInfo(
        name="diff",
        op=lambda m, x, *a, **kw: m.diff(x, *a, **kw),
        ref=lambda np, x, n=1, dim=-1, **kw: np.diff(x, n, axis=dim, **kw),
        samples=lambda rng: [
            Sample((rng.standard_normal((3, 5)),), name="first"),
            Sample((rng.standard_normal((3, 5)), 2, 0), name="second_dim0"),
            Sample((rng.standard_normal((2, 4)),), {"prepend": rng.standard_normal((2, 1)),
                                                      "append": rng.standard_normal((2, 2))}, name="pre_app"),
            Sample((rng.standard_normal((4, 3)).T,), name="transposed"),
        ],
        errors=lambda rng: [ErrorSample(Sample((np.asarray(1.0),)), RuntimeError,
                                        "diff expects input to be at least one-dimensional")],
        method="diff",
        dtypes=NUM,
    )
)


def _normalize_ref(np, x, p=2.0, dim=1, eps=1e-12):
    norm = np.sum(np.abs(x) ** p, axis=dim, keepdims=True) ** (1 / p)
    return x / np.maximum(norm, eps)


register(
    OpInfo(
        name="nn.functional.normalize",
        op=lambda m, x, **kw: m.nn.functional.normalize(x, **kw),
        ref=_normalize_ref,
        samples=lambda rng: [
            Sample((rng.standard_normal((3, 4)),), name="rows"),
            Sample((rng.standard_normal((3, 4)),), {"p": 1.0, "dim": 0}, name="l1_dim0"),
            Sample((rng.standard_normal((2, 3, 4)),), {"p": 3.0, "dim": -1, "eps": 1e-3}, name="p3"),
        ],
        dtypes=FLT,
    )
)
