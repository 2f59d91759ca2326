"""Convolution layers: Conv1d, Conv2d (stride, padding incl. 'same', dilation, groups, padding_mode)."""

from __future__ import annotations

import math

from gradlite.creation import empty
from gradlite.nn import init
from gradlite.nn._conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from gradlite.nn._padding import pad_dim
from gradlite.nn.module import Module
from gradlite.nn.parameter import Parameter
from gradlite.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n: int, name: str) -> tuple:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v}")
    return v


class _ConvNd(Module):
    _n = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        output_padding=0,
    ):
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode='{padding_mode}'"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.transposed = self._transposed
        self.padding_mode = padding_mode
        # transposed convolutions store (in, out / groups, *k): the layout of the conv they are the adjoint of
        shape = (
            (in_channels, out_channels // groups)
            if self.transposed
            else (out_channels, in_channels // groups)
        )
        self.weight = Parameter(empty(*shape, *self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same bound
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _pad_input(self, x: Tensor):
        """For reflect / replicate / circular padding: pad explicitly, then convolve without padding."""
        if self.padding_mode == "zeros":
            return x, self.padding
        n = len(self.kernel_size)
        for i in range(n):
            k, d = self.kernel_size[i], self.dilation[i]
            if isinstance(self.padding, str):
                total = d * (k - 1) if self.padding == "same" else 0
                lo, hi = total // 2, total - total // 2
            else:
                lo = hi = self.padding[i]
            x = pad_dim(x, x.dim() - n + i, lo, hi, self.padding_mode)
        return x, 0

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.kernel_size):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L)."""

    _n = 1

    def forward(self, x: Tensor) -> Tensor:
        x, pad = self._pad_input(x)
        return conv1d(x, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in / groups, kh, kw)."""

    _n = 2

    def forward(self, x: Tensor) -> Tensor:
        x, pad = self._pad_input(x)
        return conv2d(x, self.weight, self.bias, self.stride, pad, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(
                f"{type(self).__name__} does not accept a padding string, got padding={padding!r}"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding,
        )

    def _output_padding(self, x: Tensor, output_size) -> tuple:
        """PyTorch's rule: ``output_size`` picks output_padding within [min size, min size + stride - 1]."""
        n = self._n
        if output_size is None:
            return self.output_padding
        output_size = list(output_size)
        spatial = x.dim() - (2 if x.dim() == n + 2 else 1)
        if len(output_size) == x.dim():
            output_size = output_size[x.dim() - n :]
        if len(output_size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {x.dim()}D input, output_size must have {n} or "
                f"{x.dim()} elements (got {len(output_size)})"
            )
        lo = [
            (x.shape[spatial + i] - 1) * self.stride[i]
            - 2 * self.padding[i]
            + self.dilation[i] * (self.kernel_size[i] - 1)
            + 1
            for i in range(n)
        ]
        hi = [lo[i] + self.stride[i] - 1 for i in range(n)]
        if any(not lo[i] <= output_size[i] <= hi[i] for i in range(n)):
            raise ValueError(
                f"requested an output size of {output_size}, but valid sizes range from {lo} to {hi} "
                f"(for an input of {list(x.shape[spatial:])})"
            )
        return tuple(output_size[i] - lo[i] for i in range(n))


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution (the adjoint of Conv1d) over (N, C_in, L) or (C_in, L)."""

    _n = 1

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(x, output_size)
        return conv_transpose1d(
            x, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation
        )


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (Conv2d's adjoint) of (N, C_in, H, W); weight (C_in, C_out / g, kh, kw)."""

    _n = 2

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        op = self._output_padding(x, output_size)
        return conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation
        )
