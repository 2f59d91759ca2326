"""The one place that turns what an array library raises into PyTorch's error classes.

NumPy and CuPy raise ValueError, TypeError and MemoryError (CuPy's OutOfMemoryError is one) in their own
words; PyTorch raises RuntimeError, NotImplementedError for a kernel that a dtype lacks, naming the op and
the shapes. Ops call ``backend_error`` in an ``except`` around the backend call, so the happy path pays
nothing, and re-raise what it returns ``from`` the backend's exception (kept as the cause).
"""

from __future__ import annotations

from gradlite.dtypes import TORCH_NAMES
from gradlite.tensor import Tensor, _dtype_of


def _shape(a) -> list:
    return list(getattr(a, "shape", ()))


def backend_error(exc: Exception, op: str, *operands, device=None) -> Exception:
    """PyTorch's exception for ``exc``, raised by the backend while computing ``op`` on ``operands`` (arrays,
    tensors or python scalars)."""
    shapes = " and ".join(str(_shape(a)) for a in operands)
    dev = device.type if device is not None else "cpu"
    if isinstance(exc, MemoryError):
        return RuntimeError(f"{op}: {_memory_message(exc, dev)} (operands of shapes {shapes})")
    arr = next((a for a in operands if hasattr(a, "dtype")), None)
    if isinstance(exc, TypeError) and arr is not None:  # the namespace has no kernel for these dtypes
        name = TORCH_NAMES[_dtype_of(arr._data if isinstance(arr, Tensor) else arr).name]
        return NotImplementedError(f"\"{op}_{dev}\" not implemented for '{name}'")
    if isinstance(exc, ValueError) and "broadcast" in str(exc) and len(operands) == 2:
        a, b = _shape(operands[0]), _shape(operands[1])
        n = max(len(a), len(b))
        a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
        for i in range(n - 1, -1, -1):
            if a[i] != b[i] and a[i] != 1 and b[i] != 1:
                return RuntimeError(
                    f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                    f"non-singleton dimension {i} (in {op})"
                )
    if isinstance(exc, IndexError):
        return IndexError(f"{op}: {exc} (shapes {shapes})")
    return RuntimeError(f"{op}: {exc} (operands of shapes {shapes})")


def allocation_error(exc: Exception, op: str, shape, dtype, device) -> Exception:
    """PyTorch's RuntimeError for a tensor of ``shape`` and ``dtype`` (a gradlite dtype) that the backend
    could not allocate (MemoryError, CuPy's OutOfMemoryError), or whose byte size overflowed (ValueError)."""
    n = dtype.itemsize
    for s in shape:
        n *= s
    if isinstance(exc, MemoryError):
        what = _memory_message(exc, device.type, n)
    else:
        what = f"Storage size calculation overflowed with sizes={list(shape)} ({exc})"
    return RuntimeError(f"{op}: {what} (shape {list(shape)}, dtype {dtype})")


def _memory_message(exc: Exception, dev: str, nbytes: int | None = None) -> str:
    size = f"{nbytes} bytes" if nbytes is not None else "more memory than there is"
    if dev == "cuda":
        return f"CUDA out of memory. Tried to allocate {size} ({exc})"
    return f"DefaultCPUAllocator: can't allocate memory: you tried to allocate {size} ({exc})"


def expand_error(target_shape, value_shape) -> RuntimeError:
    """PyTorch's RuntimeError for a value of ``value_shape`` that cannot be written into a selection of
    ``target_shape`` (``x[0:2] = ones(3)``)."""
    t, v = list(target_shape), list(value_shape)
    if len(v) > len(t) and any(s != 1 for s in v[: len(v) - len(t)]):
        return RuntimeError(
            f"expand(torch.FloatTensor{{{v}}}, size={t}): the number of sizes provided ({len(t)}) must be "
            f"greater or equal to the number of dimensions in the tensor ({len(v)})"
        )
    v = v[len(v) - len(t):] if len(v) > len(t) else v
    for i in range(1, len(v) + 1):
        if v[-i] != t[-i] and v[-i] != 1:
            return RuntimeError(
                f"The expanded size of the tensor ({t[-i]}) must match the existing size ({v[-i]}) at "
                f"non-singleton dimension {len(t) - i}.  Target sizes: {t}.  "
                f"Tensor sizes: {list(value_shape)}"
            )
    return RuntimeError(f"shape mismatch: value tensor of shape {list(value_shape)} cannot be broadcast to "
                        f"indexing result of shape {t}")
