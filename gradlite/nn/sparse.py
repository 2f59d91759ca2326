"""Embedding layer: a lookup table of ``num_embeddings`` vectors, initialised N(0, 1)."""

from __future__ import annotations

from gradlite.autograd.grad_mode import no_grad
from gradlite.creation import empty
from gradlite.nn import functional as F
from gradlite.nn import init
from gradlite.nn.module import Module
from gradlite.nn.parameter import Parameter
from gradlite.ops._base import apply
from gradlite.ops.indexing import index_grad
from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor, _dtype_of, _make


def _check_indices(x: Tensor, n: int) -> None:
    if not isinstance(x, Tensor) or _dtype_of(x._data).name not in ("int64", "int32"):
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {got} instead (while checking arguments for embedding)"
        )
    b = x._device.backend
    try:
        b.check_bounds(b.xp.where(x._data < 0, x._data - n, x._data), 0, n)
    except IndexError:
        raise IndexError("index out of range in self") from None


def _renorm_(weight: Tensor, x: Tensor, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: each row that ``x`` references and whose ``norm_type``-norm exceeds
    ``max_norm`` is scaled in place by ``max_norm / (norm + 1e-7)``, outside autograd."""
    _check_indices(x, weight.shape[0])
    xp = weight._device.backend.xp
    with no_grad():
        rows = _make(xp.unique_values(xp.reshape(x._data, (-1,))), weight._device)
        sel = weight[rows]
        norms = sel.norm(norm_type, dim=1, keepdim=True)
        weight[rows] = sel * where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)


def _scaled_lookup(x: Tensor, weight: Tensor, padding_idx: int | None) -> Tensor:
    """``weight[x]`` whose gradient for each row is divided by how often that row occurs in ``x``."""
    _check_indices(x, weight.shape[0])
    b = weight._device.backend
    xp = b.xp
    flat = xp.reshape(x._data, (-1,))
    with b.context(weight._device.index):
        counts = xp.zeros((weight.shape[0],), dtype=weight._data.dtype)
        b.scatter_add(counts, flat, xp.ones((x.numel(),), dtype=weight._data.dtype))
        inv = 1.0 / xp.take(counts, flat, axis=0)
        if padding_idx is not None:
            inv = xp.where(flat == padding_idx, xp.zeros_like(inv), inv)
    inv = _make(xp.expand_dims(inv, axis=-1), weight._device)
    shape = weight._data.shape
    dim = shape[1]
    rows = apply(
        "EmbeddingBackward0",
        xp.take(weight._data, flat, axis=0),
        (weight,),
        (lambda gy: index_grad(gy * inv, flat, shape, False),),
    )
    return rows.reshape(*x.shape, dim)


class Embedding(Module):
    """``weight[indices]``: (*) integer indices -> (*, embedding_dim); padding_idx's row gets no gradient."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        if sparse:
            raise ValueError("gradlite has no sparse gradients: use Embedding(..., sparse=False)")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(
                empty(num_embeddings, embedding_dim, device=device, dtype=dtype), requires_grad=not _freeze
            )
            self.reset_parameters()
        else:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, x: Tensor) -> Tensor:
        if self.max_norm is not None:
            _renorm_(self.weight, x, self.max_norm, self.norm_type)
        if self.scale_grad_by_freq:
            return _scaled_lookup(x, self.weight, self.padding_idx)
        return F.embedding(x, self.weight, self.padding_idx)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=embeddings,
            _freeze=freeze,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s
