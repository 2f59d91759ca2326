"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``, on the device with no host sync."""

from __future__ import annotations

import math

from gradlite.ops.pointwise import clip_array
from gradlite.tensor import Tensor, _make


def _grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p._grad for p in parameters if p._grad is not None]
    devices = {g._device for g in grads}
    if len(devices) > 1:
        raise RuntimeError(
            f"clip_grad: the gradients are on several devices ({', '.join(sorted(map(str, devices)))}); "
            "clip each device's parameters separately"
        )
    return grads


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale the gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping as a 0-d tensor on the gradients' device. The scale factor is
    ``min(max_norm / (total + 1e-6), 1)`` computed on the device, so no value is read back to the host
    (unless ``error_if_nonfinite=True``, which has to look at the norm).
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        from gradlite.creation import tensor

        return tensor(0.0)
    dev = grads[0]._device
    if dev.type == "cuda" and dev.backend.multi_device:  # computed on the gradients' GPU
        with dev.backend.context(dev.index):
            return _clip_norm(grads, dev, max_norm, norm_type, error_if_nonfinite)
    return _clip_norm(grads, dev, max_norm, norm_type, error_if_nonfinite)


def _clip_norm(grads, dev, max_norm: float, norm_type: float, error_if_nonfinite: bool) -> Tensor:
    xp = dev.backend.xp
    if norm_type == math.inf:
        norms = [xp.max(xp.abs(g._data)) if g.numel() else xp.zeros((), dtype=g._data.dtype) for g in grads]
        total = xp.max(xp.stack(norms))
    else:
        norms = [xp.linalg.vector_norm(g._data, ord=norm_type) for g in grads]
        total = xp.linalg.vector_norm(xp.stack(norms), ord=norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            "cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    total = xp.asarray(total)
    coef = clip_array(xp, max_norm / (total + 1e-6), None, 1.0)
    for g in grads:
        g._data[...] = g._data * xp.asarray(coef, dtype=g._data.dtype)
        g._version[0] += 1
    return _make(total, dev)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = g._device.backend.xp
        g._data[...] = clip_array(xp, g._data, -clip_value, clip_value)
        g._version[0] += 1
