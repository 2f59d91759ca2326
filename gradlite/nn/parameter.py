"""``nn.Parameter``: a leaf tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from gradlite.tensor import Tensor, _make


class Parameter(Tensor):
    """A tensor that is a module parameter: ``requires_grad=True`` by default; shares the given data."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from gradlite.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        p = _make(data._data, data._device, cls=cls)
        p._version = data._version
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        raise TypeError("gradlite parameters are not picklable; use gradlite.save(model.state_dict(), path)")
