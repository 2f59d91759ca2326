"""``nn.init``: in-place initialisers with PyTorch's distributions and fan computations."""

from __future__ import annotations

import math

from gradlite.autograd.grad_mode import no_grad
from gradlite.tensor import Tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    if t.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = 1
    for s in t.shape[2:]:
        receptive *= s
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fan(t: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return t.uniform_(a, b, generator=generator)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return t.normal_(mean, std, generator=generator)


def constant_(t: Tensor, val: float) -> Tensor:
    with no_grad():
        return t.fill_(val)


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def kaiming_uniform_(
    t: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan)."""
    if 0 in t.shape:
        return t
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(_fan(t, mode))
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(
    t: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator=None
) -> Tensor:
    """N(0, std**2) with std = gain / sqrt(fan)."""
    if 0 in t.shape:
        return t
    gain = calculate_gain(nonlinearity, a)
    return normal_(t, 0.0, gain / math.sqrt(_fan(t, mode)), generator)


def xavier_uniform_(t: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, generator)


def xavier_normal_(t: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def orthogonal_(t: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a standard normal one (sign-corrected so the
    distribution is uniform over orthogonal matrices, as PyTorch); tensors of >2 dims are flattened."""
    if t.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if t.numel() == 0:
        return t
    from gradlite.creation import randn

    rows = t.shape[0]
    cols = t.numel() // rows
    flat = randn(rows, cols, dtype=t.dtype, device=t.device, generator=generator)
    if rows < cols:
        flat = flat.t()
    xp = t._device.backend.xp
    q, r = xp.linalg.qr(flat._data)
    q = q * xp.sign(xp.linalg.diagonal(r) if hasattr(xp.linalg, "diagonal") else xp.diagonal(r))
    if rows < cols:
        q = xp.matrix_transpose(q) if hasattr(xp, "matrix_transpose") else q.T
    from gradlite.tensor import _make

    with no_grad():
        t.copy_(_make(xp.reshape(q, tuple(t.shape)) * gain, t._device))
    return t


def trunc_normal_(
    t: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None
) -> Tensor:
    """N(mean, std**2) restricted to [a, b], by rejection: out-of-range samples are redrawn until none is left
    (exact for the truncated distribution; a host check per round, which is fine at initialisation)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    from gradlite.creation import randn
    from gradlite.ops.pointwise import where

    with no_grad():
        t.normal_(mean, std, generator=generator)
        for _ in range(1000):
            bad = (t < a) | (t > b)
            if not int(bad.sum()):
                return t
            fresh = randn(*t.shape, dtype=t.dtype, device=t.device, generator=generator) * std + mean
            t.copy_(where(bad, fresh, t))
    raise RuntimeError(f"trunc_normal_: [{a}, {b}] holds too little of N({mean}, {std}**2) to sample from")


def eye_(t: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    if t.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    from gradlite.creation import eye

    with no_grad():
        return t.copy_(eye(*t.shape, dtype=t.dtype, device=t.device))
