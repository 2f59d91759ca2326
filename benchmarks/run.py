"""gradlite's autograd tax, measured against PyTorch (when installed) and hand-written NumPy.

One process, one thread, interleaved repetitions, medians. Workloads: a 100-op elementwise chain on 16
floats (per-op overhead, forward + backward), the 3000-iteration linear regression (500 x 1), a
784-256-10 ReLU MLP training step at batch 128, a 1024-1024-1024-10 MLP step at batch 256; sweeps of the
per-op overhead and of an MLP step over tensor size (16 .. 10^6) and depth (10 .. 10,000 ops); peak memory
of a training step (tracemalloc, for NumPy and gradlite). Writes ``results.md`` and ``results.json`` into
``--out`` (default ``benchmarks/results/``) and prints the table.

Run: python benchmarks/run.py [--quick] [--out DIR]
"""

from __future__ import annotations

import os

# One thread everywhere, set before NumPy / PyTorch load their BLAS.
for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import gradlite  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # PyTorch is optional: its columns are left empty
    torch = None

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import peers  # noqa: E402  (MyGrad and HIPS autograd, the peers of issue 6's table, when installed)
from data import linreg_data, mlp_data, mlp_params  # noqa: E402

PEER_NAMES = {"mygrad": "MyGrad", "autograd": "HIPS autograd"}


# -- the programs, written once against the PyTorch API (``lib`` is gradlite or torch) ---------------------
def chain_lib(lib, size: int, depth: int):
    """``depth`` elementwise ops on a vector of ``size`` floats, then sum + backward."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.uniform(-0.5, 0.5, size).astype(np.float32), requires_grad=True)

    def step():
        y = x
        for i in range(depth):
            k = i % 4
            if k == 0:
                y = y * 1.01
            elif k == 1:
                y = y + 0.01
            elif k == 2:
                y = y.tanh()
            else:
                y = y * x
        y.sum().backward()
        x.grad = None

    return step


def chain_numpy(size: int, depth: int):
    """The same chain with a hand-written backward (the lower bound for a NumPy-backed library)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, size).astype(np.float32)

    def step():
        y, saved = x, []
        for i in range(depth):
            k = i % 4
            if k == 0:
                y = y * np.float32(1.01)
            elif k == 1:
                y = y + np.float32(0.01)
            elif k == 2:
                y = np.tanh(y)
                saved.append(y)
            else:
                saved.append(y)
                y = y * x
        g = np.ones_like(y)
        gx = np.zeros_like(x)
        for i in reversed(range(depth)):
            k = i % 4
            if k == 0:
                g = g * np.float32(1.01)
            elif k == 2:
                t = saved.pop()
                g = g * (1 - t * t)
            elif k == 3:
                gx += g * saved.pop()
                g = g * x
        gx += g
        return gx

    return step


def linreg_lib(lib, n: int, iters: int):
    """The tutorial's linear regression: ``iters`` steps of mm, add, MSE, backward, SGD, zero_."""
    xs, ys = linreg_data(n)
    x, y = lib.from_numpy(xs), lib.from_numpy(ys)

    def run():
        w = lib.zeros(1, 1, requires_grad=True)
        b = lib.zeros(1, requires_grad=True)
        for _ in range(iters):
            loss = ((x.mm(w) + b - y) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
                b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
        return w

    return run


def linreg_numpy(n: int, iters: int):
    xs, ys = linreg_data(n)

    def run():
        w = np.zeros((1, 1), np.float32)
        b = np.zeros(1, np.float32)
        for _ in range(iters):
            r = xs @ w + b - ys
            _loss = (r * r).mean()
            gr = r * np.float32(2 / r.size)
            w -= np.float32(0.1) * (xs.T @ gr)
            b -= np.float32(0.1) * gr.sum(0)
        return w

    return run


def mlp_lib(lib, sizes, batch: int, device: str = "cpu"):
    """One SGD training step of a ReLU MLP (``nn.Linear`` layers) with an MSE loss on one-hot targets."""
    layers = []
    arrays = mlp_params(sizes)
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        lin = lib.nn.Linear(d_in, d_out, device=device)
        with lib.no_grad():
            lin.weight.copy_(lib.from_numpy(arrays[2 * i]).to(device))
            lin.bias.copy_(lib.from_numpy(arrays[2 * i + 1]).to(device))
        layers.append(lin)
    params = [p for lin in layers for p in lin.parameters()]
    xs, ys = mlp_data(batch, sizes[0], sizes[-1])
    x, y = lib.from_numpy(xs).to(device), lib.from_numpy(ys).to(device)

    def step():
        h = x
        for i, lin in enumerate(layers):
            h = lin(h)
            if i < len(layers) - 1:
                h = h.relu()
        loss = ((h - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.01 * p.grad
        return loss

    return step


def mlp_numpy(sizes, batch: int):
    """The same step, hand-written: forward, backward with transposed views, in-place SGD."""
    params = mlp_params(sizes)
    ws, bs = params[0::2], params[1::2]
    x, y = mlp_data(batch, sizes[0], sizes[-1])
    lr = np.float32(0.01)

    def step():
        acts, h = [x], x
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = h @ w.T + b
            if i < len(ws) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        d = h - y
        _loss = (d * d).mean()
        g = d * np.float32(2 / d.size)
        for i in reversed(range(len(ws))):
            if i < len(ws) - 1:
                g = g * (acts[i + 1] > 0)
            gw = g.T @ acts[i]
            gb = g.sum(0)
            if i:
                g = g @ ws[i]
            ws[i] -= lr * gw
            bs[i] -= lr * gb
        return _loss

    return step


# -- timing ------------------------------------------------------------------------------------------------
def _timed(fn, inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def measure(impls: dict, reps: int, target: float) -> dict:
    """Median seconds per call of each implementation, measured in interleaved rounds (rotating order)."""
    inner = {}
    for name, fn in impls.items():
        fn()  # warm up (first-call imports, caches, allocator)
        t = _timed(fn, 1)
        inner[name] = max(1, int(target / max(t, 1e-9)))
    times = {name: [] for name in impls}
    names = list(impls)
    for r in range(reps):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            gc.collect()
            times[name].append(_timed(impls[name], inner[name]))
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_memory(step) -> int:
    """Peak bytes allocated (tracemalloc) during one call of ``step``, above what was live before it."""
    step()  # steady state: gradients exist, caches are warm
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# -- the suite ---------------------------------------------------------------------------------------------
def suite(quick: bool) -> list[dict]:
    """Workload descriptions: name, group, unit, per (how many ops a call counts), builders per library."""
    rows = []
    libs = {"gradlite": gradlite} | ({"torch": torch} if torch is not None else {})

    def add(name, group, unit, per, lib_builder, np_builder, memory=False, peers=None, **params):
        rows.append(
            dict(
                name=name,
                group=group,
                unit=unit,
                per=per,
                lib=lib_builder,
                numpy=np_builder,
                memory=memory,
                params=params,
                libs=libs,
                peers=peers or {},
            )
        )

    def peer(kind, *args):  # the peer libraries' versions of a main workload (those installed)
        return {name: (lambda f=fns[kind]: f(*args)) for name, fns in peers.PEERS.items()}

    add(
        "100-op chain on 16 floats, fwd+bwd, per op",
        "main",
        "us",
        101,
        lambda lib: chain_lib(lib, 16, 100),
        lambda: chain_numpy(16, 100),
        peers=peer("chain", 16, 100),
    )
    iters = 300 if quick else 3000
    add(
        f"{iters}-iteration linear regression (500x1)",
        "main",
        "ms",
        1,
        lambda lib: linreg_lib(lib, 500, iters),
        lambda: linreg_numpy(500, iters),
        peers=peer("linreg", 500, iters),
    )
    small = (784, 256, 10)
    add(
        "784-256-10 MLP step, batch 128",
        "main",
        "ms",
        1,
        lambda lib: mlp_lib(lib, small, 128),
        lambda: mlp_numpy(small, 128),
        memory=True,
        peers=peer("mlp", small, 128),
    )
    large = (256, 256, 256, 10) if quick else (1024, 1024, 1024, 10)
    label = "1024-1024-1024-10" if not quick else "256-256-256-10 (quick)"
    add(
        f"{label} MLP step, batch 256",
        "main",
        "ms",
        1,
        lambda lib: mlp_lib(lib, large, 256),
        lambda: mlp_numpy(large, 256),
        memory=True,
        peers=peer("mlp", large, 256),
    )

    sizes = (16, 1000) if quick else (16, 1000, 10_000, 100_000, 1_000_000)
    for n in sizes:
        add(
            f"100-op chain, {n} floats, per op",
            "size",
            "us",
            101,
            lambda lib, n=n: chain_lib(lib, n, 100),
            lambda n=n: chain_numpy(n, 100),
        )
    depths = (10, 100) if quick else (10, 100, 1000, 10_000)
    for d in depths:
        add(
            f"{d}-op chain, 16 floats, per op",
            "depth",
            "us",
            d + 1,
            lambda lib, d=d: chain_lib(lib, 16, d),
            lambda d=d: chain_numpy(16, d),
        )
    widths = (4, 32) if quick else (4, 32, 100, 316, 1000)
    for w in widths:
        add(
            f"MLP {w}-{w}-{w} step, batch {w} ({w * w} floats per activation)",
            "mlp-size",
            "ms",
            1,
            lambda lib, w=w: mlp_lib(lib, (w, w, w), w),
            lambda w=w: mlp_numpy((w, w, w), w),
        )
    layer_counts = (2, 8) if quick else (2, 8, 32, 128)
    for k in layer_counts:
        dims = (64,) * (k + 1)
        add(
            f"MLP {k} layers of 64, batch 64 ({3 * k} ops)",
            "mlp-depth",
            "ms",
            1,
            lambda lib, dims=dims: mlp_lib(lib, dims, 64),
            lambda dims=dims: mlp_numpy(dims, 64),
        )
    return rows


def run(quick: bool, reps: int | None = None) -> list[dict]:
    reps = reps or (3 if quick else 11)
    target = 0.005 if quick else 0.05
    scale = {"us": 1e6, "ms": 1e3}
    results = []
    for row in suite(quick):
        impls = {name: row["lib"](lib) for name, lib in row["libs"].items()}
        impls["numpy"] = row["numpy"]()
        impls.update({name: build() for name, build in row["peers"].items()})
        med = measure(impls, reps, target)
        per = row["per"]
        vals = {k: v * scale[row["unit"]] / per for k, v in med.items()}
        res = {"workload": row["name"], "group": row["group"], "unit": row["unit"], **vals}
        res["gradlite/torch"] = vals["gradlite"] / vals["torch"] if "torch" in vals else None
        res["gradlite/numpy"] = vals["gradlite"] / vals["numpy"]
        if row["memory"]:
            mem_g = peak_memory(row["lib"](gradlite))
            mem_n = peak_memory(row["numpy"]())
            res["peak_bytes"] = {"gradlite": mem_g, "numpy": mem_n, "gradlite/numpy": mem_g / mem_n}
        results.append(res)
        print(_line(res), flush=True)
    return results


# -- the GPU: gradlite on CuPy against PyTorch CUDA ----------------------------------------------------------
def _synced(lib, step):
    """``step`` followed by a device synchronisation, so a timing covers the queued kernels."""

    def call():
        step()
        lib.cuda.synchronize()

    return call


def pool_peak(step) -> int:
    """Peak bytes in use in CuPy's memory pool during one call of ``step``, above the bytes in use before it
    (CuPy's pool keeps no high-water mark: a memory hook reads it after every allocation)."""
    import cupy

    pool = cupy.get_default_memory_pool()

    class Peak(cupy.cuda.MemoryHook):
        name = "gradlite_benchmark_peak"

        def __init__(self):
            self.peak = 0

        def malloc_postprocess(self, **kwargs):
            self.peak = max(self.peak, pool.used_bytes())

    step()  # steady state: gradients exist, kernels are compiled
    cupy.cuda.Device().synchronize()
    base = pool.used_bytes()
    hook = Peak()
    with hook:
        step()
    cupy.cuda.Device().synchronize()
    return max(hook.peak, pool.used_bytes()) - base


def torch_peak(step) -> int:
    """The same for PyTorch's caching allocator (its own high-water mark)."""
    step()
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def run_gpu(quick: bool, reps: int | None = None) -> list[dict]:
    """The MLP steps on ``cuda``: gradlite (CuPy) and PyTorch CUDA in one interleaved run, plus the peak of
    each one's memory pool during a step. Empty without a CUDA device."""
    if not gradlite.cuda.is_available():
        return []
    reps = reps or (3 if quick else 11)
    has_torch = torch is not None and torch.cuda.is_available()
    results = []
    for sizes, batch in (((784, 256, 10), 128), ((1024, 1024, 1024, 10), 256)):
        name = "-".join(map(str, sizes)) + f" MLP step, batch {batch}, cuda"
        steps = {"gradlite": mlp_lib(gradlite, sizes, batch, "cuda")}
        if has_torch:
            steps["torch"] = mlp_lib(torch, sizes, batch, "cuda")
        libs = {"gradlite": gradlite, "torch": torch}
        med = measure({k: _synced(libs[k], s) for k, s in steps.items()}, reps, 0.005 if quick else 0.05)
        res = {"workload": name, "group": "gpu", "unit": "ms", **{k: v * 1e3 for k, v in med.items()}}
        res["gradlite/torch"] = res["gradlite"] / res["torch"] if has_torch else None
        res["pool_peak_bytes"] = {"gradlite": pool_peak(steps["gradlite"])}
        if has_torch:
            res["pool_peak_bytes"]["torch"] = torch_peak(steps["torch"])
        results.append(res)
        print(f"{name:<62} gradlite {_fmt(res['gradlite']):>7} ms  torch {_fmt(res.get('torch')):>7}  "
              f"x torch {_fmt(res['gradlite/torch'])}", flush=True)
    return results


# -- layers against PyTorch (no hand-written NumPy twin) ---------------------------------------------------
def _layer_step(lib, make, shape, target=None):
    """fwd + bwd of one layer (``make(lib)``) on a float32 input of ``shape``; ``target``: class indices for
    a loss layer (called as ``layer(x, target)``)."""
    rng = np.random.default_rng(0)
    lib.manual_seed(0)
    layer = make(lib)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    t = None if target is None else lib.tensor(rng.integers(0, target, shape[0]))

    def step():
        y = layer(x) if t is None else layer(x, t)
        y = y[0] if isinstance(y, tuple) else y
        y.sum().backward()
        x.grad = None

    return step


LAYERS = [  # (name, constructor against the PyTorch API, input shape, classes for a loss)
    ("Conv2d 16->32 3x3, 8x16x16x16", lambda m: m.nn.Conv2d(16, 32, 3, padding=1), (8, 16, 16, 16), None),
    ("MaxPool2d 2, 8x16x32x32", lambda m: m.nn.MaxPool2d(2), (8, 16, 32, 32), None),
    ("BatchNorm2d 16, 8x16x16x16", lambda m: m.nn.BatchNorm2d(16), (8, 16, 16, 16), None),
    ("LayerNorm 64, 32x64", lambda m: m.nn.LayerNorm(64), (32, 64), None),
    ("GELU, 64x256", lambda m: m.nn.GELU(), (64, 256), None),
    ("Softmax, 64x100", lambda m: m.nn.Softmax(dim=1), (64, 100), None),
    ("CrossEntropyLoss, 64x10", lambda m: m.nn.CrossEntropyLoss(), (64, 10), 10),
    ("LSTM 32->64, 8x10 steps", lambda m: m.nn.LSTM(32, 64, batch_first=True), (8, 10, 32), None),
    ("GRU 32->64, 8x10 steps", lambda m: m.nn.GRU(32, 64, batch_first=True), (8, 10, 32), None),
    (
        "TransformerEncoderLayer 64/4 heads, 8x10",
        lambda m: m.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True),
        (8, 10, 64),
        None,
    ),
]


def run_layers(quick: bool, reps: int | None = None) -> list[dict]:
    """Common layers' forward + backward against PyTorch's CPU kernels, in one interleaved run (where
    gradlite trails, this shows it). Empty without PyTorch."""
    if torch is None:
        return []
    reps = reps or (3 if quick else 11)
    results = []
    for name, make, shape, target in LAYERS[:3] if quick else LAYERS:
        steps = {lib.__name__: _layer_step(lib, make, shape, target) for lib in (gradlite, torch)}
        med = measure(steps, reps, 0.005 if quick else 0.05)
        res = {"workload": name, "group": "layers", "unit": "us", **{k: v * 1e6 for k, v in med.items()}}
        res["gradlite/torch"] = res["gradlite"] / res["torch"]
        results.append(res)
        print(f"{name:<62} gradlite {_fmt(res['gradlite']):>7} us  torch {_fmt(res['torch']):>7}  "
              f"x torch {_fmt(res['gradlite/torch'])}", flush=True)
    return results


# -- output ------------------------------------------------------------------------------------------------
def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def _line(r: dict) -> str:
    ref = f"torch {_fmt(r.get('torch')):>7}  numpy {_fmt(r['numpy']):>7}"
    ref += "".join(f"  {p} {_fmt(r[p]):>7}" for p in PEER_NAMES if p in r)
    ratios = f"x torch {_fmt(r['gradlite/torch'])}  x numpy {_fmt(r['gradlite/numpy'])}"
    return f"{r['workload']:<62} gradlite {_fmt(r['gradlite']):>7} {r['unit']}  {ref}  {ratios}"


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "peers": peers.versions(),
        "gradlite": gradlite.__version__,
        "threads": 1,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    } | ({"gpu": _gpu_name()} if gradlite.cuda.is_available() else {})


def _gpu_name() -> str:
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def markdown(results: list[dict], info: dict, quick: bool) -> str:
    titles = {
        "main": "Main workloads",
        "size": "Per-op overhead vs tensor size (100-op chain)",
        "depth": "Per-op overhead vs depth (16 floats)",
        "mlp-size": "MLP step vs tensor size",
        "mlp-depth": "MLP step vs depth",
    }
    lines = [
        "# gradlite benchmarks",
        "",
        f"`python benchmarks/run.py{' --quick' if quick else ''}` on {info['cpu']}, 1 thread, "
        f"Python {info['python']}, "
        f"NumPy {info['numpy']}, PyTorch {info['torch'] or 'not installed'}, {info['date']}. "
        "Medians of interleaved repetitions; ratios are gradlite's time over the reference's "
        "(lower is better).",
    ]
    for group, title in titles.items():
        rows = [r for r in results if r["group"] == group and "numpy" in r]
        if not rows:
            continue
        shown = [p for p in PEER_NAMES if any(p in r for r in rows)]
        lines += [
            "",
            f"## {title}",
            "",
            "| workload | gradlite | PyTorch | "
            + "".join(f"{PEER_NAMES[p]} | " for p in shown)
            + "hand-written NumPy | vs PyTorch | vs NumPy |",
            "|---|---|---|" + "---|" * len(shown) + "---|---|---|",
        ]
        for r in rows:
            u = " " + r["unit"]
            lines.append(
                f"| {r['workload']} | {_fmt(r['gradlite'])}{u} | "
                f"{_fmt(r['torch']) + u if r.get('torch') is not None else '-'} | "
                + "".join(f"{_fmt(r[p]) + u if p in r else '-'} | " for p in shown)
                + f"{_fmt(r['numpy'])}{u} | {_fmt(r['gradlite/torch'])}x | {_fmt(r['gradlite/numpy'])}x |"
            )
    mem = [r for r in results if "peak_bytes" in r]
    if mem:
        lines += [
            "",
            "## Peak memory of a training step (tracemalloc, above the live set before the step)",
            "",
            "| workload | gradlite | hand-written NumPy | ratio |",
            "|---|---|---|---|",
        ]
        for r in mem:
            p = r["peak_bytes"]
            lines.append(
                f"| {r['workload']} | {p['gradlite'] / 2**20:.2f} MiB | {p['numpy'] / 2**20:.2f} MiB | "
                f"{p['gradlite/numpy']:.2f}x |"
            )
    layers = [r for r in results if r["group"] == "layers"]
    if layers:
        lines += [
            "",
            "## Layers: forward + backward against PyTorch's CPU kernels",
            "",
            "| layer | gradlite | PyTorch | vs PyTorch |",
            "|---|---|---|---|",
        ]
        for r in layers:
            t, g = _fmt(r["torch"]), _fmt(r["gradlite"])
            lines.append(f"| {r['workload']} | {g} us | {t} us | {_fmt(r['gradlite/torch'])}x |")
    gpu = [r for r in results if r["group"] == "gpu"]
    if gpu:
        lines += [
            "",
            f"## GPU: {info.get('gpu', 'CUDA')} (CuPy against PyTorch CUDA, synchronised after each step)",
            "",
            "| workload | gradlite | PyTorch | vs PyTorch | pool peak, gradlite | pool peak, PyTorch |",
            "|---|---|---|---|---|---|",
        ]
        for r in gpu:
            p = r["pool_peak_bytes"]
            lines.append(
                f"| {r['workload']} | {_fmt(r['gradlite'])} ms | "
                f"{_fmt(r['torch']) + ' ms' if r.get('torch') is not None else '-'} | "
                f"{_fmt(r['gradlite/torch'])}x | {p['gradlite'] / 2**20:.1f} MiB | "
                + (f"{p['torch'] / 2**20:.1f} MiB |" if "torch" in p else "- |")
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (small sizes, few repetitions)")
    ap.add_argument("--reps", type=int, default=None, help="interleaved repetitions per workload")
    ap.add_argument("--out", default=str(HERE / "results"), help="where results.md and results.json go")
    args = ap.parse_args(argv)
    info = machine()
    print(f"gradlite {info['gradlite']} | numpy {info['numpy']} | torch {info['torch']} | {info['cpu']}")
    results = run(args.quick, args.reps)
    results += run_layers(args.quick, args.reps) + run_gpu(args.quick, args.reps)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    md = markdown(results, info, args.quick)
    (out / "results.md").write_text(md)
    (out / "results.json").write_text(
        json.dumps({"machine": info, "quick": args.quick, "results": results}, indent=2)
    )
    print()
    print(md)
    return {"machine": info, "results": results, "out": str(out)}


if __name__ == "__main__":
    main()
