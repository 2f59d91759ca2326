"""Devices: ``cpu`` (the NumPy backend) and ``cuda`` / ``cuda:N`` (the CuPy backend)."""

from __future__ import annotations

from gradlite import backends


class device:
    """A device, as ``gradlite.device("cuda:0")``; compares equal to its string form."""

    # ``backend`` is a slot filled on first use (``__getattr__``): ops read it on every call, and a slot is
    # the cheapest attribute there is (a property would cost a Python call each time).
    __slots__ = ("type", "index", "_str", "backend")

    def __new__(cls, spec, index: int | None = None):
        if isinstance(spec, device):
            return spec
        return _parse(spec, index)

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self._str

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (ValueError, RuntimeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):  # copy, deepcopy and pickle give back the interned device
        return (device, (self._str,))

    def __getattr__(self, name: str):
        """``backend``, the first time: the backend object for this device (imports CuPy on first use of a
        CUDA device, raising there when it is missing)."""
        if name != "backend":
            raise AttributeError(f"'device' object has no attribute '{name}'")
        b = backends.cpu_backend() if self.type == "cpu" else backends.cuda_backend()
        if self.type == "cuda" and self.index is not None and self.index >= b.device_count():
            raise RuntimeError(
                f"CUDA error: invalid device ordinal: {self}, but {b.device_count()} CUDA device(s) are "
                "visible"
            )
        self.backend = b
        return b

    @property
    def _backend(self):
        """The backend if it has been loaded, else None (never loads it)."""
        try:
            return object.__getattribute__(self, "backend")
        except AttributeError:
            return None

    @_backend.setter
    def _backend(self, b) -> None:
        if b is not None:
            self.backend = b
        else:
            try:
                del self.backend
            except AttributeError:
                pass


_interned: dict = {}


def _parse(spec, index=None) -> device:
    key = (spec, index)
    d = _interned.get(key)
    if d is not None:
        return d
    if isinstance(spec, int) and not isinstance(spec, bool):
        typ, idx = "cuda", spec
    elif isinstance(spec, str):
        typ, _, rest = spec.partition(":")
        idx = index
        if rest:
            if index is not None or not rest.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            idx = int(rest)
    else:
        raise TypeError(f"device must be a string, an int or a gradlite.device, got {type(spec).__name__}")
    if typ not in ("cpu", "cuda"):
        raise RuntimeError(
            f"Expected one of cpu, cuda device type at start of device string: {spec}"
        )
    if typ == "cpu" and idx not in (None, 0):
        raise RuntimeError(f"CPU device index must be -1 or zero, got {idx}")
    name = typ if idx is None else f"{typ}:{idx}"
    d = _interned.get((name, None))  # one object per device however it was named: ops compare with ``is``
    if d is None:
        d = object.__new__(device)
        d.type, d.index, d._str = typ, idx, name
        _interned[(name, None)] = d
    _interned[key] = d
    return d


CPU = device("cpu")


def resolve(spec) -> device:
    """The concrete device a tensor lives on: ``cuda`` means the current CUDA device (``cuda:0`` unless
    ``gradlite.cuda.set_device`` or ``gradlite.cuda.device(...)`` said otherwise, as in PyTorch); ``None``
    means cpu."""
    if spec is None:
        return CPU
    d = device(spec)
    if d.type == "cuda":
        b = d.backend  # raises the 'install the cuda extra' (or driver) error early, at the call site
        if d.index is None:
            d = device("cuda", b.cp.cuda.runtime.getDevice())
            d.backend  # noqa: B018 -- (loaded once per device object)
    return d
