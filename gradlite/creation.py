"""Tensor creation: tensor, as_tensor, from_numpy, zeros, ones, full, empty, arange, linspace, eye,
rand, randn, randint and the ``*_like`` forms, with PyTorch's dtype inference and keywords."""

from __future__ import annotations

import math
import warnings

import numpy as np

from gradlite import dtypes
from gradlite.device import resolve
from gradlite.dtypes import as_dtype
from gradlite.ops._base import checked_int
from gradlite.ops._errors import allocation_error
from gradlite.tensor import Tensor, _make

# NumPy is the host format for python data (lists, scalars) on its way to any backend.


def _finish(data, dev, requires_grad: bool) -> Tensor:
    t = _make(data, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _host_array(data, dtype):
    """Python data (nested lists, scalars, NumPy arrays, tensors inside lists) as a NumPy array."""
    from_numpy_like = isinstance(data, (np.ndarray, np.generic))
    if isinstance(data, (list, tuple)) and _has_tensor(data):
        data = _untensor(data)
    a = np.asarray(data)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"can't convert data of type {a.dtype} to a tensor (expected numbers or bools)")
    if dtype is None:
        if a.dtype.kind == "f" and not from_numpy_like:
            dtype = dtypes.get_default_dtype()
        elif a.dtype.kind in "iu" and not from_numpy_like:
            dtype = dtypes.int64
        elif a.dtype.name not in dtypes.BY_NAME:
            raise TypeError(f"can't convert np.ndarray of type numpy.{a.dtype.name} to a gradlite tensor")
        else:
            dtype = dtypes.BY_NAME[a.dtype.name]
    return a.astype(dtype.name, copy=False), dtype


def _has_tensor(data) -> bool:
    return any(isinstance(d, Tensor) or (isinstance(d, (list, tuple)) and _has_tensor(d)) for d in data)


def _untensor(data):
    return [
        d.detach()._host() if isinstance(d, Tensor) else _untensor(d) if isinstance(d, (list, tuple)) else d
        for d in data
    ]


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (python numbers, nested lists, NumPy arrays).

    >>> gradlite.tensor([1, 2]).dtype   # ints -> int64, floats -> float32, as PyTorch
    gradlite.int64
    """
    return _tensor(data, dtype, device, requires_grad, "gradlite.tensor(sourceTensor)")


def _tensor(data, dtype, device, requires_grad: bool, call: str) -> Tensor:
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
            f"sourceTensor.detach().clone().requires_grad_(True), rather than {call}.",
            UserWarning,
            stacklevel=3,
        )
        t = data.detach().to(device=device, dtype=None if dtype is None else as_dtype(dtype), copy=True)
        return t.requires_grad_(requires_grad) if requires_grad else t
    dt = None if dtype is None else as_dtype(dtype)
    a, dt = _host_array(data, dt)
    dev = resolve(device)
    if requires_grad and not dt.is_floating_point:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    b = dev.backend
    data = b.from_host(np.array(a, copy=True), dev.index) if dev.type == "cpu" else b.from_host(a, dev.index)
    return _finish(_cpu_native(b, data), dev, requires_grad)


def _cpu_native(b, a):
    """On the strict test backend, host arrays must become its own arrays."""
    return a if isinstance(a, b.array_type) else b.from_host(a)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and (device is None or resolve(device).type == "cpu"):
        dt = None if dtype is None else as_dtype(dtype)
        if dt is None or dt.name == data.dtype.name:
            return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with the NumPy array ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    if a.dtype.name not in dtypes.BY_NAME:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{a.dtype.name}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        )
    dev = resolve("cpu")
    return _make(_cpu_native(dev.backend, a), dev)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, but got an element of type {type(s).__name__}")
        if s < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {s}: {list(size)}. "
                "Dimension size must be non-negative."
            )
        out.append(int(s))
    return tuple(out)


def _filled(kind: str, size, dtype, device, requires_grad, value=None) -> Tensor:
    dt = dtypes.get_default_dtype() if dtype is None else as_dtype(dtype)
    dev = resolve(device)
    b = dev.backend
    with b.context(dev.index):
        bd = b.dtype(dt.name)
        try:
            if kind == "zeros" or kind == "empty":
                data = b.xp.zeros(size, dtype=bd)
            elif kind == "ones":
                data = b.xp.ones(size, dtype=bd)
            else:  # (an int value converted as PyTorch: -1 is 255 for uint8, 300 raises)
                data = b.xp.full(size, checked_int(dt, value), dtype=bd)
        except (MemoryError, ValueError) as e:
            if isinstance(e, ValueError) and math.prod(size) * dt.itemsize < 2**63:
                raise  # (a value the dtype cannot hold, not a size)
            raise allocation_error(e, kind, size, dt, dev) from e
    if requires_grad and not dt.is_floating_point:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return _finish(data, dev, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size``."""
    return _filled("zeros", _size(size), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape ``size``."""
    return _filled("ones", _size(size), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` (zero-filled: uninitialised memory is a bug magnet)."""
    return _filled("empty", _size(size), dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``; the dtype follows the value, as PyTorch 2."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value)
    return _filled("full", _size((size,) if isinstance(size, int) else (tuple(size),)), dtype, device,
                   requires_grad, fill_value)


def _like(x: Tensor, dtype, device):
    return (x.dtype if dtype is None else dtype), (x.device if device is None else device)


def zeros_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return zeros(x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return ones(x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return empty(x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


# Tensor.new_*: the factories with this tensor's dtype and device unless given
def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (of this tensor's dtype and device by default)."""
    dt, dev = _like(self, dtype, device)
    return _tensor(data, dt, dev, requires_grad, "tensor.new_tensor(sourceTensor)")


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(self, dtype, device)
    return zeros(*size, dtype=dt, device=dev, requires_grad=requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(self, dtype, device)
    return ones(*size, dtype=dt, device=dev, requires_grad=requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(self, dtype, device)
    return empty(*size, dtype=dt, device=dev, requires_grad=requires_grad)


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False
             ) -> Tensor:
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"new_full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}"
        )
    dt, dev = _like(self, dtype, device)
    return full(size, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


for _f in (new_tensor, new_zeros, new_ones, new_empty, new_full):
    setattr(Tensor, _f.__name__, _f)


def full_like(x: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return full(x.shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values ``start, start+step, ...`` below ``end``; int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"upper bound and lower bound inconsistent with step sign (start={start}, end={end}, step={step})"
        )
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, int) for v in vals) else dtypes.get_default_dtype()
    dt = as_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    if dt.is_floating_point:
        host = start + np.arange(n, dtype=np.float64) * step
    else:
        host = np.arange(start, end, step)
    return tensor(host.astype(dt.name), dtype=dt, device=device, requires_grad=requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = dtypes.get_default_dtype() if dtype is None else as_dtype(dtype)
    host = np.linspace(float(start), float(end), int(steps))
    return tensor(host.astype(dt.name), dtype=dt, device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The ``n x m`` identity matrix."""
    dt = dtypes.get_default_dtype() if dtype is None else as_dtype(dtype)
    return tensor(np.eye(n, n if m is None else m, dtype=dt.name), dtype=dt, device=device,
                  requires_grad=requires_grad)


def _random(kind, size, dtype, device, requires_grad, generator=None, **kw) -> Tensor:
    dt = dtypes.get_default_dtype() if dtype is None else as_dtype(dtype)
    dev = resolve(device)
    b = dev.backend
    gen = None if generator is None else generator._rng(dev)
    try:
        data = b.random(kind, size, b.dtype(dt.name) if kind == "integers" else np.dtype(dt.name), dev.index,
                        generator=gen, **kw)
    except MemoryError as e:
        raise allocation_error(e, _RANDOM_NAMES.get(kind, kind), size, dt, dev) from e
    t = _make(_cpu_native(b, data), dev)
    return t.requires_grad_(True) if requires_grad else t


_RANDOM_NAMES = {"normal": "randn", "uniform": "rand", "integers": "randint"}


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _random("uniform", _size(size), dtype, device, requires_grad, generator)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _random("normal", _size(size), dtype, device, requires_grad, generator)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on ``[low, high)``: ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    shape = _size((size,) if isinstance(size, int) else (tuple(size),))
    dt = dtypes.int64 if dtype is None else as_dtype(dtype)
    c_name = _C_NAMES.get(dt.name)
    if c_name is not None:  # PyTorch's range checks, the same on every backend
        lo, hi = (0, 1) if dt.name == "bool" else (int(np.iinfo(dt.name).min), int(np.iinfo(dt.name).max))
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {c_name}")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"to - 1 is out of bounds for {c_name}")
    return _random("integers", shape, dt, device, requires_grad, generator, low=low, high=high)


# the C type names in PyTorch's randint range errors
_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
           "int32": "int"}


def rand_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return rand(x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(x: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return randn(x.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randint_like(x: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return randint(low, high, x.shape, dtype=dt, device=dev)


def manual_seed(seed: int):
    """Seed the random generators of every backend (CPU, and CUDA when CuPy is loaded)."""
    from gradlite import backends

    seed = int(seed)
    backends.cpu_backend().manual_seed(seed)
    try:
        backends.cuda_backend().manual_seed(seed)
    except RuntimeError:
        pass  # no CuPy: there is no CUDA generator to seed
    return Generator().manual_seed(seed)


class Generator:
    """A random generator object, as ``gradlite.Generator().manual_seed(0)`` (DataLoader, randperm)."""

    def __init__(self, device="cpu"):
        self.device = resolve(device)
        self._seed = None
        self._gen = None

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._gen = None
        return self

    def initial_seed(self) -> int:
        return self._seed

    def _rng(self, dev):
        """The backend generator, for a draw on ``dev``: a generator has one device, and a draw on another
        device type raises, as in PyTorch (a CPU generator's numbers stay NumPy arrays, a CUDA one's CuPy)."""
        own = self.device
        if dev.type != own.type:
            raise RuntimeError(f"Expected a '{dev.type}' device type for generator but found '{own.type}'")
        if self._gen is None:
            self._gen = own.backend.generator(own.index, self._seed if self._seed is not None else
                                              int(np.random.SeedSequence().entropy % (2**63)))
        return self._gen
