"""Where the linear regression's time goes: gradlite against a minimal autograd and hand-written NumPy.

The linear regression (issue 6's 3000 iterations on 500 x 1) does almost no arithmetic per iteration, so it
measures the per-op Python cost. This script puts that cost in numbers:

- ``floor``: the same program on a minimal define-by-run autograd (below, about 50 lines) that calls the
  same NumPy functions as gradlite but keeps none of its bookkeeping: no dtype promotion or checks, no
  devices, no version counters, no hooks or grad modes, no un-broadcasting in the engine, no dependency
  count (its backward is right for trees only), no gradient-aliasing rules. It is the lower bound of a
  Python-level design on these NumPy calls.
- the Python bytecodes each function runs in one iteration (``sys.settrace`` opcode events), for gradlite
  and for the floor: the interpreter's work, which is most of the time here.

Run: python benchmarks/profile_linreg.py [--iters N] [--reps R] [--top K]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import collections  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import gradlite  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import linreg_data  # noqa: E402
from run import linreg_lib, linreg_numpy, measure  # noqa: E402


# -- the floor: a minimal autograd on the same NumPy calls -----------------------------------------------
class _T:
    __slots__ = ("data", "grad", "node", "requires_grad")

    def __init__(self, data, node=None, requires_grad=False):
        self.data, self.grad, self.node, self.requires_grad = data, None, node, requires_grad


class _Node:
    __slots__ = ("fn", "edges", "args")

    def __init__(self, fn, edges, args):
        self.fn, self.edges, self.args = fn, edges, args


def _record(data, fn, inputs, args):
    edges = tuple((t.node or t) if t.requires_grad else None for t in inputs)
    return _T(data, _Node(fn, edges, args), True)


def _mm_grad(g, x, w):
    return None, x.T.dot(g)


def _add_grad(g):
    return g, np.add.reduce(g, 0)  # (b is broadcast along the batch)


def _sub_grad(g):
    return g, None


def _square_grad(g, x):
    return (g * (x + x),)


def _mean_grad(g, shape, n):
    out = np.empty(shape, g.dtype)
    out[...] = g[()] / n
    return (out,)


def _backward(t):
    stack = [(t.node, np.ones((), t.data.dtype))]
    while stack:
        node, g = stack.pop()
        for e, gx in zip(node.edges, node.fn(g, *node.args), strict=True):
            if e is None or gx is None:
                continue
            if e.__class__ is _T:  # a leaf: store a copy, or accumulate in place
                if e.grad is None:
                    e.grad = gx.copy()
                else:
                    e.grad[...] = e.grad + gx
            else:
                stack.append((e, gx))


def linreg_floor(n: int, iters: int):
    xs, ys = linreg_data(n)
    x, y = _T(xs), _T(ys)

    def run():
        w = _T(np.zeros((1, 1), np.float32), requires_grad=True)
        b = _T(np.zeros(1, np.float32), requires_grad=True)
        for _ in range(iters):
            m = _record(x.data.dot(w.data), _mm_grad, (x, w), (x.data, w.data))
            a = _record(m.data + b.data, _add_grad, (m, b), ())
            s = _record(a.data - y.data, _sub_grad, (a, y), ())
            q = _record(s.data**2, _square_grad, (s,), (s.data,))
            d = q.data
            loss = _record(np.asarray(np.add.reduce(d, None) / d.size), _mean_grad, (q,), (d.shape, d.size))
            _backward(loss)
            w.data[...] = w.data - 0.1 * w.grad
            b.data[...] = b.data - 0.1 * b.grad
            w.grad[...] = 0
            b.grad[...] = 0
        return w.data

    return run


# -- bytecodes per function ---------------------------------------------------------------------------------
def opcodes(make_run) -> collections.Counter:
    """Python bytecodes run by each function (``file:function``) in one steady-state iteration: the counts
    of a 3-iteration run less those of a 2-iteration one (set-up and the first accumulation cancel)."""

    def count(iters):
        counts: collections.Counter = collections.Counter()

        def trace(frame, event, arg):
            frame.f_trace_opcodes = True
            if event == "opcode":
                code = frame.f_code
                counts[f"{Path(code.co_filename).name}:{code.co_name}"] += 1
            return trace

        run = make_run(iters)
        run()  # warm: first-call imports and caches
        sys.settrace(trace)
        try:
            run()
        finally:
            sys.settrace(None)
        return counts

    diff = count(3)
    diff.subtract(count(2))
    return collections.Counter({k: v for k, v in diff.items() if v})


def _value(w) -> float:
    return float((w.detach().numpy() if isinstance(w, gradlite.Tensor) else w).reshape(()))


def main(argv=None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)

    runs = {
        "gradlite": linreg_lib(gradlite, 500, args.iters),
        "floor": linreg_floor(500, args.iters),
        "numpy": linreg_numpy(500, args.iters),
    }
    ws = {name: _value(run()) for name, run in runs.items()}  # the same fit, three ways
    for name, w in ws.items():
        if not np.allclose(w, ws["numpy"], rtol=1e-4):
            raise SystemExit(f"{name} fitted w = {w}, NumPy {ws['numpy']}: the programs differ")
    med = measure(runs, args.reps, 0.05)
    per = {name: med[name] / args.iters * 1e6 for name in runs}
    makers = {"gradlite": lambda k: linreg_lib(gradlite, 500, k), "floor": lambda k: linreg_floor(500, k)}
    counts = {name: opcodes(make) for name, make in makers.items()}
    total = {name: sum(c.values()) for name, c in counts.items()}

    lines = [
        "## Linear regression, per iteration",
        "",
        "| program | time | vs NumPy | Python bytecodes |",
        "|---|---|---|---|",
    ]
    for name in runs:
        ops = f"{total[name]:,}" if name in total else "—"
        lines.append(f"| {name} | {per[name]:.1f} us | {per[name] / per['numpy']:.2f}x | {ops} |")
    lines += ["", f"## gradlite's bytecodes by function (top {args.top})", ""]
    lines += ["| function | bytecodes |", "|---|---|"]
    lines += [f"| {fn} | {n:,} |" for fn, n in counts["gradlite"].most_common(args.top)]
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
