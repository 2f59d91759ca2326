"""The backward engine: an iterative reverse-topological traversal of the recorded graph.

1. Count, for every node reachable from the roots, how many edges lead into it (its consumers).
2. Start from the roots; a node runs once all its consumers have sent their gradient (count reaches 0),
   so each node runs exactly once with its total output gradient. No recursion: depth is unbounded.
   ``loss.backward()`` skips the count for nodes that only one edge was ever recorded into (``_uses``):
   their consumer is the node that sends their gradient, so they are ready then. The count is taken when
   the first node used more than once is reached (a chain of ops, as a training step's, counts nothing).
3. Each backward function runs on its node's device; gradients are summed back to the input's shape
   here, once, for every op (un-broadcasting), then cast to the input's dtype.
4. Leaf gradients are summed per leaf and accumulated into ``.grad`` at the end (hooks see the total).

Gradients are raw arrays unless ``create_graph`` asks for a differentiable backward: built-in ops give
their nodes module-level backward functions (``apply``'s ``args``), called on arrays here, so a backward
makes no tensor and dispatches no op per gradient. Closures written with gradlite ops (custom Functions,
rarer ops), hooks and ``autograd.grad`` results get tensors wrapped around the arrays. ``_run_raw`` is
that common case, inlined; ``_run`` handles everything (create_graph, ``inputs=``, anomaly mode).
"""

from __future__ import annotations

import operator
import threading

from gradlite.autograd import anomaly_mode
from gradlite.autograd.grad_mode import state
from gradlite.autograd.node import FREED, LEAF, identity, saves_nothing


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """``gradlite.autograd.backward``: accumulate into ``.grad`` of the leaves (or only of ``inputs``)."""
    tensors = _as_tuple(tensors)
    grads = _root_grads(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    only = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for t in inputs:
            if t._grad_fn is not None:
                t.retain_grad()  # as PyTorch: a non-leaf input gets its .grad filled
        only = inputs
    d = tensors[0]._device
    if d.type == "cuda" and d.backend.multi_device:  # backward runs on the first output's GPU
        with d.backend.context(d.index):
            run(tensors, grads, retain_graph, create_graph, inputs=only, accumulate=True)
    else:
        run(tensors, grads, retain_graph, create_graph, inputs=only, accumulate=True)


_FLOATING: dict = {}  # backend dtype -> whether it is a floating dtype


def backward_default(t, retain_graph) -> None:
    """``t.backward()`` with no ``gradient``, ``inputs`` or ``create_graph``: the training-loop call, with
    the checks of ``_root_grads`` and the set-up of ``run`` done for this case only."""
    data = t._data
    d = _FLOATING.get(data.dtype)
    if d is None:
        from gradlite.tensor import _dtype_of

        d = _FLOATING[data.dtype] = _dtype_of(data).is_floating_point
    if (
        not t._requires_grad
        or data.size != 1
        or not d
        or anomaly_mode._enabled
        or observer is not None
    ):
        return backward((t,), None, retain_graph)  # errors, and the general path
    prev = state.grad_enabled
    state.grad_enabled = False
    try:
        b = t._device.backend
        if t._device.type == "cuda" and b.multi_device:  # backward runs on the loss's GPU
            with b.context(t._device.index):
                _run_raw((t,), (b.xp.ones(data.shape, dtype=data.dtype),), retain_graph)
        else:
            g = b.xp.empty(data.shape, dtype=data.dtype)  # the root's gradient: ones
            g[...] = 1
            _run_raw((t,), (g,), retain_graph)
    finally:
        state.grad_enabled = prev


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """``gradlite.autograd.grad``: d outputs / d inputs, without touching ``.grad``."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported by gradlite")
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    if not inputs:
        raise RuntimeError("grad requires non-empty inputs.")
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _root_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    result = run(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=False)
    for i, g in enumerate(result):
        if g is None:
            if materialize_grads:
                from gradlite.creation import zeros_like

                result[i] = zeros_like(inputs[i])
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
    return tuple(result)


def _as_tuple(x, what="tensors") -> tuple:
    from gradlite.tensor import Tensor

    if isinstance(x, Tensor):
        return (x,)
    if not isinstance(x, (tuple, list)) or not all(isinstance(t, Tensor) for t in x):
        raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")
    return tuple(x)


def _root_grads(tensors, grad_tensors) -> list:
    """Check the roots and build their initial gradients (ones for scalars)."""
    from gradlite.tensor import Tensor, _make

    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    else:
        grad_tensors = (grad_tensors,) if isinstance(grad_tensors, Tensor) else tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"got {len(grad_tensors)} tensors and {len(tensors)} gradients")
    grads = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors, strict=True)):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not t.dtype.is_floating_point:
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got {t.dtype}"
                )
            xp = t._device.backend.xp
            g = _make(xp.ones_like(t._data), t._device)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradient must be a Tensor or None, got {type(g).__name__}")
            if g._data.shape != t._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a "
                    f"shape of {t.shape}."
                )
            if g._device is not t._device:
                raise RuntimeError(
                    f"invalid gradient at index {i} - expected device {t.device} but got {g.device}"
                )
            if g.dtype is not t.dtype:
                if g.dtype.is_floating_point != t.dtype.is_floating_point:
                    raise RuntimeError(
                        f"invalid gradient at index {i} - expected dtype {t.dtype} but got {g.dtype}"
                    )
                g = g.to(t.dtype)
        grads.append(g)
    return grads


def run(roots, root_grads, retain_graph, create_graph, inputs=None, accumulate=True):
    """Run backward from ``roots``. Returns the gradients of ``inputs`` when not accumulating."""
    prev = state.grad_enabled
    state.grad_enabled = bool(create_graph)
    try:
        return _run(roots, root_grads, retain_graph, create_graph, inputs, accumulate)
    finally:
        state.grad_enabled = prev


# An observer (``graph.explain_backward``) sees each node as it runs; None costs one check per node.
observer = None


def _run(roots, root_grads, retain_graph, create_graph, inputs, accumulate):
    anomaly = anomaly_mode._enabled
    obs = observer
    # Without create_graph gradients flow as raw arrays: no tensor is made per gradient and no op is
    # dispatched. Backward functions written for tensors get tensors wrapped around them.
    raw = not create_graph
    if raw and inputs is None and not anomaly and obs is None:
        return _run_raw(roots, [g._data for g in root_grads], retain_graph)
    # Where gradients are wanted: leaves (by id) and interior tensors (by (node, output_nr)).
    wanted_leaf = wanted_node = None
    results = None
    if inputs is not None:
        results = [None] * len(inputs)
        wanted_leaf, wanted_node = {}, {}
        for i, t in enumerate(inputs):
            if t._grad_fn is None:
                wanted_leaf[id(t)] = i
            else:
                wanted_node[(t._grad_fn, t._output_nr)] = i

    # 1. dependency counts over the reachable graph
    deps: dict = {}
    buffers: dict = {}
    fresh_buf: dict = {}  # node -> whether its buffered gradient's array belongs to this pass alone
    leaf_grads: dict = {}  # id(leaf) -> [leaf, grad, fresh]
    stack = []
    for t, g in zip(roots, root_grads, strict=True):
        if raw:
            g = g._data
        fn = t._grad_fn
        if fn is None:
            _to_leaf(leaf_grads, t, g, False)
            continue
        if fn not in deps:
            deps[fn] = 0
            stack.append(fn)
        _to_buffer(buffers, fn, t._output_nr, g)
    ready = list(stack)
    _count_consumers(stack, deps)
    ready = [n for n in ready if deps[n] == 0]
    # With ``inputs``, only nodes on a path to one of them run (PyTorch prunes the rest too).
    need = None if inputs is None else _needed(deps, wanted_leaf, wanted_node)

    # 2. traverse (in anomaly mode an error names the forward call of the node that raised it)
    node = None
    try:
        while ready:
            node = ready.pop()
            g = buffers.pop(node, None)
            gfresh = fresh_buf.pop(node, False)
            edges = node._edges
            kept = None
            trusted = True
            if need is not None and node not in need:
                gxs = (None,) * len(edges)
            else:
                gxs, kept, trusted, g = _node_grads(node, g, raw, need, wanted_leaf, wanted_node, results)
                if anomaly:
                    anomaly_mode.check_anomaly(node, _wrap_all(gxs) if raw else gxs)
                if node._hooks:
                    gxs = _run_post_hooks(node, gxs, g, raw)
                if obs is not None:
                    obs("node", node, _wrap_grad(g) if raw else g, _wrap_all(gxs) if raw else gxs)
                if not trusted:
                    gfresh = False
                if not retain_graph:
                    node._release()
            gdata = g if raw else (None if g is None or type(g) is list else g._data)
            if type(gdata) is list:
                gdata = None
            gbase = getattr(gdata, "base", None)
            single = sum(gx is not None for gx in gxs) <= 1
            seen = set()
            for i, e in enumerate(edges):
                if e is None:
                    continue
                target, nr = e[0], e[1]
                gx = gxs[i]
                if nr == LEAF:
                    if gx is not None:
                        d = gx if raw else gx._data
                        fresh = trusted and _fresh(d, gdata, gbase, gfresh, single, kept, seen)
                        _to_leaf(leaf_grads, target, gx, fresh)
                    continue
                if gx is not None:
                    if target._n_out == 1 and target not in buffers:
                        buffers[target] = gx
                        fresh_buf[target] = trusted and _fresh(
                            gx if raw else gx._data, gdata, gbase, gfresh, single, kept, seen
                        )
                    else:
                        _to_buffer(buffers, target, nr, gx)
                        fresh_buf[target] = True
                d = deps[target] - 1
                deps[target] = d
                if d == 0:
                    ready.append(target)
    except Exception:
        if anomaly and node is not None:
            anomaly_mode.warn_error_in(node)
        raise

    # 3. leaves (in PyTorch, their AccumulateGrad nodes): tensor hooks, then accumulation
    for leaf, g, fresh in leaf_grads.values():
        if wanted_leaf is not None:
            i = wanted_leaf.get(id(leaf))
            if i is None:
                continue
        hooks = leaf._meta and leaf._meta.get("hooks")
        if hooks:
            if raw:
                g = _wrap(g, leaf._device)
            for h in list(hooks):
                r = h(g)
                if r is not None:
                    g, fresh = _hooked(h, g, r), False
            if raw:
                g = g._data
        if obs is not None:
            obs("leaf", leaf, _wrap(g, leaf._device) if raw else g, None)
        if wanted_leaf is not None and not accumulate:
            results[i] = _wrap(g, leaf._device) if raw else g
            continue
        _accumulate(leaf, g, fresh, create_graph)
    return results


def _node_grads(node, g, raw, need, wanted_leaf, wanted_node, results):
    """Run one node's backward: its pre-hooks, then its functions. ``(gxs, kept, trusted, g)``: the input
    gradients (fitted to the inputs' shapes and dtypes), what they could view (for ``_fresh``), whether
    built-in code made them, and the output gradient after the pre-hooks."""
    if node._pre_hooks:
        g = _run_pre_hooks(node, g, raw)
    if wanted_node:
        _capture(node, g, wanted_node, results, raw)
    fns = node._fns
    if fns is None:
        raise RuntimeError(FREED)
    saved = node._saved
    if saved:  # the common case (nothing modified) without a call; the error is built there
        for _t, vc, v in saved:
            if vc[0] != v:
                _check_versions(node)
    edges = node._edges
    a = node._args
    if a is None:
        gxs, kept, trusted = _closure_grads(node, fns, g, edges, need, wanted_leaf, raw)
        return gxs, kept, trusted and not node._pre_hooks and not node._hooks, g
    # module-level functions fn(g, *args[, y])
    if raw:
        if node._rfns is not None:
            fns = node._rfns
        a = node._rargs if node._rargs is not None else _arrays(a)
        if node._out is not None:
            a = (*a, node._out[0])
        kept = a
    else:
        if node._out is not None:
            a = (*a, _rebuild_output(node))
        kept = _arrays(a)
    gxs = []
    for i, fn in enumerate(fns):
        e = edges[i]
        if (
            e is None
            or g is None
            or (need is not None and (id(e[0]) not in wanted_leaf if e[1] == LEAF else e[0] not in need))
        ):
            gxs.append(None)
            continue
        gx = fn(g, *a)
        if gx is not None:
            if raw:
                if gx.shape != e[2] or gx.dtype != e[3]:
                    gx = _fit_array(node, gx, e[2], e[3], i)
            elif gx._data.shape != e[2] or gx._data.dtype != e[3]:
                gx = _fit(node, gx, e[2], e[3], i)
        gxs.append(gx)
    return gxs, kept, not node._pre_hooks and not node._hooks, g


def _run_raw(roots, root_grads, retain_graph):
    """The common backward, ``run`` without create_graph, ``inputs``, anomaly mode or an observer
    (``root_grads`` are arrays).

    The same traversal as ``_run`` on gradient arrays, with the built-in-op case inlined (a node with
    module-level backward functions, one output and no hooks); any other node goes through
    ``_node_grads``, as in ``_run``. Kept apart because each line here runs once per node of every
    backward: this loop is most of the engine's cost.
    """
    buffers: dict = {}  # node -> [gradient array (or per-output list), fresh]
    leaf_grads: dict = {}  # id(leaf) -> [leaf, grad, fresh]
    # ``node`` is set when the next node to run is known with its gradient (``g``, ``gfresh``): the root of a
    # single-output tensor, then each input that the node before made ready as its only consumer.
    node = None
    fn = roots[0]._grad_fn
    if len(roots) == 1 and fn is not None and fn._n_out == 1:  # ``loss.backward()``
        # A node used once (``_uses``) is ready when its one consumer has sent its gradient; the consumers
        # of the others are counted (``deps``) when the first of them is reached: a chain counts nothing.
        root, deps, lazy = fn, None, True
        node, g, gfresh = fn, root_grads[0], False
        ready = []
    else:
        deps, lazy = {}, False
        stack = []
        for t, g in zip(roots, root_grads, strict=True):
            fn = t._grad_fn
            if fn is None:
                _to_leaf(leaf_grads, t, g, False)
                continue
            if fn not in deps:
                deps[fn] = 0
                stack.append(fn)
            if fn._n_out == 1:
                old = buffers.get(fn)
                buffers[fn] = [g if old is None else old[0] + g, False]
            else:
                slot = buffers.setdefault(fn, [[None] * fn._n_out, False])[0]
                slot[t._output_nr] = g if slot[t._output_nr] is None else slot[t._output_nr] + g
        ready = list(stack)
        _count_consumers(stack, deps)
        ready = [n for n in ready if deps[n] == 0]
    pop, push = ready.pop, ready.append
    while True:
        if node is None:
            if not ready:
                break
            node = pop()
            entry = buffers.pop(node, None)
            g, gfresh = (None, False) if entry is None else entry
        edges = node._edges
        a = node._args
        if a is None or node._hx is not None or g is None:  # the general path (hooks, ...): gradients first
            gxs, kept, trusted, g = _node_grads(node, g, True, None, None, None, None)
            if node._hooks:
                gxs = _run_post_hooks(node, gxs, g, True)
            if not trusted:
                gfresh = False
            if not retain_graph:
                node._release()
            single = sum(gx is not None for gx in gxs) <= 1
            gdata = None if type(g) is list else g  # (a node of several outputs gets a list)
        else:  # a built-in node: each gradient is computed in the loop below, right before it is sent on
            gxs = None
            fns = node._rfns or node._fns  # (not None: a released node has no ``_args``)
            saved = node._saved
            if saved:
                for _t, vc, v in saved:
                    if vc[0] != v:
                        _check_versions(node)
            a = node._rargs
            if node._out is not None:
                a = (*a, node._out[0])
            kept = a
            trusted = True
            single = node._single  # (an input may still get None: then a copy)
            gdata = g
        # send each gradient on: into its target node's buffer, or to its leaf
        seen = None if single else set()
        nxt = None
        i = -1
        for e in edges:
            i += 1
            if e is None:
                continue
            target, nr, shape, dt = e
            if gxs is None:
                fn = fns[i]
                gx = g if fn is identity else fn(g, *a)  # (add's and sub's gradients pass g on uncalled)
                # (dtype objects are usually the same object: ``is`` spares NumPy's slow ``!=``)
                if gx is not None and (gx.shape != shape or (gx.dtype is not dt and gx.dtype != dt)):
                    gx = _fit_array(node, gx, shape, dt, i)
            else:
                gx = gxs[i]
            if gx is not None:
                # whether gx belongs to this pass alone (``_fresh``), the common cases inlined
                if gx is gdata:
                    fresh = trusted and gfresh and single
                elif getattr(gx, "base", 0) is None:  # a new array
                    fresh = trusted
                    if seen is not None:  # an array handed to two inputs is fresh for the first only
                        if id(gx) in seen:
                            fresh = False
                        else:
                            seen.add(id(gx))
                else:
                    gbase = getattr(gdata, "base", None)
                    fresh = trusted and _fresh(gx, gdata, gbase, gfresh, single, kept, seen)
                if nr == LEAF:
                    entry = leaf_grads.get(id(target))  # _to_leaf, inlined
                    if entry is None:
                        leaf_grads[id(target)] = [target, gx, fresh]
                    else:
                        entry[1] = entry[1] + gx
                        entry[2] = True
                    continue
                if lazy and target._uses == 1 and target._n_out == 1:  # this node is its only consumer
                    if nxt is None:
                        nxt, ng, nfresh = target, gx, fresh
                    else:
                        buffers[target] = [gx, fresh]
                        push(target)
                    continue
                if deps is None:  # the first node used more than once: count the graph's edges now (no
                    deps = {root: 0}  # node with several consumers has received a gradient yet)
                    _count_consumers([root], deps)
                if target._n_out == 1:
                    old = buffers.get(target)
                    if old is None:
                        if nxt is None and deps[target] == 1:  # this node is its only consumer
                            nxt, ng, nfresh = target, gx, fresh
                            continue
                        buffers[target] = [gx, fresh]
                    else:
                        old[0] = old[0] + gx
                        old[1] = True
                else:
                    slot = buffers.setdefault(target, [[None] * target._n_out, False])[0]
                    slot[nr] = gx if slot[nr] is None else slot[nr] + gx
            elif nr == LEAF:
                continue
            elif lazy and target._uses == 1 and target._n_out == 1:
                push(target)  # ready, with no gradient
                continue
            elif deps is None:  # (as above)
                deps = {root: 0}
                _count_consumers([root], deps)
            d = deps[target] - 1
            deps[target] = d
            if d == 0:
                push(target)
        if gxs is None and not retain_graph and (
            node._saved or node._out is not None or not saves_nothing(node)
        ):  # Node._release, inlined (built-in nodes do not override it; ``_rfns`` holds module functions)
            node._fns = node._args = node._rargs = node._out = None
            node._saved = ()
        node = nxt
        if nxt is not None:
            g, gfresh = ng, nfresh
    for leaf, g, fresh in leaf_grads.values():
        hooks = leaf._meta and leaf._meta.get("hooks")
        if hooks:
            g = _wrap(g, leaf._device)
            for h in list(hooks):
                r = h(g)
                if r is not None:
                    g, fresh = _hooked(h, g, r), False
            g = g._data
        if leaf._meta:
            _accumulate(leaf, g, fresh, False)
            continue
        with _grad_lock:
            old = leaf._grad
            if old is not None and not old._requires_grad:  # in place, as PyTorch
                leaf._device.backend.ioperate(old._data, g, operator.add)  # .grad += g
                old._version[0] += 1
            else:
                _store(leaf, old, g, fresh, False)


def _count_consumers(stack: list, deps: dict) -> None:
    """Count into ``deps`` how many edges lead into each node reachable from ``stack`` (emptied); the nodes
    are ``deps``'s keys, in the order found."""
    pop, push = stack.pop, stack.append
    while stack:
        for e in pop()._edges:
            if e is not None and e[1] != LEAF:
                n = e[0]
                if n in deps:
                    deps[n] += 1
                else:
                    deps[n] = 1
                    push(n)


def _arrays(values) -> tuple:
    """The arrays of the tensors in ``values`` (other values as they are)."""
    from gradlite.tensor import Tensor

    return tuple(v._data if isinstance(v, Tensor) else v for v in values)


def _closure_grads(node, fns, g, edges, need, wanted_leaf, raw):
    """Gradients from closures written with gradlite ops (``(fn, ...)``), or from one function for all
    inputs (custom Functions): ``(gxs, kept, trusted)``. Without create_graph the closures get tensors
    wrapped around the gradient arrays, and their results are unwrapped."""
    from gradlite.tensor import Tensor

    if raw:
        g = _wrap_grad(g, node._dev)
    if type(fns) is tuple:
        y = None if node._out is None else _rebuild_output(node)
        gxs = []
        for i, (fn, e) in enumerate(zip(fns, edges, strict=True)):
            if (
                e is None
                or g is None
                or (need is not None and (id(e[0]) not in wanted_leaf if e[1] == LEAF else e[0] not in need))
            ):
                gxs.append(None)
            else:
                gx = fn(g) if y is None else fn(g, y)
                # un-broadcast / cast (``_fit``) only when the shape or dtype differs
                if gx is not None and (gx._data.shape != e[2] or gx._data.dtype != e[3]):
                    gx = _fit(node, gx, e[2], e[3], i)
                gxs.append(gx)
        kept = tuple(t._data for t, _, _ in node._saved if isinstance(t, Tensor))
        if node._out is not None:
            kept += (node._out[0],)
        trusted = True
    else:  # one function for all inputs (custom Function, several outputs)
        gxs = fns(g) if g is not None else (None,) * len(edges)
        gxs = [
            None if gx is None or e is None else _fit(node, gx, e[2], e[3], i)
            for i, (gx, e) in enumerate(zip(gxs, edges, strict=True))
        ]
        kept, trusted = None, False
    if raw:
        gxs = [None if gx is None else gx._data for gx in gxs]
    return gxs, kept, trusted


def _array_device(a):
    """The device an array lives on (CuPy arrays carry a ``cupy.cuda.Device`` with an ``id``)."""
    from gradlite.device import CPU, device

    d = getattr(a, "device", None)
    idx = getattr(d, "id", None)
    return CPU if idx is None else device("cuda", idx)


def _wrap(a, dev=None):
    """A tensor around gradient array ``a`` (for hooks and closures; NumPy scalars become 0-d arrays)."""
    from gradlite.tensor import _make

    if a is None:
        return None
    if dev is None:
        dev = _array_device(a)
    b = dev.backend
    if a.__class__ is not b.array_type:
        a = b.xp.asarray(a)
    return _make(a, dev)


def _wrap_grad(g, dev=None):
    """``_wrap`` for a node's incoming gradient (a list of them for a node with several outputs)."""
    if type(g) is list:
        return [_wrap(x, dev) for x in g]
    return _wrap(g, dev)


def _wrap_all(gxs):
    return [_wrap(gx) for gx in gxs]


def _needed(deps, wanted_leaf, wanted_node) -> set:
    """The nodes from which a wanted input can be reached (only computed for ``grad`` / ``inputs=``)."""
    count = dict(deps)
    topo = [n for n, c in deps.items() if c == 0]
    for node in topo:  # Kahn's order: every node after all of its consumers
        for e in node._edges:
            if e is not None and e[1] != LEAF:
                count[e[0]] -= 1
                if count[e[0]] == 0:
                    topo.append(e[0])
    need = set()
    wanted_nodes = {n for n, _ in wanted_node}
    for node in reversed(topo):
        if node in wanted_nodes:
            need.add(node)
            continue
        for e in node._edges:
            if e is not None and (id(e[0]) in wanted_leaf if e[1] == LEAF else e[0] in need):
                need.add(node)
                break
    return need


_NO_BASE = object()


def _fresh(d, gdata, gbase, gfresh, single, kept, seen) -> bool:
    """Whether the gradient array ``d`` belongs to this backward pass alone, so a leaf may keep it uncopied.

    A new array does. The incoming gradient ``gdata`` and views of it are as fresh as it is (``gfresh``),
    when this node sends a gradient to a single input. Any other view is fresh only for a built-in op
    (``kept``: the arrays its backward reads) whose kept arrays it does not view: it views an array the
    backward function made, as the ``(gy^T @ x)^T`` of a transposed matmul operand (then the weight
    gradient of ``x @ w.t()`` is stored without a copy). An array handed to two inputs of the node
    (``seen``) is fresh for the first only. Arrays without ``base`` (array_api_strict) are never fresh.
    """
    if d is gdata:
        return gfresh and single
    base = getattr(d, "base", _NO_BASE)
    if base is _NO_BASE:
        return False
    if seen is not None:  # None: the node sends a single gradient
        owner = id(d if base is None else base)
        if owner in seen:
            return False
        seen.add(owner)
    if base is None:
        return True
    if base is gdata or base is gbase:
        return gfresh and single
    if kept is None:
        return False
    for a in kept:
        if a is base or getattr(a, "base", None) is base:
            return False
    return True


def _to_buffer(buffers, node, nr, g) -> None:
    if node._n_out == 1:
        old = buffers.get(node)
        buffers[node] = g if old is None else _sum(old, g)
    else:
        slot = buffers.get(node)
        if slot is None:
            slot = buffers[node] = [None] * node._n_out
        slot[nr] = g if slot[nr] is None else _sum(slot[nr], g)


def _to_leaf(leaf_grads, leaf, g, fresh) -> None:
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g, fresh]
    else:
        entry[1] = _sum(entry[1], g)
        entry[2] = True


def _sum(a, b):
    """``a + b`` of two gradients: arrays (no create_graph) are added directly; tensors through the op,
    with a graph under create_graph, or directly when they match in shape and dtype."""
    from gradlite.tensor import Tensor, _make

    if not isinstance(a, Tensor):
        return a + b
    if state.grad_enabled:
        return a + b
    ad, bd = a._data, b._data
    if ad.shape != bd.shape or ad.dtype != bd.dtype:  # e.g. a hook changed one: the op's rules apply
        return a + b
    return _make(ad + bd, a._device)


# Held while a leaf's ``.grad`` is read and updated: two threads running backward through a shared leaf
# would otherwise both find no ``.grad`` and store theirs, losing one (PyTorch locks AccumulateGrad too).
_grad_lock = threading.Lock()


def _accumulate(leaf, g, fresh, create_graph) -> None:
    """Add ``g`` into ``leaf.grad`` (in place, as PyTorch, unless building a graph of the gradient), then run
    its post-accumulate hooks. ``g`` is a tensor under ``create_graph``, an array otherwise."""
    with _grad_lock:
        _store(leaf, leaf._grad, g, fresh, create_graph)
    hooks = leaf._meta and leaf._meta.get("post_accumulate_hooks")
    if hooks:
        for h in list(hooks):
            h(leaf)


def _store(leaf, old, g, fresh, create_graph) -> None:
    """``leaf.grad = old + g`` (``_accumulate`` without the lock and the hooks)."""
    from gradlite.tensor import _make

    if create_graph:
        leaf._grad = g if old is None else old + g
    elif old is None:
        # The stored gradient must not alias anything the caller or another leaf can see, and it takes the
        # leaf's memory layout (PyTorch's gradient layout contract): stored as it comes, the weight gradient
        # of ``x @ w.t()`` (a transposed view) would make every later update of ``w`` a slow strided loop.
        ld = leaf._data
        if (
            not fresh
            or g.__class__ is not ld.__class__  # a NumPy scalar
            or getattr(g, "strides", None) != getattr(ld, "strides", None)
        ):
            data = leaf._device.backend.xp.empty_like(ld)
            data[...] = g
            g = data
        leaf._grad = _make(g, leaf._device)
    else:
        if old._requires_grad:
            leaf._grad = (old + _wrap(g, leaf._device)).detach()
        else:
            leaf._device.backend.ioperate(old._data, g, operator.add)  # .grad += g
            old._version[0] += 1


def _fit(node, gx, shape, dt, index):
    """Sum a gradient tensor back to its input's shape (un-broadcast) and cast it to the input's dtype."""
    data = gx._data
    if data.shape != shape:
        gx = sum_to(gx, shape, node, index)
    if gx._data.dtype != dt:
        _check_floating(node, gx._data, index)
        gx = gx.to(_gl_dtype(gx, dt))
    return gx


def _fit_array(node, gx, shape, dt, index):
    """``_fit`` for a gradient array (no create_graph), with the namespace of the node's device."""
    xp = node._dev.backend.xp
    if gx.shape != shape:
        key = (gx.shape, shape)
        axes_lead = _AXES.get(key)
        if axes_lead is None:
            axes, lead = _sum_axes(gx.shape, shape, node, index)
            direct = bool(axes) and tuple(d for i, d in enumerate(gx.shape) if i not in axes) == shape
            axes_lead = _AXES[key] = (axes, lead, direct)
        axes, lead, direct = axes_lead
        if direct:  # summing over the axes without keeping them gives the shape
            gx = xp.sum(gx, axis=axes)
        else:
            if axes:
                gx = xp.sum(gx, axis=axes, keepdims=True)
            if lead:
                gx = xp.reshape(gx, shape)
    if gx.dtype != dt:
        _check_floating(node, gx, index)
        gx = xp.astype(gx, dt)
    return gx


_AXES: dict = {}  # (gradient shape, input shape) -> _sum_axes(...): a training loop meets the same few


def _check_floating(node, data, index) -> None:
    from gradlite.tensor import _dtype_of

    d = _dtype_of(data)
    if not d.is_floating_point:
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {index} - "
            f"expected a floating point type, got gradlite.{d.name}"
        )


def _gl_dtype(gx, dt):
    """The gradlite dtype of a backend dtype object (each backend names its own dtype objects)."""
    from gradlite.dtypes import BY_NAME

    return BY_NAME[gx._device.backend.dtype_name(dt)]


def sum_to(g, shape, node=None, index=0):
    """Sum ``g`` over the dimensions that broadcasting added to reach it from ``shape``."""
    axes, lead = _sum_axes(g._data.shape, shape, node, index)
    if axes:
        g = g.sum(axes, keepdim=True)
    if lead:
        g = g.reshape(shape)
    return g


def _sum_axes(gshape, shape, node, index) -> tuple:
    """``(axes, lead)``: the axes to sum a gradient of ``gshape`` over to reach ``shape`` (keeping dims),
    and how many leading dims to drop then; RuntimeError when ``shape`` cannot broadcast to ``gshape``."""
    lead = len(gshape) - len(shape)
    ok = lead >= 0 and all(s == 1 or s == gs for s, gs in zip(shape, gshape[lead:], strict=True))
    if not ok:
        from gradlite.tensor import Size

        who = f"Function {node.name()}" if node is not None else "a backward function"
        raise RuntimeError(
            f"{who} returned an invalid gradient at index {index} - got {Size(gshape)} but expected shape "
            f"compatible with {Size(shape)}"
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    )
    return axes, lead


def _check_versions(node) -> None:
    """Raise PyTorch's error when a tensor saved by ``node`` was modified in place after it was saved.

    A saved entry is ``(tensor, version_counter, version)``; ``tensor`` is None for the output kept in
    ``node._out``, or ``(array, output_nr)`` for an output a custom Function saved.
    """
    for t, vc, v in node._saved:
        if vc[0] != v:
            if t is None or type(t) is tuple:
                desc = (node._out[0] if node._out else None) if t is None else t[0]
                owner = f", which is output {0 if t is None else t[1]} of {node.name()},"
            else:
                desc = t._data
                owner = f", which is output {t._output_nr} of {t._grad_fn.name()}," if t._grad_fn else ""
            from gradlite.tensor import _TYPE_NAMES, Size, _dtype_of

            kind = "gradlite." + _TYPE_NAMES[_dtype_of(desc).name] if desc is not None else "tensor"
            shape = list(Size(desc.shape)) if desc is not None else "?"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{kind} {shape}]{owner} is at version {vc[0]}; expected version {v} instead "
                f"(saved by {node.name()}). Hint: the backtrace further above can show the operation that "
                "failed to compute its gradient; avoid modifying it in place, or clone() it first."
            )


def _rebuild_output(node):
    """The output a backward function needs, rebuilt from its array and linked to ``node``."""
    from gradlite.tensor import _make

    if node._out is None:
        raise RuntimeError(FREED)
    data, vc, dev = node._out
    y = _make(data, dev, True, node)
    y._version = vc
    return y


def _capture(node, g, wanted_node, results, raw) -> None:
    if node._n_out == 1:
        i = wanted_node.get((node, 0))
        if i is not None:
            results[i] = _wrap(g) if raw else g
    else:
        for nr in range(node._n_out):
            i = wanted_node.get((node, nr))
            if i is not None and g is not None:
                results[i] = _wrap(g[nr]) if raw else g[nr]


def _run_pre_hooks(node, g, raw):
    """Tensor hooks of the node's outputs, then the node's pre-hooks (tensors in, arrays out when raw)."""
    if raw:
        g = _wrap_grad(g)
    hooks = node._pre_hooks
    if node._n_out == 1:
        for h in list(hooks.get(0, ())):
            if g is not None:
                r = h(g)
                if r is not None:
                    g = _hooked(h, g, r)
    else:
        g = list(g) if g is not None else [None] * node._n_out
        for nr, hs in hooks.items():
            if nr is None:
                continue
            for h in list(hs):
                if g[nr] is not None:
                    r = h(g[nr])
                    if r is not None:
                        g[nr] = _hooked(h, g[nr], r)
    for h in list(hooks.get(None, ())):
        outs = (g,) if node._n_out == 1 else tuple(g)
        r = h(outs)
        if r is not None:
            if len(r) != len(outs):
                raise RuntimeError(
                    f"hook '{_hook_name(h)}' has returned an incorrect number of values (got {len(r)}, but "
                    f"expected {len(outs)})"
                )
            r = [v if o is None or v is None else _hooked(h, o, v) for o, v in zip(outs, r, strict=True)]
            g = r[0] if node._n_out == 1 else r
    if raw:
        g = _unwrap(g)
    return g


def _hook_name(hook) -> str:
    return getattr(hook, "__name__", "<unknown>")


def _hooked(hook, g, r):
    """The gradient ``r`` a tensor hook returned in place of ``g``, checked as PyTorch checks it: a tensor
    of the same type (dtype and device) and size."""
    from gradlite.tensor import Tensor

    if not isinstance(r, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")  # (PyTorch's words)
    if r._data.dtype != g._data.dtype or r._device.type != g._device.type:
        raise RuntimeError(
            f"hook '{_hook_name(hook)}' has changed the type of value (was {g.type()} got {r.type()})"
        )
    if r._device is not g._device:  # (PyTorch compares the device type only: stricter)
        raise RuntimeError(
            f"hook '{_hook_name(hook)}' has changed the device of value (was {g.device} got {r.device})"
        )
    if r._data.shape != g._data.shape:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")
    return r


def _unwrap(g):
    if type(g) is list:
        return [None if x is None else x._data for x in g]
    return None if g is None else g._data


def _run_post_hooks(node, gxs, g, raw):
    if raw:
        gxs, g = _wrap_all(gxs), _wrap_grad(g)
    outs = (g,) if node._n_out == 1 or g is None else tuple(g)
    for h in list(node._hooks):
        r = h(tuple(gxs), outs)
        if r is not None:
            gxs = list(r)
    if raw:
        gxs = [None if gx is None else gx._data for gx in gxs]
    return gxs
