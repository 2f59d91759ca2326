"""The Tensor: one backend array plus the autograd state that PyTorch keeps beside it.

Ops live in ``gradlite/ops``; each registers itself as a Tensor method there (``@tensor_method``), so this
file holds only what a tensor *is*: its data, dtype, device, grad, graph node, version and conversions.
"""

from __future__ import annotations

import warnings

from gradlite import dtypes
from gradlite.autograd import engine as _engine
from gradlite.autograd.grad_mode import _State as _GradState
from gradlite.autograd.grad_mode import state as _grad_state
from gradlite.autograd.node import named
from gradlite.device import CPU, device, resolve
from gradlite.dtypes import as_dtype

_new = object.__new__
_Device = device  # (the class, for methods whose argument is named ``device``)


class Tensor:
    """An n-dimensional array on ``cpu`` or ``cuda`` that records the ops applied to it for autograd."""

    __slots__ = (
        "_data",  # the backend array (numpy.ndarray / cupy.ndarray)
        "_device",  # interned gradlite.device
        "_requires_grad",
        "_grad",
        "_grad_fn",  # the graph Node that produced this tensor, None for leaves
        "_output_nr",  # which output of _grad_fn this tensor is
        "_version",  # [int], shared by views: bumped by every in-place op
        "_meta",  # None, or a dict of rarely used state (hooks, retain_grad, view base, names)
        "__weakref__",
    )
    # Let NumPy's operators defer to ours: ndarray * Tensor calls Tensor.__rmul__.
    __array_ufunc__ = None

    def __new__(cls, *args, **kwargs):
        """Legacy constructor: ``Tensor([1, 2])`` (float32 data) or ``Tensor(2, 3)`` (uninitialised shape)."""
        from gradlite import creation

        dev = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Tensor() got unexpected keyword arguments {sorted(kwargs)}")
        if len(args) == 1 and not isinstance(args[0], int):
            t = creation.tensor(args[0], dtype=dtypes.get_default_dtype(), device=dev)
        else:
            t = creation.empty(*args, device=dev)
        if cls is not Tensor:
            return cls._from(t)
        return t

    @classmethod
    def _from(cls, t: Tensor) -> Tensor:
        out = _make(t._data, t._device, cls=cls)
        out._version = t._version
        return out

    # -- the basics ------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as a ``Size``, or the length of one dimension."""
        shape = self._data.shape
        if dim is None:
            return Size(shape)
        return shape[_wrap_dim(dim, len(shape), "size")]

    def dim(self) -> int:
        return len(self._data.shape)

    ndim = property(dim)

    def ndimension(self) -> int:
        return len(self._data.shape)

    def numel(self) -> int:
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    nelement = numel

    def __len__(self) -> int:
        if not self._data.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def dtype(self) -> dtypes.dtype:
        return _dtype_of(self._data)

    @property
    def device(self) -> device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def is_floating_point(self) -> bool:
        return _dtype_of(self._data).is_floating_point

    def element_size(self) -> int:
        return _dtype_of(self._data).itemsize

    @property
    def _backend(self):
        return self._device.backend

    # -- autograd state --------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; returns self."""
        if self._grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if requires_grad and not _dtype_of(self._data).is_floating_point:
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        if requires_grad and self._meta and self._meta.get("inference"):
            raise RuntimeError(
                "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed."
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad_fn(self):
        fn = self._grad_fn
        return fn if fn is None else named(fn)

    @property
    def grad(self) -> Tensor | None:
        if self._grad_fn is not None and not (self._meta and self._meta.get("retains_grad")):
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                "instead.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                got = type(value).__name__
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {got}")
            if value._device is not self._device:
                raise RuntimeError(
                    f"assigned grad has data located on {value._device} but the tensor is on {self._device}"
                )
            if value._data.shape != self._data.shape:
                # PyTorch 2.13's wording (the sizes as lists)
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a tensor of "
                    f"size '{list(self._data.shape)}'. Please ensure that the gradient and the tensor are "
                    "the same size"
                )
            if _dtype_of(value._data) is not _dtype_of(self._data):
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor with dtype "
                    f"'{self.dtype}'. The gradient must match the tensor's dtype"
                )
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return bool(self._meta and self._meta.get("retains_grad"))

    @property
    def _version_count(self) -> int:
        return self._version[0]

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (``gradient``: v of a vector-Jacobian
        product)."""
        if gradient is None and inputs is None and not create_graph:
            _engine.backward_default(self, retain_graph)
        else:
            grads = None if gradient is None else (gradient,)
            _engine.backward((self,), grads, retain_graph, create_graph, inputs)

    # -- data, detach, clone -----------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing storage with self, outside autograd (its own version counter, as PyTorch)."""
        return _make(self._data, self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if value._device is not self._device:
            raise RuntimeError(
                f"data set to a tensor on {value._device}, but this tensor is on {self._device}"
            )
        self._data = value._data

    def detach(self) -> Tensor:
        """A tensor sharing storage (and version counter) with self, cut from the graph."""
        t = _make(self._data, self._device)
        t._version = self._version
        return t

    def detach_(self) -> Tensor:
        """Detach self from the graph in place, making it a leaf that requires no grad."""
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    # -- conversions (each moves data to the host: the user asked for it) ---------------------------
    def _host(self):
        return self._device.backend.to_host(self._data)

    def item(self):
        """The value of a one-element tensor as a python number."""
        if self.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
            )
        return self._host().reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def numpy(self, *, force: bool = False):
        """The NumPy array behind a CPU tensor (shared memory), as PyTorch's ``Tensor.numpy()``."""
        if not force:
            if self._requires_grad:
                raise RuntimeError(
                    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
                )
            if self._device.type != "cpu":
                raise TypeError(
                    f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() to copy "
                    "the tensor to host memory first."
                )
        return self._host()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self.numel() > 1
                else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if _dtype_of(self._data).is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self):
        if not self._data.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __reversed__(self):
        return self.flip(0)

    def __repr__(self) -> str:
        from gradlite._format import format_tensor

        return format_tensor(self)

    def __format__(self, spec: str) -> str:
        if self.dim() == 0 and spec:
            return self.item().__format__(spec)
        return repr(self)

    def __getstate__(self):
        raise TypeError("gradlite tensors are not picklable; use gradlite.save(obj, path)")

    def __deepcopy__(self, memo):
        """A copy with its own storage, ``requires_grad`` and ``.grad`` (leaves only, as PyTorch)."""
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at "
                "the moment."
            )
        if id(self) in memo:
            return memo[id(self)]
        out = _make(self._device.backend.xp.asarray(self._data, copy=True), self._device, cls=type(self))
        out._requires_grad = self._requires_grad
        memo[id(self)] = out
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        return out

    # -- device and dtype moves ------------------------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``, each followed by
        ``non_blocking`` and ``copy`` (positional or keywords); differentiable."""
        dev, dt = _parse_to(args, kwargs)
        flags = [a for a in args if isinstance(a, bool)]
        non_blocking = kwargs.get("non_blocking", flags[0] if flags else False)
        copy = kwargs.get("copy", flags[1] if len(flags) > 1 else False)
        from gradlite.ops.convert import to as _to

        return _to(self, dev, dt, copy, non_blocking)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """A copy on the CUDA device ``device`` (default: the current one); asynchronous with respect to
        the host for a pinned tensor with ``non_blocking=True``."""
        if device is None:
            device = "cuda"
        elif not isinstance(device, (str, _Device)):
            device = f"cuda:{int(device)}"
        return self.to(device, non_blocking=non_blocking)

    def get_device(self) -> int:
        """The index of a CUDA tensor's device; -1 for a CPU tensor."""
        return -1 if self._device.type == "cpu" else self._device.index

    def is_pinned(self) -> bool:
        """Whether a CPU tensor's memory is pinned (page-locked); False for CUDA tensors and without CuPy."""
        from gradlite import backends

        if self._device.type != "cpu" or backends._cuda is None:  # (nothing was pinned without CuPy loaded)
            return False
        return backends._cuda.is_pinned(self._data)

    def pin_memory(self) -> Tensor:
        """A copy of a CPU tensor in pinned memory (self if already pinned), from which ``cuda(non_blocking=
        True)`` copies asynchronously; differentiable."""
        from gradlite import backends
        from gradlite.ops._base import apply

        if self._device.type != "cpu":
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
        if not backends.cuda_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        b, cpu = backends.cuda_backend(), self._device.backend
        if b.is_pinned(self._data):
            return self
        data = cpu.from_host(b.pin(cpu.to_host(self._data)))  # (NumPy: the pinned array itself)
        return apply("PinMemoryBackward0", data, (self,), (lambda gy: gy,))

    def type(self, dtype=None):
        """Without arguments, the type string ('gradlite.FloatTensor'); with one, a cast."""
        if dtype is None:
            prefix = "gradlite.cuda." if self._device.type == "cuda" else "gradlite."
            return prefix + _TYPE_NAMES[_dtype_of(self._data).name]
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            name = dtype.rsplit(".", 1)[-1]
            dtype = next(k for k, v in _TYPE_NAMES.items() if v == name)
        return self.to(as_dtype(dtype))

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)


class Size(tuple):
    """A shape, printed as PyTorch prints it: ``gradlite.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"gradlite.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


_TYPE_NAMES = {
    "float16": "HalfTensor",
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "int16": "ShortTensor",
    "int32": "IntTensor",
    "int64": "LongTensor",
    "bool": "BoolTensor",
}

# backend dtype object -> gradlite dtype; filled per backend dtype on first sight.
_DTYPE_OF: dict = {}


def _dtype_of(a) -> dtypes.dtype:
    dt = a.dtype
    d = _DTYPE_OF.get(dt)
    if d is None:
        name = getattr(dt, "name", None) or str(dt).rsplit(".", 1)[-1].strip("')")
        if name not in dtypes.BY_NAME:
            raise TypeError(f"gradlite does not support arrays of dtype {dt}")
        d = _DTYPE_OF[dt] = dtypes.BY_NAME[name]
    return d


def _make(data, dev=CPU, requires_grad=False, grad_fn=None, cls=Tensor) -> Tensor:
    """Wrap a backend array as a Tensor (no copy): the one constructor every op uses."""
    if data.__class__ is not dev.backend.array_type:  # (a full reduction's NumPy scalar: a 0-d array, so
        data = dev.backend.xp.asarray(data)  # in-place ops and views work on it as on any tensor)
    t = _new(cls)
    t._data = data
    t._device = dev
    t._requires_grad = requires_grad
    t._grad = None
    t._grad_fn = grad_fn
    t._output_nr = 0
    t._version = [0]
    # made inside inference_mode (the class flag first: a plain attribute, cheaper than the thread's)
    t._meta = {"inference": True} if _GradState.inference_used and _grad_state.inference else None
    return t


def _meta(t: Tensor) -> dict:
    """The tensor's dict of rarely used state, created on first use."""
    m = t._meta
    if m is None:
        m = t._meta = {}
    return m


def _wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """Turn a possibly negative dim into an index, raising IndexError as PyTorch does."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def _parse_to(args, kwargs):
    dev = kwargs.get("device")
    dt = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a._device, _dtype_of(a._data)
        elif isinstance(a, bool):  # (non_blocking, copy: read by ``to``)
            continue
        elif isinstance(a, (str, device)) or isinstance(a, int):
            if isinstance(a, str) and a in dtypes.BY_NAME and a not in ("cpu", "cuda"):
                dt = a
            else:
                dev = a
        elif a is not None:
            dt = a
    return (None if dev is None else resolve(dev)), (None if dt is None else as_dtype(dt))


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def grad_enabled() -> bool:
    return _grad_state.grad_enabled


# -- hooks and retention (methods kept here: they are about the tensor's autograd state) --------------
def register_hook(self: Tensor, hook):
    """``hook(grad) -> grad | None`` runs when this tensor's gradient is computed; may replace it."""
    from gradlite.autograd.node import RemovableHandle

    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self._grad_fn is None:
        hooks = _meta(self).setdefault("hooks", [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)
    handle = self._grad_fn._add_pre_hook(self._output_nr, hook)
    # retain_grad's hook stays last, so it stores the gradient after every other hook changed it
    hooks = self._grad_fn._pre_hooks[self._output_nr]
    hooks.sort(key=lambda h: getattr(h, "_retains_grad", False))
    return handle


def retain_grad(self: Tensor) -> None:
    """Populate ``.grad`` of this non-leaf tensor during backward."""
    import weakref

    if not self._requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if self._grad_fn is None or (self._meta and self._meta.get("retains_grad")):
        return
    ref = weakref.ref(self)

    def store(grad):
        t = ref()
        if t is not None:
            g = grad
            if grad._grad_fn is None:  # wraps an array of the engine's: keep a copy of its own
                g = _make(grad._device.backend.xp.asarray(grad._data, copy=True), grad._device)
            t._grad = g if t._grad is None else t._grad + g

    store._retains_grad = True
    self._grad_fn._add_pre_hook(self._output_nr, store)
    _meta(self)["retains_grad"] = store  # the hook itself: an in-place op moves it to the new grad_fn


def register_post_accumulate_grad_hook(self: Tensor, hook):
    """``hook(tensor)`` runs on a leaf after its ``.grad`` has been accumulated."""
    from gradlite.autograd.node import RemovableHandle

    if self._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    hooks = _meta(self).setdefault("post_accumulate_hooks", [])
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def is_inference(self: Tensor) -> bool:
    """True for a tensor made inside ``inference_mode``: it can never enter autograd."""
    return bool(self._meta and self._meta.get("inference"))


Tensor.is_inference = is_inference
Tensor.register_hook = register_hook
Tensor.retain_grad = retain_grad
Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
