"""Registry entries for linear algebra: products, contractions, diagonals and triangles, norms."""

from __future__ import annotations

import numpy as np

from tests.opinfo import ErrorSample, OpInfo, Sample, register

NUM = ("float32", "float64", "int64")
FLT = ("float32", "float64")
ALL = ("float32", "float64", "int64", "bool")


def arr(rng, *shape):
    return np.asarray(rng.standard_normal(shape))


def pair(rng, a, b, name, **kw):
    x = arr(rng, *a) if isinstance(a, tuple) else a
    y = arr(rng, *b) if isinstance(b, tuple) else b
    return Sample((x, y), name=name, **kw)


register(
    OpInfo(
        name="matmul",
        op=lambda m, x, y: m.matmul(x, y),
        ref=lambda np, x, y: np.matmul(x, y),
        samples=lambda rng: [
            pair(rng, (2, 3), (3, 4), "mm"),
            pair(rng, (3,), (3,), "dot"),
            pair(rng, (2, 3), (3,), "mv"),
            pair(rng, (3,), (3, 4), "vm"),
            pair(rng, (2, 2, 3), (2, 3, 4), "bmm"),
            pair(rng, (2, 1, 2, 3), (5, 3, 4), "batch_broadcast"),
            pair(rng, (3,), (2, 3, 4), "vec_batch"),
            pair(rng, (2, 4, 3), (3,), "batch_vec"),
            pair(rng, (0, 3), (3, 2), "empty"),
            pair(rng, (2, 0), (0, 3), "empty_inner"),
            pair(rng, arr(rng, 3, 2).T, arr(rng, 4, 3).T, "transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                pair(rng, (2, 3), (2, 3), ""),
                RuntimeError,
                r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)",
            ),
            ErrorSample(
                pair(rng, (), (3,), ""), RuntimeError, "both arguments to matmul need to be at least 1D"
            ),
            ErrorSample(
                Sample((arr(rng, 2, 3).astype(np.float32), arr(rng, 3, 2)), keep_dtype=True),
                RuntimeError,
                "expected m1 and m2 to have the same dtype",
            ),
        ],
        method="matmul",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="mm",
        op=lambda m, x, y: m.mm(x, y),
        ref=lambda np, x, y: np.matmul(x, y),
        samples=lambda rng: [
            pair(rng, (2, 3), (3, 4), "mm"),
            pair(rng, (0, 3), (3, 2), "empty"),
            pair(rng, arr(rng, 3, 2).T, (3, 1), "transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(pair(rng, (3,), (3, 2), ""), RuntimeError, "self must be a matrix"),
            ErrorSample(pair(rng, (2, 3), (3,), ""), RuntimeError, "mat2 must be a matrix"),
        ],
        method="mm",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="bmm",
        op=lambda m, x, y: m.bmm(x, y),
        ref=lambda np, x, y: np.matmul(x, y),
        samples=lambda rng: [
            pair(rng, (2, 2, 3), (2, 3, 4), "bmm"),
            pair(rng, (0, 2, 3), (0, 3, 1), "empty"),
            pair(rng, arr(rng, 3, 2, 2).T, (2, 3, 2), "transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(pair(rng, (2, 3), (2, 3, 4), ""), RuntimeError, "batch1 must be a 3D tensor"),
            ErrorSample(
                pair(rng, (2, 2, 3), (3, 3, 4), ""),
                RuntimeError,
                r"Expected size for first two dimensions of batch2 tensor to be: \[2, 3\] but got: \[3, 3\]",
            ),
        ],
        method="bmm",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="mv",
        op=lambda m, x, y: m.mv(x, y),
        ref=lambda np, x, y: np.matmul(x, y),
        samples=lambda rng: [
            pair(rng, (2, 3), (3,), "mv"),
            pair(rng, (0, 3), (3,), "empty"),
            pair(rng, arr(rng, 3, 2).T, (3,), "transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(pair(rng, (2, 3), (4,), ""), RuntimeError, r"size mismatch, got input \(2\)"),
            ErrorSample(pair(rng, (3,), (3,), ""), RuntimeError, "vector \\+ matrix @ vector expected"),
        ],
        method="mv",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="dot",
        op=lambda m, x, y: m.dot(x, y),
        ref=lambda np, x, y: np.asarray(np.dot(x, y)),
        samples=lambda rng: [pair(rng, (3,), (3,), "vec"), pair(rng, (0,), (0,), "empty")],
        errors=lambda rng: [
            ErrorSample(pair(rng, (2, 3), (3,), ""), RuntimeError, "1D tensors expected"),
            ErrorSample(pair(rng, (3,), (4,), ""), RuntimeError, "inconsistent tensor size"),
        ],
        method="dot",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="outer",
        op=lambda m, x, y: m.outer(x, y),
        ref=lambda np, x, y: np.outer(x, y),
        samples=lambda rng: [pair(rng, (3,), (2,), "vec"), pair(rng, (0,), (2,), "empty")],
        errors=lambda rng: [
            ErrorSample(pair(rng, (2, 3), (3,), ""), RuntimeError, "outer: Expected 1-D argument self")
        ],
        method="outer",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="tensordot",
        op=lambda m, x, y, dims=2: m.tensordot(x, y, dims),
        ref=lambda np, x, y, dims=2: np.asarray(np.tensordot(x, y, dims)),
        samples=lambda rng: [
            Sample((arr(rng, 2, 3, 4), arr(rng, 3, 4, 5)), name="dims2"),
            Sample((arr(rng, 2, 3), arr(rng, 3, 4), 1), name="dims1"),
            Sample((arr(rng, 2, 3, 4), arr(rng, 4, 2, 5), ([0, 2], [1, 0])), name="lists"),
            Sample((arr(rng, 2), arr(rng, 3), 0), name="outer"),
            Sample((arr(rng, 4, 3).T, arr(rng, 4, 2), 1), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 2, 3), arr(rng, 2, 3), 1)),
                RuntimeError,
                "contracted dimensions need to match",
            )
        ],
        dtypes=NUM,
    )
)


def _np_einsum(np, eq, *xs):
    return np.asarray(np.einsum(eq, *xs))


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("ij->", [(2, 3)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("i,i", [(4,), (4,)]),
    ("ijk,jkl,lm->im", [(2, 3, 4), (3, 4, 2), (2, 5)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij,kj->ikj", [(1, 3), (2, 3)]),
    ("i...->...", [(2, 3, 4)]),
    ("ji", [(2, 3)]),
    ("", [()]),
    ("ij,j->i", [(0, 3), (3,)]),
]

register(
    OpInfo(
        name="einsum",
        op=lambda m, eq, *xs: m.einsum(eq, *xs),
        ref=_np_einsum,
        samples=lambda rng: (
            [
                Sample(
                    (eq, *[arr(rng, *s) for s in shapes]),
                    name=eq.replace("->", "_to_").replace(",", "_").replace("...", "E") or "scalar",
                )
                for eq, shapes in EINSUM_CASES
            ]
            + [Sample(("ij,jk", arr(rng, 3, 2).T, arr(rng, 3, 2)), name="transposed")]
        ),
        errors=lambda rng: [
            ErrorSample(
                Sample(("ij,jk->ik", arr(rng, 2, 3), arr(rng, 2, 3))),
                RuntimeError,
                "subscript j has size 2 for operand 1 which does not broadcast with previously seen size 3",
            ),
            ErrorSample(Sample(("ij,jk", arr(rng, 2, 3))), RuntimeError, "fewer operands were provided"),
            ErrorSample(
                Sample(("ij->k", arr(rng, 2, 3))), RuntimeError, "output subscript k does not appear"
            ),
            ErrorSample(
                Sample(("ijk->", arr(rng, 2, 3))),
                RuntimeError,
                r"the number of subscripts in the equation \(3\) does not match the number of dimensions "
                r"\(2\)",
            ),
        ],
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="trace",
        op=lambda m, x: m.trace(x),
        ref=lambda np, x: np.asarray(np.trace(x)),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 2, 4),), name="wide"),
            Sample((arr(rng, 0, 2),), name="empty"),
            Sample((arr(rng, 3, 2).T,), name="transposed"),
        ],
        errors=lambda rng: [ErrorSample(Sample((arr(rng, 3),)), RuntimeError, "trace: expected a matrix")],
        method="trace",
        dtypes=NUM,
    )
)
register(
    OpInfo(
        name="diag",
        op=lambda m, x, k=0: m.diag(x, k),
        ref=lambda np, x, k=0: np.diag(x, k),
        samples=lambda rng: [
            Sample((arr(rng, 3),), name="vec"),
            Sample((arr(rng, 3), 1), name="vec_up"),
            Sample((arr(rng, 2), -2), name="vec_down"),
            Sample((arr(rng, 3, 4),), name="mat"),
            Sample((arr(rng, 3, 4), 2), name="mat_up"),
            Sample((arr(rng, 3, 4), -5), name="mat_outside"),
            Sample((arr(rng, 0),), name="empty"),
            Sample((arr(rng, 4, 3).T, -1), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 2, 2, 2),)), RuntimeError, "Supports 1D or 2D tensors. Got 3D")
        ],
        method="diag",
        dtypes=ALL,
    )
)
register(
    OpInfo(
        name="diagonal",
        op=lambda m, x, *a: m.diagonal(x, *a),
        ref=lambda np, x, *a: np.diagonal(x, *a),
        samples=lambda rng: [
            Sample((arr(rng, 3, 4),), name="mat"),
            Sample((arr(rng, 3, 4), -1), name="below"),
            Sample((arr(rng, 2, 3, 4), 1, 2, 0), name="3d"),
            Sample((arr(rng, 0, 2),), name="empty"),
            Sample((arr(rng, 4, 3).T, 1), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 3), 0)), IndexError, "Dimension out of range"),  # (dim2=1, as torch)
            ErrorSample(
                Sample((arr(rng, 3, 3), 0, 1, 1)), RuntimeError, "diagonal dimensions cannot be identical"
            ),
        ],
        method="diagonal",
        dtypes=ALL,
    )
)
for _name, _np_name in (("tril", "tril"), ("triu", "triu")):
    register(
        OpInfo(
            name=_name,
            op=lambda m, x, k=0, _n=_name: getattr(m, _n)(x, k),
            ref=lambda np, x, k=0, _n=_np_name: getattr(np, _n)(x, k),
            samples=lambda rng: [
                Sample((arr(rng, 3, 4),), name="mat"),
                Sample((arr(rng, 3, 4), 1), name="up"),
                Sample((arr(rng, 2, 3, 3), -1), name="batch"),
                Sample((arr(rng, 0, 3),), name="empty"),
                Sample((arr(rng, 4, 3).T, 2), name="transposed"),
            ],
            errors=lambda rng, _n=_name: [
                ErrorSample(
                    Sample((arr(rng, 3),)),
                    RuntimeError,
                    f"{_n}: input tensor must have at least 2 dimensions",
                )
            ],
            method=_name,
            dtypes=ALL,
        )
    )


# -- norms ---------------------------------------------------------------------------------------------
def _np_vector_norm(np, x, ord=2, dim=None, keepdim=False):
    a = np.abs(x)
    axis = dim if dim is None or isinstance(dim, int) else tuple(dim)
    if ord == float("inf"):
        r = a.max(axis=axis, keepdims=keepdim)
    elif ord == -float("inf"):
        r = a.min(axis=axis, keepdims=keepdim)
    elif ord == 0:
        r = (a != 0).sum(axis=axis, keepdims=keepdim).astype(x.dtype)
    else:
        r = (a**ord).sum(axis=axis, keepdims=keepdim) ** (1.0 / ord)
    return np.asarray(r, dtype=x.dtype)


def _norm_samples(rng):
    return [
        Sample((arr(rng, 3, 4),), name="all"),
        Sample((arr(rng, 3, 4), 1, 1), name="l1_dim"),
        Sample((arr(rng, 3, 4), float("inf"), (0, 1)), name="inf"),
        Sample((arr(rng, 3, 4), -float("inf"), 0, True), name="neginf_keepdim"),
        Sample((arr(rng, 3, 4), 3, -1), name="p3"),
        Sample((arr(rng, 3, 4), 0.5, 0), name="p_half"),
        Sample((arr(rng),), name="0d"),
        Sample((arr(rng, 4, 3).T, 2, 0), name="transposed"),
    ]


register(
    OpInfo(
        name="linalg.vector_norm",
        op=lambda m, x, *a: m.linalg.vector_norm(x, *a),
        ref=_np_vector_norm,
        samples=_norm_samples,
        errors=lambda rng: [
            ErrorSample(
                Sample((np.array([1, 2]),)),
                RuntimeError,
                "Expected a floating point or complex tensor as input",
            )
        ],
        dtypes=FLT,
    )
)


def _np_matrix_norm(np, x, ord="fro", dim=(-2, -1), keepdim=False):
    return np.asarray(np.linalg.norm(x, ord, tuple(dim), keepdim), dtype=x.dtype)


register(
    OpInfo(
        name="linalg.matrix_norm",
        op=lambda m, x, *a: m.linalg.matrix_norm(x, *a),
        ref=_np_matrix_norm,
        samples=lambda rng: [
            Sample((arr(rng, 3, 4),), name="fro"),
            Sample((arr(rng, 3, 4), 1), name="one"),
            Sample((arr(rng, 2, 3, 4), float("inf")), name="inf_batch"),
            Sample((arr(rng, 3, 4), -1, (1, 0), True), name="neg1_dims_keepdim"),
            Sample((arr(rng, 4, 3).T, -float("inf")), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 3),)), RuntimeError, "must have at least 2 dimensions")
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="linalg.norm",
        op=lambda m, x, *a: m.linalg.norm(x, *a),
        ref=lambda np, x, *a: (
            np.asarray(np.linalg.norm(x, *a), dtype=x.dtype)
            if x.ndim in (1, 2) or a
            else np.asarray(np.sqrt((x * x).sum()), dtype=x.dtype)
        ),
        samples=lambda rng: [
            Sample((arr(rng, 3, 4),), name="fro"),
            Sample((arr(rng, 4), 1), name="vec_l1"),
            Sample((arr(rng, 3, 4), float("inf")), name="mat_inf"),
            Sample((arr(rng, 3, 4), None, 1), name="dim"),
            Sample((arr(rng, 2, 3, 4),), name="3d"),
            Sample((arr(rng, 4, 3).T, 1), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 2, 3, 4), 1)),
                RuntimeError,
                "If dim is not specified but ord is, the input must be 1D or 2D",
            )
        ],
        dtypes=FLT,
    )
)


# -- matrix functions and decompositions ---------------------------------------------------------------
def spd(rng, *shape):
    """Symmetric positive-definite matrices (a batch when shape has more than 2 dims)."""
    a = arr(rng, *shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(m, a):
    """Symmetrise (PyTorch's gradcheck wrapper for hermitian input: cholesky and eigh read one triangle)."""
    return (a + a.mT) / 2


def _np_sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


def _signed(v):
    """Eigenvectors with a positive first row (their sign is arbitrary, LAPACK to LAPACK)."""
    return v * np.where(v[..., :1, :] < 0, -1.0, 1.0)


_SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


def _square_errors(rng):
    return [
        ErrorSample(
            Sample((arr(rng, 2, 3),)), RuntimeError, "must be batches of square matrices, but they are 2 by 3"
        ),
        ErrorSample(Sample((arr(rng, 3),)), RuntimeError, "must have at least 2 dimensions"),
    ]


register(
    OpInfo(
        name="linalg.inv",
        op=lambda m, a: m.linalg.inv(a),
        ref=lambda np, a: np.linalg.inv(a),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 2, 3, 3),), name="batch"),
            Sample((arr(rng, 1, 1),), name="1x1"),
            Sample((arr(rng, 0, 2, 2),), name="empty_batch"),
            Sample((arr(rng, 3, 3).T,), name="transposed"),
        ],
        errors=lambda rng: _square_errors(rng)
        + [ErrorSample(Sample((_SINGULAR,)), RuntimeError, "The diagonal element 2 is zero")],
        method="inverse",
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.det",
        op=lambda m, a: m.linalg.det(a),
        ref=lambda np, a: np.asarray(np.linalg.det(a), dtype=a.dtype),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 2, 3, 3),), name="batch"),
            Sample((arr(rng, 3, 3).T,), name="transposed"),
            Sample((_SINGULAR,), name="singular",
                   skip={"gradcheck": "PyTorch's gradient is zero at a singular matrix (the adjugate is not)",
                         "gradgradcheck": "as gradcheck"}),
        ],
        errors=_square_errors,
        method="det",
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.slogdet",
        op=lambda m, a: m.linalg.slogdet(a),
        ref=lambda np, a: tuple(np.asarray(r, dtype=a.dtype) for r in np.linalg.slogdet(a)),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 2, 3, 3),), name="batch"),
        ],
        errors=_square_errors,
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="logdet",
        op=lambda m, a: m.logdet(a),
        ref=lambda np, a: np.asarray(np.log(np.linalg.det(a)), dtype=a.dtype),
        samples=lambda rng: [
            Sample((spd(rng, 3, 3),), name="positive"),
            Sample((spd(rng, 2, 3, 3),), name="batch"),
        ],
        method="logdet",
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.solve",
        op=lambda m, a, b, **kw: m.linalg.solve(a, b, **kw),
        ref=lambda np, a, b, left=True: (
            np.linalg.solve(a, b if b.ndim > 1 and b.shape != a.shape[:-1] else b[..., None])[..., 0]
            if left and (b.ndim == 1 or b.shape == a.shape[:-1])
            else np.linalg.solve(a, b) if left
            else np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
        ),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3), arr(rng, 3, 2)), name="matrix"),
            Sample((arr(rng, 3, 3), arr(rng, 3)), name="vector"),
            Sample((arr(rng, 2, 3, 3), arr(rng, 2, 3)), name="batch_of_vectors"),
            Sample((arr(rng, 2, 3, 3), arr(rng, 3, 1)), name="broadcast_b"),
            Sample((arr(rng, 3, 3), arr(rng, 2, 3)), {"left": False}, name="right"),
            Sample((arr(rng, 3, 3).T, arr(rng, 2, 3).T), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 3), arr(rng, 2, 2))), RuntimeError, "Incompatible shapes of A and B"
            ),
            ErrorSample(Sample((_SINGULAR, arr(rng, 2))), RuntimeError, "the input matrix is singular"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.cholesky",
        op=lambda m, a, **kw: m.linalg.cholesky(sym(m, a), **kw),
        ref=lambda np, a, upper=False: (
            np.swapaxes(np.linalg.cholesky(_np_sym(a)), -1, -2) if upper else np.linalg.cholesky(_np_sym(a))
        ),
        samples=lambda rng: [
            Sample((spd(rng, 3, 3),), name="spd"),
            Sample((spd(rng, 2, 3, 3),), name="batch"),
            Sample((spd(rng, 3, 3),), {"upper": True}, name="upper"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((np.array([[1.0, 2.0], [2.0, 1.0]]),)), RuntimeError,
                        "the leading minor of order 2 is not positive-definite"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.eigh",
        op=lambda m, a: (lambda r: (r.eigenvalues, r.eigenvectors * r.eigenvectors[..., :1, :].sign()))(
            m.linalg.eigh(sym(m, a))
        ),
        ref=lambda np, a: (lambda w, v: (w, _signed(v)))(*np.linalg.eigh(_np_sym(a))),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 2, 3, 3),), name="batch"),
        ],
        dtypes=FLT,
        rtol=1e-4,
        atol=1e-5,
    )
)
register(
    OpInfo(
        name="linalg.eigvalsh",
        op=lambda m, a: m.linalg.eigvalsh(sym(m, a)),
        ref=lambda np, a: np.linalg.eigvalsh(_np_sym(a)),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 2, 4, 4),), name="batch"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.svdvals",
        op=lambda m, a: m.linalg.svdvals(a),
        ref=lambda np, a: np.linalg.svd(a, compute_uv=False),
        samples=lambda rng: [
            Sample((arr(rng, 4, 3),), name="tall"),
            Sample((arr(rng, 2, 3, 5),), name="wide_batch"),
            Sample((arr(rng, 3, 4).T,), name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 3),)), RuntimeError, "must have at least 2 dimensions")
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.matrix_norm_svd",  # the orders computed from singular values
        op=lambda m, x, *a: m.linalg.matrix_norm(x, *a),
        ref=_np_matrix_norm,
        samples=lambda rng: [
            Sample((arr(rng, 3, 4), "nuc"), name="nuc"),
            Sample((arr(rng, 3, 4), 2), name="two"),
            Sample((arr(rng, 2, 4, 3), -2), name="neg2_batch"),
            Sample((arr(rng, 3, 2, 4), 2, (0, 2), True), name="dims_keepdim"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)


def _svd_fixed(U, S, Vh):
    """U with a nonnegative first row, Vh's rows flipped to match (the SVD's sign is arbitrary)."""
    s = (U[..., :1, :] >= 0) * 2.0 - 1.0
    return U * s, S, Vh * s.mT if hasattr(s, "mT") else Vh * np.swapaxes(s, -1, -2)


def _qr_fixed(Q, R):
    """Q and R with R's diagonal nonnegative (the factorisation's signs are LAPACK's choice)."""
    k = min(R.shape[-2:])
    d = R[..., range(k), range(k)] if isinstance(R, np.ndarray) else R.diagonal(0, -2, -1)
    s = (d >= 0) * 2.0 - 1.0
    return Q[..., :, :k] * s[..., None, :], R[..., :k, :] * s[..., :, None]


def _np_lstsq(np, a, b):
    return np.linalg.pinv(a) @ b if b.ndim == a.ndim else (np.linalg.pinv(a) @ b[..., None])[..., 0]


register(
    OpInfo(
        name="linalg.svd",
        op=lambda m, a, **kw: _svd_fixed(*m.linalg.svd(a, **kw)),
        ref=lambda np, a, **kw: _svd_fixed(*np.linalg.svd(a, **kw)),
        samples=lambda rng: [
            Sample((arr(rng, 4, 3),), {"full_matrices": False}, name="tall"),
            Sample((arr(rng, 3, 5),), {"full_matrices": False}, name="wide"),
            Sample((arr(rng, 2, 3, 3),), name="batch_full"),
            Sample((arr(rng, 3, 4).T,), {"full_matrices": False}, name="transposed"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 3),)), RuntimeError, "must have at least 2 dimensions")
        ],
        dtypes=FLT,
        rtol=1e-4,
        atol=1e-5,
    )
)
register(
    OpInfo(
        name="linalg.qr",
        op=lambda m, a, **kw: _qr_fixed(*m.linalg.qr(a, **kw)),
        ref=lambda np, a, **kw: _qr_fixed(*np.linalg.qr(a, **kw)),
        samples=lambda rng: [
            Sample((arr(rng, 4, 3),), name="tall"),
            Sample((arr(rng, 3, 3),), name="square"),
            Sample((arr(rng, 3, 5),), name="wide"),
            Sample((arr(rng, 2, 4, 3),), name="batch"),
            Sample((arr(rng, 3, 4),), {"mode": "complete"}, name="complete_wide"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 3, 3),), {"mode": "full"}), RuntimeError, "qr received unrecognized mode"
            ),
        ],
        dtypes=FLT,
        rtol=1e-4,
        atol=1e-5,
    )
)
register(
    OpInfo(
        name="linalg.pinv",
        op=lambda m, a, **kw: m.linalg.pinv(a, **kw),
        ref=lambda np, a, **kw: np.linalg.pinv(a),
        samples=lambda rng: [
            Sample((arr(rng, 4, 3),), name="tall"),
            Sample((arr(rng, 3, 5),), name="wide"),
            Sample((arr(rng, 2, 3, 3),), name="batch"),
            Sample((arr(rng, 3, 4).T,), name="transposed"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.lstsq",
        op=lambda m, a, b: m.linalg.lstsq(a, b).solution,
        ref=_np_lstsq,
        samples=lambda rng: [
            Sample((arr(rng, 5, 3), arr(rng, 5, 2)), name="tall"),
            Sample((arr(rng, 5, 3), arr(rng, 5)), name="vector"),
            Sample((arr(rng, 2, 4, 3), arr(rng, 2, 4, 1)), name="batch"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 5, 3), arr(rng, 4, 2))), RuntimeError, "should match other.size"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.matrix_power",
        op=lambda m, a, n: m.linalg.matrix_power(a, n),
        ref=lambda np, a, n: np.linalg.matrix_power(a, n),
        samples=lambda rng: [
            Sample((arr(rng, 3, 3), 3), name="cube"),
            Sample((arr(rng, 2, 3, 3), 2), name="batch"),
            Sample((arr(rng, 3, 3), 0), name="zero"),
            Sample((arr(rng, 3, 3) + 3 * np.eye(3), -2), name="negative"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 2, 3), 2)), RuntimeError, "must be batches of square matrices"),
        ],
        dtypes=FLT,
        rtol=1e-4,
    )
)
register(
    OpInfo(
        name="linalg.multi_dot",
        op=lambda m, *ts: m.linalg.multi_dot(list(ts)),
        ref=lambda np, *ts: np.linalg.multi_dot(list(ts)),
        samples=lambda rng: [
            Sample((arr(rng, 2, 3), arr(rng, 3, 4), arr(rng, 4, 2)), name="matrices"),
            Sample((arr(rng, 3), arr(rng, 3, 4), arr(rng, 4)), name="vectors_at_ends"),
        ],
        errors=lambda rng: [
            ErrorSample(Sample((arr(rng, 3),)), RuntimeError, "expected at least 2 tensors but got 1"),
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="linalg.cross",
        op=lambda m, x, y, **kw: m.linalg.cross(x, y, **kw),
        ref=lambda np, x, y, dim=-1: np.cross(x, y, axis=dim),
        samples=lambda rng: [
            Sample((arr(rng, 2, 3), arr(rng, 2, 3)), name="rows"),
            Sample((arr(rng, 3, 4), arr(rng, 3, 4)), {"dim": 0}, name="dim0"),
            Sample((arr(rng, 2, 3), arr(rng, 1, 3)), name="broadcast"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((arr(rng, 2, 3), arr(rng, 3))), RuntimeError, "must have the same number of dimensions"
            ),
            ErrorSample(
                Sample((arr(rng, 2, 4), arr(rng, 2, 4))), RuntimeError, "must have length 3. Got 4 and 4"
            ),
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="linalg.vecdot",
        op=lambda m, x, y, **kw: m.linalg.vecdot(x, y, **kw),
        ref=lambda np, x, y, dim=-1: (x * y).sum(dim),
        samples=lambda rng: [
            Sample((arr(rng, 2, 3), arr(rng, 3)), name="broadcast"),
            Sample((arr(rng, 3, 4), arr(rng, 3, 4)), {"dim": 0}, name="dim0"),
        ],
        errors=lambda rng: [
            ErrorSample(
                Sample((np.arange(3), np.arange(3)), keep_dtype=True), RuntimeError, "Expected a floating"
            ),
        ],
        dtypes=FLT,
    )
)
register(
    OpInfo(
        name="linalg.matrix_rank",
        op=lambda m, a, **kw: m.linalg.matrix_rank(a, **kw),
        ref=lambda np, a, **kw: np.linalg.matrix_rank(a),
        samples=lambda rng: [
            Sample((arr(rng, 4, 2) @ arr(rng, 2, 3),), name="rank2"),
            Sample((arr(rng, 2, 3, 3),), name="batch_full"),
            Sample((np.zeros((2, 3)),), name="zero"),
        ],
        differentiable=False,
        dtypes=FLT,
    )
)
