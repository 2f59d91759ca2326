"""Linear algebra: bmm, mv, outer, tensordot, einsum, diagonal, trace, diag, tril, triu.

Most are composed from matmul, permute, reshape, slicing and sum, so their gradients (and gradients of
gradients) come from those ops. ``einsum`` is a general contraction written that way: diagonals for
repeated labels, sums for labels that vanish, and one batched matmul per pair of operands.
"""

from __future__ import annotations

from gradlite.dtypes import bool_
from gradlite.ops._base import apply, tensor_method
from gradlite.ops.arithmetic import matmul
from gradlite.ops.indexing import index_grad
from gradlite.tensor import Tensor, _dtype_of, _wrap_dim


@tensor_method()
def bmm(x: Tensor, y: Tensor) -> Tensor:
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting."""
    if x.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if y.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    b, _, m = x._data.shape
    if y._data.shape[:2] != (b, m):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] but got: "
            f"[{y._data.shape[0]}, {y._data.shape[1]}]."
        )
    return matmul(x, y)


@tensor_method()
def mv(x: Tensor, v: Tensor) -> Tensor:
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    if x.dim() == 0:  # (PyTorch reads x.size(0) first)
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if x.dim() != 2 or v.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {x.dim()}, {v.dim()}")
    if x._data.shape[1] != v._data.shape[0]:
        n, m = x._data.shape
        raise RuntimeError(f"size mismatch, got input ({n}), mat ({n}x{m}), vec ({v._data.shape[0]})")
    return matmul(x, v)


@tensor_method("outer", "ger")
def outer(x: Tensor, y: Tensor) -> Tensor:
    """Outer product of vectors: (n,), (m,) -> (n, m)."""
    for name, t in (("self", x), ("vec2", y)):
        if t.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.dim()}-D")
    return x.unsqueeze(1) * y.unsqueeze(0)


ger = outer


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of a with the first of b, or the dim lists ``dims = (da, db)``."""
    na, nb = a.dim(), b.dim()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
        shown = list(range(-dims, 0)), db  # (PyTorch's error names a's dims from the end)
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        if len(da) != len(db):
            raise RuntimeError(
                f"both dimension lists should have same length, but got {len(da)} and {len(db)}"
            )
        shown = da, db
        for n, ds in ((na, da), (nb, db)):
            if n == 0 and ds:
                raise IndexError(f"Dimension specified as {ds[0]} but tensor has no dimensions")
        da, db = [_wrap_dim(d, na) for d in da], [_wrap_dim(d, nb) for d in db]
    sa, sb = a._data.shape, b._data.shape
    for k, (i, j) in enumerate(zip(da, db, strict=True)):
        # a size-1 dim broadcasts, as PyTorch's: the other operand is summed over its dim first
        if sb[j] == 1 and sa[i] != 1:
            a = a.sum(i, keepdim=True).to(a.dtype)  # (an integer sum is int64: back to a's dtype)
        elif sa[i] == 1 and sb[j] != 1:
            b = b.sum(j, keepdim=True).to(b.dtype)
        elif sa[i] != sb[j]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {sa[i]} in dim {shown[0][k]} and "
                f"second has size {sb[j]} in dim {shown[1][k]}"
            )
    sa, sb = a._data.shape, b._data.shape
    free_a = [i for i in range(na) if i not in da]
    free_b = [j for j in range(nb) if j not in db]
    k = m = n = 1  # (explicit sizes: -1 is ambiguous when a size is 0)
    for i in da:
        k *= sa[i]
    for i in free_a:
        m *= sa[i]
    for j in free_b:
        n *= sb[j]
    am = a.permute(free_a + da).reshape(m, k)
    bm = b.permute(db + free_b).reshape(k, n)
    return (am @ bm).reshape([sa[i] for i in free_a] + [sb[j] for j in free_b])


@tensor_method()
def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """Diagonal ``offset`` of the (dim1, dim2) planes, as the last dim: (n, m) -> (min(n, m),)."""
    nd = x.dim()
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n, m = x._data.shape[d1], x._data.shape[d2]
    rest = [i for i in range(nd) if i not in (d1, d2)]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    # in the row-major flattening of an (n, m) plane, diagonal `offset` starts at `offset` (or -offset * m)
    # and steps by m + 1
    start = offset if offset >= 0 else -offset * m
    flat = x.permute(rest + [d1, d2]).reshape([x._data.shape[i] for i in rest] + [n * m])
    # the stop is the last element + 1: the array API rejects slice bounds past the end
    return flat[..., start : start + (length - 1) * (m + 1) + 1 : m + 1] if length else flat[..., 0:0]


_diagonal = diagonal  # diag's argument is called `diagonal`, as in PyTorch


@tensor_method()
def trace(x: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix: (n, m) -> ()."""
    if x.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.dim()}")
    if _dtype_of(x._data) is bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return diagonal(x).sum()


@tensor_method()
def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """(n,) -> the (n + |k|, n + |k|) matrix with x on diagonal k; (n, m) -> its diagonal k."""
    if x.dim() == 2:
        # a copy, as in PyTorch: writing into diag's result must not write into x (``diagonal`` is the view)
        return _diagonal(x, diagonal).clone()
    if x.dim() != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.dim()}D")
    n = x._data.shape[0] + abs(diagonal)
    start = diagonal if diagonal >= 0 else -diagonal * n
    key = (
        (slice(start, start + (x._data.shape[0] - 1) * (n + 1) + 1, n + 1),)
        if x._data.shape[0]
        else (slice(0, 0),)
    )
    # x written along a strided slice of the flattened matrix; its gradient reads that slice back
    return index_grad(x, key, (n * n,), True).reshape(n, n)


def _triangle(name: str, keep_lower: bool):
    def op(x: Tensor, diagonal: int = 0) -> Tensor:
        if x.dim() < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        xp = x._device.backend.xp
        f = xp.tril if keep_lower else xp.triu
        return apply(
            f"{name.capitalize()}Backward0", f(x._data, k=diagonal), (x,), (lambda gy: op(gy, diagonal),)
        )

    op.__name__ = name
    op.__doc__ = (
        f"The {'lower' if keep_lower else 'upper'} triangle (on and {'below' if keep_lower else 'above'} "
        "diagonal k) of the last two dims; the rest zeroed."
    )
    return op


tril = tensor_method()(_triangle("tril", True))
triu = tensor_method()(_triangle("triu", False))


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``einsum("bij,bjk->bik", a, b)``; '...', implicit output, repeated labels."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for t in operands:
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): argument 'operands' must be tuple of Tensors, not {type(t).__name__}")
        if _dtype_of(t._data) is bool_:
            raise NotImplementedError("\"einsum\" not implemented for 'Bool'")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for c in eq:
        if not (c.isalpha() or c in ",.->"):
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {eq.index(c)} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
    # give '...' one private label per broadcast dim (characters that can never be user labels)
    n_ell = max(
        (t.dim() - len(s.replace("...", "")) for s, t in zip(terms, operands, strict=True) if "..." in s),
        default=0,
    )
    ell = "".join(chr(0x100 + i) for i in range(n_ell))
    labels = []
    for i, (s, t) in enumerate(zip(terms, operands, strict=True)):
        plain = s.replace("...", "")
        if "..." in s:
            k = t.dim() - len(plain)
            if k < 0:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({len(plain)}) is more than the "
                    f"number of dimensions ({t.dim()}) for operand {i}"
                )
            s = s.replace("...", ell[n_ell - k :])
        elif len(s) != t.dim():
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the number of "
                f"dimensions ({t.dim()}) for operand {i} and no ellipsis was given"
            )
        labels.append(s)
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if not any(c in s for s in labels):
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any input operand"
                )
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    else:
        counts = {}
        for s in labels:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ell))
    for i, (s, t) in enumerate(zip(labels, operands, strict=True)):
        shape, first = t._data.shape, {}
        for j, c in enumerate(s):  # a diagonal: the sizes of a repeated label must be equal, not broadcast
            k = first.setdefault(c, j)
            if shape[j] != shape[k]:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {i} but the sizes don't match, "
                    f"{shape[j]} != {shape[k]}"
                )
    sizes: dict = {}
    for i, (s, t) in enumerate(zip(labels, operands, strict=True)):
        for c, n in zip(s, t._data.shape, strict=True):
            if sizes.get(c, 1) != n and n != 1:
                if c in sizes and sizes[c] != 1:
                    raise RuntimeError(
                        f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast with "
                        f"previously seen size {sizes[c]}"
                    )
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    ops = [
        _single(t, s, out, labels[:i] + labels[i + 1 :])
        for i, (s, t) in enumerate(zip(labels, operands, strict=True))
    ]
    x, lx = ops[0]
    for j in range(1, len(ops)):
        later = out + "".join(lab for _, lab in ops[j + 1 :])
        x, lx = _contract(x, lx, ops[j][0], ops[j][1], later, sizes)
    x, lx = _sum_out(x, lx, out)
    for c in out:  # a label of size 1 in every operand that was broadcast away still has its size
        if c not in lx:
            x, lx = x.unsqueeze(-1), lx + c
    x = x.permute([lx.index(c) for c in out]) if x.dim() else x
    target = [sizes[c] for c in out]
    return x.expand(target) if list(x._data.shape) != target else x


def _single(x: Tensor, s: str, out: str, others: list) -> tuple:
    """Take diagonals of repeated labels and sum labels that appear nowhere else; returns (tensor, labels)."""
    while True:
        dup = next((c for c in s if s.count(c) > 1), None)
        if dup is None:
            break
        i = s.index(dup)
        j = s.index(dup, i + 1)
        x = diagonal(x, 0, i, j)
        s = "".join(c for k, c in enumerate(s) if k not in (i, j)) + dup
    return _sum_out(x, s, out + "".join(others))


def _sum_out(x: Tensor, s: str, needed: str) -> tuple:
    gone = [i for i, c in enumerate(s) if c not in needed]
    if gone:
        x = x.sum(gone)
        s = "".join(c for c in s if c in needed)
    return x, s


def _contract(x: Tensor, lx: str, y: Tensor, ly: str, later: str, sizes: dict) -> tuple:
    """One pairwise contraction as a batched matmul: (batch, x-only, k) @ (batch, k, y-only)."""
    shared = [c for c in lx if c in ly]
    batch = [c for c in shared if c in later]
    summed = [c for c in shared if c not in later]
    xo = [c for c in lx if c not in ly]
    yo = [c for c in ly if c not in lx]
    x = _fit(x, lx, shared, sizes)
    y = _fit(y, ly, shared, sizes)
    sz = {**dict(zip(lx, x._data.shape, strict=True)), **dict(zip(ly, y._data.shape, strict=True))}
    xm = x.permute([lx.index(c) for c in batch + xo + summed]) if x.dim() else x
    ym = y.permute([ly.index(c) for c in batch + summed + yo]) if y.dim() else y
    nb, nx, ny, nk = (_prod(sz[c] for c in cs) for cs in (batch, xo, yo, summed))
    if not summed and x.dtype is not y.dtype:
        # PyTorch multiplies a pair with nothing to sum (promoting); only its bmm needs one dtype
        z = xm.reshape(nb, nx, 1) * ym.reshape(nb, 1, ny)
    else:
        z = xm.reshape(nb, nx, nk) @ ym.reshape(nb, nk, ny)
    lz = "".join(batch + xo + yo)
    return z.reshape([sz[c] for c in lz]), lz


def _fit(x: Tensor, lx: str, shared: list, sizes: dict) -> Tensor:
    """Broadcast size-1 dims of shared labels to the label's full size."""
    shape = list(x._data.shape)
    target = [sizes[c] if c in shared else n for c, n in zip(lx, shape, strict=True)]
    return x.expand(target) if target != shape else x


def _prod(it) -> int:
    n = 1
    for v in it:
        n *= v
    return n
