"""In-place random fills (``uniform_``, ``normal_``) and ``randperm``."""

from __future__ import annotations

from gradlite.autograd.grad_mode import no_grad
from gradlite.dtypes import as_dtype
from gradlite.ops._base import tensor_method
from gradlite.ops.inplace import assign, check_inplace
from gradlite.tensor import Tensor, _make


def _fill_random(x: Tensor, kind: str, generator=None, **kw) -> Tensor:
    check_inplace(x)
    b = x._device.backend
    gen = None if generator is None else generator._rng(x._device)
    import numpy as np

    data = b.random(kind, x._data.shape, np.dtype(x.dtype.name), x._device.index, generator=gen, **kw)
    if not isinstance(data, b.array_type):
        data = b.from_host(data)
    with no_grad():
        return assign(x, _make(data, x._device), kind)


@tensor_method()
def uniform_(x: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with samples uniform on [a, b)."""
    return _fill_random(x, "uniform", generator, low=float(a), high=float(b))


@tensor_method()
def normal_(x: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with samples from N(mean, std**2)."""
    return _fill_random(x, "normal", generator, mean=float(mean), std=float(std))


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    import numpy as np

    from gradlite.creation import tensor
    from gradlite.device import resolve

    dev = resolve(device)
    if generator is not None and dev.type == "cuda":  # (a CUDA generator: the order of random keys)
        b = dev.backend
        with b.context(dev.index):
            perm = b.xp.argsort(generator._rng(dev).random((int(n),), dtype="float64"))
        return _make(b.xp.astype(perm, b.dtype(as_dtype(dtype or "int64").name)), dev)
    rng = generator._rng(resolve("cpu")) if generator is not None else resolve("cpu").backend.generator()
    if not hasattr(rng, "permutation"):
        rng = np.random.default_rng()
    perm = rng.permutation(int(n))
    return tensor(np.asarray(perm, dtype=np.int64), dtype=dtype or "int64", device=dev)
