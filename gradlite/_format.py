"""``repr`` of tensors, following PyTorch's printing: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

_DEFAULT_SHOWN = ("float32", "int64", "bool")


def _float_formatter(a: np.ndarray):
    """PyTorch's choice (torch/_tensor_str.py ``_Formatter``): ``(format, width)`` for a float array.

    Only the finite nonzero values decide: integers print as ``1.``, else 4 decimals; scientific when
    their magnitudes span more than 1000x, exceed 1e8 or go below 1e-4. The width is theirs too.
    """
    finite = a[np.isfinite(a)]
    nonzero = finite[finite != 0]
    if nonzero.size == 0:
        return (lambda v: _special(v) or f"{v:.0f}."), 1
    mag = np.abs(nonzero)
    int_mode = bool(np.all(nonzero == np.ceil(nonzero)))
    sci = mag.max() / mag.min() > 1000.0 or mag.max() > 1e8 or mag.min() < 1e-4
    if sci:
        fmt = lambda v: _special(v) or f"{v:.4e}"  # noqa: E731
    elif int_mode:
        fmt = lambda v: _special(v) or f"{v:.0f}."  # noqa: E731
    else:
        fmt = lambda v: _special(v) or f"{v:.4f}"  # noqa: E731
    return fmt, max(len(fmt(v)) for v in nonzero)


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _summarized(a: np.ndarray, edge: int = 3) -> np.ndarray:
    """The elements a summarised print shows: the first and last ``edge`` along every long dimension."""
    for d, n in enumerate(a.shape):
        if n > 2 * edge:
            a = np.concatenate([a.take(range(edge), axis=d), a.take(range(n - edge, n), axis=d)], axis=d)
    return a


def _nested(a: np.ndarray, indent: int, summarize: bool, fmt, width: int) -> str:
    """PyTorch's layout (``_tensor_str_with_formatter``): 80 columns, 3 edge items, blank lines between."""
    if a.ndim == 0:
        return fmt(a.item())
    long = summarize and a.shape[0] > 6
    if a.ndim == 1:
        per_line = max(1, (80 - indent) // (width + 2))
        vals = a.tolist()
        shown = vals[:3] + [None] + vals[-3:] if long else vals
        data = [" ..." if v is None else fmt(v) for v in shown]
        lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = (*range(3), None, *range(a.shape[0] - 3, a.shape[0])) if long else range(a.shape[0])
    parts = ["..." if i is None else _nested(a[i], indent + 1, summarize, fmt, width) for i in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_tensor(t) -> str:
    a = np.asarray(t.detach()._host())
    dt = t.dtype
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    prefix = "tensor("
    if a.size == 0:
        body = "[]"
    else:
        # Like PyTorch, a summarised tensor (over 1000 elements) picks its format from the shown values only
        summarize = a.size > 1000
        shown = _summarized(a) if summarize else a
        if dt.is_floating_point:
            fmt, width = _float_formatter(shown.astype(np.float64).reshape(-1))
        else:
            fmt = str
            width = max(len(str(v)) for v in shown.reshape(-1).tolist())
        body = _nested(a, len(prefix), summarize, lambda v: fmt(v).rjust(width), width)
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
