"""The NumPy backend: ``device="cpu"``."""

from __future__ import annotations

import contextlib

import array_api_compat.numpy as xp
import numpy as np

from ._common import check_bounds, draw


class NumpyBackend:
    name = "numpy"
    xp = xp
    # Arrays of this backend are instances of this type (used to recognise them in tensor()).
    array_type = np.ndarray

    def __init__(self):
        self.rng = np.random.default_rng()

    # -- dtypes -------------------------------------------------------------------------------
    def dtype(self, name: str):
        """The backend dtype object for a gradlite dtype name ('float32', 'int64', 'bool', ...)."""
        return np.dtype(name)

    def dtype_name(self, dt) -> str:
        return dt.name

    # -- host <-> device ----------------------------------------------------------------------
    def from_host(self, a: np.ndarray, index: int | None = None):
        """A backend array holding the values of a NumPy array (no copy when already one)."""
        return a

    def to_host(self, a) -> np.ndarray:
        return a

    def context(self, index: int | None):
        return contextlib.nullcontext()

    def synchronize(self, index: int | None = None) -> None:
        return None

    # -- what the array API lacks -------------------------------------------------------------
    def scatter_add(self, target, index, values) -> None:
        """``target[index] += values`` with repeated indices accumulating (np.add.at)."""
        np.add.at(target, index, values)

    check_bounds = staticmethod(check_bounds)

    def manual_seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def generator(self, index: int | None = None, seed: int | None = None):
        return self.rng if seed is None else np.random.default_rng(seed)

    def random(self, kind: str, shape, dtype, index=None, generator=None, **kw):
        """Random arrays: kind is 'uniform' (low, high), 'normal' (mean, std) or 'integers' (low, high)."""
        rng = generator if generator is not None else self.rng
        return draw(rng, kind, shape, dtype, **kw)
