"""``gradlite.cuda``: devices, streams and events, synchronisation, seeding and memory statistics, with the
signatures and meanings of ``torch.cuda``.

``is_available()`` and ``device_count()`` never raise: without CuPy or a driver they answer False / 0.
Seeding without CUDA does nothing (PyTorch defers it until CUDA starts, which never happens then). Every
other function raises RuntimeError saying which extra to install, or what is wrong with the driver.
"""

from __future__ import annotations

from gradlite import backends


def is_available() -> bool:
    return backends.cuda_available()


def device_count() -> int:
    return backends.cuda_device_count()


def _b():
    """The CuPy backend (raises the install / driver error without CUDA)."""
    return backends.cuda_backend()


# -- devices ---------------------------------------------------------------------------------------------
def current_device() -> int:
    """The index of this thread's current CUDA device."""
    return _b().cp.cuda.runtime.getDevice()


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a gradlite.device) this thread's current device; a
    negative index does nothing, as in PyTorch."""
    i = _index(device)
    if i is not None and i >= 0:
        _b().cp.cuda.runtime.setDevice(i)


class device:
    """Context manager that makes ``device`` the current CUDA device, as ``torch.cuda.device``:
    ``with gradlite.cuda.device(1): x = gradlite.zeros(3, device="cuda")`` puts x on cuda:1. None or a
    negative index changes nothing."""

    def __init__(self, device):
        self.idx = _index(device)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx is None or self.idx < 0:
            return self
        runtime = _b().cp.cuda.runtime
        self.prev_idx = runtime.getDevice()
        if self.prev_idx != self.idx:
            runtime.setDevice(self.idx)
        return self

    def __exit__(self, *exc) -> bool:
        if self.idx is not None and self.idx >= 0 and self.prev_idx != self.idx:
            _b().cp.cuda.runtime.setDevice(self.prev_idx)
        return False


class device_of(device):
    """Context manager that makes the device of tensor ``obj`` current (nothing for a CPU tensor)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


class _CudaDeviceProperties:
    """What ``get_device_properties`` returns: ``name``, ``total_memory`` (bytes), ``major``, ``minor``,
    ``multi_processor_count``."""

    def __init__(self, props: dict):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self.total_memory = int(props["totalGlobalMem"])
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // (1024 * 1024)}MB, "
            f"multi_processor_count={self.multi_processor_count})"
        )


def get_device_properties(device=None) -> _CudaDeviceProperties:
    """The properties of ``device`` (default: the current device)."""
    i = _resolved(device)
    b = _b()
    if not 0 <= i < b.device_count():
        raise AssertionError("Invalid device id")  # (PyTorch's error)
    return _CudaDeviceProperties(b.cp.cuda.runtime.getDeviceProperties(i))


def get_device_name(device=None) -> str:
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple[int, int]:
    p = get_device_properties(device)
    return p.major, p.minor


# -- streams and events ------------------------------------------------------------------------------------
class Stream:
    """A CUDA stream (``torch.cuda.Stream``) on ``device`` (default: the current device). Ops run on the
    current stream: make this one current with ``gradlite.cuda.stream(s)``."""

    def __init__(self, device=None, priority: int = 0, **kwargs):
        b = _b()
        i = _resolved(device)
        with b.context(i):
            self._init(b.cp.cuda.Stream(non_blocking=False), i, priority)

    def _init(self, s, index: int, priority: int = 0) -> None:
        from gradlite.device import device as _device

        self._s, self.device, self.priority = s, _device("cuda", index), priority

    @classmethod
    def _wrap(cls, s, index: int) -> Stream:
        out = object.__new__(cls)
        out._init(s, index)
        return out

    @property
    def cuda_stream(self) -> int:
        """The cudaStream_t handle (0 for the default stream)."""
        return self._s.ptr

    def query(self) -> bool:
        """Whether all work queued on the stream has finished (no wait)."""
        return self._s.done

    def synchronize(self) -> None:
        """Wait for all work queued on the stream (a host sync)."""
        self._s.synchronize()

    def wait_event(self, event: Event) -> None:
        """Make later work on this stream wait for ``event`` (no host sync)."""
        if event._e is not None:
            self._s.wait_event(event._e)

    def wait_stream(self, stream: Stream) -> None:
        """Make later work on this stream wait for the work queued so far on ``stream``."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return (isinstance(other, Stream) and self.cuda_stream == other.cuda_stream
                and self.device == other.device)

    def __hash__(self) -> int:
        return hash((self.cuda_stream, self.device))

    def __repr__(self) -> str:
        return f"<gradlite.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"


def current_stream(device=None) -> Stream:
    """The stream ops on ``device`` (default: the current device) run on."""
    b = _b()
    i = _resolved(device)
    with b.context(i):
        return Stream._wrap(b.cp.cuda.get_current_stream(), i)


def default_stream(device=None) -> Stream:
    """The default (null) stream of ``device``."""
    b = _b()
    return Stream._wrap(b.cp.cuda.Stream.null, _resolved(device))


class StreamContext:
    """Context manager that makes ``stream`` (and its device) current; None does nothing."""

    def __init__(self, stream: Stream | None):
        self.stream = stream
        self._device = None if stream is None else device(stream.device.index)

    def __enter__(self):
        if self.stream is not None:
            self._device.__enter__()
            self.stream._s.__enter__()
        return self.stream

    def __exit__(self, *exc) -> bool:
        if self.stream is not None:
            self.stream._s.__exit__(*exc)
            self._device.__exit__(*exc)
        return False


def stream(stream: Stream | None) -> StreamContext:
    """``with gradlite.cuda.stream(s): ...`` runs the ops of the block on stream ``s``."""
    return StreamContext(stream)


def set_stream(stream: Stream) -> None:
    """Make ``stream`` the current stream of its device (prefer the ``stream(s)`` context manager)."""
    if stream is not None:
        with device(stream.device.index):
            stream._s.use()


class Event:
    """A CUDA event (``torch.cuda.Event``): a marker in a stream, to wait on or to time between. Created on
    the device of the stream it is first recorded on, as PyTorch's."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False):
        _b()  # (raises without CUDA, as PyTorch's Event)
        self.enable_timing, self.blocking, self.interprocess = enable_timing, blocking, interprocess
        self._e = None

    def record(self, stream: Stream | None = None) -> None:
        """Record the event in ``stream`` (default: the current stream)."""
        stream = current_stream() if stream is None else stream
        b = _b()
        if self._e is None:
            with b.context(stream.device.index):
                self._e = b.cp.cuda.Event(
                    block=self.blocking, disable_timing=not self.enable_timing, interprocess=self.interprocess
                )
        with b.context(stream.device.index):
            self._e.record(stream._s)

    def wait(self, stream: Stream | None = None) -> None:
        """Make later work on ``stream`` (default: the current stream) wait for this event."""
        (current_stream() if stream is None else stream).wait_event(self)

    def query(self) -> bool:
        """Whether the work before the event has finished (True for an event never recorded)."""
        return True if self._e is None else self._e.done

    def synchronize(self) -> None:
        """Wait for the work before the event (a host sync)."""
        if self._e is not None:
            self._e.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, with enable_timing)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if self._e is None or end_event._e is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return float(_b().cp.cuda.get_elapsed_time(self._e, end_event._e))

    def __repr__(self) -> str:
        return f"<gradlite.cuda.Event {'recorded' if self._e is not None else 'uninitialized'}>"


def synchronize(device=None) -> None:
    """Wait for all queued work on the device (a host sync: for timing, never inside ops)."""
    _b().synchronize(_resolved(device))  # (None: the current device, as PyTorch)


# -- seeding -----------------------------------------------------------------------------------------------
def manual_seed(seed: int) -> None:
    """Seed the generator of the current CUDA device; nothing without CUDA (as PyTorch)."""
    if is_available():
        _b().manual_seed(int(seed), current_device())


def manual_seed_all(seed: int) -> None:
    """Seed the generators of every CUDA device; nothing without CUDA (as PyTorch)."""
    if is_available():
        _b().manual_seed(int(seed))


# -- memory statistics (CuPy's default memory pool) ----------------------------------------------------------
def memory_allocated(device=None) -> int:
    """Bytes held by live arrays in CuPy's memory pool of ``device`` (default: the current device)."""
    b = _b()
    i = _resolved(device)
    with b.context(i):  # CuPy's default pool answers for the current device
        return b.memory_allocated(i)


def max_memory_allocated(device=None) -> int:
    """The most bytes ``memory_allocated`` reached on ``device`` since the program started or
    ``reset_peak_memory_stats`` (tracked at each allocation on CuPy)."""
    return _b().max_memory_allocated(_resolved(device))


def reset_peak_memory_stats(device=None) -> None:
    """Start ``max_memory_allocated`` of ``device`` again from the current ``memory_allocated``."""
    _b().reset_peak_memory_stats(_resolved(device))


def memory_reserved(device=None) -> int:
    """Bytes CuPy's pool holds from the driver (live arrays plus cached free blocks)."""
    b = _b()
    i = _resolved(device)
    with b.context(i):
        return b.memory_reserved(i)


def empty_cache() -> None:
    """Return the memory pool's free blocks to the driver (every device); a no-op without CUDA."""
    if is_available():
        b = _b()
        for i in range(device_count()):
            with b.context(i):
                b.empty_cache()


def _resolved(device) -> int:
    """The device index ``device`` names, the current device for None."""
    i = _index(device)
    return current_device() if i is None else i


def _index(device) -> int | None:
    """The index in ``device`` (an int, ``"cuda:N"``, a gradlite.device), None where it names none; a CPU
    device raises, as PyTorch's."""
    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    from gradlite.device import device as _device

    d = _device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return d.index
