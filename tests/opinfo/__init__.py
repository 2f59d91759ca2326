"""The op registry, in the spirit of PyTorch's OpInfo.

Each op declares how to call it, a NumPy reference, sample inputs, error inputs and what it supports;
``tests/test_op_registry.py`` runs the generic checks over every entry. Entries live in the modules of
this package by family (``elementwise.py``, ``reductions.py``, ``shape.py``, ``indexing.py``,
``linalg.py``, ``nn_functional.py``); each module appends to ``REGISTRY`` with ``register(OpInfo(...))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    """One call of an op: positional args (arrays become tensors), keyword args, and a name for test ids.

    ``args`` may hold NumPy arrays (turned into tensors of the test's device and dtype; float arrays are
    the differentiable inputs), python scalars, or anything else passed through unchanged.
    ``grad`` (optional) lists which positions are differentiable; by default every float array.
    A non-contiguous input is written as a transposed array (``rng.standard_normal((3, 2)).T``).
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""
    grad: tuple | None = None
    keep_dtype: bool = False  # True: arrays keep their NumPy dtype instead of taking the test's dtype
    dtypes: tuple | None = None  # run this sample only for these of the op's dtypes (None: all of them)
    skip: dict = field(default_factory=dict)  # check name -> why it does not apply to this sample


@dataclass
class ErrorSample:
    """A call that must raise ``exc`` with a message matching ``match`` (a regular expression)."""

    sample: Sample
    exc: type
    match: str = ""


@dataclass
class OpInfo:
    """What the generic op tests need to know about one op.

    - ``op(gl, *args, **kwargs)`` calls the gradlite function form (``gl`` is the gradlite module, so the
      same lambda calls torch when given torch: ``op=lambda m, x, y: m.add(x, y)``).
    - ``method``: the Tensor method name when PyTorch has one (called as ``args[0].method(*args[1:])``).
    - ``inplace``: the in-place method name when PyTorch has one (``add_``).
    - ``ref(np, *args, **kwargs)``: the NumPy reference on arrays; None when no simple reference exists
      (torch parity still runs).
    - ``samples(rng)``: a list of ``Sample`` (include 0-d, empty, broadcast pairs, non-contiguous inputs).
    - ``errors(rng)``: a list of ``ErrorSample``.
    - ``dtypes``: names of supported dtypes (float ones must be exactly those PyTorch runs; an int or bool
      dtype PyTorch rejects must raise here too); ``differentiable``/``supports_gradgrad`` the capabilities
      (an unclaimed capability that silently works fails the test, as a wrong claim does). A
      non-differentiable op gives outputs that do not require grad, or, as PyTorch's ``floor_divide``,
      outputs whose backward raises "the derivative for ... is not implemented".
    - ``torch_op``: how to call the op in torch when it differs from ``op`` with ``gl=torch``.
    - ``skips`` (and ``Sample.skip`` per sample): {check name: reason} for a generic check that does not
      apply (``forward``, ``torch``, ``gradients``, ``gradcheck``, ``gradgradcheck``, ``method``,
      ``inplace``, ``errors``); the reason is shown in the skip.
    - ``module`` is filled in by ``register``; ``GRADLITE_OPINFO_MODULES=shape,linalg`` restricts a run.
    """

    name: str
    op: Callable
    ref: Callable | None = None
    samples: Callable = lambda rng: []
    errors: Callable = lambda rng: []
    method: str | None = None
    inplace: str | None = None
    dtypes: tuple = ("float32", "float64")
    differentiable: bool = True
    supports_gradgrad: bool = True
    torch_op: Callable | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    skips: dict = field(default_factory=dict)  # test name -> reason (documented, never silent)
    extra: dict[str, Any] = field(default_factory=dict)
    slow: bool = False  # mark every generic test of this op ``slow`` (heavy samples)
    gradcheck_atol: float = 1e-5
    gradcheck_rtol: float = 1e-3
    module: str = ""  # the registry module that registered it (set by ``register``)


REGISTRY: list[OpInfo] = []


def register(info: OpInfo) -> OpInfo:
    import sys

    if not info.module:
        info.module = sys._getframe(1).f_globals.get("__name__", "").rsplit(".", 1)[-1]
    if any(o.name == info.name for o in REGISTRY):
        raise ValueError(f"op {info.name!r} registered twice")
    REGISTRY.append(info)
    return info


def load_all() -> list[OpInfo]:
    """Import every module of this package (each registers its entries) and return ``REGISTRY``."""
    import importlib
    import pkgutil

    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")
    return REGISTRY
