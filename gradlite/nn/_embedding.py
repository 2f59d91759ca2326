"""``F.embedding``: rows of a weight table at integer indices, with PyTorch's ``padding_idx`` (no gradient
to that row), ``max_norm`` (referenced rows renormalised in place first) and ``scale_grad_by_freq``."""

from __future__ import annotations

from gradlite.autograd.grad_mode import no_grad
from gradlite.ops._base import apply
from gradlite.ops.indexing import index_grad
from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor, _dtype_of, _make


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num, dim) at ``input`` (*) -> (*, dim); repeated rows accumulate gradient."""
    if sparse:
        raise NotImplementedError("embedding: gradlite has no sparse gradients (sparse=True)")
    if padding_idx is not None and padding_idx != 0:  # PyTorch checks it first, against weight.size(0)
        if weight.dim() == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise AssertionError("Padding_idx must be within num_embeddings")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    n = weight.shape[0]
    _check_indices(input, n, max_norm is not None)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    return _lookup(input, weight, padding_idx, scale_grad_by_freq)


def _check_indices(x: Tensor, n: int, renorm: bool = False) -> None:
    if not isinstance(x, Tensor) or _dtype_of(x._data).name not in ("int64", "int32"):
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {got} instead (while checking arguments for embedding)"
        )
    if n == 0 and x._data.size and not renorm:  # (PyTorch's index_select refuses an empty table first; its
        # embedding_renorm_ raises an IndexError as the range check does)
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    b = x._device.backend
    b.check_range(x._data, 0, n, IndexError, "index out of range in self")


def _renorm_(weight: Tensor, x: Tensor, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: each row that ``x`` references and whose ``norm_type``-norm exceeds
    ``max_norm`` is scaled in place by ``max_norm / (norm + 1e-7)``, outside autograd."""
    xp = weight._device.backend.xp
    with no_grad():
        rows = _make(xp.unique_values(xp.reshape(x._data, (-1,))), weight._device)
        sel = weight[rows]
        norms = sel.norm(norm_type, dim=1, keepdim=True)
        weight[rows] = sel * where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)


def _lookup(x: Tensor, weight: Tensor, padding_idx: int | None, by_freq: bool) -> Tensor:
    """``weight[x]`` as one node; each row's gradient is divided by how often ``x`` holds it (``by_freq``)
    and is zero for ``padding_idx``."""
    b = weight._device.backend
    xp = b.xp
    flat = xp.reshape(x._data, (-1,))
    shape = weight._data.shape
    scale = None
    if by_freq or padding_idx is not None:
        with b.context(weight._device.index):
            ones = xp.ones((flat.shape[0],), dtype=weight._data.dtype)
            if by_freq:
                counts = xp.zeros((shape[0],), dtype=weight._data.dtype)
                b.scatter_add(counts, flat, ones)
                ones = 1.0 / xp.take(counts, flat, axis=0)
            if padding_idx is not None:
                ones = xp.where(flat == padding_idx, xp.zeros_like(ones), ones)
        scale = _make(xp.expand_dims(ones, axis=-1), weight._device)

    def g(gy):
        gy = gy.reshape(flat.shape[0], shape[1])  # (not -1: an embedding dim of 0 leaves it undetermined)
        return index_grad(gy if scale is None else gy * scale, flat, shape, False)

    rows = xp.reshape(xp.take(weight._data, flat, axis=0), tuple(x.shape) + (shape[1],))
    return apply("EmbeddingBackward0", rows, (weight,), (g,))
