"""``nn.MultiheadAttention`` with PyTorch's parameters (``in_proj_weight``, ``out_proj``...), masks and
returned attention weights, so state dicts are interchangeable."""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.creation import empty, zeros
from gradlite.nn import init
from gradlite.nn._attention import scaled_dot_product_attention
from gradlite.nn.linear import Linear
from gradlite.nn.module import Module
from gradlite.nn.parameter import Parameter
from gradlite.tensor import Tensor, _dtype_of


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's name for MultiheadAttention's output projection (kept so reprs match)."""


def _as_float_mask(mask: Tensor | None, like: Tensor, name: str) -> Tensor | None:
    """A bool mask (True = masked out) becomes 0 / -inf; a float mask is added as it is."""
    if mask is None:
        return None
    dt = _dtype_of(mask._data)
    if dt is dtypes.bool_:
        return zeros(mask.shape, dtype=like.dtype, device=like.device).masked_fill(mask, -float("inf"))
    if not dt.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask.to(like.dtype)


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size embed_dim / num_heads; returns (output, weights or None)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        super().__init__()
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = (
            embed_dim,
            num_heads,
            dropout,
            batch_first,
        )
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        kw = dict(device=device, dtype=dtype)
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch: xavier_uniform_ projections, zero biases, xavier_normal_ for bias_k / bias_v
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

        def lin(x, w, bias):
            y = x @ w.t()
            return y if bias is None else y + bias

        return lin(query, wq, bq), lin(key, wk, bk), lin(value, wv, bv)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        """query (L, N, E) (or (N, L, E) with batch_first, or (L, E) unbatched); key/value (S, N, kdim/vdim).

        Returns (output like query, weights (N, L, S) averaged over heads, or (N, H, L, S), or None).
        """
        from gradlite.nn import functional as F
        from gradlite.ops.join import cat

        if query.dim() not in (2, 3) or key.dim() != query.dim() or value.dim() != query.dim():
            raise AssertionError(
                "query, key and value must all be 2-D (unbatched) or 3-D (batched), got "
                f"{list(query.shape)}, "
                f"{list(key.shape)} and {list(value.shape)}"
            )
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                "method `generate_square_subsequent_mask` to create this mask."
            )
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        tgt_len, bsz, e = query.shape
        h, hd = self.num_heads, self.head_dim
        if e != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got {e}")
        if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim or key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key {list(key.shape)} and value {list(value.shape)} must have the same sequence and "
                f"batch sizes and feature sizes kdim={self.kdim}, vdim={self.vdim}"
            )
        q, k, v = self._project(query, key, value)
        attn_mask = _as_float_mask(attn_mask, q, "attn_mask")
        key_padding_mask = _as_float_mask(key_padding_mask, q, "key_padding_mask")
        if attn_mask is not None:
            src_len = key.shape[0]
            if attn_mask.dim() == 2:
                if tuple(attn_mask.shape) != (tgt_len, src_len):
                    raise RuntimeError(
                        f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                        f"{(tgt_len, src_len)}."
                    )
                attn_mask = attn_mask.unsqueeze(0)
            elif tuple(attn_mask.shape) != (bsz * h, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(bsz * h, tgt_len, src_len)}."
                )
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, bsz, e)])
            v = cat([v, self.bias_v.expand(1, bsz, e)])
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
        # (L, N, E) -> (N * H, L, head_dim), PyTorch's head layout
        q = q.reshape(tgt_len, bsz * h, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], bsz * h, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], bsz * h, hd).transpose(0, 1)
        if self.add_zero_attn:
            k = cat([k, zeros(bsz * h, 1, hd, dtype=k.dtype, device=k.device)], 1)
            v = cat([v, zeros(bsz * h, 1, hd, dtype=v.dtype, device=v.device)], 1)
            attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
            key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
        src_len = k.shape[1]
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (bsz, src_len):
                raise AssertionError(
                    f"expecting key_padding_mask shape of {(bsz, src_len)}, but got {key_padding_mask.shape}"
                )
            kpm = (
                key_padding_mask.reshape(bsz, 1, 1, src_len)
                .expand(bsz, h, 1, src_len)
                .reshape(bsz * h, 1, src_len)
            )
            attn_mask = kpm if attn_mask is None else attn_mask + kpm
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)
            if attn_mask is not None:
                scores = scores + attn_mask
            weights = F.softmax(scores, -1)
            if p > 0.0:
                weights = F.dropout(weights, p, True)
            out = weights @ v
        else:
            weights = None
            if attn_mask is not None:
                attn_mask = (
                    attn_mask.reshape(bsz, h, -1, src_len)
                    if attn_mask.shape[0] != 1
                    else attn_mask.unsqueeze(0)
                )
            out = scaled_dot_product_attention(
                q.reshape(bsz, h, tgt_len, hd),
                k.reshape(bsz, h, src_len, hd),
                v.reshape(bsz, h, src_len, hd),
                attn_mask,
                p,
            )
            out = out.reshape(bsz * h, tgt_len, hd)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, e)
        out = self.out_proj(out).reshape(tgt_len, bsz, e)
        if weights is not None:
            weights = weights.reshape(bsz, h, tgt_len, src_len)
            if average_attn_weights:
                weights = weights.mean(1)
        if unbatched:
            out = out.squeeze(1)
            weights = None if weights is None else weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
