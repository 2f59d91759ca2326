"""Registry entries for reductions and scans: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std,
norm, logsumexp, cumsum/cumprod, all/any."""

from __future__ import annotations

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

NUM = ("float32", "float64", "int64")
ALL = NUM + ("bool",)
FLT = ("float32", "float64")


def reduction_samples(
    rng, kwargs_list=({}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": (0, 2)}), lo=-2, hi=2
):
    """A 3-d tensor reduced whole and over dims, plus 0-d, transposed and empty-dim inputs."""
    x = rng.uniform(lo, hi, (2, 3, 4))
    out = [
        Sample((x,), dict(kw), name="_".join(f"{k}{v}" for k, v in kw.items()) or "all") for kw in kwargs_list
    ]
    out.append(Sample((np.asarray(rng.uniform(lo, hi)),), name="0d"))
    out.append(
        Sample((rng.uniform(lo, hi, (4, 3)).T,), {"dim": 0} if kwargs_list[1:] else {}, name="transposed")
    )
    return out


def _dim_kwargs(np_fn):
    """A NumPy reference taking PyTorch's dim/keepdim (``axis=None`` for the whole tensor)."""
    return lambda np, x, dim=None, keepdim=False, **kw: np_fn(np, x, axis=dim, keepdims=keepdim, **kw)


register(
    OpInfo(
        name="sum",
        op=lambda m, x, **kw: m.sum(x, **kw),
        ref=_dim_kwargs(lambda np, x, **kw: np.asarray(np.sum(x, **kw))),
        samples=lambda rng: (
            reduction_samples(rng) + [Sample((rng.uniform(-1, 1, (0, 3)),), {"dim": 0}, name="empty")]
        ),
        errors=lambda rng: [
            ErrorSample(
                Sample((rng.standard_normal((2, 3)),), {"dim": 2}), IndexError, "Dimension out of range"
            ),
            ErrorSample(
                Sample((rng.standard_normal((2, 3)),), {"dim": (0, 0)}),
                RuntimeError,
                "appears multiple times",
            ),
        ],
        method="sum",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="mean",
        op=lambda m, x, **kw: m.mean(x, **kw),
        ref=_dim_kwargs(lambda np, x, **kw: np.asarray(np.mean(x, **kw))),
        samples=reduction_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((np.array([1, 2]),), keep_dtype=True),
                RuntimeError,
                "mean\\(\\): could not infer output dtype.*Got: Long",
            )
        ],
        method="mean",
        dtypes=FLT,
    )
)


def _prod_samples(rng):
    x = rng.uniform(0.5, 1.5, (3, 4)) * np.where(rng.uniform(size=(3, 4)) > 0.5, 1, -1)
    one_zero = x.copy()
    one_zero[1, 2] = 0.0
    two_zeros = x.copy()
    two_zeros[2, 0] = two_zeros[2, 3] = 0.0
    return [
        Sample((x,), name="all"),
        Sample((x,), {"dim": 1}, name="dim1"),
        Sample((x,), {"dim": 0, "keepdim": True}, name="dim0_keepdim"),
        Sample((one_zero,), {"dim": 1}, name="one_zero"),
        Sample((two_zeros,), {"dim": 1}, name="two_zeros"),
        Sample((one_zero,), name="all_one_zero"),
        Sample((np.asarray(1.5),), name="0d"),
        Sample((x.T,), {"dim": 0}, name="transposed"),
    ]


register(
    OpInfo(
        name="prod",
        op=lambda m, x, **kw: m.prod(x, **kw),
        ref=_dim_kwargs(lambda np, x, **kw: np.asarray(np.prod(x, **kw))),
        samples=_prod_samples,
        method="prod",
        dtypes=ALL,
    )
)


def _extreme_samples(rng):
    x = rng.permutation(24).reshape(2, 3, 4) / 7.0 - 1.5  # distinct values: no ties
    ties = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]])
    skip = {"gradcheck": "ties: the derivative jumps", "gradgradcheck": "ties: the derivative jumps"}
    return [
        Sample((x,), name="all"),
        Sample((x, 1), name="dim1"),
        Sample((x, -1, True), name="dim_keepdim"),
        Sample((np.asarray(0.7),), name="0d"),
        Sample((np.asarray(0.7), 0), name="0d_dim"),
        Sample((x[0].T, 0), name="transposed"),
        Sample((ties,), name="ties_all", skip=skip),
        Sample((ties, 1), name="ties_dim", skip=skip),
        Sample(
            (np.array([[1.0, np.nan, 2.0], [0.0, 1.0, -1.0]]), 1),
            name="nan",
            skip={"gradcheck": "NaN", "gradgradcheck": "NaN"},
        ),
    ]


def _np_extreme(fn, arg):
    def ref(np, x, dim=None, keepdim=False):
        if dim is None:
            return np.asarray(fn(x))
        if x.ndim == 0:
            return np.asarray(x), np.asarray(0)
        return fn(x, axis=dim, keepdims=keepdim), arg(x, axis=dim, keepdims=keepdim)

    return ref


register(
    OpInfo(
        name="max",
        op=lambda m, x, *a: m.max(x, *a),
        ref=_np_extreme(lambda x, **kw: np.max(x, **kw), lambda x, **kw: np.argmax(x, **kw)),
        samples=_extreme_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((np.zeros((0, 3)),)),
                RuntimeError,
                "Expected reduction dim to be specified for input.numel\\(\\) == 0",
            )
        ],
        method="max",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="min",
        op=lambda m, x, *a: m.min(x, *a),
        ref=_np_extreme(lambda x, **kw: np.min(x, **kw), lambda x, **kw: np.argmin(x, **kw)),
        samples=_extreme_samples,
        method="min",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="max_binary",
        op=lambda m, x, y: m.max(x, y),
        ref=lambda np, x, y: np.maximum(x, y),
        samples=lambda rng: [Sample((rng.standard_normal((2, 3)), rng.standard_normal(3)))],
        method="max",
        dtypes=NUM,
    )
)


def _amax_samples(rng):
    return [s for s in _extreme_samples(rng) if s.name != "0d_dim"] + [
        Sample((rng.permutation(24).reshape(2, 3, 4) / 7.0,), {"dim": (0, 2)}, name="dims"),
    ]


def _amax_args(s):
    if len(s.args) > 1:
        kw = {"dim": s.args[1]}
        if len(s.args) > 2:
            kw["keepdim"] = s.args[2]
        return Sample(s.args[:1], kw, name=s.name, skip=s.skip)
    return s


for _name, _fn in (("amax", np.max), ("amin", np.min)):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, **kw: getattr(m, n)(x, **kw))(_name),
            ref=(
                lambda f: lambda np, x, dim=None, keepdim=False: np.asarray(f(x, axis=dim, keepdims=keepdim))
            )(_fn),
            samples=lambda rng: [_amax_args(s) for s in _amax_samples(rng)],
            method=_name,
            dtypes=ALL,
        )
    )

for _name, _fn in (("argmax", np.argmax), ("argmin", np.argmin)):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, **kw: getattr(m, n)(x, **kw))(_name),
            ref=(
                lambda f: (
                    lambda np, x, dim=None, keepdim=False: np.asarray(
                        f(x, axis=dim, keepdims=keepdim)
                        if dim is not None or not keepdim
                        else np.reshape(f(x), (1,) * x.ndim)
                    )
                )
            )(_fn),
            samples=lambda rng: (
                [_amax_args(s) for s in _extreme_samples(rng) if s.name != "nan"]
                + [Sample((rng.standard_normal((2, 3)),), {"keepdim": True}, name="flat_keepdim")]
            ),
            method=_name,
            dtypes=NUM,
            differentiable=False,
        )
    )


def _var_ref(np_fn):
    def ref(np, x, dim=None, unbiased=None, keepdim=False, correction=None):
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        ddof = correction if correction is not None else (0 if unbiased is False else 1)
        return np.asarray(np_fn(x, axis=dim, ddof=ddof, keepdims=keepdim))

    return ref


def _var_samples(rng):
    x = rng.standard_normal((3, 4))
    return [
        Sample((x,), name="all"),
        Sample((x, 1), name="dim1"),
        Sample((x, 0, False, True), name="biased_keepdim"),
        Sample((x,), {"dim": (0, 1), "correction": 0}, name="correction0"),
        Sample((x,), {"dim": 1, "correction": 2}, name="correction2"),
        Sample((x, False), name="unbiased_positional"),
        Sample((x.T,), {"dim": 0}, name="transposed"),
        Sample((np.array([[1.5, 1.5, 1.5], [0.0, 1.0, 2.0]]), 1), name="constant_row", skip=_KINK),
    ]


_KINK = {"gradcheck": "std/norm are not differentiable at 0", "gradgradcheck": "not differentiable at 0"}

for _name, _np in (("var", np.var), ("std", np.std)):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, *a, **kw: getattr(m, n)(x, *a, **kw))(_name),
            ref=_var_ref(_np),
            samples=_var_samples,
            errors=lambda rng: [
                ErrorSample(
                    Sample((np.array([1, 2]),), keep_dtype=True),
                    RuntimeError,
                    "std and var only support floating point",
                )
            ],
            method=_name,
            dtypes=FLT,
        )
    )


def _distinct_abs(rng):
    """Values whose absolute values are all different (no ties for the inf-norms)."""
    return (rng.permutation(12).reshape(3, 4) + 0.5) * np.where(rng.uniform(size=(3, 4)) > 0.5, 1, -1)


_ZERO_ROW = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])


def _norm_ref(np, x, p="fro", dim=None, keepdim=False):
    p = 2 if p == "fro" else p
    a = np.abs(x)
    if p == np.inf:
        r = np.max(a, axis=dim, keepdims=keepdim)
    elif p == -np.inf:
        r = np.min(a, axis=dim, keepdims=keepdim)
    elif p == 0:
        r = np.sum(a != 0, axis=dim, keepdims=keepdim).astype(x.dtype)
    else:
        r = np.sum(a**p, axis=dim, keepdims=keepdim) ** (1 / p)
    return np.asarray(r)


register(
    OpInfo(
        name="norm",
        op=lambda m, x, *a, **kw: m.norm(x, *a, **kw),
        ref=_norm_ref,
        samples=lambda rng: [
            Sample((rng.standard_normal((3, 4)),), name="fro"),
            Sample((rng.standard_normal((3, 4)), 1), name="p1"),
            Sample((rng.standard_normal((3, 4)), 3), {"dim": 1}, name="p3_dim"),
            Sample((rng.standard_normal((3, 4)), 0.5), {"dim": 0, "keepdim": True}, name="p_half"),
            Sample((_distinct_abs(rng), float("inf")), {"dim": 1}, name="inf"),
            Sample((_distinct_abs(rng), float("-inf")), name="neg_inf"),
            Sample((np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]]), 0), {"dim": 1}, name="p0"),
            Sample((rng.standard_normal((4, 3)).T, 2), {"dim": (0, 1)}, name="transposed"),
            Sample((_ZERO_ROW, 3), {"dim": 1}, name="zero_row_p3", skip=_KINK),
            Sample((_ZERO_ROW, 1.5), {"dim": 1}, name="zero_row_p1_5", skip=_KINK),
            Sample((_ZERO_ROW,), {"dim": 1}, name="zero_row_p2", skip=_KINK),
            Sample((_ZERO_ROW, 0.5), {"dim": 1}, name="zero_row_p_half", skip=_KINK),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((np.array([1, 2]),), keep_dtype=True),
                RuntimeError,
                "Expected a floating point or complex tensor as input",
            )
        ],
        method="norm",
        dtypes=FLT,
    )
)


def _np_logsumexp(np, x, dim, keepdim=False):
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isinf(m), 0, m)
    r = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return np.asarray(r if keepdim else np.squeeze(r, axis=dim))


register(
    OpInfo(
        name="logsumexp",
        op=lambda m, x, *a, **kw: m.logsumexp(x, *a, **kw),
        ref=_np_logsumexp,
        samples=lambda rng: [
            Sample((rng.standard_normal((3, 4)), 1), name="dim1"),
            Sample((rng.standard_normal((3, 4)), 0, True), name="keepdim"),
            Sample((rng.standard_normal((2, 3, 4)), (0, 2)), name="dims"),
            Sample((np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -999.0, -1001.0]]), 1), name="large"),
            Sample(
                (np.array([[-np.inf, -np.inf], [0.0, -np.inf]]), 1),
                name="neg_inf",
                skip={"gradcheck": "inf", "gradgradcheck": "inf"},
            ),
            Sample((rng.standard_normal((4, 3)).T, 0), name="transposed"),
        ],
        method="logsumexp",
        dtypes=FLT,
    )
)


def _scan_samples(rng, lo=-2.0, hi=2.0):
    x = rng.uniform(lo, hi, (3, 4))
    return [
        Sample((x, 1), name="dim1"),
        Sample((x, 0), name="dim0"),
        Sample((x, -1), name="neg_dim"),
        Sample((np.asarray(0.5), 0), name="0d"),
        Sample((x.T, 1), name="transposed"),
        Sample((np.zeros((0, 3)), 0), name="empty"),
    ]


register(
    OpInfo(
        name="cumsum",
        op=lambda m, x, dim: m.cumsum(x, dim),
        ref=lambda np, x, dim: np.cumsum(x, axis=dim) if x.ndim else x.copy(),
        samples=_scan_samples,
        errors=lambda rng: [
            ErrorSample(Sample((rng.standard_normal((2, 3)), 2)), IndexError, "Dimension out of range")
        ],
        method="cumsum",
        inplace="cumsum_",
        dtypes=ALL,
    )
)


def _cumprod_samples(rng):
    x = rng.uniform(0.5, 1.5, (3, 5)) * np.where(rng.uniform(size=(3, 5)) > 0.5, 1, -1)
    zeros = x.copy()
    zeros[0, 2] = 0.0  # one zero
    zeros[1, 1] = zeros[1, 3] = 0.0  # two zeros
    zeros[2, 0] = 0.0  # a zero first
    return [s for s in _scan_samples(rng, 0.5, 1.5)] + [Sample((zeros, 1), name="zeros")]


register(
    OpInfo(
        name="cumprod",
        op=lambda m, x, dim: m.cumprod(x, dim),
        ref=lambda np, x, dim: np.cumprod(x, axis=dim) if x.ndim else x.copy(),
        samples=_cumprod_samples,
        method="cumprod",
        inplace="cumprod_",
        dtypes=ALL,
    )
)

for _name in ("all", "any"):
    register(
        OpInfo(
            name=_name,
            op=(lambda n: lambda m, x, *a, **kw: getattr(m, n)(x, *a, **kw))(_name),
            ref=(
                lambda n: (
                    lambda np, x, dim=None, keepdim=False: np.asarray(
                        getattr(np, n)(x, axis=dim, keepdims=keepdim)
                    )
                )
            )(_name),
            samples=lambda rng: [
                Sample((np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]]),), name="all"),
                Sample((np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]]),), {"dim": 1}, name="dim"),
                Sample((np.array([[0.0, 0.0], [1.0, 0.0]]),), {"dim": 0, "keepdim": True}, name="keepdim"),
                Sample((np.zeros((0, 2)),), name="empty"),
            ],
            method=_name,
            dtypes=ALL,
            differentiable=False,
        )
    )
