"""Recurrent layers: RNN (tanh / relu), LSTM, GRU and their single-step cells, with PyTorch's parameter
names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) and gate order, so state dicts are interchangeable.

Each layer projects all its steps' inputs in one product, then steps through time (a Python loop) with one
hidden-to-hidden product per step; the steps themselves are in ``_rnn_steps.py``.

Gate order (rows of ``weight_ih``): LSTM ``i, f, g, o``; GRU ``r, z, n``, where GRU's candidate uses
``r * (W_hn h + b_hn)`` (the reset gate multiplies the hidden projection *with* its bias, as PyTorch).
"""

from __future__ import annotations

import math
import warnings

from gradlite.creation import empty, zeros
from gradlite.nn import init
from gradlite.nn._rnn_steps import _gru_step, _lstm_step, _rnn_step, _Steps
from gradlite.nn.module import Module
from gradlite.nn.parameter import Parameter
from gradlite.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: parameters per layer and direction, the time loop."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers}")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an element "
                "being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                UserWarning,
                stacklevel=3,
            )
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size, self.num_layers = (
            mode,
            input_size,
            hidden_size,
            num_layers,
        )
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size  # the size of h: LSTM projects it down when proj_size > 0
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                in_size = input_size if layer == 0 else out_size * dirs
                names = [("weight_ih" + sfx, (gate, in_size)), ("weight_hh" + sfx, (gate, out_size))]
                if bias:
                    names += [("bias_ih" + sfx, (gate,)), ("bias_hh" + sfx, (gate,))]
                if proj_size:
                    names.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for name, shape in names:
                    setattr(self, name, Parameter(empty(*shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """PyTorch packs weights for cuDNN here; gradlite keeps them separate, so there is nothing to do."""

    @property
    def all_weights(self) -> list:
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i : i + per]] for i in range(0, len(names), per)]

    def _check_input(self, x: Tensor, hx) -> tuple[Tensor, bool]:
        if x.dim() not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 2D or 3D, got {x.dim()}D instead "
                f"(input of size {list(x.shape)})"
            )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {x.shape[-1]}"
            )
        return x, x.dim() == 2

    def _check_hidden(self, h: Tensor, batch: int, size: int, what: str = "hidden") -> None:
        want = (self.num_layers * (2 if self.bidirectional else 1), batch, size)
        if tuple(h.shape) != want:
            raise RuntimeError(f"Expected {what} size {want}, got {list(h.shape)}")

    def forward(self, input: Tensor, hx=None):
        from gradlite.nn import functional as F
        from gradlite.ops.join import cat, stack

        x, unbatched = self._check_input(input, hx)
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        seq_len, batch = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        h_size = self.proj_size or self.hidden_size
        if hx is None:
            h0 = zeros(self.num_layers * dirs, batch, h_size, dtype=x.dtype, device=x.device)
            c0 = (
                zeros(self.num_layers * dirs, batch, self.hidden_size, dtype=x.dtype, device=x.device)
                if lstm
                else None
            )
        else:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0, c0 = hx, None
            if unbatched:
                if h0.dim() != 2:
                    raise RuntimeError(
                        f"For unbatched 2-D input, hx should also be 2-D but got {h0.dim()}-D tensor"
                    )
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if lstm else None
            elif h0.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {h0.dim()}-D tensor"
                )
            self._check_hidden(h0, batch, h_size, "hidden[0]" if lstm else "hidden")
            if lstm:
                self._check_hidden(c0, batch, self.hidden_size, "hidden[1]")
        h_n, c_n = [], []
        layer_in = x  # (T, N, features): each layer projects all its steps' inputs in one product
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh = getattr(self, "weight_ih" + sfx).t(), getattr(self, "weight_hh" + sfx).t()
                b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
                b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
                w_hr = getattr(self, "weight_hr" + sfx).t() if self.proj_size else None
                xw = layer_in @ w_ih
                if b_ih is not None:  # (GRU's b_hh stays in the step: its reset gate scales W_hn h + b_hn)
                    xw = xw + (b_ih if self.mode == "GRU" else b_ih + b_hh)
                xws = _Steps.apply(xw)  # one node for the T slices (their gradients stacked once)
                step_b_hh = b_hh if self.mode == "GRU" else None
                h, c = h0[k], (c0[k] if lstm else None)
                steps = range(seq_len - 1, -1, -1) if d else range(seq_len)
                ys = [None] * seq_len
                for t in steps:
                    if lstm:
                        h, c = _lstm_step(xws[t], h, c, w_hh, None)
                        if w_hr is not None:
                            h = h @ w_hr
                    elif self.mode == "GRU":
                        h = _gru_step(xws[t], h, w_hh, step_b_hh)
                    else:
                        h = _rnn_step(xws[t], h, w_hh, None, "tanh" if self.mode == "RNN_TANH" else "relu")
                    ys[t] = h
                outs.append(stack(ys, 0))
                h_n.append(h)
                if lstm:
                    c_n.append(c)
            layer_in = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        out = layer_in
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if lstm else None
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu); returns (output, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )


class LSTM(RNNBase):
    """Long short-term memory; returns (output, (h_n, c_n)); gates i, f, g, o."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit; returns (output, h_n); gates r, z, n."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )


class _CellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(gates * hidden_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(gates * hidden_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gates * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _prepare(self, x: Tensor, hx, n_states: int):
        if x.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {x.dim()}D instead")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {x.shape[-1]} expected {self.input_size}"
            )
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        if hx is None:
            z = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            hx = (z,) * n_states
        else:
            hx = tuple(hx) if n_states > 1 else (hx,)
            hx = tuple(h.unsqueeze(0) if unbatched else h for h in hx)
            for h in hx:
                if tuple(h.shape) != (x.shape[0], self.hidden_size):
                    raise RuntimeError(
                        f"hidden has inconsistent hidden_size or batch: got {list(h.shape)}, expected "
                        f"{[x.shape[0], self.hidden_size]}"
                    )
        xw = x @ self.weight_ih.t()
        if self.bias_ih is not None:
            xw = xw + self.bias_ih
        return xw, hx, unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(_CellBase):
    """One Elman step: (N, in), (N, hidden) -> (N, hidden)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        xw, (h,), unbatched = self._prepare(x, hx, 1)
        h = _rnn_step(xw, h, self.weight_hh.t(), self.bias_hh, self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step: x (N, in), (h, c) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, x: Tensor, hx=None) -> tuple[Tensor, Tensor]:
        xw, (h, c), unbatched = self._prepare(x, hx, 2)
        h, c = _lstm_step(xw, h, c, self.weight_hh.t(), self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    """One GRU step: (N, in), (N, hidden) -> (N, hidden)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        xw, (h,), unbatched = self._prepare(x, hx, 1)
        h = _gru_step(xw, h, self.weight_hh.t(), self.bias_hh)
        return h.squeeze(0) if unbatched else h
