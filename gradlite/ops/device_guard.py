"""Several GPUs: every public op runs on the device of its CUDA tensors, not on CuPy's current device.

CuPy computes and allocates on the current device, so an op on ``cuda:1`` tensors while device 0 is
current would run on device 0 (or fail where the GPUs have no peer access). With one GPU there is nothing
to choose and nothing here runs. With several, the CuPy backend calls ``install()`` once, when it is
created: every Tensor method and every public function of ``gradlite``, ``gradlite.nn.functional`` and
``gradlite.linalg`` is replaced by a wrapper that makes the device of its first CUDA tensor argument
current for the call when it is not already (PyTorch's device guard). Ops called from inside an op need no
wrapper: they run in the context their caller entered. Modules' forwards, backward and optimizer steps
enter their device themselves (``Module.__call__``, the engine, ``Optimizer.step``).
"""

from __future__ import annotations

import functools
import types

from gradlite.tensor import Tensor

_installed = False
_guarded: dict = {}  # function -> its wrapper (aliases such as ``clip_ = clamp_`` stay one object)


def _cuda_device(args):
    """The device of the first CUDA tensor among ``args`` (or in a first list/tuple argument), or None."""
    for a in args:
        if isinstance(a, Tensor):
            return a._device if a._device.type == "cuda" else None
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            d = a[0]._device
            return d if d.type == "cuda" else None
    return None


def guard(fn):
    """``fn`` run with the device of its first CUDA tensor argument made current."""
    g = _guarded.get(fn)
    if g is not None:
        return g

    @functools.wraps(fn)
    def on_device(*args, **kwargs):
        d = _cuda_device(args)
        if d is None:
            return fn(*args, **kwargs)
        b = d.backend
        if b.current_device() == d.index:
            return fn(*args, **kwargs)
        with b.context(d.index):
            return fn(*args, **kwargs)

    _guarded[fn] = _guarded[on_device] = on_device
    return on_device


def install() -> None:
    """Wrap every Tensor method and public op function (once; called by the CuPy backend when it sees
    more than one GPU)."""
    global _installed
    if _installed:
        return
    _installed = True
    import gradlite
    from gradlite import linalg
    from gradlite.nn import functional

    for name, v in list(vars(Tensor).items()):
        if isinstance(v, types.FunctionType) and name not in ("__init__", "__new__", "__init_subclass__"):
            setattr(Tensor, name, guard(v))
    for mod in (gradlite, functional, linalg):
        for name, v in list(vars(mod).items()):
            if (
                isinstance(v, types.FunctionType)
                and not name.startswith("_")
                and getattr(v, "__module__", "").startswith("gradlite")
            ):
                setattr(mod, name, guard(v))
