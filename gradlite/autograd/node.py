"""Graph nodes: what an op records so that backward can send gradients to its inputs.

A node holds, per input, an *edge* (where that input's gradient goes) and a backward function; it holds
the tensors its backward functions need (captured by those closures), never its own outputs strongly:
an op that needs its output keeps the output's array and rebuilds the tensor on demand. So no reference
cycle exists between tensors and nodes, and a graph is freed as soon as nothing refers to its outputs.
"""

from __future__ import annotations

# Edge to a leaf tensor: (tensor, LEAF, shape, dtype). Edge to an interior node: (node, output_nr, ...).
LEAF = -1

# The node of an op PyTorch gives no derivative (its backward raises); ``name()`` as PyTorch's
NOT_IMPLEMENTED = "torch::autograd::NotImplemented"

_classes: dict[str, type] = {}

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
    "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
    "or if you need to access saved tensors after calling backward."
)


def identity(gy, *_):
    """The backward function of an input that gets the output's gradient unchanged (add, sub's first
    operand): the engine recognises it and passes the gradient on without a call."""
    return gy


def zero(gy, *_):
    """The backward function of an input whose gradient is zero by the op's definition (floor, sign,
    ``fill_``, ...): zeros shaped as ``gy`` (a tensor, or an array on the engine's raw path). Never
    ``gy * 0``: that is NaN where ``gy`` is infinite or NaN, and PyTorch gives 0 there."""
    data = getattr(gy, "_data", None)
    if data is not None:  # a tensor: a constant, nothing to differentiate under create_graph
        from gradlite.tensor import _make

        return _make(gy._device.backend.xp.zeros_like(data), gy._device)
    from gradlite.autograd.engine import _array_device

    return _array_device(gy).backend.xp.zeros_like(gy)


class Node:
    """A recorded op, named as PyTorch names it (``MulBackward0``, ...): ``name()``, and the class of the node
    a user sees (``t.grad_fn``, ``next_functions``).

    Built-in ops record plain ``Node`` objects and keep the name in ``_name``: with one class, CPython's
    attribute caches stay specialised in ``apply`` and the engine, whose attribute reads and writes on a
    mix of classes cost about a tenth of an op's overhead. ``named`` gives a node its named class (a
    subclass with the same layout) when a user first sees it.
    """

    __slots__ = (
        "_name",
        "_fns",  # tuple of per-input backward functions, or one function returning a tuple (custom ops)
        "_args",  # None (``_fns`` are closures ``fn(g)``), or the tensors/values of ``fn(g, *args)``
        "_rargs",  # with ``_args``: the arrays (and values) the same functions take without create_graph
        "_rfns",  # with ``_args``: array versions of ``_fns`` where they differ (None: ``_fns`` serve both)
        "_dev",  # the device of the node's outputs (gradients arrive there)
        "_edges",  # per input: None (needs no gradient) or (target, output_nr, shape, dtype)
        "_saved",  # ((tensor, version_counter, version), ...) checked before backward runs
        "_out",  # None, or (array, version_counter, device) of an output the backward needs
        "_n_out",
        "_uses",  # how many edges were ever recorded into this node (>= its consumers in any backward)
        "_single",  # whether at most one edge is not None (then its gradient may be the node's own)
        "_hx",  # None, or the node's hooks and metadata (``_Extra``), made when first used
        "__weakref__",
    )

    def __init__(self, fns, edges, saved=(), out=None, n_out=1, dev=None, args=None, rargs=None, rfns=None):
        self._fns = fns
        self._edges = edges
        self._uses = 0
        count_uses(edges)
        self._single = sum(e is not None for e in edges) <= 1
        self._saved = saved
        self._out = out
        self._n_out = n_out
        self._dev = dev
        self._args = args
        self._rargs = rargs
        self._rfns = rfns
        self._hx = None
        self._name = type(self).__name__

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:  # (the class's name: ``name()`` may be qualified, torch::autograd::...)
        return f"<{self.name().rsplit('::', 1)[-1]} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """Per input: (node, output_nr), (AccumulateGrad, 0) for a leaf, or (None, 0)."""
        out = []
        for e in self._edges:
            if e is None:
                out.append((None, 0))
            elif e[1] == LEAF:
                out.append((AccumulateGrad(e[0]), 0))
            else:
                out.append((named(e[0]), e[1]))
        return tuple(out)

    @property
    def _pre_hooks(self) -> dict | None:
        """``{output_nr: [hook(grad) -> grad | None]}`` (tensor hooks, retain_grad; None: the node's own)."""
        return None if self._hx is None else self._hx.pre_hooks

    @property
    def _hooks(self) -> list | None:
        """``[hook(grad_inputs, grad_outputs)]``, run after the node."""
        return None if self._hx is None else self._hx.hooks

    @property
    def metadata(self) -> dict:
        """A dict the user may fill, kept with the node (anomaly mode stores the forward's trace there)."""
        hx = self._extra()
        if hx.metadata is None:
            hx.metadata = {}
        return hx.metadata

    def _extra(self) -> _Extra:
        if self._hx is None:
            self._hx = _Extra()
        return self._hx

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward; may return new grad_inputs."""
        hx = self._extra()
        if hx.hooks is None:
            hx.hooks = []
        hx.hooks.append(fn)
        return RemovableHandle(hx.hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; may return new grad_outputs."""
        return self._add_pre_hook(None, fn)

    def _add_pre_hook(self, output_nr, fn):
        hx = self._extra()
        if hx.pre_hooks is None:
            hx.pre_hooks = {}
        hooks = hx.pre_hooks.setdefault(output_nr, [])
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def _release(self) -> None:
        """Free what the backward needed (called after backward unless retain_graph).

        A node that saved no tensor keeps its functions: as in PyTorch, a second backward through it is
        legal (``y = (x + 1).sum(); y.backward(); y.backward()`` accumulates twice).
        """
        if saves_nothing(self):
            return
        self._fns = self._args = self._rargs = self._rfns = None
        self._saved = ()
        self._out = None


class _Extra:
    """What few nodes have: hooks and metadata. Kept apart so that recording a node writes one slot for them
    (``Node._hx``, None) and the engine reads one to know that a node has no hooks."""

    __slots__ = ("pre_hooks", "hooks", "metadata")

    def __init__(self):
        self.pre_hooks = self.hooks = self.metadata = None


def saves_nothing(node) -> bool:
    """Whether ``node`` holds no tensor or array for its backward: no saved tensor, no output, and none
    among its arguments (``_rargs`` holds the arrays of ``_args``) or in its closures' cells.

    Runs once per node of every backward: the common cases (arguments of known classes, shapes among
    them; module-level functions) are decided inline, with set operations in C; the rest by ``_plain``."""
    if node._saved or node._out is not None:
        return False
    fns = node._fns
    if fns is None:
        return False
    a = node._rargs
    if a is None:
        a = node._args
    if a:
        plain = _PLAIN_CLASSES
        if not plain.issuperset(map(type, a)):
            for v in a:
                c = v.__class__
                if c in plain or (c is tuple and plain.issuperset(map(type, v))):  # (shapes)
                    continue
                if c in _DATA_CLASSES or not _plain(a, None):
                    return False
                break
    if fns.__class__ is tuple:
        for f in fns:
            if f.__class__ is not _FUNCTION_TYPE or f.__closure__ is not None:
                return _plain(fns, None)
        return True
    return _plain((fns,), None)


def _plain(values, seen) -> bool:
    """Whether ``values`` hold no tensor or array (a class with a shape and a dtype), looking into tuples,
    lists, dicts, closures and bound methods (``seen``: the closures on the way, or None)."""
    if _PLAIN_CLASSES.issuperset(map(type, values)):
        return True
    for v in values:
        c = v.__class__
        if c in _PLAIN_CLASSES:
            continue
        kind = _KINDS.get(c)
        if kind is None:
            kind = _KINDS[c] = _kind(c)
            if kind == _PLAIN:
                _PLAIN_CLASSES.add(c)
                continue
            if kind == _DATA:
                _DATA_CLASSES.add(c)
        if kind == _DATA:
            return False
        if kind == _ITEMS:
            if not _plain(v.values() if c is dict else v, seen):
                return False
            continue
        if kind == _FUNCTION:
            cells = v.__closure__
            if cells is None:
                continue
        if seen is None:
            seen = set()
        elif id(v) in seen:  # (a closure that refers to itself)
            continue
        seen.add(id(v))
        if kind == _METHOD:
            contents = (v.__self__, v.__func__)
        else:
            contents = []
            for cell in cells:
                try:
                    contents.append(cell.cell_contents)
                except ValueError:  # (a cell not filled yet)
                    pass
        if not _plain(contents, seen):
            return False
    return True


_PLAIN, _DATA, _ITEMS, _FUNCTION, _METHOD = range(5)


def _kind(c: type) -> int:
    if c in (tuple, list, dict):
        return _ITEMS
    if c is _FUNCTION_TYPE:
        return _FUNCTION
    if c is _METHOD_TYPE:
        return _METHOD
    # an array or a tensor: a shape and a dtype on the class (a namespace has them only on the instance)
    return _DATA if hasattr(c, "shape") and hasattr(c, "dtype") else _PLAIN


_FUNCTION_TYPE = type(_kind)
_METHOD_TYPE = type(Node._release.__get__(object.__new__(Node)))
_KINDS: dict = {}  # class -> kind, found once per class
_PLAIN_CLASSES = {int, float, bool, str, type(None), slice, type(Ellipsis)}  # (both grow with _KINDS)
_DATA_CLASSES: set = set()


def count_uses(edges) -> None:
    """Count a new node's edges into the nodes they lead to (``Node._uses``): a node used once runs as soon
    as its one consumer has sent its gradient, without counting the graph first (the engine)."""
    for e in edges:
        if e is not None and e[1] != LEAF:
            e[0]._uses += 1


class AccumulateGrad:
    """The node PyTorch shows for a leaf in ``next_functions``; ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def node_class(name: str) -> type:
    """The Node subclass named ``name`` (``MulBackward0``), made once and cached."""
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name.rsplit("::", 1)[-1], (Node,), {"__slots__": ()})
    return cls


def named(node):
    """``node`` as a user sees it: a built-in op's plain ``Node`` becomes an instance of its named class
    (the same object, so ``y.grad_fn is y.grad_fn`` and graph walks compare nodes by identity)."""
    if node.__class__ is Node:
        node.__class__ = node_class(node._name)
    return node
