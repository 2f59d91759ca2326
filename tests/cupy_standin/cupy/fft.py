"""``cupy.fft`` on the stand-in: NumPy's."""

import cupy as _cp
import numpy as _np

__all__ = [n for n in dir(_np.fft) if not n.startswith("_") and callable(getattr(_np.fft, n))]
for _name in __all__:
    globals()[_name] = _cp._function(getattr(_np.fft, _name), _name)
