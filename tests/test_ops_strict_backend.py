"""The portability proxy: the op registry suite run again on the strict array-API backend.

``array_api_strict`` implements the array API standard and nothing more, so an op that relies on a
NumPy-only function, method or indexing rule fails there, as it could on CuPy. Each registry module runs
in its own subprocess (the backend is chosen once per process, from ``GRADLITE_CPU_BACKEND``), so a
failure names the family of ops it comes from.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("array_api_strict")

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "tests" / "opinfo").glob("*.py") if not p.stem.startswith("_"))


def _run(code_or_args, extra_env=None, timeout=900):
    env = dict(os.environ, GRADLITE_CPU_BACKEND="array_api_strict", **(extra_env or {}))
    return subprocess.run(
        [sys.executable, *code_or_args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_registry_passes_on_strict_backend(module):
    """Every generic registry check (torch parity aside) passes with CPU tensors held by array_api_strict."""
    r = _run(
        [
            "-m",
            "pytest",
            "tests/test_op_registry.py",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:warnings",
            "-m",
            "not gpu",
            "-k",
            "cpu",
        ],
        {"GRADLITE_OPINFO_MODULES": module},
    )
    assert r.returncode in (0, 5), (
        f"strict-backend run of tests/opinfo/{module}.py failed:\n{r.stdout[-6000:]}"
    )


def test_strict_backend_is_selected_and_rejects_numpy_isms():
    """The env var selects the strict backend, and a NumPy-only array method fails there."""
    code = (
        "import gradlite as gl\n"
        "x = gl.randn(3)\n"
        "print(type(x._data).__module__)\n"
        "print((x.exp() * 2).sum().item() > 0)\n"  # namespace ops work
        "try:\n"
        "    x._data.clip(0, 1)\n"  # ndarray.clip is a NumPy-ism: the standard has xp.clip only
        "except AttributeError:\n"
        "    print('rejected')\n"
    )
    r = _run(["-c", code], timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0].startswith("array_api_strict"), r.stdout
    assert lines[-1] == "rejected", r.stdout
