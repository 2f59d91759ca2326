"""One time step of the recurrent layers (RNN, LSTM, GRU) and the split of a sequence into its steps.

An LSTM step's gate nonlinearities and cell update are two nodes (h' and c'), a GRU step's one node, with
closed-form gradients; the plain RNN step is ordinary ops. ``_Steps`` splits a (T, ...) tensor into its T
slices with one node, whose backward stacks the step gradients once.
"""

from __future__ import annotations

from gradlite.autograd.function import Function
from gradlite.ops._base import apply
from gradlite.ops.pointwise import _sigmoid_fwd, relu, sigmoid, tanh
from gradlite.tensor import Tensor, _make


class _Steps(Function):
    """A (T, ...) tensor as its T slices, one node: the backward stacks their gradients once (T slicing
    ops would each add a full (T, ...) gradient)."""

    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(True)
        return tuple(_make(x._data[t, ...], x._device) for t in range(x._data.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        from gradlite.ops.join import stack

        return stack(grads, 0)


def _lstm_step(
    xw: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor, b_hh: Tensor | None
) -> tuple[Tensor, Tensor]:
    """One LSTM step, given ``xw`` = x W_ih^T + b_ih and ``w_hh_t`` = W_hh^T: (h, c) -> (h', c')."""
    g = xw + h @ w_hh_t
    if b_hh is not None:
        g = g + b_hh
    return _lstm_cell(g, c)


def _lstm_cell(g: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """The gate nonlinearities and the cell update in two nodes (thirteen ops' worth): pre-activations g
    (N, 4H) in PyTorch's gate order (i, f, g, o) and the cell c (N, H) -> h' = o tanh(c'), c' = f c + i g.
    Each node's backward is the closed form for its output's gradient (the engine adds the two): on
    arrays, or on tensors under create_graph."""
    xp = g._device.backend.xp
    gd, cd = g._data, c._data
    n = cd.shape[-1]
    i, f, o = (_sigmoid_fwd(xp, gd[..., k * n : (k + 1) * n]) for k in (0, 1, 3))
    gg = xp.tanh(gd[..., 2 * n : 3 * n])
    c2 = f * cd + i * gg
    tc = xp.tanh(c2)
    # (both gradients read c's array, so c is version-checked; g is the layer's own pre-activation, which
    # no user code can change in place, and its gates are kept as arrays)
    args, rargs, saved = (g, c, n), (xp, i, f, gg, o, cd, tc), (c, c)
    h = apply("LstmCellBackward0", o * tc, (g, c), _H, saved=saved, args=args, rargs=rargs, rfns=_H_RAW)
    return h, apply("LstmCellBackward0", c2, (g, c), _C, saved=saved, args=args, rargs=rargs, rfns=_C_RAW)


# the cell's gradients, from dc (the gradient reaching c') and, for h', gh: with dc = gh o (1 - tanh(c')^2)
def _gates_grad(dc, gh, i, f, gg, o, cp, tc, cat):
    last = dc * 0 if gh is None else gh * tc * o * (1 - o)  # (the output gate feeds h' only)
    return cat([dc * gg * i * (1 - i), dc * cp * f * (1 - f), dc * i * (1 - gg * gg), last])


def _h_g_raw(gh, xp, i, f, gg, o, cp, tc):
    return _gates_grad(gh * o * (1 - tc * tc), gh, i, f, gg, o, cp, tc, lambda p: xp.concat(p, axis=-1))


def _h_c_raw(gh, xp, i, f, gg, o, cp, tc):
    return gh * o * (1 - tc * tc) * f


def _c_g_raw(gc, xp, i, f, gg, o, cp, tc):
    return _gates_grad(gc, None, i, f, gg, o, cp, tc, lambda p: xp.concat(p, axis=-1))


def _c_c_raw(gc, xp, i, f, gg, o, cp, tc):
    return gc * f


def _cell_tensors(g: Tensor, c: Tensor, n: int):
    """The cell recomputed with gradlite ops (for a differentiable backward)."""
    i, f, gg, o = (sigmoid(g[..., :n]), sigmoid(g[..., n : 2 * n]), tanh(g[..., 2 * n : 3 * n]),
                   sigmoid(g[..., 3 * n :]))
    return i, f, gg, o, c, tanh(f * c + i * gg)


def _cat(parts):
    from gradlite.ops.join import cat

    return cat(parts, -1)


def _h_g(gh, g, c, n):
    i, f, gg, o, cp, tc = _cell_tensors(g, c, n)
    return _gates_grad(gh * o * (1 - tc * tc), gh, i, f, gg, o, cp, tc, _cat)


def _h_c(gh, g, c, n):
    i, f, gg, o, cp, tc = _cell_tensors(g, c, n)
    return gh * o * (1 - tc * tc) * f


def _c_g(gc, g, c, n):
    return _gates_grad(gc, None, *_cell_tensors(g, c, n), _cat)


def _c_c(gc, g, c, n):
    return gc * _cell_tensors(g, c, n)[1]


_H, _H_RAW = (_h_g, _h_c), (_h_g_raw, _h_c_raw)
_C, _C_RAW = (_c_g, _c_c), (_c_g_raw, _c_c_raw)


def _gru_step(xw: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    """One GRU step: h' = (1 - z) * n + z * h with n = tanh(x_n + r * (W_hn h + b_hn)); the gates and the
    update are one node (closed-form gradients on arrays, gradlite ops under create_graph)."""
    hw = h @ w_hh_t
    if b_hh is not None:
        hw = hw + b_hh
    xp = h._device.backend.xp
    xd, hd, h0 = xw._data, hw._data, h._data
    n = h0.shape[-1]
    r = _sigmoid_fwd(xp, xd[..., :n] + hd[..., :n])
    z = _sigmoid_fwd(xp, xd[..., n : 2 * n] + hd[..., n : 2 * n])
    hn = hd[..., 2 * n :]
    cand = xp.tanh(xd[..., 2 * n :] + r * hn)
    data = (1 - z) * cand + z * h0
    return apply("GruCellBackward0", data, (xw, hw, h), _GRU, saved=((xw, hw, h),) * 3, args=(xw, hw, h, n),
                 rargs=(xp, r, z, cand, hn, h0), rfns=_GRU_RAW)


# the GRU cell's gradients from g = dh': dn = g (1 - z), dz = g (h - n), and through n's tanh and the gates'
# sigmoids to the input projection [r, z, n], the hidden projection [r, z, n] (r scales W_hn h + b_hn) and h
def _gru_parts(g, r, z, cand, hn, h):
    da_n = g * (1 - z) * (1 - cand * cand)
    da_r = da_n * hn * r * (1 - r)
    da_z = g * (h - cand) * z * (1 - z)
    return da_r, da_z, da_n


def _gru_gx_raw(g, xp, r, z, cand, hn, h):
    return xp.concat(_gru_parts(g, r, z, cand, hn, h), axis=-1)


def _gru_gh_proj_raw(g, xp, r, z, cand, hn, h):
    da_r, da_z, da_n = _gru_parts(g, r, z, cand, hn, h)
    return xp.concat([da_r, da_z, da_n * r], axis=-1)


def _gru_gh_raw(g, xp, r, z, cand, hn, h):
    return g * z


def _gru_tensors(xw: Tensor, hw: Tensor, h: Tensor, n: int):
    """The cell's pieces recomputed with gradlite ops (for a differentiable backward)."""
    r = sigmoid(xw[..., :n] + hw[..., :n])
    z = sigmoid(xw[..., n : 2 * n] + hw[..., n : 2 * n])
    hn = hw[..., 2 * n :]
    return r, z, tanh(xw[..., 2 * n :] + r * hn), hn, h


def _gru_gx(g, xw, hw, h, n):
    return _cat(list(_gru_parts(g, *_gru_tensors(xw, hw, h, n))))


def _gru_gh_proj(g, xw, hw, h, n):
    r, z, cand, hn, h = _gru_tensors(xw, hw, h, n)
    da_r, da_z, da_n = _gru_parts(g, r, z, cand, hn, h)
    return _cat([da_r, da_z, da_n * r])


def _gru_gh(g, xw, hw, h, n):
    return g * _gru_tensors(xw, hw, h, n)[1]


_GRU, _GRU_RAW = (_gru_gx, _gru_gh_proj, _gru_gh), (_gru_gx_raw, _gru_gh_proj_raw, _gru_gh_raw)


def _rnn_step(xw: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None, nonlinearity: str) -> Tensor:
    g = xw + h @ w_hh_t
    if b_hh is not None:
        g = g + b_hh
    return tanh(g) if nonlinearity == "tanh" else relu(g)
