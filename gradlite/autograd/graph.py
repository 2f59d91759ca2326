"""Seeing the graph: the recorded backward graph behind a tensor as text, Graphviz DOT or SVG, and
``explain_backward``, which narrates a backward pass node by node.

    >>> z = ((x + 2) * (x + 2) * 2).mean()
    >>> print(graph.text(z, params={"x": x}))
    >>> graph.draw(z, params={"x": x}).save("z.svg")     # in Jupyter, ``graph.draw(z)`` shows inline

The SVG is laid out by gradlite itself (no Graphviz binary): nodes are put in layers by their longest
distance from the output, ordered within a layer by the mean position of their consumers, and edges
are drawn as arrows in the forward direction (inputs at the top, the output at the bottom).
"""

from __future__ import annotations

import sys
from html import escape

from gradlite.autograd.node import LEAF

__all__ = ["GraphView", "dot", "draw", "explain_backward", "svg", "text"]


class _Item:
    """One box of the drawing: an op node, a leaf tensor, or the output tensor itself."""

    __slots__ = ("key", "kind", "name", "shape", "dtype", "device", "inputs", "layer", "x", "y", "w")

    def __init__(self, key, kind, name, shape, dtype, device):
        self.key, self.kind, self.name = key, kind, name
        self.shape, self.dtype, self.device = shape, dtype, device
        self.inputs: list = []  # keys of the items this one consumes
        self.layer, self.x, self.y, self.w = 0, 0.0, 0.0, 0.0

    def detail(self) -> str:
        shape = "[" + ", ".join(str(s) for s in self.shape) + "]"
        return f"{self.dtype}{shape} {self.device}"

    def label(self) -> str:
        return f"{self.name}\n{self.detail()}"


def _dtype_name(dt) -> str:
    from gradlite.tensor import _dtype_of

    class _A:  # _dtype_of reads ``.dtype``
        dtype = dt

    return _dtype_of(_A).name


def _node_device(node, consumer_device):
    """The device of a node's inputs: its consumer's, except for device moves (read from the closure)."""
    fns = node._fns
    if type(fns) is tuple:
        from gradlite.device import device

        for fn in fns:
            for cell in getattr(fn, "__closure__", None) or ():
                if isinstance(cell.cell_contents, device):
                    return cell.cell_contents
    return consumer_device


class GraphView:
    """The graph behind a tensor: ``.text()``, ``.dot()``, ``.svg()``, ``.save(path)``; Jupyter shows it."""

    def __init__(self, tensor, params: dict | None = None):
        names = {id(t): n for n, t in (params or {}).items()}
        self.items: dict = {}
        self.order: list = []  # items in discovery order (root first)
        root = _Item(
            ("tensor", id(tensor)),
            "output",
            names.get(id(tensor), "output"),
            tuple(tensor.shape),
            tensor.dtype.name,
            tensor.device,
        )
        self._add(root)
        fn = tensor.grad_fn
        if fn is None:
            if tensor.requires_grad:
                root.kind, root.name = "leaf", names.get(id(tensor), "leaf")
            return
        # walk the graph iteratively (deep graphs must not recurse)
        stack = [(fn, tensor.device, tuple(tensor.shape), tensor.dtype.name)]
        first = self._node_item(fn, tensor.device, root.shape, root.dtype)
        root.inputs.append(first.key)
        seen = {id(fn)}
        while stack:
            node, dev, _, _ = stack.pop()
            item = self.items[("node", id(node))]
            in_dev = _node_device(node, dev)
            for e in node._edges:
                if e is None:
                    continue
                target, nr, shape, dt = e
                if nr == LEAF:
                    key = ("tensor", id(target))
                    if key not in self.items:
                        self._add(
                            _Item(
                                key,
                                "leaf",
                                names.get(id(target), "leaf"),
                                tuple(shape),
                                _dtype_name(dt),
                                target.device,
                            )
                        )
                else:
                    key = ("node", id(target))
                    if id(target) not in seen:
                        seen.add(id(target))
                        self._node_item(target, in_dev, tuple(shape), _dtype_name(dt))
                        stack.append((target, in_dev, shape, dt))
                if key not in item.inputs:
                    item.inputs.append(key)

    def _node_item(self, node, dev, shape, dtype) -> _Item:
        item = _Item(("node", id(node)), "node", node.name(), shape, dtype, dev)
        self._add(item)
        return item

    def _add(self, item) -> None:
        self.items[item.key] = item
        self.order.append(item)

    # -- text ----------------------------------------------------------------------------------------
    def text(self) -> str:
        """An indented tree from the output down to the leaves; a node reached twice is shown once."""
        lines, shown = [], set()
        root = self.order[0]
        lines.append(f"{root.name}: {root.detail()}" + ("" if root.kind != "leaf" else " (leaf)"))
        stack = [(k, "", i == len(root.inputs) - 1) for i, k in reversed(list(enumerate(root.inputs)))]
        while stack:
            key, prefix, last = stack.pop()
            if key is None:  # a marker line (the indentation restarts)
                lines.append(prefix)
                continue
            item = self.items[key]
            branch = "└─ " if last else "├─ "
            tail = " (leaf, accumulates .grad)" if item.kind == "leaf" else ""
            again = key in shown and item.kind == "node"
            lines.append(
                f"{prefix}{branch}{item.name} -> {item.detail()}{tail}{' (see above)' if again else ''}"
            )
            if again:
                continue
            shown.add(key)
            child_prefix = prefix + ("   " if last else "│  ")
            n = len(item.inputs)
            restart = n and len(child_prefix) > 3 * _MAX_INDENT
            if restart:
                # a deep graph (a long chain) would make the text quadratic in its depth: every line repeats
                # the indentation of all the levels above; past _MAX_INDENT levels it restarts at the margin
                child_prefix = ""
            for i in reversed(range(n)):
                stack.append((item.inputs[i], child_prefix, i == n - 1))
            if restart:
                stack.append((None, f"┄ the inputs of {item.name} (indentation restarts)", False))
        return "\n".join(lines)

    __str__ = text

    # -- Graphviz DOT ----------------------------------------------------------------------------------
    def dot(self) -> str:
        """The graph in Graphviz's DOT language (arrows in the forward direction)."""
        out = ["digraph gradlite {", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
        ids = {item.key: f"n{i}" for i, item in enumerate(self.order)}
        for item in self.order:
            label = item.label().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            out.append(f'  {ids[item.key]} [label="{label}", fillcolor="{_FILL[item.kind]}"];')
        for item in self.order:
            for k in item.inputs:
                out.append(f"  {ids[k]} -> {ids[item.key]};")
        out.append("}")
        return "\n".join(out)

    # -- SVG -------------------------------------------------------------------------------------------
    def _layout(self) -> tuple[float, float]:
        """Layers by longest distance from the output; order in a layer by the consumers' mean position."""
        consumers: dict = {k: [] for k in self.items}
        for item in self.order:
            for k in item.inputs:
                consumers[k].append(item.key)
        # longest path from the root: process items after all their consumers (Kahn's order)
        remaining = {k: len(v) for k, v in consumers.items()}
        queue = [self.order[0].key]
        for key in queue:
            item = self.items[key]
            for k in item.inputs:
                child = self.items[k]
                child.layer = max(child.layer, item.layer + 1)
                remaining[k] -= 1
                if remaining[k] == 0:
                    queue.append(k)
        layers: dict = {}
        for key in queue:
            layers.setdefault(self.items[key].layer, []).append(self.items[key])
        for item in self.items.values():
            item.w = max(8.0 * len(item.name), 6.2 * len(item.detail())) + 2 * _PAD  # bold 12px / 10px text
        n_layers = max(layers) + 1 if layers else 1
        width = 0.0
        for layer in range(n_layers):
            row = layers.get(layer, [])
            if layer:

                def pos(it, layer=layer):
                    xs = [self.items[c].x for c in consumers[it.key] if self.items[c].layer < layer]
                    return sum(xs) / len(xs) if xs else 0.0

                row.sort(key=pos)
            x = _MARGIN
            for item in row:
                item.x = x + item.w / 2
                x += item.w + _GAP_X
            width = max(width, x - _GAP_X + _MARGIN)
        # centre each layer in the widest one, and flip: the output at the bottom, leaves at the top
        for layer, row in layers.items():
            used = sum(it.w for it in row) + _GAP_X * (len(row) - 1)
            shift = (width - 2 * _MARGIN - used) / 2
            for item in row:
                item.x += shift
                item.y = _MARGIN + (n_layers - 1 - layer) * (_BOX_H + _GAP_Y) + _BOX_H / 2
        height = 2 * _MARGIN + n_layers * _BOX_H + (n_layers - 1) * _GAP_Y
        return width, height

    def svg(self) -> str:
        """A standalone SVG drawing of the graph."""
        width, height = self._layout()
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
            'font-size="12">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        ]
        for item in self.order:
            for k in item.inputs:
                src = self.items[k]
                out.append(
                    f'<line x1="{src.x:.1f}" y1="{src.y + _BOX_H / 2:.1f}" x2="{item.x:.1f}" '
                    f'y2="{item.y - _BOX_H / 2:.1f}" stroke="#555" stroke-width="1.2" '
                    'marker-end="url(#arrow)"/>'
                )
        for item in self.order:
            x0, y0 = item.x - item.w / 2, item.y - _BOX_H / 2
            out.append(f'<g class="{item.kind}">')
            out.append(
                f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{item.w:.1f}" height="{_BOX_H}" rx="6" '
                f'fill="{_FILL[item.kind]}" stroke="#333"/>'
            )
            out.append(
                f'<text x="{item.x:.1f}" y="{item.y - 3:.1f}" text-anchor="middle" '
                f'font-weight="bold">{escape(item.name)}</text>'
            )
            out.append(
                f'<text x="{item.x:.1f}" y="{item.y + 12:.1f}" text-anchor="middle" '
                f'fill="#333" font-size="10">{escape(item.detail())}</text>'
            )
            out.append("</g>")
        out.append("</svg>")
        return "\n".join(out)

    def _repr_svg_(self) -> str:
        return self.svg()

    def save(self, path) -> None:
        """Write the SVG (``.svg``), DOT (``.dot`` / ``.gv``) or text (anything else) to ``path``."""
        p = str(path)
        content = (
            self.svg() if p.endswith(".svg") else self.dot() if p.endswith((".dot", ".gv")) else self.text()
        )
        with open(p, "w", encoding="utf-8") as f:
            f.write(content + "\n")


_FILL = {"node": "#e8eef7", "leaf": "#cde8c4", "output": "#f7dfb8"}
_PAD, _GAP_X, _GAP_Y, _BOX_H, _MARGIN = 10, 24, 36, 34, 16
_MAX_INDENT = 40  # levels of indentation in ``text()`` before it restarts at the left margin


def draw(tensor, params: dict | None = None) -> GraphView:
    """The graph behind ``tensor``; ``params`` names leaves (``{"x": x}``)."""
    return GraphView(tensor, params)


def text(tensor, params: dict | None = None) -> str:
    """The graph behind ``tensor`` as an indented tree of grad_fn nodes (output shape, dtype, device)."""
    return GraphView(tensor, params).text()


def dot(tensor, params: dict | None = None) -> str:
    """The graph behind ``tensor`` in Graphviz DOT."""
    return GraphView(tensor, params).dot()


def svg(tensor, params: dict | None = None) -> str:
    """The graph behind ``tensor`` as SVG, laid out by gradlite."""
    return GraphView(tensor, params).svg()


def explain_backward(
    loss, params: dict | None = None, file=None, retain_graph=None, gradient=None
) -> list[str]:
    """Run ``loss.backward()`` and print, in order, each node as it runs, the gradient shapes it produced
    (one per input) and the leaves whose ``.grad`` received a gradient. Returns the printed lines."""
    from gradlite.autograd import engine

    names = {id(t): n for n, t in (params or {}).items()}
    lines: list[str] = []
    step = [0]
    out = sys.stdout if file is None else file

    def emit(s: str) -> None:
        lines.append(s)
        print(s, file=out)

    def shape(g) -> str:
        return "None" if g is None else "[" + ", ".join(str(s) for s in g.shape) + "]"

    def observe(kind, obj, g, gxs):
        step[0] += 1
        if kind == "node":
            targets = []
            for e in obj._edges:
                if e is None:
                    targets.append("a constant (no gradient)")
                elif e[1] == LEAF:
                    targets.append(names.get(id(e[0]), "leaf"))
                else:
                    targets.append(e[0].name())
            gout = shape(g) if type(g) is not list else "(" + ", ".join(shape(x) for x in g) + ")"
            emit(f"{step[0]:>3}. {obj.name()}: received grad {gout}")
            for gx, t in zip(gxs, targets, strict=True):
                if gx is not None or not t.startswith("a constant"):
                    emit(f"       -> grad {shape(gx)} to {t}")
        else:
            emit(
                f"{step[0]:>3}. accumulate grad {shape(g)} into .grad of leaf "
                f"{names.get(id(obj), 'leaf')} {obj.dtype.name}[{', '.join(str(s) for s in obj.shape)}]"
            )

    prev = engine.observer
    engine.observer = observe
    try:
        emit(
            f"backward from {names.get(id(loss), 'output')}: {loss.dtype.name}"
            f"[{', '.join(str(s) for s in loss.shape)}] on {loss.device}"
        )
        loss.backward(gradient, retain_graph=retain_graph)
    finally:
        engine.observer = prev
    return lines
