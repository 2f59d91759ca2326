"""``cupy.linalg`` on the stand-in: NumPy's, with CuPy's restrictions (``solve`` does not broadcast batch
dimensions; a singular or non-positive-definite matrix gives NaN rather than an error, as cuSOLVER without
``cupyx.errstate(linalg="raise")``)."""

from __future__ import annotations

import cupy as _cp
import numpy as _np

__all__ = []
for _name in _np.linalg.__all__:
    if _name in ("LinAlgError",) or _name.startswith("_"):
        continue
    globals()[_name] = _cp._function(getattr(_np.linalg, _name), _name)
    __all__.append(_name)
LinAlgError = _np.linalg.LinAlgError
_errstate = {"linalg": "ignore"}


def _or_nan(fn, name, out_like):
    def f(a, *args, **kwargs):
        try:
            return _cp._call(fn, (a, *args), kwargs)
        except _np.linalg.LinAlgError:
            if _errstate["linalg"] == "raise":
                raise
            return _cp.full(out_like(a, *args), _np.nan, dtype=_cp.result_type(a, *args))

    f.__name__ = name
    return f


inv = _or_nan(_np.linalg.inv, "inv", lambda a: a.shape)
cholesky = _or_nan(_np.linalg.cholesky, "cholesky", lambda a: a.shape)
_solve = _or_nan(_np.linalg.solve, "solve", lambda a, b: b.shape)


def solve(a, b):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise _np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    if a.shape[:-1] != b.shape[: a.ndim - 1]:
        raise ValueError("a must have (..., M, M) shape and b must have (..., M) or (..., M, K)")
    return _solve(a, b)
