"""``repr`` of tensors, following PyTorch's printing: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

_DEFAULT_SHOWN = ("float32", "int64", "bool")


def _float_formatter(a: np.ndarray):
    """PyTorch's choice: integers print as ``1.``, else 4 decimals, or scientific for wide ranges."""
    finite = a[np.isfinite(a)] if a.size else a
    nonzero = np.abs(finite[finite != 0]) if finite.size else finite
    if finite.size == 0 or np.all(finite == np.round(finite)):
        if nonzero.size and (nonzero.max() > 1e8):
            return lambda v: f"{v:.4e}"
        return lambda v: _special(v) or f"{v:.0f}."
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8 or nonzero.min() < 1e-4):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_tensor(t) -> str:
    a = np.asarray(t.detach()._host())
    dt = t.dtype
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    prefix = "tensor("
    if a.size == 0:
        body = "[]"
    else:
        if dt.is_floating_point:
            fmt = _float_formatter(a.astype(np.float64))
            formatter = {"float_kind": fmt}
            width = max(len(fmt(v)) for v in a.reshape(-1)[:1000])
            formatter = {"float_kind": lambda v: fmt(v).rjust(width)}
        elif dt.name == "bool":
            formatter = {"bool": lambda v: "True" if v else "False"}
        else:
            width = max(len(str(v)) for v in a.reshape(-1)[:1000])
            formatter = {"int": lambda v: str(v).rjust(width)}
        body = np.array2string(
            a, separator=", ", prefix=prefix, formatter=formatter, threshold=1000, edgeitems=3, max_line_width=80
        )
    parts = [body]
    if a.size == 0 and a.shape != (0,):
        parts.append(f"size={tuple(a.shape)}")
    if t.device.type != "cpu":
        parts.append(f"device='{t.device}'")
    if dt.name not in _DEFAULT_SHOWN or (a.size == 0 and dt.name != "float32"):
        parts.append(f"dtype={dt!r}")
    if t.grad_fn is not None:
        parts.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        parts.append("requires_grad=True")
    return prefix + ", ".join(parts) + ")"
