"""``gradcheck`` and ``gradgradcheck``: compare autograd's gradients with central finite differences.

As in PyTorch, a Jacobian is laid out with one row per input element and one column per output element.
The perturbations run on the inputs' own device (the backend namespace); only the Jacobians, which the
check compares and prints, are copied to the host. That copy is the point of the check, not a hot path.
"""

from __future__ import annotations

import numpy as np

from gradlite.autograd.engine import grad as _grad
from gradlite.autograd.grad_mode import no_grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck``/``gradgradcheck`` when analytical and numerical gradients disagree."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_tensor(x) -> bool:
    from gradlite.tensor import Tensor

    return isinstance(x, Tensor)


def _host64(t) -> np.ndarray:
    """A tensor's values as a float64 host array (gradcheck compares on the host)."""
    return np.asarray(t._device.backend.to_host(t._data), dtype=np.float64)


def _outputs(fn, inputs) -> tuple:
    return _as_tuple(fn(*inputs))


def _diff_outputs(outs) -> list:
    """Indices of the outputs that gradients can flow through (floating-point tensors)."""
    return [k for k, o in enumerate(outs) if _is_tensor(o) and o.dtype.is_floating_point]


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _perturbed(x, flat_index: int, delta: float):
    """A copy of ``x``'s array with element ``flat_index`` (row-major) shifted by ``delta``, on its device."""
    xp = x._device.backend.xp
    shape = x._data.shape
    flat = xp.reshape(xp.asarray(x._data, copy=True), (-1,))
    flat[flat_index] = flat[flat_index] + delta
    return xp.reshape(flat, shape)


def _swap_eval(fn, inputs, x, data, out_ids):
    """Evaluate ``fn`` with ``x``'s array temporarily replaced by ``data``; the chosen outputs on the host."""
    old = x._data
    x._data = data
    try:
        outs = _outputs(fn, inputs)
        # read before restoring: an output may be the very tensor that was perturbed
        return [_host64(outs[k]).reshape(-1) for k in out_ids]
    finally:
        x._data = old


def _numerical_jacobians(fn, inputs, diff_in, out_ids, out_sizes, eps):
    """{(out k, input i): (numel_in, numel_out) matrix} of central differences (f(x+e) - f(x-e)) / 2e."""
    jac = {}
    for i in diff_in:
        x = inputs[i]
        n = x.numel()
        mats = [np.zeros((n, out_sizes[k])) for k in out_ids]
        for j in range(n):
            plus = _swap_eval(fn, inputs, x, _perturbed(x, j, eps), out_ids)
            minus = _swap_eval(fn, inputs, x, _perturbed(x, j, -eps), out_ids)
            for m, p, q in zip(mats, plus, minus, strict=False):
                m[j] = (p - q) / (2 * eps)
        for k, m in zip(out_ids, mats, strict=False):
            jac[(k, i)] = m
    return jac


def _one_hot(o, m: int):
    from gradlite.creation import zeros_like

    g = zeros_like(o)
    g._data = _perturbed(g, m, 1.0)
    return g


def _vjp(outs, k, inputs, diff_in, v):
    """d(outs[k]) / d(inputs[i]) applied to ``v`` per differentiable input; checks shape, dtype, device."""
    o = outs[k]
    if not o._requires_grad:
        return [None] * len(diff_in)
    gs = _grad(o, [inputs[i] for i in diff_in], v, retain_graph=True, allow_unused=True)
    for i, g in zip(diff_in, gs, strict=False):
        x = inputs[i]
        if g is None:
            continue
        if g.shape != x.shape:
            raise GradcheckError(
                f"Gradient has shape mismatch for input {i}: got {g.shape}, expected {x.shape}"
            )
        if g.dtype is not x.dtype:
            raise GradcheckError(
                f"Gradient has dtype mismatch for input {i}: got {g.dtype}, expected {x.dtype}"
            )
        if g.device != x.device:
            raise GradcheckError(
                f"Gradient has device mismatch for input {i}: got {g.device}, expected {x.device}"
            )
    return list(gs)


def _analytical_jacobians(outs, inputs, diff_in, out_ids):
    jac = {}
    for k in out_ids:
        o = outs[k]
        n_out = o.numel()
        mats = {i: np.zeros((inputs[i].numel(), n_out)) for i in diff_in}
        for m in range(n_out):
            gs = _vjp(outs, k, inputs, diff_in, _one_hot(o, m))
            for i, g in zip(diff_in, gs, strict=False):
                if g is not None:
                    mats[i][:, m] = _host64(g).reshape(-1)
        for i in diff_in:
            jac[(k, i)] = mats[i]
    return jac


def _prepare(fn, inputs, raise_exception):
    inputs = _as_tuple(inputs)
    diff_in = [i for i, x in enumerate(inputs) if _is_tensor(x) and x._requires_grad]
    if not diff_in:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of the them "
            "have requires_grad=True."
        )
    for i in diff_in:
        if inputs[i].dtype.name != "float64":
            import warnings

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. This check will "
                "likely fail if all the inputs are not of double precision floating point.",
                UserWarning,
                stacklevel=3,
            )
    outs = _outputs(fn, inputs)
    return inputs, diff_in, outs, _diff_outputs(outs)


def gradcheck(
    fn,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    nondet_tol: float = 0.0,
) -> bool:
    """Check ``fn``'s gradients w.r.t. the inputs that require grad against finite differences (float64).

    Returns True, or raises ``GradcheckError`` naming the output and input index and printing the
    numerical and analytical Jacobians (False instead when ``raise_exception=False``).
    ``fast_mode`` compares the scalar ``v^T J u`` for random ``u``, ``v`` instead of full Jacobians.
    Backward must also be reentrant: two runs with the same upstream gradient agree within ``nondet_tol``.
    """
    inputs, diff_in, outs, out_ids = _prepare(fn, inputs, raise_exception)
    if not _reentrant(outs, inputs, diff_in, out_ids, nondet_tol):
        return _fail(
            "Backward is not reentrant, i.e., running backward with same input and grad_output multiple "
            "times gives different values, although analytical gradient matches numerical gradient. "
            f"The tolerance for nondeterminism was {nondet_tol}.",
            raise_exception,
        )
    out_sizes = {k: outs[k].numel() for k in out_ids}
    if fast_mode:
        return _fast_check(fn, inputs, diff_in, outs, out_ids, eps, atol, rtol, raise_exception)
    num = _numerical_jacobians(fn, inputs, diff_in, out_ids, out_sizes, eps)
    ana = _analytical_jacobians(outs, inputs, diff_in, out_ids)
    for k in out_ids:
        for i in diff_in:
            n, a = num[(k, i)], ana[(k, i)]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                return _fail(
                    f"Jacobian mismatch for output {k} with respect to input {i},\n"
                    f"numerical:{_fmt(n)}\nanalytical:{_fmt(a)}\n",
                    raise_exception,
                )
    return True


def _reentrant(outs, inputs, diff_in, out_ids, nondet_tol: float) -> bool:
    """Two backward passes with the same upstream gradient give the same input gradients."""
    from gradlite.creation import ones_like

    for k in out_ids:
        v = ones_like(outs[k])
        first = _vjp(outs, k, inputs, diff_in, v)
        second = _vjp(outs, k, inputs, diff_in, v)
        for a, b in zip(first, second, strict=True):
            if (a is None) != (b is None):
                return False
            if a is not None and np.max(np.abs(_host64(a) - _host64(b)), initial=0.0) > nondet_tol:
                return False
    return True


def _fmt(m: np.ndarray) -> str:
    from gradlite.creation import tensor

    return repr(tensor(m, dtype="float64"))


def _fast_check(fn, inputs, diff_in, outs, out_ids, eps, atol, rtol, raise_exception) -> bool:
    """PyTorch's fast mode: per (output, input) compare v^T J u, with u, v random unit-ish vectors."""
    from gradlite.creation import randn_like, tensor

    for i in diff_in:
        x = inputs[i]
        u = randn_like(x)
        u_h = _host64(u).reshape(-1)
        u_h = u_h / max(np.linalg.norm(u_h), 1e-12)
        u = tensor(u_h.reshape(x.shape), dtype=x.dtype, device=x.device)
        plus = _swap_eval(fn, inputs, x, x._data + eps * u._data, out_ids)
        minus = _swap_eval(fn, inputs, x, x._data - eps * u._data, out_ids)
        for k, p, q in zip(out_ids, plus, minus, strict=False):
            o = outs[k]
            v = randn_like(o)
            v_h = _host64(v).reshape(-1)
            numerical = float(v_h @ ((p - q) / (2 * eps)))
            gs = _vjp(outs, k, inputs, [i], v)
            analytical = 0.0 if gs[0] is None else float(_host64(gs[0]).reshape(-1) @ u_h)
            if not np.isclose(analytical, numerical, rtol=rtol, atol=atol):
                return _fail(
                    f"Jacobian mismatch for output {k} with respect to input {i},\n"
                    f"numerical:{numerical!r}\nanalytical:{analytical!r}\n\n"
                    "The above quantities relating the numerical and analytical jacobians are computed in "
                    "fast "
                    "mode (v^T J u for random vectors u and v). Run with fast_mode=False to see the full "
                    "Jacobians.\n",
                    raise_exception,
                )
    return True


def gradgradcheck(
    fn,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    nondet_tol: float = 0.0,
    gen_non_contig_grad_outputs: bool = False,
) -> bool:
    """Check second derivatives: ``gradcheck`` of the function ``(inputs, v) -> vjp(fn, inputs, v)``.

    ``grad_outputs`` (the ``v``) are random float tensors requiring grad when not given, so the check also
    covers how the first backward depends on the upstream gradient.
    """
    from gradlite.creation import randn_like

    inputs = _as_tuple(inputs)
    with no_grad():
        outs = _outputs(fn, inputs)
    out_ids = _diff_outputs(outs)
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(outs[k]).requires_grad_(True) for k in out_ids)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_in = [i for i, x in enumerate(inputs) if _is_tensor(x) and x._requires_grad]

    def first_grads(*args):
        xs, vs = args[:n_in], args[n_in:]
        ys = _outputs(fn, xs)
        pairs = [(ys[k], v) for k, v in zip(out_ids, vs, strict=False) if ys[k]._requires_grad]
        if not pairs:
            return ()
        gs = _grad(
            [p[0] for p in pairs],
            [xs[i] for i in diff_in],
            [p[1] for p in pairs],
            create_graph=True,
            allow_unused=True,
        )
        # an unused input has a zero gradient; keeping it makes the output count independent of the graph
        from gradlite.creation import zeros_like

        return tuple(zeros_like(xs[i]) if g is None else g for i, g in zip(diff_in, gs, strict=False))

    return gradcheck(
        first_grads,
        inputs + tuple(grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        fast_mode=fast_mode,
        nondet_tol=nondet_tol,
    )
