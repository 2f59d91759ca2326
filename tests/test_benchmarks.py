"""The benchmark runner's smoke run (``--quick``) writes well-formed Markdown and JSON (no timing checks)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REAL_CUDA

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_writes_results(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--reps",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["quick"] is True and data["machine"]["threads"] == 1
    results = data["results"]
    groups = {r["group"] for r in results}
    assert groups - {"gpu", "layers"} == {"main", "size", "depth", "mlp-size", "mlp-depth"}
    layers = [r for r in results if r["group"] == "layers"]
    if importlib.util.find_spec("torch") is not None:  # common layers against PyTorch's kernels
        assert layers and all(r["gradlite"] > 0 and r["torch"] > 0 for r in layers)
        assert "## Layers" in (tmp_path / "results.md").read_text()
    else:
        assert not layers
    gpu = [r for r in results if r["group"] == "gpu"]
    if REAL_CUDA:  # the MLP steps on cuda, with each memory pool's peak (not on the CuPy stand-in)
        assert len(gpu) == 2 and all(r["gradlite"] > 0 and r["pool_peak_bytes"]["gradlite"] > 0 for r in gpu)
        assert "## GPU" in (tmp_path / "results.md").read_text()
    else:
        assert not gpu
    results = [r for r in results if r["group"] not in ("gpu", "layers")]
    names = [r["workload"] for r in results]
    assert any("100-op chain on 16 floats" in n for n in names)
    assert any("linear regression" in n for n in names)
    assert any("784-256-10 MLP" in n for n in names)
    for r in results:
        assert r["unit"] in ("us", "ms")
        assert r["gradlite"] > 0 and r["numpy"] > 0
        assert abs(r["gradlite/numpy"] - r["gradlite"] / r["numpy"]) < 1e-9 * r["gradlite/numpy"] + 1e-12
        if r.get("torch") is not None:
            assert r["torch"] > 0 and r["gradlite/torch"] > 0
    mem = [r["peak_bytes"] for r in results if "peak_bytes" in r]
    assert len(mem) == 2 and all(m["gradlite"] > 0 and m["numpy"] > 0 for m in mem)

    peers = all(importlib.util.find_spec(p) is not None for p in ("mygrad", "autograd"))
    main = [r for r in results if r["group"] == "main"]
    if peers:  # the peers of issue 6's table run the main workloads
        assert all(r["mygrad"] > 0 and r["autograd"] > 0 for r in main)
        assert set(data["machine"]["peers"]) == {"mygrad", "autograd"}

    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# gradlite benchmarks")
    header = "| workload | gradlite | PyTorch | hand-written NumPy | vs PyTorch | vs NumPy |"
    if peers:
        header = header.replace("| hand-written", "| MyGrad | HIPS autograd | hand-written")
    assert header in md
    for block in md.split("\n## ")[1:]:  # every row of a table has its table's columns
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert {line.count("|") for line in rows} == {rows[0].count("|")}, block
    for n in names:
        assert f"| {n} |" in md
    assert "Peak memory" in md
    assert "gradlite" in proc.stdout and "x numpy" in proc.stdout


def test_linreg_profile_compares_three_programs():
    """``profile_linreg.py``: gradlite, the minimal-autograd floor and NumPy fit the same w (it exits
    otherwise), and the bytecode table names gradlite's engine and apply."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import profile_linreg
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    text = profile_linreg.main(["--iters", "30", "--reps", "1", "--top", "40"])
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert {"gradlite", "floor", "numpy"} <= set(rows)
    floor_ops = int(rows["floor"].split("|")[4].replace(",", ""))
    gradlite_ops = int(rows["gradlite"].split("|")[4].replace(",", ""))
    assert 0 < floor_ops < gradlite_ops
    assert "engine.py:_run_raw" in text and "_base.py:apply" in text
