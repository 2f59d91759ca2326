"""``scaled_dot_product_attention``: softmax(Q K^T * scale + mask) V, composed from differentiable ops."""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor, _dtype_of, _make


def causal_mask(n_q: int, n_k: int, like: Tensor) -> Tensor:
    """(n_q, n_k) bool, True where query i may attend to key j <= i (lower-triangular, top-left aligned)."""
    xp = like._device.backend.xp
    with like._device.backend.context(like._device.index):
        allowed = xp.reshape(xp.arange(n_k), (1, n_k)) <= xp.reshape(xp.arange(n_q), (n_q, 1))
    return _make(allowed, like._device)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """(..., L, E) queries, (..., S, E) keys, (..., S, Ev) values -> (..., L, Ev).

    ``attn_mask``: bool (True = may attend) or float (added to the scores), broadcastable to (..., L, S).
    ``is_causal`` applies a lower-triangular mask; ``dropout_p`` drops attention weights (always, as PyTorch's
    function does: pass 0.0 in eval). ``enable_gqa`` lets key/value have fewer heads (dim -3) than the query.
    """
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            f"scaled_dot_product_attention: expected query, key and value of at least 2 dims, got "
            f"{list(query.shape)}, {list(key.shape)} and {list(value.shape)}"
        )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query {list(query.shape)} and key {list(key.shape)} must share "
            f"the last dim, and key and value {list(value.shape)} the sequence dim (-2)"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
        )
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk or value.shape[-3] != hk:
            raise RuntimeError(f"enable_gqa: query heads ({hq}) must be a multiple of key/value heads ({hk})")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hk)
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = causal_mask(n_q, n_k, query)
    from gradlite.nn import functional as F

    if attn_mask is not None:
        if _dtype_of(attn_mask._data) is dtypes.bool_:
            scores = scores.masked_fill(~attn_mask, -float("inf"))
        else:
            scores = scores + attn_mask
        # PyTorch's safe softmax: a query that may attend to no key gets zero weights (not NaN); its -inf
        # scores are replaced first so that no NaN enters the softmax's backward either
        dead = (scores == -float("inf")).all(-1, keepdim=True)
        attn = where(dead, 0.0, F.softmax(where(dead, 0.0, scores), -1))
    else:
        attn = F.softmax(scores, -1)
    if dropout_p > 0.0:
        attn = F.dropout(attn, dropout_p, True)
    return attn @ value


def _repeat_heads(x: Tensor, n: int) -> Tensor:
    """(..., H, S, E) -> (..., H * n, S, E) with each head repeated n times in place (repeat_interleave)."""
    shape = tuple(x.shape)
    y = x.unsqueeze(-3).expand(*shape[:-2], n, *shape[-2:])
    return y.reshape(*shape[:-3], shape[-3] * n, *shape[-2:])
