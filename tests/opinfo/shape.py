"""Registry entries for shape and layout ops: views, reorders, repeats, joins and splits, padding."""

from __future__ import annotations

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

ALL = ("float32", "float64", "int64", "bool")


def arr(rng, *shape):
    return np.asarray(rng.standard_normal(shape))


def layouts(rng, shapes=((2, 3), (3, 2, 4))):
    """0-d, empty, the given shapes, and a transposed (non-contiguous) matrix."""
    out = [Sample((arr(rng),), name="0d"), Sample((arr(rng, 0, 3),), name="empty")]
    out += [Sample((arr(rng, *s),), name="x".join(map(str, s))) for s in shapes]
    out.append(Sample((arr(rng, 4, 3).T,), name="transposed"))
    return out


def with_args(rng, cases):
    """Samples of one array and extra args: cases = [(shape or array, args, kwargs, name), ...]."""
    out = []
    for a, args, kwargs, name in cases:
        x = a if isinstance(a, np.ndarray) else arr(rng, *a)
        out.append(Sample((x, *args), kwargs, name=name))
    return out


def simple(name, op, ref, samples, errors=lambda rng: [], method=None, dtypes=ALL, **kw):
    register(
        OpInfo(name=name, op=op, ref=ref, samples=samples, errors=errors, method=method, dtypes=dtypes, **kw)
    )


def bad(rng, shape, args, exc, match, kwargs=None):
    return ErrorSample(Sample((arr(rng, *shape), *args), kwargs or {}), exc, match)


# -- views and reorders --------------------------------------------------------------------------------
simple(
    "reshape",
    lambda m, x, *s: m.reshape(x, *s),
    lambda np, x, *s: np.reshape(x, s[0] if len(s) == 1 else s),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), ((3, 2),), {}, "2x3"),
            ((2, 3), ((-1,),), {}, "infer"),
            ((), ((1, 1),), {}, "0d"),
            ((0, 3), ((3, 0),), {}, "empty"),
            (arr(rng, 4, 3).T, ((12,),), {}, "transposed"),
            ((2, 3, 4), ((4, -1),), {}, "3d"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), ((4, 2),), RuntimeError, r"shape '\[4, 2\]' is invalid for input of size 6"),
        bad(rng, (2, 3), ((-1, -1),), RuntimeError, "only one dimension can be inferred"),
    ],
    method="reshape",
)
simple(
    "view",
    lambda m, x, *s: x.view(*s),
    lambda np, x, *s: np.reshape(x, s),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (3, 2), {}, "2x3"),
            ((2, 3, 4), (-1, 4), {}, "3d"),
            ((), (1,), {}, "0d"),
            ((0, 2), (2, 0), {}, "empty"),
            (arr(rng, 4, 3).T, (3, 4), {}, "transposed_same"),
        ],
    ),
    lambda rng: [ErrorSample(Sample((arr(rng, 4, 3).T, -1)), RuntimeError, "view size is not compatible")],
)
simple(
    "flatten",
    lambda m, x, *a: m.flatten(x, *a),
    lambda np, x, s=0, e=-1: (
        np.reshape(x, (1,))
        if x.ndim == 0
        else np.reshape(x, x.shape[: s % x.ndim] + (-1,) + x.shape[e % x.ndim + 1 :])
    ),
    lambda rng: with_args(
        rng,
        [
            ((2, 3, 4), (), {}, "all"),
            ((2, 3, 4), (1,), {}, "from1"),
            ((2, 3, 4, 5), (1, 2), {}, "mid"),
            ((), (), {}, "0d"),
            ((0, 3), (), {}, "empty"),
            (arr(rng, 4, 3).T, (), {}, "transposed"),
        ],
    ),
    lambda rng: [bad(rng, (2, 3, 4), (2, 1), RuntimeError, "start_dim cannot come after end_dim")],
    method="flatten",
)
simple(
    "unflatten",
    lambda m, x, d, s: x.unflatten(d, s),
    lambda np, x, d, s: (
        np.reshape(x, x.shape[: d % x.ndim] + tuple(s) + x.shape[d % x.ndim + 1 :])
        if -1 not in s
        else np.reshape(x, x.shape[: d % x.ndim] + tuple(s) + x.shape[d % x.ndim + 1 :])
    ),
    lambda rng: with_args(
        rng,
        [
            ((2, 6), (1, (2, 3)), {}, "mat"),
            ((6,), (0, (3, -1)), {}, "infer"),
            ((2, 0), (-1, (0, 4)), {}, "empty"),
            (arr(rng, 6, 2).T, (1, (2, 3)), {}, "transposed"),
        ],
    ),
    lambda rng: [bad(rng, (2, 6), (1, (4, 2)), RuntimeError, "don't multiply up to the size of dim 1")],
    method="unflatten",
)
simple(
    "squeeze",
    lambda m, x, *d: m.squeeze(x, *d),
    lambda np, x, *d: (
        np.squeeze(
            x,
            axis=tuple(a for a in ((d[0],) if d and isinstance(d[0], int) else d[0]) if x.shape[a] == 1)
            if d
            else None,
        )
        if x.ndim
        else x
    ),
    lambda rng: with_args(
        rng,
        [
            ((1, 3, 1), (), {}, "all"),
            ((1, 3, 1), (0,), {}, "dim"),
            ((2, 3), (1,), {}, "noop"),
            ((1, 3, 1), ((0, 2),), {}, "dims"),
            ((), (), {}, "0d"),
            ((0, 1), (), {}, "empty"),
        ],
    ),
    lambda rng: [bad(rng, (1, 3), (2,), IndexError, "Dimension out of range")],
    method="squeeze",
)
simple(
    "unsqueeze",
    lambda m, x, d: m.unsqueeze(x, d),
    lambda np, x, d: np.expand_dims(x, d),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (0,), {}, "front"),
            ((2, 3), (-1,), {}, "back"),
            ((), (0,), {}, "0d"),
            ((0, 3), (1,), {}, "empty"),
            (arr(rng, 4, 3).T, (1,), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), (3,), IndexError, r"Dimension out of range \(expected to be in range of \[-3, 2\]")
    ],
    method="unsqueeze",
)
simple(
    "transpose",
    lambda m, x, a, b: m.transpose(x, a, b),
    lambda np, x, a, b: np.swapaxes(x, a, b) if x.ndim else x,
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (0, 1), {}, "mat"),
            ((2, 3, 4), (0, -1), {}, "3d"),
            ((), (0, -1), {}, "0d"),
            ((0, 3), (0, 1), {}, "empty"),
            (arr(rng, 4, 3).T, (1, 0), {}, "transposed"),
        ],
    ),
    lambda rng: [bad(rng, (2, 3), (0, 2), IndexError, "Dimension out of range")],
    method="transpose",
)
simple(
    "permute",
    lambda m, x, *d: m.permute(x, *d),
    lambda np, x, *d: np.transpose(x, d[0] if len(d) == 1 and not isinstance(d[0], int) else d),
    lambda rng: with_args(
        rng,
        [
            ((2, 3, 4), ((2, 0, 1),), {}, "3d"),
            ((), ((),), {}, "0d"),
            ((0, 3), ((1, 0),), {}, "empty"),
            (arr(rng, 4, 3).T, ((1, 0),), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), ((0, 0),), RuntimeError, "duplicate dims are not allowed"),
        bad(rng, (2, 3), ((0,),), RuntimeError, "number of dimensions in the tensor input does not match"),
    ],
    method="permute",
)
simple(
    "t",
    lambda m, x: m.t(x),
    lambda np, x: x.T,
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (), {}, "mat"),
            ((3,), (), {}, "vec"),
            ((), (), {}, "0d"),
            ((0, 3), (), {}, "empty"),
            (arr(rng, 4, 3).T, (), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3, 4), (), RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D")
    ],
    method="t",
)
simple(
    "T",
    lambda m, x: x.T,
    lambda np, x: x.T,
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (), {}, "mat"),
            ((3,), (), {}, "vec"),
            ((0, 3), (), {}, "empty"),
            (arr(rng, 4, 3).T, (), {}, "transposed"),
        ],
    ),
)
simple(
    "mT",
    lambda m, x: x.mT,
    lambda np, x: np.swapaxes(x, -1, -2),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (), {}, "mat"),
            ((4, 2, 3), (), {}, "batch"),
            ((0, 3), (), {}, "empty"),
            (arr(rng, 4, 3).T, (), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (3,), (), RuntimeError, "tensor.mT is only supported on matrices or batches of matrices")
    ],
)
simple(
    "movedim",
    lambda m, x, s, d: m.movedim(x, s, d),
    lambda np, x, s, d: np.moveaxis(x, s, d),
    lambda rng: with_args(
        rng,
        [
            ((2, 3, 4), (0, -1), {}, "one"),
            ((2, 3, 4), ((0, 1), (2, 0)), {}, "two"),
            (arr(rng, 4, 3).T, (0, 1), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), ((0, 1), (0,)), RuntimeError, "movedim: Invalid source or destination dims")
    ],
    method="movedim",
)


# -- broadcasting and repeating -------------------------------------------------------------------------
simple(
    "expand",
    lambda m, x, *s: x.expand(*s),
    lambda np, x, *s: np.broadcast_to(
        x, tuple(n if n != -1 else x.shape[i - len(s) + x.ndim] for i, n in enumerate(s))
    ),
    lambda rng: with_args(
        rng,
        [
            ((3, 1), (3, 4), {}, "col"),
            ((3,), (2, 3), {}, "lead"),
            ((), (2, 2), {}, "0d"),
            ((1, 3), (-1, 3), {}, "minus1"),
            ((1, 0), (2, 0), {}, "empty"),
            (arr(rng, 3, 1).T, (2, 1, 3), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(
            rng,
            (2, 3),
            (3, 3),
            RuntimeError,
            r"The expanded size of the tensor \(3\) must match the existing size \(2\) at non-singleton "
            r"dimension 0",
        ),
        bad(rng, (2, 3), (3,), RuntimeError, "the number of sizes provided"),
    ],
)
simple(
    "expand_as",
    lambda m, x, y: x.expand_as(y),
    lambda np, x, y: np.broadcast_to(x, y.shape),
    lambda rng: [
        Sample((arr(rng, 3, 1), arr(rng, 3, 4)), grad=(0,), name="col"),
        Sample((arr(rng), arr(rng, 2)), grad=(0,), name="0d"),
    ],
)
simple(
    "broadcast_to",
    lambda m, x, s: m.broadcast_to(x, s),
    lambda np, x, s: np.broadcast_to(x, s),
    lambda rng: with_args(
        rng, [((3, 1), ((3, 4),), {}, "col"), ((), ((2,),), {}, "0d"), ((1, 0), ((2, 0),), {}, "empty")]
    ),
    lambda rng: [bad(rng, (2, 3), ((3, 3),), RuntimeError, "must match the existing size")],
    method="broadcast_to",
)
simple(
    "repeat",
    lambda m, x, *s: x.repeat(*s),
    lambda np, x, *s: np.tile(x, s),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (2, 1), {}, "rows"),
            ((2, 3), (2, 1, 3), {}, "lead"),
            ((), (3,), {}, "0d"),
            ((0, 3), (2, 2), {}, "empty"),
            (arr(rng, 4, 3).T, (1, 2), {}, "transposed"),
            ((2,), (0,), {}, "zero_times"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), (2,), RuntimeError, "Number of dimensions of repeat dims can not be smaller")
    ],
)
simple(
    "tile",
    lambda m, x, d: m.tile(x, d),
    lambda np, x, d: np.tile(x, d),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), ((2,),), {}, "short"),
            ((2, 3), ((2, 1, 2),), {}, "long"),
            ((), ((2,),), {}, "0d"),
            (arr(rng, 4, 3).T, ((2, 1),), {}, "transposed"),
        ],
    ),
    method="tile",
)
simple(
    "flip",
    lambda m, x, d: m.flip(x, d),
    lambda np, x, d: np.flip(x, d) if x.ndim else x,
    lambda rng: with_args(
        rng,
        [
            ((2, 3), ((0,),), {}, "rows"),
            ((2, 3, 4), ((0, 2),), {}, "two"),
            ((), ((0,),), {}, "0d"),
            ((0, 3), ((1,),), {}, "empty"),
            (arr(rng, 4, 3).T, ((-1,),), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), ((0, 0),), RuntimeError, "dim 0 appears multiple times in the list of dims")
    ],
    method="flip",
)
simple(
    "roll",
    lambda m, x, s, d=None: m.roll(x, s, d),
    lambda np, x, s, d=None: np.roll(x, s, d),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), (1,), {}, "flat"),
            ((2, 3), (1, 1), {}, "dim"),
            ((2, 3, 4), ((1, -2), (0, 2)), {}, "two"),
            ((0, 3), (1, 1), {}, "empty"),
            (arr(rng, 4, 3).T, (2, 0), {}, "transposed"),
        ],
    ),
    lambda rng: [bad(rng, (2, 3), ((1, 2), (0,)), RuntimeError, "shifts and dimensions must align")],
    method="roll",
)
simple("contiguous", lambda m, x: x.contiguous(), lambda np, x: x, layouts)


# -- slicing views -----------------------------------------------------------------------------------------
simple(
    "narrow",
    lambda m, x, d, s, n: m.narrow(x, d, s, n),
    lambda np, x, d, s, n: np.take(x, range(s % x.shape[d], s % x.shape[d] + n), axis=d),
    lambda rng: with_args(
        rng,
        [
            ((4, 3), (0, 1, 2), {}, "rows"),
            ((4, 3), (1, -2, 2), {}, "neg_start"),
            ((4, 3), (0, 2, 0), {}, "empty"),
            (arr(rng, 4, 3).T, (1, 1, 3), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(
            rng, (4, 3), (0, 3, 2), RuntimeError, r"start \(3\) \+ length \(2\) exceeds dimension size \(4\)"
        ),
        bad(rng, (), (0, 0, 1), RuntimeError, "narrow\\(\\) cannot be applied to a 0-dim tensor"),
    ],
    method="narrow",
)
simple(
    "select",
    lambda m, x, d, i: m.select(x, d, i),
    lambda np, x, d, i: np.take(x, i, axis=d),
    lambda rng: with_args(
        rng,
        [
            ((4, 3), (0, 1), {}, "row"),
            ((4, 3), (1, -1), {}, "col"),
            (arr(rng, 4, 3).T, (0, 2), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (4, 3), (0, 4), IndexError, r"select\(\): index 4 out of range for tensor of size \[4, 3\]")
    ],
    method="select",
)


def _np_split(x, s, d=0):
    n = x.shape[d]
    sizes = [s] * (n // s) + ([n % s] if n % s else []) if isinstance(s, int) else list(s)
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=d))


simple(
    "split",
    lambda m, x, s, d=0: m.split(x, s, d),
    lambda np, *a: _np_split(*a),
    lambda rng: with_args(
        rng,
        [
            ((5, 3), (2,), {}, "int"),
            ((5, 3), ([1, 4],), {}, "list"),
            ((2, 6), (3, 1), {}, "dim1"),
            ((5, 3), ([0, 5],), {}, "empty_piece"),
            (arr(rng, 5, 4).T, (2, -1), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (5, 3), ([1, 2],), RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 5"),
        bad(rng, (), (1,), RuntimeError, "split expects at least a 1-dimensional tensor"),
    ],
    method="split",
)
simple(
    "chunk",
    lambda m, x, c, d=0: m.chunk(x, c, d),
    lambda np, x, c, d=0: _np_split(x, max(-(-x.shape[d] // c), 1), d),
    lambda rng: with_args(
        rng,
        [
            ((5, 3), (2,), {}, "uneven"),
            ((6, 3), (3,), {}, "even"),
            ((2, 6), (4, 1), {}, "dim1"),
            ((3, 2), (5,), {}, "more_chunks"),
            (arr(rng, 5, 4).T, (2, 1), {}, "transposed"),
        ],
    ),
    lambda rng: [bad(rng, (5, 3), (0,), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0")],
    method="chunk",
)
simple(
    "unbind",
    lambda m, x, d=0: m.unbind(x, d),
    lambda np, x, d=0: tuple(np.moveaxis(x, d, 0)),
    lambda rng: with_args(
        rng,
        [
            ((3, 2), (), {}, "rows"),
            ((3, 2), (1,), {}, "cols"),
            ((0, 2), (1,), {}, "empty"),
            (arr(rng, 4, 3).T, (0,), {}, "transposed"),
        ],
    ),
    lambda rng: [bad(rng, (), (), IndexError, "Dimension specified as 0 but tensor has no dimensions")],
    method="unbind",
)


# -- joins ------------------------------------------------------------------------------------------------
simple(
    "cat",
    lambda m, ts, *a: m.cat(ts, *a),
    lambda np, ts, d=0: np.concatenate([t for t in ts if t.shape != (0,)] or ts[:1], axis=d),
    lambda rng: [
        Sample(([arr(rng, 2, 3), arr(rng, 1, 3)],), name="rows"),
        Sample(([arr(rng, 2, 3), arr(rng, 2, 1), arr(rng, 2, 2)], 1), name="cols"),
        Sample(([arr(rng, 2, 3), arr(rng, 2, 3)], -1), name="neg_dim"),
        Sample(([arr(rng, 0, 3), arr(rng, 2, 3)],), name="empty"),
        Sample(([arr(rng, 2, 3), arr(rng, 0)],), name="legacy_empty"),
        Sample(([arr(rng, 3, 2).T, arr(rng, 2, 3)],), name="transposed"),
        Sample(([arr(rng, 3)],), name="single"),
    ],
    lambda rng: [
        ErrorSample(
            Sample(([arr(rng, 2, 3), arr(rng, 2, 4)],)),
            RuntimeError,
            "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor "
            "number 1 in the list.",
        ),
        ErrorSample(
            Sample(([arr(rng), arr(rng)],)),
            RuntimeError,
            r"zero-dimensional tensor \(at position 0\) cannot be concatenated",
        ),
        ErrorSample(Sample(([],)), RuntimeError, "expected a non-empty list of Tensors"),
        ErrorSample(
            Sample(([arr(rng, 2, 3), arr(rng, 2, 3, 1)],)),
            RuntimeError,
            "Tensors must have same number of dimensions: got 2 and 3",
        ),
    ],
)
simple(
    "cat_promotes",
    lambda m, x, y: m.cat([x, y]),
    None,
    lambda rng: [Sample((arr(rng, 2), np.array([1, 2])), name="float_int")],
    dtypes=("float32", "float64"),
)
simple(
    "stack",
    lambda m, ts, *a: m.stack(ts, *a),
    lambda np, ts, d=0: np.stack(ts, axis=d),
    lambda rng: [
        Sample(([arr(rng, 2, 3), arr(rng, 2, 3)],), name="front"),
        Sample(([arr(rng, 2, 3), arr(rng, 2, 3), arr(rng, 2, 3)], -1), name="back"),
        Sample(([arr(rng), arr(rng)],), name="0d"),
        Sample(([arr(rng, 0, 3), arr(rng, 0, 3)], 1), name="empty"),
        Sample(([arr(rng, 3, 2).T, arr(rng, 2, 3)], 1), name="transposed"),
    ],
    lambda rng: [
        ErrorSample(
            Sample(([arr(rng, 2, 3), arr(rng, 2, 4)],)),
            RuntimeError,
            r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[2, 4\] at entry "
            r"1",
        ),
        ErrorSample(Sample(([arr(rng, 2), arr(rng, 2)], 2)), IndexError, "Dimension out of range"),
    ],
)
simple(
    "hstack",
    lambda m, ts: m.hstack(ts),
    lambda np, ts: np.hstack(ts),
    lambda rng: [
        Sample(([arr(rng, 2, 3), arr(rng, 2, 1)],), name="mats"),
        Sample(([arr(rng, 2), arr(rng, 3)],), name="vecs"),
        Sample(([arr(rng), arr(rng, 2)],), name="0d"),
        Sample(([arr(rng, 3, 2).T, arr(rng, 2, 2)],), name="transposed"),
    ],
    lambda rng: [
        ErrorSample(Sample(([arr(rng, 2, 3), arr(rng, 3, 1)],)), RuntimeError, "Sizes of tensors must match")
    ],
)
simple(
    "vstack",
    lambda m, ts: m.vstack(ts),
    lambda np, ts: np.vstack(ts),
    lambda rng: [
        Sample(([arr(rng, 2, 3), arr(rng, 1, 3)],), name="mats"),
        Sample(([arr(rng, 3), arr(rng, 3)],), name="vecs"),
        Sample(([arr(rng), arr(rng)],), name="0d"),
        Sample(([arr(rng, 3, 2).T, arr(rng, 3)],), name="transposed"),
    ],
    lambda rng: [
        ErrorSample(Sample(([arr(rng, 2, 3), arr(rng, 2)],)), RuntimeError, "Sizes of tensors must match")
    ],
)


def _np_pad(x, pad, mode="constant", value=None):
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (max(pad[2 * k], 0), max(pad[2 * k + 1], 0))
    out = np.pad(x, widths, constant_values=0 if value is None else value)
    crop = [slice(None)] * x.ndim
    for k in range(len(pad) // 2):
        lo, hi = pad[2 * k], pad[2 * k + 1]
        n = out.shape[x.ndim - 1 - k]
        crop[x.ndim - 1 - k] = slice(max(-lo, 0), n - max(-hi, 0))
    return out[tuple(crop)]


simple(
    "pad",
    lambda m, x, p, **kw: m.nn.functional.pad(x, p, **kw),
    lambda np, *a, **kw: _np_pad(*a, **kw),
    lambda rng: with_args(
        rng,
        [
            ((2, 3), ((1, 2),), {}, "last"),
            ((2, 3), ((1, 0, 0, 2),), {"value": 1.5}, "two_dims"),
            ((2, 3, 4), ((-1, 1),), {}, "crop"),
            ((0, 3), ((1, 1),), {}, "empty"),
            ((2, 3), ((0, 0, 1, 1),), {"mode": "constant"}, "rows"),
            (arr(rng, 4, 3).T, ((2, -1, 1, 0),), {}, "transposed"),
        ],
    ),
    lambda rng: [
        bad(rng, (2, 3), ((1, 2, 3),), RuntimeError, "Padding length must be divisible by 2"),
        bad(
            rng,
            (2,),
            ((1, 1, 1, 1),),
            RuntimeError,
            "Padding length should be less than or equal to two times the input dimension",
        ),
    ],
)
