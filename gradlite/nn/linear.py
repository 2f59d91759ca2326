"""``nn.Linear``, ``nn.Bilinear`` and ``nn.Identity``."""

from __future__ import annotations

import math

from gradlite.creation import empty
from gradlite.nn import functional as F
from gradlite.nn import init
from gradlite.nn.module import Module
from gradlite.nn.parameter import Parameter
from gradlite.tensor import Tensor


class Linear(Module):
    """``y = x @ W.T + b`` with ``W`` of shape (out_features, in_features), initialised as PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)); the bias uses the same bound
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Bilinear(Module):
    """``y[o] = x1 @ W[o] @ x2 + b[o]``: x1 (*, in1), x2 (*, in2) -> (*, out); W (out, in1, in2)."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        if (
            x1.shape[-1:] != (self.in1_features,)
            or x2.shape[-1:] != (self.in2_features,)
            or x1.shape[:-1] != x2.shape[:-1]
        ):
            raise RuntimeError(
                f"Bilinear: expected input1 of shape [*, {self.in1_features}] and input2 of shape "
                f"[*, {self.in2_features}] with the same leading dims, "
                f"got {list(x1.shape)} and {list(x2.shape)}"
            )
        # (*, 1, 1, in1) @ (out, in1, in2) -> (*, out, 1, in2); then the dot with x2 over in2
        t = x1.unsqueeze(-2).unsqueeze(-2) @ self.weight
        y = (t.squeeze(-2) * x2.unsqueeze(-2)).sum(-1)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
