"""Registry entries for indexing: ``x[idx]`` in all its forms, ``x[idx] = v``, and the index ops."""

from __future__ import annotations

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

ALL = ("float32", "float64", "int64", "bool")
NUM = ("float32", "float64", "int64")


def arr(rng, *shape):
    return np.asarray(rng.standard_normal(shape))


def ix(*v):
    return np.array(v, dtype=np.int64)


# -- x[idx] ---------------------------------------------------------------------------------------------
def _getitem_samples(rng):
    return [
        Sample((arr(rng, 4, 3), 1), name="int"),
        Sample((arr(rng, 4, 3), -1), name="neg_int"),
        Sample((arr(rng, 4, 3), (slice(1, 3), slice(None, None, 2))), name="slices"),
        Sample((arr(rng, 2, 3, 4), (Ellipsis, 1)), name="ellipsis"),
        Sample((arr(rng, 4, 3), (None, slice(None), None)), name="none"),
        Sample((arr(rng, 4, 3), (1, Ellipsis, None)), name="int_ellipsis_none"),
        Sample((arr(rng), Ellipsis), name="0d_ellipsis"),
        Sample((arr(rng), None), name="0d_none"),
        Sample((arr(rng, 0, 3), slice(None)), name="empty"),
        Sample((arr(rng, 4, 3).T, (slice(None), 2)), name="transposed"),
        Sample((arr(rng, 4, 3), np.array([True, False, True, True])), name="bool_mask"),
        Sample((arr(rng, 2, 3), arr(rng, 2, 3) > 0), name="bool_mask_full"),
        Sample((arr(rng, 4, 3), ix(0, 2, 0, 0)), name="int_array_repeats"),
        Sample((arr(rng, 4, 3), (ix(0, 3, 0), ix(2, 1, 2))), name="int_arrays_pairs"),
        Sample((arr(rng, 4, 3), (slice(None), ix(1, 1))), name="slice_then_array"),
        Sample((arr(rng, 4, 3), ix(-1, 1)), name="negative_array"),
        Sample((arr(rng, 4, 3), ix()), name="empty_array"),
        Sample((arr(rng, 4, 3), [0, 2, 2]), name="list"),
    ]


register(
    OpInfo(
        name="getitem",
        op=lambda m, x, k: x[k],
        ref=lambda np, x, k: np.asarray(x[k]),
        samples=_getitem_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 4, 3), 4)),
                IndexError,
                "index 4 is out of bounds for dimension 0 with size 4",
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), (0, 3))),
                IndexError,
                "index 3 is out of bounds for dimension 1 with size 3",
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), ix(0, 5))),
                IndexError,
                "index 5 is out of bounds for dimension 0 with size 4",
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), ix(-5))), IndexError, "out of bounds for dimension 0 with size 4"
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), (0, 0, 0))), IndexError, "too many indices for tensor of dimension 2"
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), slice(None, None, -1))), ValueError, "step must be greater than zero"
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), np.array([True, False]))),
                IndexError,
                r"The shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor "
                r"\[4, 3\]",
            ),
            ErrorSample(Sample((arr(rng, 4, 3), 1.5)), IndexError, "only integers, slices"),
        ],
        dtypes=ALL,
    )
)


def _setitem(m, x, v, k):
    y = x.clone()  # a non-leaf: the in-place write is differentiable w.r.t. both x and v
    y[k] = v
    return y


def _np_setitem(np, x, v, k):
    y = np.array(x, copy=True)
    y[k] = v
    return y


register(
    OpInfo(
        name="setitem",
        op=_setitem,
        ref=_np_setitem,
        samples=lambda rng: [
            Sample((arr(rng, 4, 3), arr(rng, 3), 1), name="row"),
            Sample((arr(rng, 4, 3), arr(rng), (slice(1, 3), 0)), name="0d_value"),
            Sample((arr(rng, 4, 3), 2.5, (Ellipsis, 1)), name="scalar"),
            Sample((arr(rng, 4, 3), arr(rng, 1, 3), slice(0, 2)), name="broadcast_value"),
            Sample((arr(rng, 4, 3), arr(rng, 2, 3), ix(3, 0)), name="int_array"),
            Sample((arr(rng, 4, 3), arr(rng), arr(rng, 4, 3) > 0), name="bool_mask"),
            Sample((arr(rng, 4, 3).T, arr(rng, 4), 0), name="transposed"),
            Sample((arr(rng, 0, 3), arr(rng, 3), slice(None)), name="empty"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 4, 3), arr(rng, 3), 4)), IndexError, "index 4 is out of bounds"),
            ErrorSample(Sample((arr(rng, 4, 3), arr(rng, 3), ix(9))), IndexError, "index 9 is out of bounds"),
        ],
        dtypes=ALL,
    )
)


# -- index ops ------------------------------------------------------------------------------------------
register(
    OpInfo(
        name="index_select",
        op=lambda m, x, d, i: m.index_select(x, d, i),
        ref=lambda np, x, d, i: np.take(x, i, axis=d),
        samples=lambda rng: [
            Sample((arr(rng, 4, 3), 0, ix(3, 0, 3)), name="rows_repeated"),
            Sample((arr(rng, 4, 3), -1, ix(2)), name="cols"),
            Sample((arr(rng, 4, 3), 1, ix()), name="empty_index"),
            Sample((arr(rng, 4, 3).T, 0, ix(1, 2)), name="transposed"),
            Sample((arr(rng, 5), 0, ix(4, 4, 0)), name="vec"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 4, 3), 0, ix(4))), IndexError, "index out of range in self"),
            ErrorSample(
                Sample((arr(rng, 4, 3), 0, np.array([[0]]))), IndexError, "Index is supposed to be a vector"
            ),
            ErrorSample(Sample((arr(rng, 4, 3), 2, ix(0))), IndexError, "Dimension out of range"),
        ],
        method="index_select",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="gather",
        op=lambda m, x, d, i: m.gather(x, d, i),
        ref=lambda np, x, d, i: np.take_along_axis(
            x[tuple(slice(0, n) if k != d % x.ndim else slice(None) for k, n in enumerate(i.shape))],
            i,
            axis=d,
        ),
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]])), name="cols_repeated"),
            Sample((arr(rng, 3, 4), 0, np.array([[2, 1, 0, 0]])), name="rows"),
            Sample((arr(rng, 3, 4), 1, np.array([[1], [0]])), name="smaller_index"),
            Sample((arr(rng, 4, 3).T, -1, np.array([[3, 3], [0, 1], [2, 0]])), name="transposed"),
            Sample((arr(rng, 3, 4), 1, np.zeros((3, 0), dtype=np.int64)), name="empty"),
            Sample((arr(rng, 2, 3, 4), 2, rng.integers(0, 4, (2, 3, 5))), name="3d"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), 1, np.array([[4]]))),
                RuntimeError,
                "index 4 is out of bounds for dimension 1 with size 4",
            ),
            ErrorSample(
                Sample((arr(rng, 3, 4), 1, np.array([-1]))),
                RuntimeError,
                "Index tensor must have the same number of dimensions as input tensor",
            ),
            ErrorSample(
                Sample((arr(rng, 3, 4), 1, np.array([[-1]]))),
                RuntimeError,
                "index -1 is out of bounds for dimension 1 with size 4",
            ),
            ErrorSample(
                Sample((arr(rng, 3, 4), 1, np.array([[0], [0], [0], [0]]))),
                RuntimeError,
                "Size does not match at dimension 0",
            ),
        ],
        method="gather",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="take_along_dim",
        op=lambda m, x, i, d=None: m.take_along_dim(x, i, d),
        ref=lambda np, x, i, d=None: (
            np.take_along_axis(x.reshape(-1), i.reshape(-1), 0)
            if d is None
            else np.take_along_axis(x, i, axis=d)
        ),
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), np.array([[0, 3], [1, 1], [2, 0]]), 1), name="cols"),
            Sample((arr(rng, 3, 4), np.array([5, 0, 5])), name="flat"),
            Sample((arr(rng, 4, 3).T, np.array([[3], [0], [1]]), 1), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), np.array([0]), 1)),
                RuntimeError,
                "input and indices should have the same number of dimensions",
            ),
        ],
        method="take_along_dim",
        dtypes=ALL,
    )
)


def _np_scatter(np, x, d, i, src, add=False):
    out = np.array(x, copy=True)
    grid = np.indices(i.shape)
    key = tuple(i if k == d % x.ndim else grid[k] for k in range(x.ndim))
    vals = src[tuple(slice(0, n) for n in i.shape)] if isinstance(src, np.ndarray) else src
    if add:
        np.add.at(out, key, vals)
    else:
        out[key] = vals
    return out


register(
    OpInfo(
        name="scatter",
        op=lambda m, x, d, i, s: m.scatter(x, d, i, s),
        ref=_np_scatter,
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), 1, np.array([[0, 3], [1, 2], [2, 0]]), arr(rng, 3, 2)), name="cols"),
            Sample((arr(rng, 3, 4), 0, np.array([[2, 0, 1, 1]]), arr(rng, 1, 4)), name="rows"),
            Sample((arr(rng, 3, 4), 1, np.array([[0, 3], [1, 2], [2, 0]]), 1.5), name="scalar"),
            Sample((arr(rng, 4, 3).T, 1, np.array([[3], [0], [1]]), arr(rng, 3, 1)), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), 1, np.array([[4]]), arr(rng, 1, 1))),
                RuntimeError,
                "index 4 is out of bounds for dimension 1 with size 4",
            ),
        ],
        method="scatter",
        inplace=None,
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="scatter_add",
        op=lambda m, x, d, i, s: m.scatter_add(x, d, i, s),
        ref=lambda np, x, d, i, s: _np_scatter(np, x, d, i, s, add=True),
        samples=lambda rng: [
            Sample(
                (arr(rng, 3, 4), 1, np.array([[0, 0], [1, 3], [2, 2]]), arr(rng, 3, 2)), name="cols_repeated"
            ),
            Sample((arr(rng, 3, 4), 0, np.array([[2, 2, 1, 1], [2, 0, 0, 0]]), arr(rng, 2, 4)), name="rows"),
            Sample((arr(rng, 4, 3).T, 1, np.array([[3], [3], [1]]), arr(rng, 3, 1)), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), 1, np.array([[-1]]), arr(rng, 1, 1))),
                RuntimeError,
                "index -1 is out of bounds for dimension 1 with size 4",
            ),
        ],
        method="scatter_add",
        inplace="scatter_add_",
        dtypes=NUM,
    )
)


def _np_scatter_reduce(np, x, d, i, src, reduce, include_self=True):
    out = np.array(x, copy=True)
    grid = np.indices(i.shape)
    key = tuple(i if k == d % x.ndim else grid[k] for k in range(x.ndim))
    vals = src[tuple(slice(0, n) for n in i.shape)]
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    if not include_self:
        big = np.inf if out.dtype.kind == "f" else np.iinfo(out.dtype).max
        small = -np.inf if out.dtype.kind == "f" else np.iinfo(out.dtype).min
        out[key] = {"sum": 0, "mean": 0, "prod": 1, "amax": small, "amin": big}[reduce]
    at = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
    at.at(out, key, vals)
    if reduce == "mean":
        count = np.full(out.shape, 1 if include_self else 0)
        np.add.at(count, key, 1)
        count = np.maximum(count, 1)
        out = out / count if out.dtype.kind == "f" else out // count
    return out.astype(x.dtype)


def _scatter_reduce_samples(rng):
    rows = np.array([[2, 0, 1, 2], [0, 0, 1, 2], [2, 0, 0, 2]])  # repeats along dim 0
    cols = np.array([[0, 0], [3, 1], [2, 2]])
    out = []
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            tag = f"{reduce}{'' if include_self else '_exclude_self'}"
            out.append(
                Sample((arr(rng, 3, 4), 0, rows, arr(rng, 3, 4), reduce), {"include_self": include_self},
                       name=f"rows_{tag}")
            )
        out.append(
            Sample((arr(rng, 4, 3).T, 1, cols, arr(rng, 3, 2), reduce), name=f"cols_{reduce}_transposed")
        )
        # src larger than index: its first index.shape elements are used (and get the gradient)
        out.append(
            Sample((arr(rng, 3, 4), 1, cols, arr(rng, 3, 3), reduce), name=f"cols_{reduce}_src_larger",
                   skip={"gradients": "PyTorch's backward fails here (its src gradient has index's shape); "
                                      "gradcheck checks gradlite's"})
        )
    out.append(
        Sample((arr(rng, 3, 4), 0, rows, arr(rng, 3, 4), "max"), name="max_alias",
               skip={"gradients": "PyTorch takes 'max' for 'amax' in the forward only: its backward raises"})
    )
    return out


register(
    OpInfo(
        name="scatter_reduce",
        op=lambda m, x, d, i, s, r, **kw: m.scatter_reduce(x, d, i, s, r, **kw),
        ref=_np_scatter_reduce,
        samples=_scatter_reduce_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), 0, np.array([[0]]), arr(rng, 1, 1), "median")),
                RuntimeError,
                "reduce argument must be either sum, prod, mean, amax or amin, got median",
            ),
            ErrorSample(
                Sample((arr(rng, 3, 4), 0, np.array([[3]]), arr(rng, 1, 1), "sum")),
                RuntimeError,
                "index 3 is out of bounds for dimension 0 with size 3",
            ),
            ErrorSample(
                Sample((arr(rng, 3, 4), 0, np.array([0, 1]), arr(rng, 2), "sum")),
                RuntimeError,
                "Index tensor must have the same number of dimensions as self tensor",
            ),
        ],
        method="scatter_reduce",
        inplace="scatter_reduce_",
        dtypes=NUM,
    )
)


def _np_scatter_with_reduce(np, x, d, i, src, reduce):
    out = np.array(x, copy=True)
    grid = np.indices(i.shape)
    key = tuple(i if k == d % x.ndim else grid[k] for k in range(x.ndim))
    vals = src[tuple(slice(0, n) for n in i.shape)] if isinstance(src, np.ndarray) else out.dtype.type(src)
    (np.add if reduce == "add" else np.multiply).at(out, key, vals)
    return out


register(
    OpInfo(
        name="scatter_with_reduce",  # scatter(..., reduce=): no derivative in PyTorch
        op=lambda m, x, d, i, s, r: m.scatter(x, d, i, s, reduce=r),
        ref=_np_scatter_with_reduce,
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), 0, np.array([[2, 0, 1, 2], [0, 0, 1, 2]]), arr(rng, 2, 4), "add"),
                   name="add"),
            Sample((arr(rng, 3, 4), 0, np.array([[2, 0, 1, 2], [0, 0, 1, 2]]), arr(rng, 2, 4), "multiply"),
                   name="multiply"),
            Sample((arr(rng, 3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]]), 1.5, "add"), name="scalar_add"),
            Sample((arr(rng, 3, 4), 1, np.array([[0, 0], [3, 1], [2, 2]]), 2.0, "multiply"),
                   name="scalar_multiply"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), 0, np.array([[0]]), 1.0, "mean")),
                RuntimeError,
                "reduce argument must be either add or multiply.",
            ),
        ],
        differentiable=False,
        dtypes=NUM,
    )
)


def _np_index_add(np, x, d, i, s, alpha=1):
    out = np.array(x, copy=True)
    key = (slice(None),) * (d % x.ndim) + (i,)
    np.add.at(out, key, s * alpha)
    return out


register(
    OpInfo(
        name="index_add",
        op=lambda m, x, d, i, s, **kw: m.index_add(x, d, i, s, **kw),
        ref=_np_index_add,
        samples=lambda rng: [
            Sample((arr(rng, 4, 3), 0, ix(0, 3, 0), arr(rng, 3, 3)), name="rows_repeated"),
            Sample((arr(rng, 4, 3), 1, ix(2, 2), arr(rng, 4, 2)), {"alpha": 2}, name="cols_alpha"),
            Sample((arr(rng, 4, 3).T, -1, ix(1), arr(rng, 3, 1)), name="transposed"),
            Sample((arr(rng, 4, 3), 0, ix(), arr(rng, 0, 3)), name="empty"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 4, 3), 0, ix(4), arr(rng, 1, 3))),
                RuntimeError,
                "index 4 is out of bounds for dimension 0 with size 4",
            ),
            ErrorSample(
                Sample((arr(rng, 4, 3), 0, ix(1), arr(rng, 2, 3))), RuntimeError, "source tensor shape"
            ),
        ],
        method="index_add",
        inplace="index_add_",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="masked_fill",
        op=lambda m, x, mask, v: m.masked_fill(x, mask, v),
        ref=lambda np, x, mask, v: np.where(mask, np.asarray(v, dtype=x.dtype), x),
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), arr(rng, 3, 4) > 0, 0.5), name="full_mask"),
            Sample((arr(rng, 3, 4), arr(rng, 4) > 0, -2.0), name="broadcast_mask"),
            Sample((arr(rng, 3, 4), arr(rng, 3, 1) > 0, arr(rng)), name="tensor_value"),
            Sample((arr(rng), np.array(True), 1.0), name="0d"),
            Sample((arr(rng, 0, 4), arr(rng, 4) > 0, 1.0), name="empty"),
            Sample((arr(rng, 4, 3).T, arr(rng, 3, 4) > 0, 3.0), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), ix(1, 0, 1, 0), 0.5)), RuntimeError, "only supports boolean masks"
            ),
            ErrorSample(
                Sample((arr(rng, 3, 4), arr(rng, 3, 4) > 0, arr(rng, 2))),
                RuntimeError,
                "only supports a 0-dimensional value tensor",
            ),
        ],
        method="masked_fill",
        inplace="masked_fill_",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="masked_select",
        op=lambda m, x, mask: m.masked_select(x, mask),
        ref=lambda np, x, mask: np.broadcast_arrays(x, mask)[0][np.broadcast_arrays(x, mask)[1]],
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), arr(rng, 3, 4) > 0), name="full_mask"),
            Sample((arr(rng, 3, 1), arr(rng, 3, 4) > 0), name="broadcast_input"),
            Sample((arr(rng, 3, 4), arr(rng, 4) > 0), name="broadcast_mask"),
            Sample((arr(rng), np.array(True)), name="0d"),
            Sample((arr(rng, 4, 3).T, arr(rng, 3, 4) > 0), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), ix(1, 0, 1, 0))), RuntimeError, "expected BoolTensor for mask"
            ),
        ],
        method="masked_select",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="take",
        op=lambda m, x, i: m.take(x, i),
        ref=lambda np, x, i: np.take(x.reshape(-1), i),
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), np.array([[0, 11], [5, 5]])), name="repeated"),
            Sample((arr(rng, 3, 4), ix(-1, -12)), name="negative"),
            Sample((arr(rng, 4, 3).T, ix(1, 2, 3)), name="transposed"),
            Sample((arr(rng), ix(0, 0)), name="0d"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 4), ix(12))),
                IndexError,
                "out of range: tried to access index 12 on a tensor of 12 elements",
            ),
        ],
        method="take",
        dtypes=ALL,
    )
)
